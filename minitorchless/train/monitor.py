"""Callbacks that watch one logged value: early stopping (and, through the base, checkpoints)."""

from __future__ import annotations

import math
from typing import Any, Literal

from numpy.typing import NDArray

from minitorchless._checks import non_negative_int, positive_float
from minitorchless.train.callbacks import Callback, Logs

__all__ = ["EarlyStopping", "MonitorCallback"]


class MonitorCallback(Callback):
    """Base of callbacks that watch one logged value for improvement.

    It holds what ``EarlyStopping`` and ``ModelCheckpoint`` share: the name of
    the value, whether lower or higher is better, the smallest change that
    counts, and the best value and epoch so far (reset at every ``fit``).

    Args:
        monitor: The logged value to watch: ``"val_loss"`` (needs validation
            data), ``"loss"``, or ``"accuracy"``, ``"val_accuracy"``... for metrics.
        mode: ``"min"`` (lower is better), ``"max"``, or ``"auto"``: ``"max"``
            for names ending in ``accuracy``, ``"min"`` for everything else.
        min_delta: The smallest change that counts as an improvement, >= 0.
    """

    def __init__(self, monitor: str, mode: Literal["auto", "min", "max"], min_delta: float) -> None:
        super().__init__()
        owner = type(self).__name__
        if not isinstance(monitor, str):
            raise TypeError(f"{owner}: monitor must be a string, received {monitor!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', received {mode!r}")
        self.monitor = monitor
        self.min_delta = positive_float(owner, "min_delta", min_delta, allow_zero=True)
        if mode == "auto":
            mode = "max" if monitor.endswith("accuracy") else "min"
        self.mode: Literal["min", "max"] = mode
        self._reset()

    def _reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None

    def _improved(self, value: float) -> bool:
        # NaN never improves: every comparison with it is False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def _monitored(self, logs: Logs) -> float:
        """The monitored value in this epoch's logs; a clear error if it is not logged."""
        if self.monitor not in logs:
            hint = (
                " (pass validation_data or validation_split to fit)"
                if (self.monitor.startswith("val_"))
                else ""
            )
            raise ValueError(
                f"{type(self).__name__}: monitor {self.monitor!r} is not among the logged "
                f"values {sorted(logs)}{hint}"
            )
        return float(logs[self.monitor])

    def on_train_begin(self, logs: Logs) -> None:
        self._reset()  # a callback object may be reused across fit calls

    def backup_state(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch}

    def restore_state(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = state["best"], state["best_epoch"]


class EarlyStopping(MonitorCallback):
    """Stop training when a monitored value has stopped improving.

    Args:
        monitor: The logged value to watch: ``"val_loss"`` (needs validation
            data), ``"loss"``, or ``"accuracy"``, ``"val_accuracy"``... for metrics.
        patience: How many epochs in a row without improvement are tolerated,
            >= 0; training stops at the next one (``patience=0`` stops at the
            first epoch that does not improve).
        min_delta: The smallest change that counts as an improvement, >= 0.
        mode: ``"min"`` (lower is better), ``"max"``, or ``"auto"``: ``"max"``
            for names ending in ``accuracy``, ``"min"`` for everything else.
        restore_best_weights: When training ends (stopped early or not), load
            the weights of the best epoch into the model. Costs one copy of the
            parameters at every improvement.

    Attributes:
        best: The best value seen. ``best_epoch``: its epoch (from 0).
        stopped_epoch: The epoch at which training was stopped, or ``None``.

    Raises:
        ValueError: at the end of the first epoch, if ``monitor`` is not logged;
            the message lists the values that are.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        *,
        patience: int = 0,
        min_delta: float = 0.0,
        mode: Literal["auto", "min", "max"] = "auto",
        restore_best_weights: bool = False,
    ) -> None:
        self.patience = non_negative_int("EarlyStopping", "patience", patience)
        self.restore_best_weights = bool(restore_best_weights)
        super().__init__(monitor, mode, min_delta)

    def _reset(self) -> None:
        super()._reset()
        self.stopped_epoch: int | None = None
        self.wait = 0
        self._best_weights: dict[str, NDArray[Any]] | None = None

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        value = self._monitored(logs)
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self._best_weights = self.model.state_dict()
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            best = (
                "no value improved on the start"
                if self.best_epoch is None
                else f"best {self.best:.4g} at epoch {self.best_epoch + 1}"
            )
            self.request_stop(
                f"EarlyStopping: {self.monitor} did not improve for {self.wait} epoch(s) "
                f"(patience {self.patience}); {best}"
            )

    def backup_state(self) -> dict[str, Any]:
        state = super().backup_state()
        state.update(wait=self.wait, stopped_epoch=self.stopped_epoch, weights=self._best_weights)
        return state

    def restore_state(self, state: dict[str, Any]) -> None:
        super().restore_state(state)
        self.wait, self.stopped_epoch = state["wait"], state["stopped_epoch"]
        self._best_weights = state["weights"]

    def on_train_end(self, logs: Logs) -> None:
        if self._best_weights is not None:
            self.model.load_state_dict(self._best_weights)
        self._best_weights = None  # free the copy

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, "
            f"min_delta={self.min_delta}, mode={self.mode!r}, "
            f"restore_best_weights={self.restore_best_weights})"
        )
