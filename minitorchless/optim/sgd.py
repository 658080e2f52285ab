"""Stochastic gradient descent."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from minitorchless._checks import positive_float
from minitorchless.optim.base import Optimizer
from minitorchless.parameter import Parameter

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum and weight decay.

    The update follows PyTorch's ``torch.optim.SGD``::

        g = grad + weight_decay * w
        v = momentum * v + g            (v = g on the first step)
        g = g + momentum * v  if nesterov else  v
        w = w - lr * g

    With the defaults it is the classic rule ``w = w - lr * grad``.

    Args:
        parameters: The parameters to train.
        lr: Learning rate, > 0.
        momentum: Momentum factor, >= 0.
        nesterov: Use Nesterov momentum (needs ``momentum > 0``).
        weight_decay: L2 penalty added to the gradient, >= 0.
    """

    def __init__(
        self,
        parameters: Iterable[Parameter],
        lr: float,
        *,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(parameters, lr)
        self.momentum = positive_float("SGD", "momentum", momentum, allow_zero=True)
        self.weight_decay = positive_float("SGD", "weight_decay", weight_decay, allow_zero=True)
        if nesterov and self.momentum == 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0, received momentum=0")
        self.nesterov = bool(nesterov)

    def step(self) -> None:
        if not (self.momentum or self.weight_decay):
            for parameter in self.params:
                # w <- w - lr * grad. The product is a temporary that lives during the
                # step only: a kept work array would add its size to the peak memory
                # of forward and backward, for no gain in speed (measured). A Python
                # float times a float32 array stays float32.
                parameter.value -= self.lr * parameter.grad
            return
        for parameter in self.params:
            grad = parameter.grad  # read only: backward owns it
            if self.weight_decay:
                grad = self._l2_gradient(parameter, self.weight_decay, 0)  # g = grad + wd * w
            if self.momentum:
                slots = self.state.setdefault(parameter, {})
                velocity = slots.get("momentum_buffer")
                if velocity is None:
                    velocity = slots["momentum_buffer"] = grad.copy()
                else:
                    velocity *= self.momentum
                    velocity += grad
                if self.nesterov:
                    # look ahead along the velocity: g = g + momentum * v
                    ahead = np.multiply(velocity, self.momentum, out=self._scratch(parameter, 1))
                    ahead += grad
                    grad = ahead
                else:
                    grad = velocity
            # w <- w - lr * g, in place; out= keeps the parameter's dtype (float32 stays float32)
            update = np.multiply(grad, self.lr, out=self._scratch(parameter))
            parameter.value -= update
