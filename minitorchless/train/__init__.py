"""Training: ``fit``, ``evaluate``, ``predict`` and what only they use.

History, progress display, callbacks, the divergence guard and checkpoints
live here; the public names are re-exported by ``minitorchless`` (and the
callbacks by ``minitorchless.callbacks``).
"""

from minitorchless.train.checkpoint import ModelCheckpoint
from minitorchless.train.divergence import DivergenceWarning
from minitorchless.train.evaluate import evaluate, predict
from minitorchless.train.fit import fit
from minitorchless.train.history import History

__all__ = ["DivergenceWarning", "History", "ModelCheckpoint", "evaluate", "fit", "predict"]
