"""The callbacks ``fit`` runs, by their public names: ``mtl.callbacks.EarlyStopping``...

They are defined in :mod:`minitorchless.train`; this namespace gathers them,
as ``minitorchless`` itself gathers the rest of the public API.
"""

from minitorchless.teaching.inspector import Inspector
from minitorchless.train.backup import BackupAndRestore
from minitorchless.train.callbacks import Callback, Logs, TrainingState
from minitorchless.train.checkpoint import ModelCheckpoint
from minitorchless.train.monitor import EarlyStopping, MonitorCallback
from minitorchless.train.scheduling import LearningRateScheduler, Schedule

__all__ = [
    "BackupAndRestore",
    "Callback",
    "EarlyStopping",
    "Inspector",
    "LearningRateScheduler",
    "Logs",
    "ModelCheckpoint",
    "MonitorCallback",
    "Schedule",
    "TrainingState",
]
