"""The library's own layers, set up to compute what an exercise's stub computes.

An exercise is graded against its reference solution and, where the library
has the layer, against that layer too: ``twin(stub, inputs, grad)`` copies
the stub's parameters into the real layer (``Conv2d``, ``BatchNorm1d``, one
step of ``LSTM``, ``MultiheadAttention`` with one head...), runs its forward
and backward, and returns what it computed, in the stub's terms: its outputs,
the gradient of each input, and each parameter's gradient by the stub's name.
A learner's backward that agrees with the layer agrees with the library.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minitorchless.layers.activations import Sigmoid
from minitorchless.layers.attention import MultiheadAttention
from minitorchless.layers.base import Layer
from minitorchless.layers.batch_norm import BatchNorm1d
from minitorchless.layers.conv import Conv2d
from minitorchless.layers.dense import Dense
from minitorchless.layers.recurrent import LSTM

__all__ = ["TWINS", "Computed", "Twin", "upstream"]

Computed = tuple[Any, Any, dict[str, Any]]
"""A twin's outputs, input gradient(s) and parameter gradients by the stub's names."""

Twin = Callable[[Any, Any, Any], Computed]


def _value(stub: Layer, name: str) -> Any:
    return dict(stub.own_parameters())[name].value


def _run(layer: Layer, inputs: Any, grad: Any) -> tuple[Any, Any]:
    layer.zero_grad()
    outputs = layer(inputs)
    return outputs, layer.backward(grad)


def dense(stub: Any, inputs: Any, grad: Any) -> Computed:
    n_in, n_out = _value(stub, "weight").shape
    layer = Dense(n_in, n_out, bias=True)
    layer.weight.value[...] = _value(stub, "weight")
    layer.bias.value[...] = _value(stub, "bias")  # type: ignore[union-attr]
    outputs, grad_input = _run(layer, inputs, grad)
    return outputs, grad_input, {"weight": layer.weight.grad, "bias": layer.bias.grad}  # type: ignore[union-attr]


def sigmoid(stub: Any, inputs: Any, grad: Any) -> Computed:
    outputs, grad_input = _run(Sigmoid(), inputs, grad)
    return outputs, grad_input, {}


def conv2d(stub: Any, inputs: Any, grad: Any) -> Computed:
    weight = _value(stub, "weight")
    filters, channels, kernel, _ = weight.shape
    layer = Conv2d(channels, filters, kernel)
    layer.weight.value[...] = weight
    layer.bias.value[...] = _value(stub, "bias")  # type: ignore[union-attr]
    outputs, grad_input = _run(layer, inputs, grad)
    return outputs, grad_input, {"weight": layer.weight.grad, "bias": layer.bias.grad}  # type: ignore[union-attr]


def batch_norm(stub: Any, inputs: Any, grad: Any) -> Computed:
    gamma = _value(stub, "gamma")
    layer = BatchNorm1d(gamma.shape[0], eps=stub.eps)
    layer.weight.value[...] = gamma  # type: ignore[union-attr]
    layer.bias.value[...] = _value(stub, "beta")  # type: ignore[union-attr]
    outputs, grad_input = _run(layer, inputs, grad)  # training mode: the batch's statistics
    return outputs, grad_input, {"gamma": layer.weight.grad, "beta": layer.bias.grad}  # type: ignore[union-attr]


def lstm_step(stub: Any, inputs: Any, grad: Any) -> Computed:
    """One step of ``LSTM`` from the state ``(h, c)``; ``grad`` reaches ``h_next`` only.

    ``LSTM`` takes no gradient for its final cell state, so the twin is asked
    with ``dL/dc_next = 0``: the path through ``c_next`` alone is checked by
    the reference solution and by finite differences.
    """
    x, h, c = (np.asarray(part, dtype=np.float64) for part in inputs)
    hidden = h.shape[1]
    layer = LSTM(x.shape[1], hidden)
    parameters = dict(layer.own_parameters())
    parameters["weight_ih_l0"].value[...] = _value(stub, "weight_ih")
    parameters["weight_hh_l0"].value[...] = _value(stub, "weight_hh")
    parameters["bias_ih_l0"].value[...] = _value(stub, "bias")
    parameters["bias_hh_l0"].value[...] = 0.0  # the stub has one bias: the two are summed
    layer.initial_state = (h[None], c[None])
    outputs, grad_x = _run(layer, x[:, None], np.asarray(grad[0])[:, None])
    grad_h, grad_c = layer.initial_state_grad
    computed = {
        "weight_ih": parameters["weight_ih_l0"].grad,
        "weight_hh": parameters["weight_hh_l0"].grad,
        "bias": parameters["bias_ih_l0"].grad,
    }
    return (outputs[:, 0], layer.final_state[1][0]), (grad_x[:, 0], grad_h[0], grad_c[0]), computed


def attention(stub: Any, inputs: Any, grad: Any) -> Computed:
    """``MultiheadAttention`` with one head, no biases and an identity output projection."""
    wq, wk, wv = (_value(stub, name) for name in ("wq", "wk", "wv"))
    embed = wq.shape[0]
    layer = MultiheadAttention(embed, 1, bias=False)
    parameters = dict(layer.own_parameters())
    parameters["in_proj_weight"].value[...] = np.concatenate([wq.T, wk.T, wv.T])
    parameters["out_proj.weight"].value[...] = np.eye(embed)
    outputs, grad_input = _run(layer, inputs, grad)
    rows = parameters["in_proj_weight"].grad
    computed = {"wq": rows[:embed].T, "wk": rows[embed : 2 * embed].T, "wv": rows[2 * embed :].T}
    return outputs, grad_input, computed


TWINS: dict[str, tuple[str, Twin]] = {
    "dense": ("Dense", dense),
    "sigmoid": ("Sigmoid", sigmoid),
    "conv2d": ("Conv2d", conv2d),
    "batch_norm": ("BatchNorm1d", batch_norm),
    "lstm_step": ("LSTM", lstm_step),
    "attention": ("MultiheadAttention", attention),
}
"""The exercises the library has a layer for: the layer's name and its twin."""


def upstream(name: str, outputs: Any, rng: np.random.Generator) -> Any:
    """The gradient a twin is asked about: random, with none on ``lstm_step``'s ``c_next``."""
    if isinstance(outputs, tuple):
        grads = [rng.standard_normal(np.shape(part)) for part in outputs]
        if name == "lstm_step":
            grads[1] = np.zeros_like(grads[1])
        return tuple(grads)
    return rng.standard_normal(np.shape(outputs))
