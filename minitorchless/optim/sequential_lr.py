"""Chaining schedules: each one takes over at its milestone."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from typing import Any

from minitorchless._checks import positive_int
from minitorchless.optim.base import Optimizer
from minitorchless.optim.schedules import LRScheduler, check_optimizer, load_attributes

__all__ = ["SequentialLR"]


class SequentialLR(LRScheduler):
    """Runs ``schedulers[0]`` until ``milestones[0]``, then ``schedulers[1]``, and so on.

    As PyTorch's ``torch.optim.lr_scheduler.SequentialLR``: at each milestone
    the next schedule starts from its own step 0, so a warm-up followed by a
    decay is::

        warmup = mtl.LinearLR(optimizer, start_factor=0.1, total_iters=5)
        decay = mtl.CosineAnnealingLR(optimizer, T_max=45)
        schedule = mtl.SequentialLR(optimizer, [warmup, decay], milestones=[5])

    Build the inner schedules first, on the same optimizer, and step only
    this one. It starts the optimizer at the first schedule's step 0.

    Args:
        optimizer: The optimizer all the schedules drive.
        schedulers: The schedules, in order (closed-form ones: not ``ReduceLROnPlateau``).
        milestones: The steps at which the next schedule takes over, increasing,
            one fewer than the schedules.

    Raises:
        TypeError, ValueError: a schedule is of the wrong kind or drives another
            optimizer, or the milestones do not fit the schedules.
    """

    _state_keys = ("_milestones", "last_epoch", "_last_lr")  # PyTorch's, with _schedulers

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: Sequence[LRScheduler],
        milestones: Sequence[int],
    ) -> None:
        name = "SequentialLR"
        check_optimizer(name, optimizer)
        self._schedulers = list(schedulers)
        if not self._schedulers:
            raise ValueError(f"{name}: expected at least one schedule, received none")
        for index, schedule in enumerate(self._schedulers):
            if not isinstance(schedule, LRScheduler):
                raise TypeError(
                    f"{name}: schedulers[{index}] must be a schedule with a closed form "
                    f"(StepLR, LinearLR, ...), received {type(schedule).__name__}"
                )
            if schedule.optimizer is not optimizer:
                raise ValueError(
                    f"{name}: schedulers[{index}] drives another optimizer than the one given"
                )
        self._milestones = [positive_int(name, "milestones", m) for m in milestones]
        if len(self._milestones) != len(self._schedulers) - 1:
            raise ValueError(
                f"{name}: expected {len(self._schedulers) - 1} milestones for "
                f"{len(self._schedulers)} schedules, received {len(self._milestones)}"
            )
        if self._milestones != sorted(set(self._milestones)):
            raise ValueError(f"{name}: milestones must increase, received {self._milestones}")
        super().__init__(optimizer)

    def _current(self, epoch: int) -> tuple[LRScheduler, int]:
        """The schedule in charge at ``epoch`` and its own step count there."""
        index = bisect.bisect_right(self._milestones, epoch)
        start = self._milestones[index - 1] if index else 0
        return self._schedulers[index], epoch - start

    def lr_at(self, epoch: int) -> list[float]:
        schedule, own_epoch = self._current(epoch)
        return schedule.lr_at(own_epoch)

    def _apply(self, epoch: int) -> None:
        schedule, own_epoch = self._current(epoch)
        schedule._apply(own_epoch)  # it sets the rates (and OneCycleLR's momentum)
        schedule.last_epoch = own_epoch
        self._last_lr = schedule.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        """Its own counters and the state dict of each inner schedule, under ``_schedulers``."""
        inner = [schedule.state_dict() for schedule in self._schedulers]
        return {**super().state_dict(), "_schedulers": inner}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Take the state saved by ``state_dict()``, the inner schedules' included.

        Raises:
            TypeError, ValueError: the state does not fit (another number of
                schedules, say); nothing changes then.
        """
        if not isinstance(state_dict, Mapping) or "_schedulers" not in state_dict:
            raise TypeError("SequentialLR.load_state_dict: expected a dict from state_dict()")
        inner = list(state_dict["_schedulers"])
        if len(inner) != len(self._schedulers):
            raise ValueError(
                f"SequentialLR.load_state_dict: the state has {len(inner)} schedules, "
                f"this one {len(self._schedulers)}"
            )
        own = {key: value for key, value in state_dict.items() if key != "_schedulers"}
        # check everything first, so a refusal leaves every schedule as it was
        checks: list[tuple[object, tuple[str, ...], Any]] = [(self, self._state_keys, own)]
        checks += [(s, s._state_keys, d) for s, d in zip(self._schedulers, inner, strict=True)]
        for owner, keys, state in checks:
            load_attributes(owner, keys, state, check_only=True)
        for owner, keys, state in checks:
            load_attributes(owner, keys, state)
        self._apply(self.last_epoch)
