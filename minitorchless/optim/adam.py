"""Adam and AdamW: adaptive moment estimation."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minitorchless.optim.base import GroupOption, Optimizer, fraction, running_average
from minitorchless.parameter import Parameter

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam: steps scaled by running estimates of the gradient's first two moments.

    The update follows PyTorch's ``torch.optim.Adam``; at step ``t``::

        g = grad + weight_decay * w                 (an L2 penalty)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2
        v_max = max(v_max, v)                       (amsgrad only; then v_max replaces v)
        w = w - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    The bias corrections undo the pull of the zero start on ``m`` and ``v``;
    ``eps`` is added after the square root of the corrected second moment.

    Args:
        parameters: The parameters to train, or a list of parameter groups
            (dicts with ``"params"`` and any of the arguments below).
        lr: Learning rate, > 0.
        betas: Decay rates ``(beta1, beta2)`` of the moment estimates, each in [0, 1).
        eps: Added to the denominator for numerical stability, >= 0.
        weight_decay: L2 penalty added to the gradient, >= 0; ``None`` means 0
            for Adam and 0.01 for AdamW, PyTorch's defaults.
        amsgrad: Divide by the largest second moment seen so far (the AMSGrad variant).

    State (per parameter): ``step`` (its own count of updates, the ``t``
    above), ``exp_avg`` (m), ``exp_avg_sq`` (v) and, with amsgrad, ``max_exp_avg_sq``.

    Raises:
        ValueError: a hyper-parameter is out of range; the message names it and its value.
    """

    # Adam adds the decay to the gradient; AdamW shrinks the weights directly
    _decoupled_weight_decay = False
    _default_weight_decay = 0.0  # PyTorch's: 0 for Adam, 0.01 for AdamW
    _state_names = frozenset({"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"})
    betas = GroupOption()
    eps = GroupOption()
    weight_decay = GroupOption()
    amsgrad = GroupOption()

    def __init__(
        self,
        parameters: Any,
        lr: float = 1e-3,
        *,
        betas: Sequence[float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float | None = None,
        amsgrad: bool = False,
    ) -> None:
        if weight_decay is None:
            weight_decay = self._default_weight_decay
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
        super().__init__(parameters, {**defaults, "amsgrad": amsgrad})

    def _check_group(self, group: dict[str, Any], label: Callable[[str], str]) -> None:
        name = type(self).__name__
        if group["weight_decay"] is None:
            group["weight_decay"] = self._default_weight_decay
        self._non_negative(group, label, "eps", "weight_decay")
        try:
            beta1, beta2 = group["betas"]
        except (TypeError, ValueError):
            raise TypeError(
                f"{name}: {label('betas')} must be a pair (beta1, beta2), "
                f"received {group['betas']!r}"
            ) from None
        group["betas"] = (
            fraction(name, label("betas[0]"), beta1),
            fraction(name, label("betas[1]"), beta2),
        )
        group["amsgrad"] = bool(group["amsgrad"])

    def _update(self, parameter: Parameter, group: dict[str, Any]) -> None:
        lr, weight_decay = group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        slots = self.state.setdefault(parameter, {})
        # t in the bias corrections counts this parameter's updates (a frozen one's stop)
        steps = slots["step"] = slots.get("step", 0) + 1
        work = self._scratch(parameter)
        grad = parameter.grad  # read only: backward owns it
        if weight_decay and self._decoupled_weight_decay:
            parameter.value *= 1 - lr * weight_decay  # w <- w - lr * wd * w
        elif weight_decay:
            grad = self._l2_gradient(parameter, weight_decay, 0)  # g = grad + wd * w

        exp_avg = self._buffer(parameter, "exp_avg")
        exp_avg_sq = self._buffer(parameter, "exp_avg_sq")
        running_average(exp_avg, grad, beta1)  # m <- beta1 m + (1 - beta1) g
        # v <- beta2 v + (1 - beta2) g^2 (g may live in the work array: it is no longer needed)
        running_average(exp_avg_sq, np.multiply(grad, grad, out=work), beta2)
        if group["amsgrad"]:
            max_exp_avg_sq = self._buffer(parameter, "max_exp_avg_sq")
            np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
            exp_avg_sq = max_exp_avg_sq

        # w <- w - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
        denominator = np.sqrt(exp_avg_sq, out=work)
        denominator /= math.sqrt(1 - beta2**steps)
        denominator += group["eps"]
        update = np.divide(exp_avg, denominator, out=work)
        update *= lr / (1 - beta1**steps)
        parameter.value -= update


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter).

    Before the Adam step, the weights shrink by ``w <- w - lr * weight_decay * w``
    and the gradient is left alone, so the decay is not rescaled by Adam's
    per-weight step sizes. This follows PyTorch's ``torch.optim.AdamW``,
    including its default ``weight_decay=0.01``. The arguments are Adam's;
    ``weight_decay`` is the decoupled decay rate.
    """

    _decoupled_weight_decay = True
    _default_weight_decay = 1e-2
