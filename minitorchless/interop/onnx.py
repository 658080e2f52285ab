"""ONNX export: a minitorchless model as an inference graph for ONNX runtimes.

Each layer type has a converter that appends the ONNX nodes computing its
forward pass; containers convert their children and wire the results. The
graph is always the *inference* graph: ``Dropout`` becomes the identity, as it
is in eval mode.

Layers without a converter are refused with a message naming them. Add one for
your own layer with :func:`register_onnx_converter`::

    @register_onnx_converter(Swish)
    def _swish(builder, layer, inputs, path):
        return builder.node("Mul", [inputs, builder.node("Sigmoid", [inputs], path)], path)

The ``onnx`` package is imported only when exporting (the ``onnx`` extra).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minitorchless._checks import as_float_array
from minitorchless._version import __version__
from minitorchless.layers.activations import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from minitorchless.layers.base import Layer
from minitorchless.layers.combinators import Parallel, Residual
from minitorchless.layers.dense import Dense
from minitorchless.layers.dropout import Dropout
from minitorchless.layers.graph import Graph
from minitorchless.layers.merge import Add, Concatenate
from minitorchless.layers.sequential import Sequential
from minitorchless.parameter import Parameter
from minitorchless.serialization._files import PathLike, write_atomic

__all__ = ["IR_VERSION", "OPSET", "OnnxBuilder", "export_onnx", "register_onnx_converter"]

OPSET = 17
"""The ONNX operator set the exported graphs use."""

IR_VERSION = 8
"""The ONNX IR version written: the one that came with opset 17, so older runtimes load it."""

Inputs = str | list[str]  # one value name, or several for a merge
Converter = Callable[["OnnxBuilder", Any, Inputs, str], Inputs]

_CONVERTERS: dict[type[Layer], Converter] = {}


def register_onnx_converter(layer_cls: type[Layer]) -> Callable[[Converter], Converter]:
    """Decorate ``converter(builder, layer, inputs, path) -> output name`` for ``layer_cls``.

    The converter appends nodes with ``builder.node`` and ``builder.parameter``
    and returns the name of the value holding the layer's output (a list of
    names for a layer with several outputs). ``inputs`` is the name of the input
    value (a list of names for a merge layer) and ``path`` the layer's dotted
    position in the model, for node names.
    Lookup is by exact class, so a subclass that changes forward needs its own.
    """
    if not (isinstance(layer_cls, type) and issubclass(layer_cls, Layer)):
        raise TypeError(f"register_onnx_converter: expected a Layer class, received {layer_cls!r}")

    def decorate(converter: Converter) -> Converter:
        _CONVERTERS[layer_cls] = converter
        return converter

    return decorate


class OnnxBuilder:
    """Collects the nodes and initializers of the graph being exported.

    Value names are unique: each node's output is named after the layer's path
    (``"2.MatMul"``), with a numeric suffix where needed. Parameters become
    initializers under their dotted names (``"0.weight"``), once even if shared.
    """

    def __init__(self, model: Layer, dtype: np.dtype[Any]) -> None:
        from onnx import helper

        self._helper = helper
        self.dtype = dtype
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._names: set[str] = set()
        self._parameter_names = {id(p): name for name, p in model.named_parameters()}
        self._parameters: dict[int, str] = {}  # id(parameter) -> initializer name

    def fresh(self, hint: str) -> str:
        """A value name based on ``hint`` that is not used yet."""
        name, count = hint, 1
        while name in self._names:
            count += 1
            name = f"{hint}_{count}"
        self._names.add(name)
        return name

    def node(self, op_type: str, inputs: Sequence[str], path: str, **attributes: Any) -> str:
        """Append an ``op_type`` node and return the name of its (single) output."""
        output = self.fresh(f"{path}.{op_type}" if path else op_type)
        self.nodes.append(
            self._helper.make_node(op_type, list(inputs), [output], name=output, **attributes)
        )
        return output

    def parameter(self, parameter: Parameter) -> str:
        """The initializer name holding ``parameter``'s value, adding it the first time."""
        from onnx import numpy_helper

        key = id(parameter)
        if key not in self._parameters:
            if parameter.dtype != self.dtype:
                raise TypeError(
                    f"export_onnx: parameter {self._parameter_names.get(key, '?')!r} is "
                    f"{parameter.dtype} but the model is {self.dtype}; cast it with model.to()"
                )
            name = self.fresh(self._parameter_names.get(key, "parameter"))
            # contiguous, as for safetensors: the protobuf takes the raw bytes
            array = np.ascontiguousarray(parameter.value)
            self.initializers.append(numpy_helper.from_array(array, name=name))
            self._parameters[key] = name
        return self._parameters[key]

    def constant(self, array: NDArray[Any], path: str) -> str:
        """Add ``array`` as an initializer (a constant of the graph); return its name."""
        from onnx import numpy_helper

        name = self.fresh(f"{path}.constant" if path else "constant")
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name=name))
        return name

    def convert(self, layer: Layer, inputs: Inputs, path: str) -> Inputs:
        """Append the nodes of ``layer``; return the name of its output value."""
        converter = _CONVERTERS.get(type(layer))
        if converter is None:
            where = f" at {path!r}" if path else ""
            raise TypeError(
                f"export_onnx: no ONNX converter for {type(layer).__name__}{where}; "
                f"write one with @minitorchless.interop.onnx.register_onnx_converter"
                f"({type(layer).__name__})"
            )
        return converter(self, layer, inputs, path)

    def rename(self, old: str, new: str) -> None:
        """Rename a value everywhere (used to give the graph's output its public name)."""
        for node in self.nodes:
            for names in (node.input, node.output):
                for index, name in enumerate(names):
                    if name == old:
                        names[index] = new
        self._names.add(new)


def _join(path: str, child: str) -> str:
    return f"{path}.{child}" if path else child


def _one(inputs: Inputs, layer: Layer) -> str:
    if not isinstance(inputs, str):
        raise TypeError(
            f"export_onnx: {type(layer).__name__} takes one value, received {len(inputs)}"
        )
    return inputs


# --------------------------------------------------------------- converters
@register_onnx_converter(Dense)
def _dense(builder: OnnxBuilder, layer: Dense, inputs: Inputs, path: str) -> str:
    outputs = builder.node("MatMul", [_one(inputs, layer), builder.parameter(layer.weight)], path)
    if layer.bias is not None:
        outputs = builder.node("Add", [outputs, builder.parameter(layer.bias)], path)
    return outputs


def _elementwise(op_type: str) -> Converter:
    def convert(builder: OnnxBuilder, layer: Layer, inputs: Inputs, path: str) -> str:
        return builder.node(op_type, [_one(inputs, layer)], path)

    return convert


register_onnx_converter(Sigmoid)(_elementwise("Sigmoid"))
register_onnx_converter(Tanh)(_elementwise("Tanh"))
register_onnx_converter(ReLU)(_elementwise("Relu"))
register_onnx_converter(Identity)(_elementwise("Identity"))
register_onnx_converter(Dropout)(_elementwise("Identity"))  # inference graph: eval-mode dropout


@register_onnx_converter(LeakyReLU)
def _leaky_relu(builder: OnnxBuilder, layer: LeakyReLU, inputs: Inputs, path: str) -> str:
    x = _one(inputs, layer)
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
    return builder.node("Softmax", [_one(inputs, layer)], path, axis=layer.axis)


@register_onnx_converter(Sequential)
def _sequential(builder: OnnxBuilder, layer: Sequential, inputs: Inputs, path: str) -> Inputs:
    for name, child in layer.children():
        inputs = builder.convert(child, inputs, _join(path, name))
    return inputs


@register_onnx_converter(Residual)
def _residual(builder: OnnxBuilder, layer: Residual, inputs: Inputs, path: str) -> str:
    x = _one(inputs, layer)
    block = _one(builder.convert(layer.block, x, _join(path, "block")), layer.block)
    return builder.node("Add", [x, block], path)  # outputs = inputs + block(inputs)


@register_onnx_converter(Parallel)
def _parallel(builder: OnnxBuilder, layer: Parallel, inputs: Inputs, path: str) -> str:
    x = _one(inputs, layer)
    outputs = [
        _one(builder.convert(branch, x, _join(path, name)), branch)
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
                node.layer, sources if node.multi else sources[0], _join(path, node.name)
            )
            values[node.name] = _one(converted, node.layer)
        pending = [node for node in pending if node.name not in values]
    outputs = [values[name] for name in layer.output_names]
    return outputs[0] if len(outputs) == 1 else outputs


# ------------------------------------------------------------------- export
def _modes(model: Layer) -> list[tuple[Layer, bool]]:
    """Every layer with its own training flag, to put back exactly after the export."""
    found: dict[int, tuple[Layer, bool]] = {}
    stack = [model]
    while stack:
        layer = stack.pop()
        if id(layer) not in found:
            found[id(layer)] = (layer, layer.training)
            stack.extend(child for _, child in layer.children())
    return list(found.values())


def _samples(model: Layer, sample_input: Any) -> tuple[list[NDArray[Any]], np.dtype[Any]]:
    """The sample batches as arrays, and the dtype the graph computes in."""
    if not isinstance(model, Layer):
        raise TypeError(f"export_onnx: model must be a Layer, received {model!r}")
    several = isinstance(sample_input, (list, tuple))
    samples = [
        as_float_array("export_onnx", sample, what="sample_input")
        for sample in (sample_input if several else [sample_input])
    ]
    if any(sample.ndim < 1 for sample in samples):
        raise ValueError("export_onnx: sample_input must have a batch axis, e.g. X[:1]")
    dtype = model.dtype or samples[0].dtype
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"export_onnx: the model must be float32 or float64, not {dtype}")
    return samples, np.dtype(dtype)


def _eval_outputs(model: Layer, samples: list[NDArray[Any]], several: bool) -> list[NDArray[Any]]:
    """Run the samples through the model in eval mode, putting every layer's flag back."""
    modes = _modes(model)
    model.eval()
    try:
        outputs = model.forward(samples if several else samples[0])
    finally:
        for layer, training in modes:
            layer.training = training
    return [
        np.asarray(out) for out in (outputs if isinstance(outputs, (list, tuple)) else [outputs])
    ]


def _name_outputs(builder: OnnxBuilder, values: list[str], input_names: list[str]) -> list[str]:
    """Give the graph's outputs their public names, ``output`` or ``output_<i>``."""
    from onnx import helper

    output_names = ["output"] if len(values) == 1 else [f"output_{i}" for i in range(len(values))]
    initializers = {tensor.name for tensor in builder.initializers}
    renamed: set[str] = set()
    for value, name in zip(values, output_names, strict=True):
        if value in input_names or value in initializers or value in renamed:
            # not a node's output of its own (an identity model, a repeated output): copy it
            builder.nodes.append(helper.make_node("Identity", [value], [name], name=name))
        else:
            builder.rename(value, name)
            renamed.add(name)
    return output_names


def export_onnx(model: Layer, path: PathLike, sample_input: Any) -> None:
    """Write ``model``'s inference graph to ``path`` as an ONNX model (opset 17, IR 8).

    The batch axis is left symbolic (``"batch"``); the other axes are fixed by
    ``sample_input``, which is also run through the model (in eval mode, whose
    flags are restored afterwards) to check that it fits. Parameters become
    initializers under their dotted names. The graph computes in the model's
    dtype, float32 or float64.

    Args:
        model: The layer or container to export.
        path: Where to write the ``.onnx`` file (atomically).
        sample_input: A batch the model accepts, e.g. ``X[:1]``; a list of
            batches for a model with several inputs.

    Raises:
        ImportError: The ``onnx`` package is not installed.
        TypeError: A layer has no ONNX converter, or the dtype is not float32/64.
    """
    try:
        import onnx
        from onnx import TensorProto, helper
    except ImportError as err:
        raise ImportError(
            "export_onnx needs the onnx package: pip install 'minitorchless[onnx]'"
        ) from err
    several = isinstance(sample_input, (list, tuple))
    samples, dtype = _samples(model, sample_input)
    results = _eval_outputs(model, samples, several)

    builder = OnnxBuilder(model, dtype)
    input_names = ["input"] if not several else [f"input_{i}" for i in range(len(samples))]
    for name in input_names:
        builder.fresh(name)
    converted = builder.convert(model, input_names if several else input_names[0], "")
    values = [converted] if isinstance(converted, str) else list(converted)
    output_names = _name_outputs(builder, values, input_names)

    element = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE

    def info(name: str, array: NDArray[Any]) -> Any:
        return helper.make_tensor_value_info(name, element, ["batch", *array.shape[1:]])

    graph = helper.make_graph(
        builder.nodes,
        "minitorchless",
        [info(name, sample) for name, sample in zip(input_names, samples, strict=True)],
        [info(name, out) for name, out in zip(output_names, results, strict=True)],
        initializer=builder.initializers,
    )
    proto = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="minitorchless",
        producer_version=__version__,
        ir_version=IR_VERSION,
    )
    onnx.checker.check_model(proto, full_check=True)
    write_atomic(path, proto.SerializeToString())
