"""The formulas ``explain`` prints for convolution, recurrent layers and attention.

The same form as the entries of ``formulas``: a forward and a backward per
layer class, and a rule per parameter, with ``{out}`` and ``{inp}`` for the
output's and the input's symbols. ``values(layer)`` gives the layer's own
settings the templates name (its kernel, its heads, its gate activation...).

Recurrent layers run a loop over time; their formulas show one step ``t``,
with ``x_t`` the input at that step, ``h_t`` the state after it and
``W_ih``, ``W_hh``, ``b_ih``, ``b_hh`` the parameters ``weight_ih_lk``...
of layer ``k`` of the stack. Backward walks the same steps in reverse
(backpropagation through time); ``da_t`` is the gradient of the step's
pre-activation, ``x_t @ W_ih.T + b_ih + h_(t-1) @ W_hh.T + b_hh``.
"""

from __future__ import annotations

from typing import Any

from minitorchless.layers.attention import MultiheadAttention
from minitorchless.layers.base import Layer
from minitorchless.layers.conv import Conv1d, Conv2d
from minitorchless.layers.last_step import LastStep
from minitorchless.layers.positional import PositionalEmbedding
from minitorchless.layers.recurrent import GRU, LSTM, RNN

__all__ = ["DEEP_FORMULAS", "DEEP_PARAMETER_FORMULAS", "values"]

_CONV = (
    "{out}[n, o] = {bias_term}sum over c of corr({inp}[n, c], weight[o, c]),  corr: each "
    "{kernel} window of {inp}, stride {stride}, zero padding {padding}{conv_extra}, times "
    "the weight and summed",
    "the transposed convolution: at [n, c], the sum over o of each window's dL/d{out}[n, o] "
    "* weight[o, c], added back where the window came from",
)

_THROUGH_TIME = (
    "da_t @ W_ih at every step t; backpropagation through time, t = T..1: "
    "dh_t = dL/d{out}[{step}] + "
)
_TIME = "x_t = {inp}[{step}], h_0 = the initial state (0 by default); {out} = [h_1 .. h_T]{stack}"

DEEP_FORMULAS: dict[type[Layer], tuple[str, str]] = {
    Conv1d: _CONV,
    Conv2d: _CONV,
    RNN: (
        "h_t = {act}(x_t @ W_ih.T{b_ih} + h_(t-1) @ W_hh.T{b_hh}) for t = 1..T,  " + _TIME,
        _THROUGH_TIME + "da_(t+1) @ W_hh, da_t = dh_t * {dact}",
    ),
    LSTM: (
        "i, f, g, o = split(x_t @ W_ih.T{b_ih} + h_(t-1) @ W_hh.T{b_hh}, 4),  c_t = sigmoid(f) "
        "* c_(t-1) + sigmoid(i) * tanh(g),  h_t = sigmoid(o) * tanh(c_t) for t = 1..T,  " + _TIME,
        _THROUGH_TIME
        + "da_(t+1) @ W_hh, dc_t = dh_t * sigmoid(o) * (1 - tanh(c_t)**2) + dc_(t+1) * "
        "sigmoid(f_(t+1)), da_t = the four gates' gradients (di = dc_t * tanh(g) * "
        "sigmoid'(i)...)",
    ),
    GRU: (
        "r, z, n = split(x_t @ W_ih.T{b_ih}, 3) and rh, zh, nh = split(h_(t-1) @ W_hh.T{b_hh}, "
        "3),  h_t = (1 - sigmoid(z + zh)) * tanh(n + sigmoid(r + rh) * nh) + sigmoid(z + zh) * "
        "h_(t-1) for t = 1..T,  " + _TIME,
        _THROUGH_TIME
        + "(what step t+1 sends back), da_t = the gradients of r, z, n and dah_t those of rh, "
        "zh, nh (the reset gate times n's)",
    ),
    LastStep: ("{out} = {inp}[:, -1]", "zeros shaped like {inp}, with dL/d{out} at [:, -1]"),
    PositionalEmbedding: ("{out}[:, t] = {inp}[:, t] + weight[t], t = 0..T-1", "dL/d{out}"),
    MultiheadAttention: (
        "q, k, v = split({qkv} @ in_proj_weight.T{in_bias}, 3), in {heads} heads of "
        "{head_dim};  A = softmax(q @ k.T / sqrt({head_dim}){mask}, axis=-1) per head;  "
        "{out} = concat_heads(A @ v) @ out_proj.weight.T{out_bias}",
        "[dq, dk, dv] @ in_proj_weight{cross}, with dC = dL/d{out} @ out_proj.weight and per "
        "head dv = A.T @ dC, dA = dC @ v.T, dS = A * (dA - sum(dA * A, axis=-1)), dq = dS @ k "
        "/ sqrt({head_dim}), dk = dS.T @ q / sqrt({head_dim})",
    ),
}

_SUM_STEPS = "the sum over t and the samples of"
_RECURRENT_PARAMETERS: dict[str, str] = {
    "weight_ih": f"{_SUM_STEPS} da_t.T @ x_t",
    "weight_hh": f"{_SUM_STEPS} da_t.T @ h_(t-1)",
    "bias_ih": f"{_SUM_STEPS} da_t",
    "bias_hh": f"{_SUM_STEPS} da_t",
}
_GRU_PARAMETERS = {
    **_RECURRENT_PARAMETERS,
    "weight_hh": f"{_SUM_STEPS} dah_t.T @ h_(t-1)",
    "bias_hh": f"{_SUM_STEPS} dah_t",
}

# parameter names without their stack index: ``weight_ih_l1`` is looked up as ``weight_ih``
DEEP_PARAMETER_FORMULAS: dict[tuple[type[Layer], str], str] = {
    **{(kind, name): rule for kind in (RNN, LSTM) for name, rule in _RECURRENT_PARAMETERS.items()},
    **{(GRU, name): rule for name, rule in _GRU_PARAMETERS.items()},
    (PositionalEmbedding, "weight"): "row t: sum(dL/d{out}[:, t], axis=0) for t < T, 0 beyond",
    (MultiheadAttention, "in_proj_weight"): "[dq, dk, dv].T @ {qkv}, summed over every "
    "sample and position",
    (MultiheadAttention, "in_proj_bias"): "sum([dq, dk, dv]) over every sample and position",
    (MultiheadAttention, "out_proj.weight"): "dL/d{out}.T @ concat_heads(A @ v), summed "
    "over every sample and position",
    (MultiheadAttention, "out_proj.bias"): "sum(dL/d{out}, axis=(0, 1))",
}
for _conv, _axes in ((Conv1d, "(0, 2)"), (Conv2d, "(0, 2, 3)")):
    DEEP_PARAMETER_FORMULAS[_conv, "weight"] = (
        "dL/dweight[o, c] = sum over n and the windows of each window of {inp}[n, c] * its "
        "dL/d{out}[n, o]"
    )
    DEEP_PARAMETER_FORMULAS[_conv, "bias"] = f"sum(dL/d{{out}}, axis={_axes})"


def _conv_values(layer: Layer) -> dict[str, Any]:
    extra = ""
    if any(size != 1 for size in getattr(layer, "dilation", ())):
        extra += f", dilation {layer.dilation}"  # type: ignore[attr-defined]
    groups = getattr(layer, "groups", 1)
    if groups != 1:
        extra += f", c over o's group of {layer.in_channels // groups} channels"  # type: ignore[attr-defined]
    return {
        "bias_term": "bias[o] + " if getattr(layer, "bias", None) is not None else "",
        "conv_extra": extra,
    }


def _recurrent_values(layer: Layer) -> dict[str, Any]:
    bias, layers = bool(getattr(layer, "bias", True)), getattr(layer, "num_layers", 1)
    relu = getattr(layer, "nonlinearity", "tanh") == "relu"
    return {
        "b_ih": " + b_ih" if bias else "",
        "b_hh": " + b_hh" if bias else "",
        "act": "relu" if relu else "tanh",
        "dact": "(h_t > 0)" if relu else "(1 - h_t**2)",
        "step": ":, t" if getattr(layer, "batch_first", True) else "t",
        "stack": f"; each of the {layers} layers reads the h_t of the one below" * (layers > 1),
    }


def _attention_values(layer: MultiheadAttention, inputs: list[str]) -> dict[str, Any]:
    mask = " + causal mask (-inf above the diagonal)" if layer.causal else ""
    if layer.key_padding_mask is not None:
        mask += " + -inf at the padded keys"
    bias = layer.in_proj_bias is not None
    cross = len(inputs) > 1
    return {
        "qkv": f"[{inputs[0]}, {inputs[1]}, {inputs[1]}]" if cross else inputs[0],
        "in_bias": " + in_proj_bias" if bias else "",
        "out_bias": " + out_proj.bias" if bias else "",
        "heads": layer.num_heads,
        "head_dim": layer.head_dim,
        "mask": mask,
        "cross": " (dq's part for the queries, dk's and dv's for the keys and values)" * cross,
    }


def values(layer: Layer, inputs: list[str]) -> dict[str, Any]:
    """The settings of ``layer`` that its templates name, ``{}`` for another layer."""
    if isinstance(layer, (Conv1d, Conv2d)):
        return _conv_values(layer)
    if isinstance(layer, (RNN, LSTM, GRU)):
        return _recurrent_values(layer)
    if isinstance(layer, MultiheadAttention):
        return _attention_values(layer, inputs)
    return {}
