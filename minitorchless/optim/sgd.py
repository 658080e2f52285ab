"""Stochastic gradient descent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minitorchless.optim.base import GroupOption, Optimizer
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
        parameters: The parameters to train, or a list of parameter groups
            (dicts with ``"params"`` and any of the arguments below).
        lr: Learning rate, > 0.
        momentum: Momentum factor, >= 0.
        nesterov: Use Nesterov momentum (needs ``momentum > 0``).
        weight_decay: L2 penalty added to the gradient, >= 0.

    State (per parameter, with momentum only): ``momentum_buffer``.
    """

    momentum = GroupOption()
    nesterov = GroupOption()
    weight_decay = GroupOption()
    _state_names = frozenset({"momentum_buffer"})

    def __init__(
        self,
        parameters: Any,
        lr: float,
        *,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        defaults = {"lr": lr, "momentum": momentum, "nesterov": nesterov}
        super().__init__(parameters, {**defaults, "weight_decay": weight_decay})

    def _check_group(self, group: dict[str, Any], label: Callable[[str], str]) -> None:
        self._non_negative(group, label, "momentum", "weight_decay")
        group["nesterov"] = bool(group["nesterov"])
        if group["nesterov"] and group["momentum"] == 0:
            raise ValueError(
                f"SGD: {label('nesterov')}=True needs momentum > 0, received momentum=0"
            )

    def step(self) -> None:
        """Update every trainable parameter once from its current gradient."""
        for group in self.param_groups:
            if group["momentum"] or group["weight_decay"]:
                for parameter in group["params"]:
                    if parameter.requires_grad:
                        self._update(parameter, group)
                continue
            # the classic rule, w <- w - lr * grad, with nothing per parameter to look up.
            # The product is a temporary that lives during the step only: a kept work
            # array would add its size to the peak memory of forward and backward, for
            # no gain in speed (measured). A Python float times a float32 array stays float32.
            lr = group["lr"]
            for parameter in group["params"]:
                if parameter.requires_grad:  # a frozen parameter is never updated
                    parameter.value -= lr * parameter.grad

    def _update(self, parameter: Parameter, group: dict[str, Any]) -> None:
        # the rule with momentum or weight decay; step() applies the plain one itself
        lr, momentum, weight_decay = group["lr"], group["momentum"], group["weight_decay"]
        grad = parameter.grad  # read only: backward owns it
        if weight_decay:
            grad = self._l2_gradient(parameter, weight_decay, 0)  # g = grad + wd * w
        if momentum:
            slots = self.state.setdefault(parameter, {})
            velocity = slots.get("momentum_buffer")
            if velocity is None:
                velocity = slots["momentum_buffer"] = grad.copy()
            else:
                velocity *= momentum
                velocity += grad
            if group["nesterov"]:
                # look ahead along the velocity: g = g + momentum * v
                ahead = np.multiply(velocity, momentum, out=self._scratch(parameter, 1))
                ahead += grad
                grad = ahead
            else:
                grad = velocity
        # w <- w - lr * g, in place; out= keeps the parameter's dtype (float32 stays float32)
        update = np.multiply(grad, lr, out=self._scratch(parameter))
        parameter.value -= update
