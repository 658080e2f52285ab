"""Adam and AdamW: adaptive moment estimation."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from minitorchless._checks import positive_float
from minitorchless.optim.base import Optimizer, fraction, running_average
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
        parameters: The parameters to train.
        lr: Learning rate, > 0.
        betas: Decay rates ``(beta1, beta2)`` of the moment estimates, each in [0, 1).
        eps: Added to the denominator for numerical stability, >= 0.
        weight_decay: L2 penalty added to the gradient, >= 0; ``None`` means 0
            for Adam and 0.01 for AdamW, PyTorch's defaults.
        amsgrad: Divide by the largest second moment seen so far (the AMSGrad variant).

    Raises:
        ValueError: a hyper-parameter is out of range; the message names it and its value.
    """

    # Adam adds the decay to the gradient; AdamW shrinks the weights directly
    _decoupled_weight_decay = False
    _default_weight_decay = 0.0  # PyTorch's: 0 for Adam, 0.01 for AdamW

    def __init__(
        self,
        parameters: Iterable[Parameter],
        lr: float = 1e-3,
        *,
        betas: Sequence[float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float | None = None,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(parameters, lr)
        if weight_decay is None:
            weight_decay = self._default_weight_decay
        name = type(self).__name__
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            raise TypeError(
                f"{name}: betas must be a pair (beta1, beta2), received {betas!r}"
            ) from None
        self.betas = (fraction(name, "betas[0]", beta1), fraction(name, "betas[1]", beta2))
        self.eps = positive_float(name, "eps", eps, allow_zero=True)
        self.weight_decay = positive_float(name, "weight_decay", weight_decay, allow_zero=True)
        self.amsgrad = bool(amsgrad)
        self.steps = 0  # t in the bias corrections; every parameter is updated on every step

    def reset_state(self) -> None:
        super().reset_state()
        self.steps = 0  # the bias corrections start again with the moments

    def step(self) -> None:
        self.steps += 1
        beta1, beta2 = self.betas
        step_size = self.lr / (1 - beta1**self.steps)
        second_moment_correction = math.sqrt(1 - beta2**self.steps)
        for parameter in self.params:
            work = self._scratch(parameter)
            grad = parameter.grad  # read only: backward owns it
            if self.weight_decay and self._decoupled_weight_decay:
                parameter.value *= 1 - self.lr * self.weight_decay  # w <- w - lr * wd * w
            elif self.weight_decay:
                grad = self._l2_gradient(parameter, self.weight_decay, 0)  # g = grad + wd * w

            exp_avg = self._buffer(parameter, "exp_avg")
            exp_avg_sq = self._buffer(parameter, "exp_avg_sq")
            running_average(exp_avg, grad, beta1)  # m <- beta1 m + (1 - beta1) g
            # v <- beta2 v + (1 - beta2) g^2 (g may live in the work array: it is no longer needed)
            running_average(exp_avg_sq, np.multiply(grad, grad, out=work), beta2)
            if self.amsgrad:
                max_exp_avg_sq = self._buffer(parameter, "max_exp_avg_sq")
                np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
                exp_avg_sq = max_exp_avg_sq

            # w <- w - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
            denominator = np.sqrt(exp_avg_sq, out=work)
            denominator /= second_moment_correction
            denominator += self.eps
            update = np.divide(exp_avg, denominator, out=work)
            update *= step_size
            parameter.value -= update

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(lr={self.lr}, betas={self.betas}, eps={self.eps}, "
            f"weight_decay={self.weight_decay}, amsgrad={self.amsgrad}, "
            f"parameters={len(self.params)})"
        )


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
