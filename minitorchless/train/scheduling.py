"""Changing the learning rate between epochs: the ``LearningRateScheduler`` callback."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from minitorchless._checks import positive_float
from minitorchless.train._packing import scalar_state, set_scalar_state
from minitorchless.train.callbacks import Callback, Logs

__all__ = ["LearningRateScheduler", "Schedule"]


@runtime_checkable
class Schedule(Protocol):
    """A learning-rate schedule object: ``step()`` once per epoch sets ``optimizer.lr``.

    ``minitorchless.optim``'s ``StepLR``, ``ExponentialLR`` and
    ``CosineAnnealingLR`` are schedules.
    """

    def step(self) -> None: ...

    def get_last_lr(self) -> Any: ...


class LearningRateScheduler(Callback):
    """Change the learning rate between epochs, or between batches.

    Args:
        schedule: Either a schedule object (``StepLR(optimizer, ...)`` and the
            like), stepped at the end of every epoch as PyTorch does; or a
            function ``schedule(epoch, lr) -> new_lr`` (epoch from 0), called at
            the start of every epoch as Keras does.
        interval: ``"epoch"`` or ``"batch"``: when a schedule object steps.
            By default the schedule's own ``interval`` attribute says
            (``OneCycleLR``'s is ``"batch"``: its ``total_steps`` counts
            batches), else ``"epoch"``.
        monitor: For a schedule that steps on a value (``ReduceLROnPlateau``),
            the logged value it is given at the end of each epoch; by default
            ``"val_loss"`` when the run validates, else ``"loss"``.

    Every epoch's logs (and so the History) get an ``"lr"`` entry: the learning
    rate the epoch started with. Schedule objects may also be passed to ``fit``
    directly in ``callbacks=[...]``; they are wrapped in this class.

    Raises:
        ValueError: ``interval`` is neither ``"epoch"`` nor ``"batch"``, or is
            ``"batch"`` for a function; or,
            at the end of an epoch, the monitored value was not logged.
    """

    def __init__(
        self,
        schedule: Schedule | Callable[[int, float], float],
        *,
        interval: str | None = None,
        monitor: str | None = None,
    ) -> None:
        super().__init__()
        if not (isinstance(schedule, Schedule) or callable(schedule)):
            raise TypeError(
                "LearningRateScheduler: schedule must be a schedule object with step() "
                f"or a function (epoch, lr) -> lr, received {type(schedule).__name__}"
            )
        self.schedule = schedule
        resolved = interval if interval is not None else getattr(schedule, "interval", "epoch")
        if resolved not in ("epoch", "batch"):
            raise ValueError(
                f"LearningRateScheduler: interval must be 'epoch' or 'batch', received {resolved!r}"
            )
        if resolved == "batch" and not isinstance(schedule, Schedule):
            raise ValueError(
                "LearningRateScheduler: interval='batch' needs a schedule object with step(); "
                "a function (epoch, lr) -> lr is called once per epoch"
            )
        self.interval: str = resolved
        self.monitor = monitor
        # a per-epoch schedule costs nothing per batch: the batch hook is skipped
        self._uses_on_batch_end = resolved == "batch"
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

    def backup_state(self) -> dict[str, Any]:
        schedule = self.schedule
        saver = getattr(schedule, "state_dict", None)
        state = saver() if callable(saver) else scalar_state(schedule)
        return {"schedule": state, "epoch_lr": self._epoch_lr}

    def restore_state(self, state: dict[str, Any]) -> None:
        loader = getattr(self.schedule, "load_state_dict", None)
        if callable(loader):
            loader(state["schedule"])
        else:
            set_scalar_state(self.schedule, state["schedule"])
        self._epoch_lr = state["epoch_lr"]

    def on_batch_end(self, batch: int, logs: Logs) -> None:
        self.schedule.step()  # type: ignore[union-attr]  # a schedule object: see __init__

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        logs["lr"] = self._epoch_lr
        if not isinstance(self.schedule, Schedule) or self.interval != "epoch":
            return
        if getattr(self.schedule, "takes_metric", False):
            self.schedule.step(self._monitored(logs))  # type: ignore[call-arg]
        else:
            self.schedule.step()

    def _monitored(self, logs: Logs) -> float:
        name = self.monitor or ("val_loss" if "val_loss" in logs else "loss")
        if name not in logs:
            raise ValueError(
                f"LearningRateScheduler: the schedule steps on {name!r}, which this run does "
                f"not log; logged: {sorted(logs)}"
            )
        return float(logs[name])

    def __repr__(self) -> str:
        return f"LearningRateScheduler({self.schedule!r})"
