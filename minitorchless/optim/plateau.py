"""Lowering the learning rate when a monitored value stops improving."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from minitorchless._checks import non_negative_int, positive_float
from minitorchless.optim.base import Optimizer
from minitorchless.optim.schedules import (
    check_optimizer,
    export_attributes,
    load_attributes,
    per_group,
)

__all__ = ["ReduceLROnPlateau"]


class ReduceLROnPlateau:
    """Multiplies the rates by ``factor`` when a metric has not improved for ``patience`` steps.

    It follows PyTorch's ``torch.optim.lr_scheduler.ReduceLROnPlateau``. Each
    ``step(metrics)`` takes the monitored value (a validation loss, say),
    usually once per epoch. A value is an improvement when it beats the best so
    far by more than ``threshold``: ``value < best * (1 - threshold)`` in
    ``"min"`` mode with ``threshold_mode="rel"``, ``value < best - threshold``
    with ``"abs"`` (and the mirror images in ``"max"`` mode). After more than
    ``patience`` steps without one, every group's rate becomes
    ``max(lr * factor, min_lr)`` (a change smaller than ``eps`` is skipped),
    and ``cooldown`` steps pass before the count starts again.

    Args:
        optimizer: The optimizer whose groups' ``lr`` it lowers.
        mode: ``"min"`` (lower is better) or ``"max"``.
        factor: The factor applied to the rates, in (0, 1).
        patience: Steps without improvement that are tolerated, >= 0.
        threshold: The margin an improvement must beat, >= 0.
        threshold_mode: ``"rel"`` or ``"abs"``.
        cooldown: Steps after a reduction during which no count is kept, >= 0.
        min_lr: The lowest rate, >= 0: one for all groups or one per group.
        eps: The smallest change of a rate that is applied, >= 0.

    Attributes:
        best: The best value so far.
        num_bad_epochs: Steps since the last improvement.
        last_epoch: The number of ``step()`` calls so far.
    """

    _state_keys = (
        "mode",
        "factor",
        "patience",
        "threshold",
        "threshold_mode",
        "cooldown",
        "min_lrs",
        "eps",
        "best",
        "num_bad_epochs",
        "cooldown_counter",
        "last_epoch",
        "_last_lr",
    )

    takes_metric = True
    """``fit`` steps it with the monitored value (``LearningRateScheduler``'s ``monitor``)."""

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | Sequence[float] = 0.0,
        eps: float = 1e-8,
    ) -> None:
        name = "ReduceLROnPlateau"
        self.optimizer = check_optimizer(name, optimizer)
        for option, value, allowed in (
            ("mode", mode, ("min", "max")),
            ("threshold_mode", threshold_mode, ("rel", "abs")),
        ):
            if value not in allowed:
                raise ValueError(f"{name}: {option} must be one of {allowed}, received {value!r}")
        self.mode, self.threshold_mode = mode, threshold_mode
        self.factor = positive_float(name, "factor", factor)
        if self.factor >= 1:
            raise ValueError(f"{name}: factor must be < 1 to lower the rate, received {factor!r}")
        self.patience = non_negative_int(name, "patience", patience)
        self.threshold = positive_float(name, "threshold", threshold, allow_zero=True)
        self.cooldown = non_negative_int(name, "cooldown", cooldown)
        groups = len(optimizer.param_groups)
        self.min_lrs = per_group(name, "min_lr", min_lr, groups, allow_zero=True)
        self.eps = positive_float(name, "eps", eps, allow_zero=True)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def is_better(self, value: float, best: float) -> bool:
        """Whether ``value`` improves on ``best`` by more than the threshold."""
        if self.threshold_mode == "rel":  # PyTorch's bounds, for either sign of best
            bound = (
                best * (1 - self.threshold) if self.mode == "min" else best * (1 + self.threshold)
            )
        else:
            bound = best - self.threshold if self.mode == "min" else best + self.threshold
        return value < bound if self.mode == "min" else value > bound

    def step(self, metrics: float | None = None) -> None:
        """Take one value of the monitored metric, and lower the rates if it has stalled.

        Raises:
            TypeError: ``metrics`` is not a number. It has a default only so
                that a caller that steps schedules without a value (as ``fit``
                does with ``callbacks=[schedule]``) gets this message.
        """
        if isinstance(metrics, bool) or not isinstance(metrics, numbers.Real):
            raise TypeError(
                "ReduceLROnPlateau: step(metrics) needs the monitored value as a number, "
                f"received {metrics!r}; fit passes it the logged 'val_loss' (or 'loss', or the "
                "monitor of LearningRateScheduler(schedule, monitor=...))"
            )
        value = float(metrics)
        self.last_epoch += 1
        if self.is_better(value, self.best):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:  # in cooldown: bad steps are not counted
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce()
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce(self) -> None:
        for group, low in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
            old = float(group["lr"])
            new = max(old * self.factor, low)
            if old - new > self.eps:
                group["lr"] = new

    def get_last_lr(self) -> list[float]:
        """The learning rate of each group after the last ``step()``."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """The schedule's counters and settings (everything but the optimizer), PyTorch's names."""
        return export_attributes(self, self._state_keys)

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Take the state saved by ``state_dict()``; checked first, unchanged on an error.

        Raises:
            TypeError, ValueError: a key is missing or unknown, or a value does not fit.
        """
        load_attributes(self, self._state_keys, state_dict)

    def __repr__(self) -> str:
        return (
            f"ReduceLROnPlateau(mode={self.mode!r}, factor={self.factor}, "
            f"patience={self.patience}, best={self.best}, num_bad_epochs={self.num_bad_epochs})"
        )
