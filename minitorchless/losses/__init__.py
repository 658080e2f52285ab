"""Loss functions: ``loss = loss_fn(predictions, targets)``, then ``loss_fn.backward()``.

The base class, reductions and sample weights are in ``base``; the losses are
grouped by task in ``regression``, ``binary`` and ``cross_entropy``.
"""

from minitorchless.losses.base import Loss, Reduction
from minitorchless.losses.binary import BCELoss, BCEWithLogitsLoss
from minitorchless.losses.cross_entropy import CrossEntropyLoss
from minitorchless.losses.regression import HuberLoss, L1Loss, MSELoss, SmoothL1Loss

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "HuberLoss",
    "L1Loss",
    "Loss",
    "MSELoss",
    "Reduction",
    "SmoothL1Loss",
]
