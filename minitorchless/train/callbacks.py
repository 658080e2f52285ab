"""Callbacks: code that ``fit`` runs at fixed points of training.

Write your own by subclassing ``Callback`` and overriding the hooks you need::

    class PrintLR(mtl.callbacks.Callback):
        def on_epoch_end(self, epoch, logs):
            print(epoch, self.optimizer.lr, logs["loss"])

Epochs and batches are counted from 0 in the hooks (as Keras does); progress
lines and messages meant for people count from 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from minitorchless.layers.base import Layer
from minitorchless.optim.base import Optimizer
from minitorchless.train.history import History

__all__ = ["Callback", "CallbackList", "Logs", "TrainingState"]

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
        initial_epoch: The first epoch the loop runs (set by ``BackupAndRestore``
            in ``on_train_begin`` when it resumes a run).
        interrupted: Whether training ended by an exception (Ctrl-C included).
        callbacks: Every callback of the run, in calling order.
        rngs: The generators the run draws from, by name (``"shuffle"``).
        guard: The divergence guard, or ``None``.
    """

    model: Layer
    optimizer: Optimizer
    epochs: int
    steps_per_epoch: int
    stop_requested: bool = False
    stop_reason: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    history: History = field(default_factory=History)
    initial_epoch: int = 0
    interrupted: bool = False
    callbacks: list[Callback] = field(default_factory=list)
    rngs: dict[str, Any] = field(default_factory=dict)
    guard: Any = None


class Callback:
    """Base class of callbacks: every hook does nothing until overridden.

    ``fit`` calls, in this order::

        on_train_begin(logs)
        for each epoch:
            on_epoch_begin(epoch, logs)
            for each batch:
                on_batch_begin(batch, logs)      # logs: {"batch_size": n}
                ...forward, loss, backward...
                on_before_step(batch, logs)      # the gradients are ready: edit them
                ...gradient clipping (clip_grad_norm), optimizer step...
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

    # -------------------------------------------------------------- backups
    def backup_state(self) -> dict[str, Any]:
        """What a resumed run needs of this callback (numbers, strings, arrays, nested).

        ``BackupAndRestore`` stores it after every epoch; the default is nothing.
        """
        return {}

    def restore_state(self, state: dict[str, Any]) -> None:
        """Take back what ``backup_state`` gave; called after ``on_train_begin``."""

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

    def on_before_step(self, batch: int, logs: Logs) -> None:
        """Called between the backward and the optimizer step of batch ``batch``.

        Every ``parameter.grad`` of ``self.optimizer.params`` holds the batch's
        gradient: scale, clip or zero it in place (gradient surgery). ``logs``
        holds the batch's loss and metrics. ``fit(..., clip_grad_norm=...)``
        clips after this hook, so the bound holds whatever the hook did.
        """

    def on_batch_end(self, batch: int, logs: Logs) -> None:
        """Called after the optimizer step of batch ``batch``, with its loss and metrics."""


def _overrides(callback: Callback, hook: str) -> bool:
    """Whether ``callback`` has its own ``hook`` (and, by ``_uses_<hook>``, wants it called)."""
    own = getattr(type(callback), hook) is not getattr(Callback, hook)
    return own and bool(getattr(callback, f"_uses_{hook}", True))


class CallbackList:
    """The callbacks of one run, called in order at each hook.

    ``fit`` puts the user's callbacks first, then the History recorder and the
    progress display, so the display shows what the callbacks logged (such as
    ``"lr"``) and nothing about it is a special case. Batch hooks are called
    only on the callbacks that override them: a callback that works per epoch
    costs nothing per batch.

    Args:
        callbacks: The callbacks, in calling order.
        state: The run's shared state, handed to each callback.
    """

    def __init__(self, callbacks: Iterable[Callback], state: TrainingState) -> None:
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            callback.set_state(state)
        self._batch_begin = [c for c in self.callbacks if _overrides(c, "on_batch_begin")]
        self._batch_end = [c for c in self.callbacks if _overrides(c, "on_batch_end")]
        self.before_step = [c for c in self.callbacks if _overrides(c, "on_before_step")]
        self._begun = 0  # how many have had on_train_begin: only those get on_train_end

    def __bool__(self) -> bool:
        return bool(self.callbacks)

    def on_train_begin(self, logs: Logs) -> None:
        for callback in self.callbacks:
            callback.on_train_begin(logs)
            self._begun += 1

    def on_train_end(self, logs: Logs) -> None:
        """Call ``on_train_end`` on every callback whose ``on_train_begin`` ran."""
        begun, self._begun = self._begun, 0
        for callback in self.callbacks[:begun]:
            callback.on_train_end(logs)

    def on_epoch_begin(self, epoch: int, logs: Logs) -> None:
        for callback in self.callbacks:
            callback.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, logs)

    def on_batch_begin(self, batch: int, logs: Logs) -> None:
        for callback in self._batch_begin:
            callback.on_batch_begin(batch, logs)

    def on_before_step(self, batch: int, logs: Logs) -> None:
        for callback in self.before_step:
            callback.on_before_step(batch, logs)

    def on_batch_end(self, batch: int, logs: Logs) -> None:
        for callback in self._batch_end:
            callback.on_batch_end(batch, logs)
