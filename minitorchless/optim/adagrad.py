"""Adagrad: steps divided by the root of the sum of all squared gradients so far."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minitorchless.optim.base import GroupOption, Optimizer
from minitorchless.parameter import Parameter

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan and Singer), following PyTorch's ``torch.optim.Adagrad``.

    At step ``t`` of a parameter::

        clr = lr / (1 + (t - 1) * lr_decay)
        g = grad + weight_decay * w                 (an L2 penalty)
        s = s + g^2                                 (s starts at initial_accumulator_value)
        w = w - clr * g / (sqrt(s) + eps)

    Weights whose gradients have been large take small steps, and rarely
    updated weights keep large ones.

    Args:
        parameters: The parameters to train, or a list of parameter groups
            (dicts with ``"params"`` and any of the arguments below).
        lr: Learning rate, > 0.
        lr_decay: Decay of the rate with the step count, >= 0.
        weight_decay: L2 penalty added to the gradient, >= 0.
        initial_accumulator_value: The start of the sum of squares, >= 0.
        eps: Added to the denominator for numerical stability, >= 0.

    State (per parameter, from its first update): ``step`` and ``sum`` (s).
    PyTorch creates the state when the optimizer is built; here it appears at
    the first update, so frozen parameters get none.

    Raises:
        ValueError: a hyper-parameter is out of range; the message names it and its value.
    """

    lr_decay = GroupOption()
    weight_decay = GroupOption()
    initial_accumulator_value = GroupOption()
    eps = GroupOption()
    _state_names = frozenset({"step", "sum"})

    def __init__(
        self,
        parameters: Any,
        lr: float = 1e-2,
        *,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        defaults = {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay}
        super().__init__(
            parameters,
            {**defaults, "initial_accumulator_value": initial_accumulator_value, "eps": eps},
        )

    def _check_group(self, group: dict[str, Any], label: Callable[[str], str]) -> None:
        keys = ("lr_decay", "weight_decay", "initial_accumulator_value", "eps")
        self._non_negative(group, label, *keys)

    def _update(self, parameter: Parameter, group: dict[str, Any]) -> None:
        slots = self.state.setdefault(parameter, {})
        if "sum" not in slots:
            slots["sum"] = np.full_like(parameter.value, group["initial_accumulator_value"])
        steps = slots["step"] = slots.get("step", 0) + 1
        clr = group["lr"] / (1 + (steps - 1) * group["lr_decay"])
        grad = parameter.grad  # read only: backward owns it
        if group["weight_decay"]:
            grad = self._l2_gradient(parameter, group["weight_decay"], 1)  # g = grad + wd * w

        total = slots["sum"]
        work = self._scratch(parameter)
        total += np.multiply(grad, grad, out=work)  # s <- s + g^2
        denominator = np.sqrt(total, out=work)
        denominator += group["eps"]
        update = np.divide(grad, denominator, out=work)  # g / (sqrt(s) + eps)
        update *= clr
        parameter.value -= update
