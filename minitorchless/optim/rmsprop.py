"""RMSprop: steps divided by a running root mean square of the gradient."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minitorchless.optim.base import GroupOption, Optimizer, fraction, running_average
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
        parameters: The parameters to train, or a list of parameter groups
            (dicts with ``"params"`` and any of the arguments below).
        lr: Learning rate, > 0.
        alpha: Decay rate of the running averages, in [0, 1).
        eps: Added to the denominator for numerical stability, >= 0.
        weight_decay: L2 penalty added to the gradient, >= 0.
        momentum: Momentum factor, >= 0.
        centered: Normalize by the running variance instead of the mean square.

    State (per parameter): ``step``, ``square_avg`` (v), ``grad_avg`` (a,
    centered only) and ``momentum_buffer`` (b, with momentum only).

    Raises:
        ValueError: a hyper-parameter is out of range; the message names it and its value.
    """

    alpha = GroupOption()
    eps = GroupOption()
    weight_decay = GroupOption()
    momentum = GroupOption()
    centered = GroupOption()
    _state_names = frozenset({"step", "square_avg", "grad_avg", "momentum_buffer"})

    def __init__(
        self,
        parameters: Any,
        lr: float = 1e-2,
        *,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        defaults = {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay}
        super().__init__(parameters, {**defaults, "momentum": momentum, "centered": centered})

    def _check_group(self, group: dict[str, Any], label: Callable[[str], str]) -> None:
        group["alpha"] = fraction("RMSprop", label("alpha"), group["alpha"])
        self._non_negative(group, label, "eps", "weight_decay", "momentum")
        group["centered"] = bool(group["centered"])

    def _update(self, parameter: Parameter, group: dict[str, Any]) -> None:
        alpha, weight_decay, momentum = group["alpha"], group["weight_decay"], group["momentum"]
        slots = self.state.setdefault(parameter, {})
        slots["step"] = slots.get("step", 0) + 1  # kept as PyTorch keeps it; the rule needs no t
        work = self._scratch(parameter)
        grad = parameter.grad  # read only: backward owns it
        if weight_decay:
            grad = self._l2_gradient(parameter, weight_decay, 1)  # g = grad + wd * w

        # v <- alpha v + (1 - alpha) g^2
        square_avg = self._buffer(parameter, "square_avg")
        running_average(square_avg, np.multiply(grad, grad, out=work), alpha)
        if group["centered"]:
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
        denominator += group["eps"]

        step = np.divide(grad, denominator, out=work)  # g / d
        if momentum:
            velocity = self._buffer(parameter, "momentum_buffer")
            velocity *= momentum
            velocity += step
            step = np.multiply(velocity, group["lr"], out=work)
        else:
            step *= group["lr"]
        parameter.value -= step
