"""ONNX converters of RNN, LSTM, GRU and LastStep: the time loop as a ``Scan``.

ONNX has ``RNN``/``LSTM``/``GRU`` operators, but onnxruntime implements them in
float32 only. So each layer of the stack becomes, as in the layer itself, the
input projection of every step in one ``MatMul``, then a ``Scan`` over time
whose body is one step in plain ops (``MatMul``, ``Add``, ``Sigmoid``,
``Tanh``, ``Mul``): the graph runs in either dtype, in every ONNX runtime, for
sequences of any length. The graph starts from zero states: a layer whose
``initial_state`` is set is refused, since the graph could not carry it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minitorchless.interop.onnx.builder import Inputs, OnnxBuilder, one, register_onnx_converter
from minitorchless.layers.last_step import LastStep
from minitorchless.layers.recurrent import GRU, LSTM, RNN, Recurrent
from minitorchless.parameter import Parameter

__all__: list[str] = []


class _Layer:
    """The nodes of layer ``k`` of a recurrent stack."""

    def __init__(self, builder: OnnxBuilder, layer: Recurrent, k: int, path: str) -> None:
        self.builder, self.layer, self.path = builder, layer, path
        self.hidden = layer.hidden_size
        p = dict(layer.own_parameters())
        self.weight_ih, self.weight_hh = p[f"weight_ih_l{k}"], p[f"weight_hh_l{k}"]
        self.bias_ih, self.bias_hh = p.get(f"bias_ih_l{k}"), p.get(f"bias_hh_l{k}")

    def node(self, op_type: str, *inputs: str, **attributes: Any) -> str:
        return self.builder.node(op_type, list(inputs), self.path, **attributes)

    def integers(self, *values: int) -> str:
        return self.builder.constant(np.array(values, dtype=np.int64), self.path)

    def transposed(self, parameter: Parameter) -> str:
        return self.node("Transpose", self.builder.parameter(parameter), perm=[1, 0])

    def gate(self, a: str, index: int) -> str:
        """Block ``index`` of a ``(N, gates * H)`` array of the gates' pre-activations."""
        start = index * self.hidden
        ends = self.integers(start + self.hidden)
        return self.node("Slice", a, self.integers(start), ends, self.integers(1))

    def zeros(self, x: str) -> str:
        """A zero state ``(N, H)`` for the batch of ``x`` ``(T, N, F)``, whatever its size."""
        batch = self.node("Gather", self.node("Shape", x), self.integers(1))
        dims = self.node("Concat", batch, self.integers(self.hidden), axis=0)
        zero = np.zeros(1, dtype=self.builder.dtype)
        from onnx import numpy_helper

        return self.node("ConstantOfShape", dims, value=numpy_helper.from_array(zero))

    def run(self, x: str) -> str:
        """The output sequence ``(T, N, H)`` of this layer, from its inputs ``(T, N, F)``."""
        gru = isinstance(self.layer, GRU)
        xw = self.node("MatMul", x, self.transposed(self.weight_ih))  # every step at once
        if self.bias_ih is not None:
            xw = self.node("Add", xw, self.builder.parameter(self.bias_ih))
        if self.bias_hh is not None and not gru:  # GRU keeps b_hn inside r * (...)
            xw = self.node("Add", xw, self.builder.parameter(self.bias_hh))
        recurrent = self.transposed(self.weight_hh)
        states = ["h", "c"] if isinstance(self.layer, LSTM) else ["h"]
        initial = [self.zeros(x) for _ in states]
        body = self._body(states, recurrent)
        return self._scan(body, initial, xw, len(states))

    def _body(self, states: list[str], recurrent: str) -> Any:
        """The graph of one step: (states, xw_t) -> (new states, h_t)."""
        from onnx import helper

        builder = self.builder
        element = helper.np_dtype_to_tensor_dtype(builder.dtype)
        names = [builder.fresh(f"{self.path}.{state}_prev") for state in states]
        xw_t = builder.fresh(f"{self.path}.xw_t")
        outer, builder.nodes = builder.nodes, []  # the body's nodes go to the subgraph
        try:
            hw = self.node("MatMul", names[0], recurrent)
            if isinstance(self.layer, LSTM):
                new = list(self._lstm_step(self.node("Add", xw_t, hw), names[1]))
            elif isinstance(self.layer, GRU):
                new = [self._gru_step(xw_t, hw, names[0])]
            else:
                relu = getattr(self.layer, "nonlinearity", "tanh") == "relu"
                new = [self.node("Relu" if relu else "Tanh", self.node("Add", xw_t, hw))]
            h_t = self.node("Identity", new[0])  # a state and a scan output need two names
            body_nodes = builder.nodes
        finally:
            builder.nodes = outer
        body = helper.make_graph(
            body_nodes,
            builder.fresh(f"{self.path}.step"),
            [helper.make_tensor_value_info(name, element, None) for name in [*names, xw_t]],
            [helper.make_tensor_value_info(name, element, None) for name in [*new, h_t]],
        )
        return body

    def _scan(self, body: Any, initial: list[str], xw: str, count: int) -> str:
        from onnx import helper

        builder = self.builder
        finals = [builder.fresh(f"{self.path}.final") for _ in range(count)]
        sequence = builder.fresh(f"{self.path}.Scan")
        builder.nodes.append(
            helper.make_node(
                "Scan",
                [*initial, xw],
                [*finals, sequence],
                name=sequence,
                body=body,
                num_scan_inputs=1,
            )
        )
        return sequence

    def _lstm_step(self, a: str, c: str) -> tuple[str, str]:
        i, f = (self.node("Sigmoid", self.gate(a, index)) for index in (0, 1))
        g, o = self.node("Tanh", self.gate(a, 2)), self.node("Sigmoid", self.gate(a, 3))
        c = self.node("Add", self.node("Mul", f, c), self.node("Mul", i, g))  # f c + i g
        return self.node("Mul", o, self.node("Tanh", c)), c  # o tanh(c)

    def _gru_step(self, xw_t: str, hw: str, h: str) -> str:
        if self.bias_hh is not None:
            hw = self.node("Add", hw, self.builder.parameter(self.bias_hh))
        r = self.node("Sigmoid", self.node("Add", self.gate(xw_t, 0), self.gate(hw, 0)))
        z = self.node("Sigmoid", self.node("Add", self.gate(xw_t, 1), self.gate(hw, 1)))
        reset = self.node("Mul", r, self.gate(hw, 2))  # r * (h W_hn^T + b_hn)
        n = self.node("Tanh", self.node("Add", self.gate(xw_t, 2), reset))
        return self.node("Add", n, self.node("Mul", z, self.node("Sub", h, n)))  # n + z (h - n)


def _recurrent(builder: OnnxBuilder, layer: Recurrent, inputs: Inputs, path: str) -> str:
    if layer.initial_state is not None:
        raise TypeError(
            f"export_onnx: {layer!r} has an initial_state set; the graph starts from zero "
            f"states: set initial_state = None before exporting"
        )
    x = one(inputs, layer)
    if layer.batch_first:  # the layers run time-major, as Scan's reference semantics do
        x = builder.node("Transpose", [x], path, perm=[1, 0, 2])
    for k in range(layer.num_layers):
        x = _Layer(builder, layer, k, path).run(x)
    if layer.batch_first:
        x = builder.node("Transpose", [x], path, perm=[1, 0, 2])
    return x


for _cls in (RNN, LSTM, GRU):
    register_onnx_converter(_cls)(_recurrent)


@register_onnx_converter(LastStep)
def _last_step(builder: OnnxBuilder, layer: LastStep, inputs: Inputs, path: str) -> str:
    last = builder.constant(np.array([-1], dtype=np.int64), path)
    step = builder.node("Gather", [one(inputs, layer), last], path, axis=1)  # (N, 1, F)
    return builder.node(
        "Squeeze", [step, builder.constant(np.array([1], dtype=np.int64), path)], path
    )
