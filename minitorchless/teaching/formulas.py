"""The formulas ``explain`` prints for activations and losses, in the tutorial's notation."""

from __future__ import annotations

from minitorchless._types import FloatArray
from minitorchless.layers.activations import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from minitorchless.layers.base import Layer
from minitorchless.losses import CrossEntropyLoss, Loss, MSELoss

__all__ = ["ACTIVATIONS", "loss_formulas"]

# Forward and backward formulas of the activations, in terms of their input and
# output symbols. The backward ones use the output only, as the layers do.
ACTIVATIONS: dict[type[Layer], tuple[str, str]] = {
    Sigmoid: ("{out} = 1 / (1 + exp(-{inp}))", "dL/d{out} * {out} * (1 - {out})"),
    Tanh: ("{out} = tanh({inp})", "dL/d{out} * (1 - {out}**2)"),
    ReLU: ("{out} = max({inp}, 0)", "dL/d{out} * ({out} > 0)"),
    LeakyReLU: (
        "{out} = where({inp} > 0, {inp}, {slope} * {inp})",
        "dL/d{out} * where({out} > 0, 1, {slope})",
    ),
    Identity: ("{out} = {inp}", "dL/d{out}"),
    Softmax: (
        "{out} = exp({inp}) / sum(exp({inp}), axis=-1)",
        "{out} * (dL/d{out} - sum(dL/d{out} * {out}, axis=-1))",
    ),
}


def loss_formulas(loss: Loss, prediction: str, grad: FloatArray) -> tuple[str, str]:
    """Forward and backward formulas of the loss, with N spelled out for MSE."""
    if isinstance(loss, MSELoss):
        if loss.reduction == "mean":
            sizes = " * ".join(str(size) for size in grad.shape)
            count = f"N = {sizes} = {grad.size}" if grad.ndim > 1 else f"N = {grad.size}"
            return (
                f"L = sum(({prediction} - Y)**2) / N,  {count}",
                f"dL/d{prediction} = 2 / N * ({prediction} - Y)",
            )
        return f"L = sum(({prediction} - Y)**2)", f"dL/d{prediction} = 2 * ({prediction} - Y)"
    if isinstance(loss, CrossEntropyLoss):
        # the softmax is fused into the loss: its input is the logits
        if loss.reduction == "mean":
            return (
                f"L = -sum(Y * log(softmax({prediction}))) / n,  n = {grad.shape[0]}",
                f"dL/d{prediction} = (softmax({prediction}) - Y) / n",
            )
        return (
            f"L = -sum(Y * log(softmax({prediction})))",
            f"dL/d{prediction} = softmax({prediction}) - Y",
        )
    name = type(loss).__name__
    return f"L = {name}({prediction}, Y)", f"dL/d{prediction} = {name}.backward()"
