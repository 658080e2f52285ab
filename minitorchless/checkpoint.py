"""``ModelCheckpoint``: keep the best model of a training run on disk."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Literal

from minitorchless.callbacks import Callback, Logs
from minitorchless.serialization import save, save_weights

__all__ = ["ModelCheckpoint"]


class ModelCheckpoint(Callback):
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
        super().__init__()
        if not isinstance(filepath, (str, os.PathLike)):
            raise TypeError(f"ModelCheckpoint: filepath must be a path, received {filepath!r}")
        if not isinstance(monitor, str):
            raise TypeError(f"ModelCheckpoint: monitor must be a string, received {monitor!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(
                f"ModelCheckpoint: mode must be 'auto', 'min' or 'max', received {mode!r}"
            )
        if not (isinstance(min_delta, (int, float)) and math.isfinite(min_delta)) or min_delta < 0:
            raise ValueError(f"ModelCheckpoint: min_delta must be >= 0, received {min_delta!r}")
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        if mode == "auto":
            mode = "max" if monitor.endswith("accuracy") else "min"
        self.mode: Literal["min", "max"] = mode
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.min_delta = float(min_delta)
        self._reset()

    def _reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.last_path: Path | None = None

    def _improved(self, value: float) -> bool:
        # NaN never improves: every comparison with it is False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_train_begin(self, logs: Logs) -> None:
        self._reset()  # a callback object may be reused across fit calls

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        if self.save_best_only:
            if self.monitor not in logs:
                hint = " (pass validation_data or validation_split to fit)" if (
                    self.monitor.startswith("val_")
                ) else ""
                raise ValueError(
                    f"ModelCheckpoint: monitor {self.monitor!r} is not among the logged "
                    f"values {sorted(logs)}{hint}"
                )
            value = float(logs[self.monitor])
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
