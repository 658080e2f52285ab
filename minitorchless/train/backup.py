"""``BackupAndRestore``: a run that is killed and started again goes on where it was.

After every epoch the callback writes, atomically, everything the rest of the
run depends on: the weights and buffers, the optimizer's ``state_dict()``, the epoch, the state of
every generator the run draws from (the shuffling one and every layer's, as
Dropout's), the History, the divergence guard and every other callback's
``backup_state()`` (EarlyStopping's best value, patience count and best
weights; a schedule's position). The file is a ``.safetensors`` file, like a
model file: arrays as tensors, everything else as JSON in its metadata. No
pickle.

Started again with the same call, ``fit`` finds the file in
``on_train_begin``, puts all of it back and continues with the next epoch,
so the run ends with exactly the weights and History of a run that was never
interrupted. When training ends normally the file is deleted, as Keras does;
when it ends by an exception (Ctrl-C included) it is kept.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.numpy
from numpy.typing import NDArray

from minitorchless.errors import SerializationError
from minitorchless.optim.base import Optimizer
from minitorchless.serialization._atomic import write_atomic
from minitorchless.serialization._files import read_safetensors
from minitorchless.train._packing import pack, unpack
from minitorchless.train.callbacks import Callback, Logs, TrainingState

__all__ = ["BackupAndRestore"]

_FORMAT = "minitorchless-backup-1"


def _generators(state: TrainingState) -> dict[str, np.random.Generator]:
    """Every generator of the run, by a stable name: fit's, then each layer's."""
    found = {name: rng for name, rng in state.rngs.items() if isinstance(rng, np.random.Generator)}
    for path, layer in state.model._walk():
        for attribute, value in vars(layer).items():
            if isinstance(value, np.random.Generator):
                found[f"layer {path}.{attribute}"] = value
    return found


def _optimizer_state(optimizer: Optimizer) -> dict[str, Any]:
    return {"state_dict": optimizer.state_dict()}


def _restore_optimizer(optimizer: Optimizer, state: dict[str, Any]) -> None:
    optimizer.load_state_dict(state["state_dict"])


class BackupAndRestore(Callback):
    """Back the run up after every epoch; resume from the backup when started again.

    Put it anywhere in ``callbacks=[...]``: ``fit`` runs it after the other
    callbacks and the History recorder, so each backup holds the epoch as
    they all left it.

    Args:
        path: The backup file, e.g. ``"run.backup.safetensors"``.
        delete_on_end: Delete the file when training ends without an exception.

    Raises:
        SerializationError: in ``on_train_begin``, the file is not a backup, or
            was written by a run with other callbacks or another model.
    """

    def __init__(self, path: str | os.PathLike[str], *, delete_on_end: bool = True) -> None:
        super().__init__()
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"BackupAndRestore: path must be a path, received {path!r}")
        self.path = Path(path)
        self.delete_on_end = bool(delete_on_end)
        self.restored_epoch: int | None = None

    def _others(self) -> list[Callback]:
        return [c for c in self.state.callbacks if c is not self and _has_state(c)]

    # ------------------------------------------------------------------ write
    def _gather(self, epoch: int) -> dict[str, Any]:
        state, history = self.state, self.state.history
        guard = state.guard
        return {
            "epoch": epoch,
            "model": state.model.state_dict(),
            "optimizer": _optimizer_state(state.optimizer),
            "rngs": {name: rng.bit_generator.state for name, rng in _generators(state).items()},
            "history": {
                "history": history.history,
                "epoch": history.epoch,
                "layer_stats": history.layer_stats,
            },
            "stop": [state.stop_requested, state.stop_reason],
            "guard": None if guard is None else _guard_state(guard),
            "callbacks": [[type(c).__name__, c.backup_state()] for c in self._others()],
        }

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        tensors: dict[str, NDArray[Any]] = {}
        document = json.dumps(pack(self._gather(epoch), "backup", tensors))
        metadata = {"format": _FORMAT, "state": document}
        write_atomic(self.path, safetensors.numpy.save(tensors, metadata=metadata))

    # ---------------------------------------------------------------- restore
    def on_train_begin(self, logs: Logs) -> None:
        self.restored_epoch = None
        if not self.path.exists():
            return
        metadata, tensors = read_safetensors(self.path)
        if metadata.get("format") != _FORMAT:
            raise SerializationError(
                f"BackupAndRestore: {self.path} is not a backup file (format "
                f"{metadata.get('format')!r}, expected {_FORMAT!r})"
            )
        self._restore(unpack(json.loads(metadata["state"]), tensors))

    def _restore(self, saved: dict[str, Any]) -> None:
        state = self.state
        others = self._others()
        names = [name for name, _ in saved["callbacks"]]
        if names != [type(c).__name__ for c in others]:
            raise SerializationError(
                f"BackupAndRestore: {self.path} was written by a run with the callbacks "
                f"{names}, this run has {[type(c).__name__ for c in others]}; start again "
                f"with the same call, or delete the backup"
            )
        state.model.load_state_dict(saved["model"], allow_nonfinite=True)
        _restore_optimizer(state.optimizer, saved["optimizer"])
        for name, rng in _generators(state).items():
            rng.bit_generator.state = saved["rngs"][name]
        history = state.history
        history.history = saved["history"]["history"]
        history.epoch = saved["history"]["epoch"]
        history.layer_stats = saved["history"]["layer_stats"]
        if state.guard is not None and saved["guard"] is not None:
            _restore_guard(state.guard, saved["guard"])
        for callback, (_, callback_state) in zip(others, saved["callbacks"], strict=True):
            callback.restore_state(callback_state)
        stop_requested, stop_reason = saved["stop"]
        self.restored_epoch = saved["epoch"]
        state.initial_epoch = state.epochs if stop_requested else saved["epoch"] + 1
        state.stop_requested, state.stop_reason = stop_requested, stop_reason

    def on_train_end(self, logs: Logs) -> None:
        if self.delete_on_end and not self.state.interrupted:
            self.path.unlink(missing_ok=True)

    def __repr__(self) -> str:
        return f"BackupAndRestore({str(self.path)!r}, delete_on_end={self.delete_on_end})"


def _has_state(callback: Callback) -> bool:
    """Whether the callback stores anything (the History recorder and progress do not)."""
    return type(callback).backup_state is not Callback.backup_state


def _guard_state(guard: Any) -> dict[str, Any]:
    buffers = guard.snapshot.buffers
    return {
        "started": guard.started,
        "reference": guard.reference,
        "limit": guard.limit,
        "snapshot": buffers,
    }


def _restore_guard(guard: Any, saved: dict[str, Any]) -> None:
    guard.started, guard.reference, guard.limit = (
        saved["started"],
        saved["reference"],
        saved["limit"],
    )
    guard.snapshot.buffers = saved["snapshot"]
