"""The formulas ``explain`` prints, per kind of layer and loss, in the tutorial's notation.

Each entry gives a step's forward and backward as text, with ``{out}`` for the
symbol of its output, ``{inp}`` for its input's and, for a merge, ``{inps}``
for its inputs'. The backward formulas are the ones the layers compute: an
activation's from its output alone, as its backward does. A layer without an
entry is shown as ``H = Name(X)`` and ``Name.backward(dL/dH)``; adding an entry
here is all a new layer needs to be explained in full.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from minitorchless._types import FloatArray
from minitorchless.layers.activations import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from minitorchless.layers.base import Layer
from minitorchless.layers.batch_norm import BatchNorm1d, BatchNorm2d
from minitorchless.layers.combinators import Parallel, Residual
from minitorchless.layers.dropout import Dropout, Dropout2d
from minitorchless.layers.embedding import Embedding
from minitorchless.layers.layer_norm import LayerNorm
from minitorchless.layers.merge import Add, Concatenate
from minitorchless.layers.pooling import AvgPool1d, AvgPool2d, GlobalAvgPool2d, MaxPool1d, MaxPool2d
from minitorchless.layers.reshape import Flatten, Reshape
from minitorchless.layers.smooth_activations import ELU, GELU, SiLU, Softplus
from minitorchless.losses import CrossEntropyLoss, Loss, MSELoss
from minitorchless.teaching.deep_formulas import DEEP_FORMULAS, DEEP_PARAMETER_FORMULAS, values

__all__ = [
    "ACTIVATIONS",
    "FORMULAS",
    "PARAMETER_FORMULAS",
    "backward_formula",
    "forward_formula",
    "loss_formulas",
    "parameter_formula",
    "parameter_key",
]

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
    ELU: (
        "{out} = where({inp} > 0, {inp}, {alpha} * (exp({inp}) - 1))",
        "dL/d{out} * where({out} > 0, 1, {out} + {alpha})",
    ),
    Softmax: (
        "{out} = exp({inp}) / sum(exp({inp}), axis=-1)",
        "{out} * (dL/d{out} - sum(dL/d{out} * {out}, axis=-1))",
    ),
}

# The other layers explain knows, in the same form.
FORMULAS: dict[type[Layer], tuple[str, str]] = {
    **ACTIVATIONS,
    Dropout: ("{out} = {inp} * mask / (1 - p),  p = {p}", "dL/d{out} * mask / (1 - p)"),
    Add: ("{out} = {inps_plus}", "dL/d{out}, to every input"),
    Concatenate: ("{out} = concat([{inps}], axis=-1)", "split(dL/d{out}, axis=-1)"),
    Residual: ("{out} = {inp} + {block}", "dL/d{out} + (the block's dL/d{inp})"),
    Parallel: ("{out} = {merge}(branches({inp}))", "sum of the branches' dL/d{inp}"),
    GELU: ("{out} = {inp} * Phi({inp}){gelu}", "dL/d{out} * (Phi({inp}) + {inp} * phi({inp}))"),
    SiLU: (
        "{out} = {inp} * sigmoid({inp})",
        "dL/d{out} * (s + {inp} * s * (1 - s)),  s = sigmoid({inp})",
    ),
    Softplus: (
        "{out} = log(1 + exp({beta} * {inp})) / {beta}",
        "dL/d{out} * sigmoid({beta} * {inp})",
    ),
    Flatten: ("{out} = reshape({inp}, (batch, -1))", "reshape(dL/d{out}, the shape of {inp})"),
    Reshape: ("{out} = reshape({inp}, (batch, {shape}))", "reshape(dL/d{out}, the shape of {inp})"),
    LayerNorm: (
        "{out} = (({inp} - mean) / sqrt(var + eps)) * weight + bias, over the last axes",
        "r * (g - mean(g) - u * mean(g * u)),  u = normalized {inp}, g = dL/d{out} * weight,"
        " r = 1 / sqrt(var + eps)",
    ),
    Embedding: ("{out} = weight[{inp}]", "none: {inp} holds indices"),
}

# pooling and normalization
_POOLING: dict[type[Layer], tuple[str, str]] = {
    **dict.fromkeys(
        (MaxPool1d, MaxPool2d),
        (
            "{out} = max of each {kernel} window of {inp}, stride {stride}, -inf padding {padding}",
            "dL/d{out} to the position of its window's maximum, summed where windows overlap",
        ),
    ),
    **dict.fromkeys(
        (AvgPool1d, AvgPool2d),
        (
            "{out} = mean of each {kernel} window of {inp}, stride {stride}, zero padding "
            "{padding} counted",
            "dL/d{out} / {count} to every position of its window, summed where windows overlap",
        ),
    ),
    GlobalAvgPool2d: ("{out} = mean({inp}, axis=(2, 3))", "dL/d{out} / (H * W), to every pixel"),
    **dict.fromkeys(
        (BatchNorm1d, BatchNorm2d),
        (
            "{out} = (({inp} - mean) / sqrt(var + eps)) * weight + bias, per channel; mean and "
            "var of the batch in training, the running ones in eval",
            "r * (g - mean(g) - u * mean(g * u)) in training, r * g in eval,  u = normalized "
            "{inp}, g = dL/d{out} * weight, r = 1 / sqrt(var + eps), means per channel",
        ),
    ),
    Dropout2d: (
        "{out} = {inp} * mask / (1 - p), one mask entry per channel,  p = {p}",
        "dL/d{out} * mask / (1 - p)",
    ),
}
FORMULAS.update(_POOLING)

# The gradients of the parameters of the layers above, where explain shows them apart.
PARAMETER_FORMULAS: dict[tuple[type[Layer], str], str] = {
    (LayerNorm, "weight"): "sum(dL/d{out} * u) over every axis but the normalized ones",
    (LayerNorm, "bias"): "sum(dL/d{out}) over every axis but the normalized ones",
    (Embedding, "weight"): "row i: the sum of dL/d{out} over the positions where {inp} == i",
}
for _norm in (BatchNorm1d, BatchNorm2d):
    PARAMETER_FORMULAS[_norm, "weight"] = "sum(dL/d{out} * u) over every axis but the channels"
    PARAMETER_FORMULAS[_norm, "bias"] = "sum(dL/d{out}) over every axis but the channels"

# convolution, recurrent layers and attention
FORMULAS.update(DEEP_FORMULAS)
PARAMETER_FORMULAS.update(DEEP_PARAMETER_FORMULAS)


def _sizes(sizes: str | tuple[int, ...]) -> str:
    if isinstance(sizes, str):  # a convolution's "same" or "valid"
        return repr(sizes)
    return str(sizes[0]) if len(set(sizes)) == 1 else str(sizes)


def _fill(template: str, layer: Layer, names: dict[str, Any], inputs: list[str]) -> str:
    approximate = getattr(layer, "approximate", "none")
    filled = {
        "slope": getattr(layer, "negative_slope", ""),
        "p": getattr(layer, "p", ""),
        "merge": getattr(layer, "merge", ""),
        "alpha": getattr(layer, "alpha", ""),
        "beta": getattr(layer, "beta", ""),
        "shape": ", ".join(str(size) for size in getattr(layer, "shape", ())),
        "gelu": "" if approximate == "none" else ",  Phi by its tanh approximation",
        "kernel": " x ".join(map(str, getattr(layer, "kernel_size", ()))),
        "stride": _sizes(getattr(layer, "stride", ())),
        "padding": _sizes(getattr(layer, "padding", ())),
        "count": int(np.prod(getattr(layer, "kernel_size", ()))),
        **values(layer, inputs),
        **names,
    }
    return template.format(**filled)


def forward_formula(layer: Layer, out: str, inputs: list[str], block: str = "") -> str:
    """The forward of one step: ``A1 = 1 / (1 + exp(-Z1))``, ``H3 = Conv2d(A2)``..."""
    template = FORMULAS.get(type(layer))
    if template is None:
        return f"{out} = {type(layer).__name__}({', '.join(inputs)})"
    return _fill(
        template[0],
        layer,
        {
            "out": out,
            "inp": inputs[0],
            "inps": ", ".join(inputs),
            "inps_plus": " + ".join(inputs),
            "block": block,
        },
        inputs,
    )


def backward_formula(layer: Layer, out: str, inp: str, inputs: list[str] | None = None) -> str:
    """The rule a step's backward applies to ``dL/d{out}`` to give the gradient of ``inp``.

    ``inputs`` are the symbols of all the step's inputs, where it has several.
    """
    template = FORMULAS.get(type(layer))
    if template is None:
        return f"{type(layer).__name__}.backward(dL/d{out})"
    return _fill(template[1], layer, {"out": out, "inp": inp}, inputs or [inp])


def parameter_key(layer: Layer, name: str) -> tuple[type[Layer], str]:
    """The key of a parameter's rule: a recurrent ``weight_ih_l1`` is ``weight_ih``'s."""
    key = (type(layer), name)
    return key if key in PARAMETER_FORMULAS else (type(layer), re.sub(r"_l\d+$", "", name))


def parameter_formula(
    layer: Layer, name: str, out: str, inp: str, inputs: list[str] | None = None
) -> str:
    """The rule that gives one parameter's gradient: ``dL/dweight = ...``."""
    template = PARAMETER_FORMULAS.get(parameter_key(layer, name))
    if template is None:
        rule = f"{type(layer).__name__}.backward(dL/d{out}), its {name}"
    else:
        rule = _fill(template, layer, {"out": out, "inp": inp}, inputs or [inp])
    if rule.startswith(f"dL/d{name}"):  # the rule names its own indices
        return rule
    return f"dL/d{name} = {rule}"


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
        plain = loss.weight is None and loss.label_smoothing == 0
        if plain and grad.ndim == 2:  # the textbook case; other options get the general form
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
