"""Callbacks: code that ``fit`` runs at fixed points of training.

Write your own by subclassing ``Callback`` and overriding the hooks you need::

    class PrintLR(mtl.callbacks.Callback):
        def on_epoch_end(self, epoch, logs):
            print(epoch, self.optimizer.lr, logs["loss"])

Epochs and batches are counted from 0 in the hooks (as Keras does); progress
lines and messages meant for people count from 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from numpy.typing import NDArray

from minitorchless._checks import non_negative_int, positive_float
from minitorchless.layers.base import Layer
from minitorchless.optim.base import Optimizer
from minitorchless.train.history import History

__all__ = [
    "Callback",
    "EarlyStopping",
    "LearningRateScheduler",
    "Logs",
    "MonitorCallback",
    "Schedule",
    "TrainingState",
]

Logs = dict[str, float]
"""What the hooks receive: values by name, e.g. ``{"loss": 0.31, "val_loss": 0.35}``."""


@dataclass
class TrainingState:
    """What ``fit`` shares with its callbacks during one run.

    Attributes:
        model: The model being trained.
        optimizer: The optimizer updating it.
        epochs: The number of epochs asked for.
        steps_per_epoch: Batches (optimizer steps) per epoch.
        stop_requested: Set by ``Callback.request_stop``; ``fit`` stops after the
            current batch or epoch.
        stop_reason: Why training stopped early, in words; ``None`` otherwise.
        params: Other settings of the run (``batch_size``, ``metrics``...).
        history: The History that ``fit`` returns, filled as training goes.
    """

    model: Layer
    optimizer: Optimizer
    epochs: int
    steps_per_epoch: int
    stop_requested: bool = False
    stop_reason: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    history: History = field(default_factory=History)


class Callback:
    """Base class of callbacks: every hook does nothing until overridden.

    ``fit`` calls, in this order::

        on_train_begin(logs)
        for each epoch:
            on_epoch_begin(epoch, logs)
            for each batch:
                on_batch_begin(batch, logs)      # logs: {"batch_size": n}
                ...forward, loss, backward, optimizer step...
                on_batch_end(batch, logs)        # + "loss" and each metric
            ...validation...
            on_epoch_end(epoch, logs)            # epoch means, "val_" entries
        on_train_end(logs)                       # the last epoch's logs

    ``logs`` maps names to floats. A callback may add entries in
    ``on_epoch_end`` (they are recorded in the History, as the learning-rate
    scheduler does with ``"lr"``) but should not change the ones it finds.

    During ``fit`` a callback reaches the model, the optimizer and the run's
    settings through ``self.model``, ``self.optimizer`` and ``self.state``, and
    ends training with ``self.request_stop(reason)``.

    Batch hooks are called only on callbacks that override them, so a callback
    that works per epoch costs nothing per batch.
    """

    def __init__(self) -> None:
        self._state: TrainingState | None = None

    # ------------------------------------------------------------- the run
    def set_state(self, state: TrainingState) -> None:
        """Attach the callback to a run; ``fit`` calls this before ``on_train_begin``."""
        self._state = state

    @property
    def state(self) -> TrainingState:
        """The current run's shared state. Raises ``RuntimeError`` outside ``fit``."""
        if self._state is None:
            raise RuntimeError(
                f"{type(self).__name__}: the callback is not attached to a training run; "
                f"pass it to fit(..., callbacks=[...])"
            )
        return self._state

    @property
    def model(self) -> Layer:
        """The model being trained."""
        return self.state.model

    @property
    def optimizer(self) -> Optimizer:
        """The optimizer of the run (its ``lr`` may be changed between epochs)."""
        return self.state.optimizer

    def request_stop(self, reason: str) -> None:
        """Ask ``fit`` to stop after the current batch; ``reason`` ends up in the History."""
        self.state.stop_requested = True
        if self.state.stop_reason is None:
            self.state.stop_reason = reason

    # --------------------------------------------------------------- hooks
    def on_train_begin(self, logs: Logs) -> None:
        """Called once, before the first epoch."""

    def on_train_end(self, logs: Logs) -> None:
        """Called once after the last epoch, even when training stopped early or diverged."""

    def on_epoch_begin(self, epoch: int, logs: Logs) -> None:
        """Called at the start of epoch ``epoch`` (from 0)."""

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        """Called after the epoch's training and validation, with their means in ``logs``."""

    def on_batch_begin(self, batch: int, logs: Logs) -> None:
        """Called before the forward pass of batch ``batch`` (from 0 in each epoch)."""

    def on_batch_end(self, batch: int, logs: Logs) -> None:
        """Called after the optimizer step of batch ``batch``, with its loss and metrics."""


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

    def __init__(
        self, monitor: str, mode: Literal["auto", "min", "max"], min_delta: float
    ) -> None:
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
            hint = " (pass validation_data or validation_split to fit)" if (
                self.monitor.startswith("val_")
            ) else ""
            raise ValueError(
                f"{type(self).__name__}: monitor {self.monitor!r} is not among the logged "
                f"values {sorted(logs)}{hint}"
            )
        return float(logs[self.monitor])

    def on_train_begin(self, logs: Logs) -> None:
        self._reset()  # a callback object may be reused across fit calls


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


@runtime_checkable
class Schedule(Protocol):
    """A learning-rate schedule object: ``step()`` once per epoch sets ``optimizer.lr``.

    ``minitorchless.optim``'s ``StepLR``, ``ExponentialLR`` and
    ``CosineAnnealingLR`` are schedules.
    """

    def step(self) -> None: ...

    def get_last_lr(self) -> Any: ...


class LearningRateScheduler(Callback):
    """Change the learning rate between epochs.

    Args:
        schedule: Either a schedule object (``StepLR(optimizer, ...)`` and the
            like), stepped once at the end of every epoch as PyTorch does; or a
            function ``schedule(epoch, lr) -> new_lr`` (epoch from 0), called at
            the start of every epoch as Keras does.

    Every epoch's logs (and so the History) get an ``"lr"`` entry: the learning
    rate the epoch trained with. Schedule objects may also be passed to ``fit``
    directly in ``callbacks=[...]``; they are wrapped in this class.
    """

    def __init__(self, schedule: Schedule | Callable[[int, float], float]) -> None:
        super().__init__()
        if not (isinstance(schedule, Schedule) or callable(schedule)):
            raise TypeError(
                "LearningRateScheduler: schedule must be a schedule object with step() "
                f"or a function (epoch, lr) -> lr, received {type(schedule).__name__}"
            )
        self.schedule = schedule
        self._epoch_lr = math.nan

    def on_train_begin(self, logs: Logs) -> None:
        owner = getattr(self.schedule, "optimizer", None)
        if owner is not None and owner is not self.optimizer:
            raise ValueError(
                "LearningRateScheduler: the schedule was built on another optimizer than "
                "the one passed to fit; build it on fit's optimizer"
            )

    def on_epoch_begin(self, epoch: int, logs: Logs) -> None:
        if not isinstance(self.schedule, Schedule):
            new_lr = self.schedule(epoch, self.optimizer.lr)
            self.optimizer.lr = positive_float(
                "LearningRateScheduler", f"the schedule's lr for epoch {epoch}", new_lr
            )
        self._epoch_lr = float(self.optimizer.lr)

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        logs["lr"] = self._epoch_lr
        if isinstance(self.schedule, Schedule):
            self.schedule.step()

    def __repr__(self) -> str:
        return f"LearningRateScheduler({self.schedule!r})"

