"""ONNX converters of the core layers: Dense, the activations, dropout and the containers."""

from __future__ import annotations

import numpy as np

from minitorchless.interop.onnx.builder import (
    Converter,
    Inputs,
    OnnxBuilder,
    join,
    one,
    register_onnx_converter,
)
from minitorchless.layers.activations import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from minitorchless.layers.base import Layer
from minitorchless.layers.combinators import Parallel, Residual
from minitorchless.layers.dense import Dense
from minitorchless.layers.dropout import Dropout
from minitorchless.layers.graph import Graph
from minitorchless.layers.merge import Add, Concatenate
from minitorchless.layers.sequential import Sequential

__all__ = ["elementwise"]


@register_onnx_converter(Dense)
def _dense(builder: OnnxBuilder, layer: Dense, inputs: Inputs, path: str) -> str:
    outputs = builder.node("MatMul", [one(inputs, layer), builder.parameter(layer.weight)], path)
    if layer.bias is not None:
        outputs = builder.node("Add", [outputs, builder.parameter(layer.bias)], path)
    return outputs


def elementwise(op_type: str) -> Converter:
    def convert(builder: OnnxBuilder, layer: Layer, inputs: Inputs, path: str) -> str:
        return builder.node(op_type, [one(inputs, layer)], path)

    return convert


register_onnx_converter(Sigmoid)(elementwise("Sigmoid"))
register_onnx_converter(Tanh)(elementwise("Tanh"))
register_onnx_converter(ReLU)(elementwise("Relu"))
register_onnx_converter(Identity)(elementwise("Identity"))
register_onnx_converter(Dropout)(elementwise("Identity"))  # inference graph: eval-mode dropout


@register_onnx_converter(LeakyReLU)
def _leaky_relu(builder: OnnxBuilder, layer: LeakyReLU, inputs: Inputs, path: str) -> str:
    x = one(inputs, layer)
    if builder.dtype == np.float32:
        return builder.node("LeakyRelu", [x], path, alpha=layer.negative_slope)
    # LeakyRelu's attribute is a float32, which would round a float64 model's
    # slope; max(x, slope * x) is the same function for 0 <= slope <= 1 and
    # keeps the slope in full precision. Slopes above 1 need min instead.
    slope = builder.constant(np.asarray(layer.negative_slope, dtype=builder.dtype), path)
    scaled = builder.node("Mul", [x, slope], path)
    return builder.node("Max" if layer.negative_slope <= 1 else "Min", [x, scaled], path)


@register_onnx_converter(Softmax)
def _softmax(builder: OnnxBuilder, layer: Softmax, inputs: Inputs, path: str) -> str:
    return builder.node("Softmax", [one(inputs, layer)], path, axis=layer.axis)


@register_onnx_converter(Sequential)
def _sequential(builder: OnnxBuilder, layer: Sequential, inputs: Inputs, path: str) -> Inputs:
    for name, child in layer.children():
        inputs = builder.convert(child, inputs, join(path, name))
    return inputs


@register_onnx_converter(Residual)
def _residual(builder: OnnxBuilder, layer: Residual, inputs: Inputs, path: str) -> str:
    x = one(inputs, layer)
    block = one(builder.convert(layer.block, x, join(path, "block")), layer.block)
    return builder.node("Add", [x, block], path)  # outputs = inputs + block(inputs)


@register_onnx_converter(Parallel)
def _parallel(builder: OnnxBuilder, layer: Parallel, inputs: Inputs, path: str) -> str:
    x = one(inputs, layer)
    outputs = [
        one(builder.convert(branch, x, join(path, name)), branch)
        for name, branch in layer.children()
    ]
    if len(outputs) == 1:
        return outputs[0]
    if layer.merge == "sum":
        return builder.node("Sum", outputs, path)
    return builder.node("Concat", outputs, path, axis=-1)


@register_onnx_converter(Add)
def _add(builder: OnnxBuilder, layer: Add, inputs: Inputs, path: str) -> str:
    return builder.node("Sum", [inputs] if isinstance(inputs, str) else inputs, path)


@register_onnx_converter(Concatenate)
def _concatenate(builder: OnnxBuilder, layer: Concatenate, inputs: Inputs, path: str) -> str:
    return builder.node("Concat", [inputs] if isinstance(inputs, str) else inputs, path, axis=-1)


@register_onnx_converter(Graph)
def _graph(builder: OnnxBuilder, layer: Graph, inputs: Inputs, path: str) -> Inputs:
    given = [inputs] if isinstance(inputs, str) else inputs
    values = dict(zip(layer.input_names, given, strict=True))  # graph name -> ONNX value
    pending = list(layer.nodes)
    while pending:  # each node once all it reads exists: a topological order
        ready = [node for node in pending if all(source in values for source in node.sources)]
        if not ready:  # unreachable for a Graph that was built: it refuses cycles
            raise ValueError(f"export_onnx: the Graph at {path!r} has a cycle")
        for node in ready:
            sources = [values[source] for source in node.sources]
            converted = builder.convert(
                node.layer, sources if node.multi else sources[0], join(path, node.name)
            )
            values[node.name] = one(converted, node.layer)
        pending = [node for node in pending if node.name not in values]
    outputs = [values[name] for name in layer.output_names]
    return outputs[0] if len(outputs) == 1 else outputs


# ------------------------------------------------------------------- export
