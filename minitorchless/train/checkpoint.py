"""``ModelCheckpoint``: keep the best model of a training run on disk."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from minitorchless.serialization import save, save_weights
from minitorchless.train.callbacks import Logs
from minitorchless.train.monitor import MonitorCallback

__all__ = ["ModelCheckpoint"]


class ModelCheckpoint(MonitorCallback):
    """Save the model during ``fit``: after every epoch, or only when it improves.

    Files are written with :func:`~minitorchless.save` (or ``save_weights``),
    atomically, so the file on disk is always a complete model even if training
    is interrupted mid-save. With ``save_best_only`` (the default) the file
    holds the best model seen so far, and ``mtl.load(filepath)`` after training
    gives that model back, whatever the last epochs did.

    Args:
        filepath: Where to save, e.g. ``"best.safetensors"``. It may hold
            ``{epoch}`` (counted from 1) and logged names, e.g.
            ``"ckpt-{epoch:03d}-{val_loss:.3f}.safetensors"``, to keep one file
            per save instead of overwriting one.
        monitor: The logged value to watch: ``"val_loss"`` (needs validation
            data), ``"loss"``, ``"val_accuracy"``...
        mode: ``"min"`` (lower is better), ``"max"``, or ``"auto"``: ``"max"``
            for names ending in ``accuracy``, ``"min"`` otherwise.
        save_best_only: Save only when ``monitor`` improves on the best so far;
            otherwise save after every epoch.
        save_weights_only: Write the weights alone (``save_weights``), e.g. for
            models with layers whose configuration cannot be stored.
        min_delta: The smallest change that counts as an improvement, >= 0.

    Attributes:
        best: The best monitored value saved so far (``inf`` or ``-inf`` before any).
        best_epoch: Its epoch, from 0, or ``None``.
        last_path: The path of the latest file written, or ``None``.

    Raises:
        ValueError: at the end of the first epoch, if ``save_best_only`` and
            ``monitor`` is not logged; the message lists the values that are.
    """

    def __init__(
        self,
        filepath: str | os.PathLike[str],
        *,
        monitor: str = "val_loss",
        mode: Literal["auto", "min", "max"] = "auto",
        save_best_only: bool = True,
        save_weights_only: bool = False,
        min_delta: float = 0.0,
    ) -> None:
        if not isinstance(filepath, (str, os.PathLike)):
            raise TypeError(f"ModelCheckpoint: filepath must be a path, received {filepath!r}")
        self.filepath = os.fspath(filepath)
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        super().__init__(monitor, mode, min_delta)

    def _reset(self) -> None:
        super()._reset()
        self.last_path: Path | None = None

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        if self.save_best_only:
            value = self._monitored(logs)
            if not self._improved(value):
                return
            self.best, self.best_epoch = value, epoch
        self._save(epoch, logs)

    def _save(self, epoch: int, logs: Logs) -> None:
        try:
            path = Path(self.filepath.format(epoch=epoch + 1, **logs))
        except (KeyError, IndexError, ValueError) as err:
            raise ValueError(
                f"ModelCheckpoint: cannot fill in filepath {self.filepath!r} with epoch and "
                f"the logged values {sorted(logs)}: {err!r}"
            ) from None
        if self.save_weights_only:
            save_weights(self.model, path)
        else:
            save(self.model, path)
        self.last_path = path

    def __repr__(self) -> str:
        return (
            f"ModelCheckpoint({self.filepath!r}, monitor={self.monitor!r}, mode={self.mode!r}, "
            f"save_best_only={self.save_best_only}, save_weights_only={self.save_weights_only})"
        )
