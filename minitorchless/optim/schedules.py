"""Learning-rate schedules with a closed form in the step count.

A schedule holds an optimizer and sets the ``"lr"`` of each of its parameter
groups from the group's base rate and the number of ``step()`` calls, with the
values of PyTorch's ``torch.optim.lr_scheduler``::

    optimizer = mtl.SGD(model.parameters(), lr=0.1)
    schedule = mtl.StepLR(optimizer, step_size=30, gamma=0.1)
    for epoch in range(100):
        ...                     # one epoch of training at optimizer.lr
        schedule.step()

Whether a step is an epoch or a batch is up to the caller: ``fit`` steps the
schedules it is given once per epoch; ``OneCycleLR`` is meant to be stepped
once per batch. Because the rate is recomputed from the base rate each time,
a change made to ``optimizer.lr`` by hand lasts only until the next ``step()``.
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from minitorchless._checks import positive_float, positive_int, unit_interval
from minitorchless.optim.base import Optimizer

__all__ = [
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LinearLR",
    "StepLR",
    "check_optimizer",
    "export_attributes",
    "load_attributes",
    "per_group",
]


def check_optimizer(owner: str, optimizer: Any) -> Optimizer:
    """Return ``optimizer`` if it is an ``Optimizer``, else raise naming ``owner``."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner}: expected an Optimizer, received {type(optimizer).__name__}")
    return optimizer


def per_group(owner: str, name: str, value: Any, groups: int, *, allow_zero: bool) -> list[float]:
    """One value per parameter group, from one number for all or a sequence of them.

    Raises:
        ValueError: a sequence of the wrong length, or a value out of range.
    """
    values = list(value) if isinstance(value, Sequence) else [value] * groups
    if len(values) != groups:
        raise ValueError(
            f"{owner}: {name} needs one value per parameter group ({groups}), "
            f"received {len(values)}"
        )
    return [positive_float(owner, name, item, allow_zero=allow_zero) for item in values]


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return [_copy(item) for item in value]
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    return value


def export_attributes(owner: object, names: tuple[str, ...]) -> dict[str, Any]:
    """``{name: value}`` for each attribute in ``names``, lists and dicts copied."""
    return {name: _copy(getattr(owner, name)) for name in names}


def _same_kind(current: Any, value: Any) -> bool:
    if isinstance(current, bool) or current is None:
        return type(value) is type(current)
    if isinstance(current, numbers.Real):
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if isinstance(current, list | tuple):
        return (
            isinstance(value, list | tuple)
            and len(value) == len(current)
            and all(_same_kind(a, b) for a, b in zip(current, value, strict=True))
        )
    if isinstance(current, dict):
        return isinstance(value, Mapping) and value.keys() == current.keys()
    return type(value) is type(current)


def load_attributes(
    owner: object, names: tuple[str, ...], state_dict: Any, *, check_only: bool = False
) -> None:
    """Set each attribute in ``names`` from ``state_dict``, after checking all of them.

    Every name must be present, and each value of the kind the attribute has
    now (a number for a number, a list as long for a list): so a state saved
    from a schedule on another number of parameter groups is refused, and
    nothing changes when anything is wrong. ``check_only`` checks and sets nothing.

    Raises:
        TypeError: ``state_dict`` is not a dict.
        ValueError: a name is missing or unknown, or a value does not fit.
    """
    name = type(owner).__name__
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"{name}.load_state_dict: expected a dict from state_dict(), "
            f"received {type(state_dict).__name__}"
        )
    missing, unknown = sorted(set(names) - set(state_dict)), sorted(set(state_dict) - set(names))
    if missing or unknown:
        raise ValueError(
            f"{name}.load_state_dict: expected the keys {sorted(names)}, "
            f"missing {missing}, unknown {unknown}"
        )
    for key in names:
        current, value = getattr(owner, key), state_dict[key]
        if not _same_kind(current, value):
            raise ValueError(
                f"{name}.load_state_dict: {key!r} must be like {current!r} "
                f"(same kind and length), received {value!r}"
            )
    if check_only:
        return
    for key in names:
        setattr(owner, key, _copy(state_dict[key]))


class LRScheduler(ABC):
    """Base of the closed-form schedules: ``step()`` sets every group's ``lr`` from ``lr_at``.

    Creating a schedule records each group's ``"initial_lr"`` (its current
    rate, unless an earlier schedule recorded one, as PyTorch does) as its
    base rate, and sets the rates for step 0.

    Subclasses implement ``lr_at(epoch)``.

    Args:
        optimizer: The optimizer whose groups' ``lr`` the schedule sets.

    Attributes:
        optimizer: The optimizer.
        base_lrs: The base rate of each parameter group.
        last_epoch: The number of ``step()`` calls so far (PyTorch's name:
            it counts batches for a schedule stepped per batch).
    """

    _state_keys: tuple[str, ...] = ("base_lrs", "last_epoch", "_last_lr")

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = check_optimizer(type(self).__name__, optimizer)
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._last_lr: list[float] = []
        self._apply(0)

    @abstractmethod
    def lr_at(self, epoch: int) -> list[float]:
        """The learning rate of each parameter group after ``epoch`` steps."""

    def step(self) -> None:
        """Advance one step and set each group's learning rate for it."""
        self._apply(self.last_epoch + 1)  # may refuse: then nothing has changed
        self.last_epoch += 1

    def _apply(self, epoch: int) -> None:
        """Set the groups' rates for ``epoch``."""
        lrs = self.lr_at(epoch)
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        self._last_lr = lrs

    def get_last_lr(self) -> list[float]:
        """The learning rate of each group that this schedule set last."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """The schedule's state and settings (everything but the optimizer), PyTorch's names."""
        return export_attributes(self, self._state_keys)

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Take the state saved by ``state_dict()``, and set the rates for its step again.

        Load the optimizer's state dict too (it holds the groups'
        ``initial_lr`` and the other hyper-parameters). The rates are a closed
        form in the step, so setting them again changes nothing when the
        optimizer was loaded first, and puts them right when the schedule was
        built after it (building sets the rates for step 0). Everything is
        checked before anything changes.

        Raises:
            TypeError, ValueError: a key is missing or unknown, or a value does not
                fit (another number of parameter groups, say).
        """
        load_attributes(self, self._state_keys, state_dict)
        self._apply(self.last_epoch)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_lrs={self.base_lrs}, last_epoch={self.last_epoch})"


class StepLR(LRScheduler):
    """Multiplies the rate by ``gamma`` every ``step_size`` steps.

    ``lr = base_lr * gamma ** (epoch // step_size)``.

    Args:
        optimizer: The optimizer whose ``lr`` the schedule sets.
        step_size: Steps between two decays, >= 1.
        gamma: The factor applied at each decay, > 0.
    """

    _state_keys = (*LRScheduler._state_keys, "step_size", "gamma")

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = positive_int("StepLR", "step_size", step_size)
        self.gamma = positive_float("StepLR", "gamma", gamma)
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> list[float]:
        return [base_lr * self.gamma ** (epoch // self.step_size) for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiplies the rate by ``gamma`` every step: ``lr = base_lr * gamma ** epoch``.

    Args:
        optimizer: The optimizer whose ``lr`` the schedule sets.
        gamma: The factor applied each step, > 0.
    """

    _state_keys = (*LRScheduler._state_keys, "gamma")

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        self.gamma = positive_float("ExponentialLR", "gamma", gamma)
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> list[float]:
        return [base_lr * self.gamma**epoch for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Anneals the rate from ``base_lr`` to ``eta_min`` along half a cosine over ``T_max`` steps.

    ``lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2``.
    Past ``T_max`` the formula carries on, so the rate rises back towards
    ``base_lr``, as in PyTorch (there are no warm restarts).

    Args:
        optimizer: The optimizer whose ``lr`` the schedule sets.
        T_max: Steps from ``base_lr`` down to ``eta_min``, >= 1.
        eta_min: The smallest rate, >= 0.
    """

    _state_keys = (*LRScheduler._state_keys, "T_max", "eta_min")

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        self.T_max = positive_int("CosineAnnealingLR", "T_max", T_max)
        self.eta_min = positive_float("CosineAnnealingLR", "eta_min", eta_min, allow_zero=True)
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> list[float]:
        cosine = (1 + math.cos(math.pi * epoch / self.T_max)) / 2  # from 1 down to 0
        return [self.eta_min + (base_lr - self.eta_min) * cosine for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """Scales the rate by a factor that moves in a straight line: a warm-up, usually.

    ``lr = base_lr * (start_factor + (end_factor - start_factor) * min(epoch, total_iters)
    / total_iters)``: from ``start_factor * base_lr`` at step 0 to
    ``end_factor * base_lr`` at ``total_iters``, constant after.

    Args:
        optimizer: The optimizer whose ``lr`` the schedule sets.
        start_factor: The factor at step 0, in (0, 1].
        end_factor: The factor from ``total_iters`` on, in [0, 1].
        total_iters: Steps from the one factor to the other, >= 1.
    """

    _state_keys = (*LRScheduler._state_keys, "start_factor", "end_factor", "total_iters")

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
    ) -> None:
        self.start_factor = unit_interval("LinearLR", "start_factor", start_factor)
        if self.start_factor == 0:
            raise ValueError("LinearLR: start_factor must be in (0, 1], received 0")
        self.end_factor = unit_interval("LinearLR", "end_factor", end_factor)
        self.total_iters = positive_int("LinearLR", "total_iters", total_iters)
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> list[float]:
        progress = min(epoch, self.total_iters) / self.total_iters
        factor = self.start_factor + (self.end_factor - self.start_factor) * progress
        return [base_lr * factor for base_lr in self.base_lrs]
