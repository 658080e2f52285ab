"""RMSprop: steps divided by a running root mean square of the gradient."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from minitorchless._checks import positive_float
from minitorchless.optim.base import Optimizer, fraction, running_average
from minitorchless.parameter import Parameter

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, with optional momentum and centering, following PyTorch's ``torch.optim.RMSprop``.

    At each step::

        g = grad + weight_decay * w                 (an L2 penalty)
        v = alpha * v + (1 - alpha) * g^2
        a = alpha * a + (1 - alpha) * g             (centered only)
        d = sqrt(v - a^2) + eps  if centered  else  sqrt(v) + eps
        b = momentum * b + g / d;  w = w - lr * b   if momentum > 0
        w = w - lr * g / d                          otherwise

    Centering divides by an estimate of the gradient's standard deviation
    rather than its root mean square. The variance ``v - a^2`` is clamped at 0
    first: it cannot be negative, but rounding can make it so.

    Args:
        parameters: The parameters to train.
        lr: Learning rate, > 0.
        alpha: Decay rate of the running averages, in [0, 1).
        eps: Added to the denominator for numerical stability, >= 0.
        weight_decay: L2 penalty added to the gradient, >= 0.
        momentum: Momentum factor, >= 0.
        centered: Normalize by the running variance instead of the mean square.

    Raises:
        ValueError: a hyper-parameter is out of range; the message names it and its value.
    """

    def __init__(
        self,
        parameters: Iterable[Parameter],
        lr: float = 1e-2,
        *,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(parameters, lr)
        self.alpha = fraction("RMSprop", "alpha", alpha)
        self.eps = positive_float("RMSprop", "eps", eps, allow_zero=True)
        self.weight_decay = positive_float("RMSprop", "weight_decay", weight_decay, allow_zero=True)
        self.momentum = positive_float("RMSprop", "momentum", momentum, allow_zero=True)
        self.centered = bool(centered)

    def step(self) -> None:
        alpha = self.alpha
        for parameter in self.params:
            work = self._scratch(parameter)
            grad = parameter.grad  # read only: backward owns it
            if self.weight_decay:
                grad = self._l2_gradient(parameter, self.weight_decay, 1)  # g = grad + wd * w

            # v <- alpha v + (1 - alpha) g^2
            square_avg = self._buffer(parameter, "square_avg")
            running_average(square_avg, np.multiply(grad, grad, out=work), alpha)
            if self.centered:
                # a <- alpha a + (1 - alpha) g
                grad_avg = self._buffer(parameter, "grad_avg")
                running_average(grad_avg, grad, alpha)
                # d <- sqrt(max(v - a^2, 0)) + eps
                denominator = np.multiply(grad_avg, grad_avg, out=work)
                np.subtract(square_avg, denominator, out=denominator)
                np.maximum(denominator, 0, out=denominator)
                np.sqrt(denominator, out=denominator)
            else:
                denominator = np.sqrt(square_avg, out=work)
            denominator += self.eps

            step = np.divide(grad, denominator, out=work)  # g / d
            if self.momentum:
                velocity = self._buffer(parameter, "momentum_buffer")
                velocity *= self.momentum
                velocity += step
                step = np.multiply(velocity, self.lr, out=work)
            else:
                step *= self.lr
            parameter.value -= step
