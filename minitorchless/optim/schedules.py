"""Learning-rate schedules, stepped once per epoch.

A schedule holds an optimizer and sets ``optimizer.lr`` from a closed form in
the epoch count, as PyTorch's ``torch.optim.lr_scheduler`` computes it::

    optimizer = mtl.SGD(model.parameters(), lr=0.1)
    schedule = mtl.StepLR(optimizer, step_size=30, gamma=0.1)
    for epoch in range(100):
        ...                     # one epoch of training at optimizer.lr
        schedule.step()

Because the rate is recomputed from the base rate and the epoch each time,
a change made to ``optimizer.lr`` by hand lasts only until the next ``step()``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

from minitorchless._checks import positive_float, positive_int
from minitorchless.optim.base import Optimizer

__all__ = ["CosineAnnealingLR", "ExponentialLR", "LRScheduler", "StepLR"]


class LRScheduler(ABC):
    """Base of the schedules: sets ``optimizer.lr`` to ``lr_at(epoch)`` on every ``step()``.

    Creating a schedule records the optimizer's current rate as ``base_lr`` and
    starts at epoch 0, where every schedule gives ``base_lr``.

    Subclasses implement ``lr_at(epoch)``.

    Args:
        optimizer: The optimizer whose ``lr`` the schedule sets.

    Attributes:
        optimizer: The optimizer.
        base_lr: The rate at epoch 0.
        last_epoch: The number of ``step()`` calls so far.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__}: expected an Optimizer, received {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        self.base_lr: float = optimizer.lr
        self.last_epoch = 0
        self._last_lr = self.base_lr

    @abstractmethod
    def lr_at(self, epoch: int) -> float:
        """The learning rate for ``epoch`` (0 is the first)."""

    def step(self) -> None:
        """Advance one epoch and set the optimizer's learning rate for it."""
        self.last_epoch += 1
        self._last_lr = self.lr_at(self.last_epoch)
        self.optimizer.lr = self._last_lr

    def get_last_lr(self) -> float:
        """The learning rate this schedule set last (``base_lr`` before any ``step()``)."""
        return self._last_lr

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_lr={self.base_lr}, last_epoch={self.last_epoch})"


class StepLR(LRScheduler):
    """Multiplies the rate by ``gamma`` every ``step_size`` epochs.

    ``lr = base_lr * gamma ** (epoch // step_size)``.

    Args:
        optimizer: The optimizer whose ``lr`` the schedule sets.
        step_size: Epochs between two decays, >= 1.
        gamma: The factor applied at each decay, > 0.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size = positive_int("StepLR", "step_size", step_size)
        self.gamma = positive_float("StepLR", "gamma", gamma)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """Multiplies the rate by ``gamma`` every epoch: ``lr = base_lr * gamma ** epoch``.

    Args:
        optimizer: The optimizer whose ``lr`` the schedule sets.
        gamma: The factor applied each epoch, > 0.
    """

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer)
        self.gamma = positive_float("ExponentialLR", "gamma", gamma)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """Anneals the rate from ``base_lr`` to ``eta_min`` along half a cosine over ``T_max`` epochs.

    ``lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2``.
    Past ``T_max`` the formula carries on, so the rate rises back towards
    ``base_lr``, as in PyTorch (there are no warm restarts).

    Args:
        optimizer: The optimizer whose ``lr`` the schedule sets.
        T_max: Epochs from ``base_lr`` down to ``eta_min``, >= 1.
        eta_min: The smallest rate, >= 0.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        super().__init__(optimizer)
        self.T_max = positive_int("CosineAnnealingLR", "T_max", T_max)
        self.eta_min = positive_float("CosineAnnealingLR", "eta_min", eta_min, allow_zero=True)

    def lr_at(self, epoch: int) -> float:
        cosine = (1 + math.cos(math.pi * epoch / self.T_max)) / 2  # from 1 down to 0
        return self.eta_min + (self.base_lr - self.eta_min) * cosine
