"""The one-cycle policy: the rate climbs to a peak and anneals far below its start."""

from __future__ import annotations

import math
from collections.abc import Sequence

from minitorchless._checks import open_fraction, positive_float, positive_int, unit_interval
from minitorchless.optim.base import Optimizer
from minitorchless.optim.schedules import LRScheduler, check_optimizer, per_group

__all__ = ["OneCycleLR"]


class OneCycleLR(LRScheduler):
    """Smith's one-cycle schedule, as PyTorch's ``torch.optim.lr_scheduler.OneCycleLR``.

    Step it once per batch, ``total_steps`` times in all. The rate rises from
    ``max_lr / div_factor`` to ``max_lr`` over the first ``pct_start`` of the
    steps, then falls to ``max_lr / div_factor / final_div_factor`` at step
    ``total_steps - 1``, along half cosines (or straight lines with
    ``anneal_strategy="linear"``). With ``cycle_momentum`` the momentum (SGD,
    RMSprop) or ``beta1`` (Adam, AdamW) moves the other way, from
    ``max_momentum`` down to ``base_momentum`` and back.

    Building the schedule sets each group's ``initial_lr``, ``max_lr`` and
    ``min_lr`` (and ``max_momentum``, ``base_momentum``) as PyTorch does.

    Args:
        optimizer: The optimizer whose groups the schedule drives.
        max_lr: The peak rate, > 0: one for all groups or one per group.
        total_steps: The number of steps in the cycle, >= 1.
        pct_start: The fraction of the steps spent climbing, in (0, 1).
        anneal_strategy: ``"cos"`` or ``"linear"``.
        div_factor: ``max_lr / div_factor`` is the starting rate, > 0.
        final_div_factor: The final rate is the starting rate over this, > 0.
        cycle_momentum: Cycle the momentum inversely to the rate.
        base_momentum: The momentum at the peak rate, in [0, 1].
        max_momentum: The momentum at the start and end, in [0, 1].

    Raises:
        ValueError: an argument is out of range, ``cycle_momentum`` is asked of
            an optimizer without momentum, or ``step()`` is called more than
            ``total_steps`` times.
    """

    _state_keys = (
        *LRScheduler._state_keys,
        "total_steps",
        "pct_start",
        "_anneal_func_type",
        "cycle_momentum",
        "use_beta1",
    )

    interval = "batch"
    """``fit`` steps it after every batch: ``total_steps`` counts batches."""

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | Sequence[float],
        total_steps: int,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        *,
        cycle_momentum: bool = True,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
    ) -> None:
        name = "OneCycleLR"
        groups = check_optimizer(name, optimizer).param_groups
        self.total_steps = positive_int(name, "total_steps", total_steps)
        self.pct_start = open_fraction(name, "pct_start", pct_start)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"{name}: anneal_strategy must be 'cos' or 'linear', received {anneal_strategy!r}"
            )
        self._anneal_func_type = anneal_strategy  # PyTorch's name, in the state dict
        peaks = per_group(name, "max_lr", max_lr, len(groups), allow_zero=False)
        div = positive_float(name, "div_factor", div_factor)
        final_div = positive_float(name, "final_div_factor", final_div_factor)
        self.cycle_momentum = bool(cycle_momentum)
        self.use_beta1 = "betas" in optimizer.defaults
        if self.cycle_momentum and not (self.use_beta1 or "momentum" in optimizer.defaults):
            raise ValueError(
                f"{name}: cycle_momentum=True needs an optimizer with momentum or betas, "
                f"received {type(optimizer).__name__}; pass cycle_momentum=False"
            )
        low = unit_interval(name, "base_momentum", base_momentum)
        high = unit_interval(name, "max_momentum", max_momentum)
        for group, peak in zip(groups, peaks, strict=True):
            group.update(initial_lr=peak / div, max_lr=peak, min_lr=peak / div / final_div)
            if self.cycle_momentum:
                group.update(max_momentum=high, base_momentum=low)
        super().__init__(optimizer)

    def _phase(self, epoch: int) -> tuple[str, str, float]:
        """The group keys of the current phase's start and end rates, and the progress in it."""
        if epoch > self.total_steps:
            raise ValueError(
                f"OneCycleLR: stepped {epoch} times, but total_steps is {self.total_steps}"
            )
        peak_step = self.pct_start * self.total_steps - 1
        if epoch <= peak_step:
            return "initial_lr", "max_lr", epoch / peak_step
        return "max_lr", "min_lr", (epoch - peak_step) / (self.total_steps - 1 - peak_step)

    def _anneal(self, start: float, end: float, progress: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * progress) + 1)
        return (end - start) * progress + start

    def lr_at(self, epoch: int) -> list[float]:
        start, end, progress = self._phase(epoch)
        return [
            self._anneal(group[start], group[end], progress)
            for group in self.optimizer.param_groups
        ]

    def _apply(self, epoch: int) -> None:
        super()._apply(epoch)
        if not self.cycle_momentum:
            return
        start, _, progress = self._phase(epoch)
        # the momentum runs against the rate: high while the rate is low
        first, second = (
            ("max_momentum", "base_momentum")
            if start == "initial_lr"
            else ("base_momentum", "max_momentum")
        )
        for group in self.optimizer.param_groups:
            momentum = self._anneal(group[first], group[second], progress)
            if self.use_beta1:
                group["betas"] = (momentum, *group["betas"][1:])
            else:
                group["momentum"] = momentum
