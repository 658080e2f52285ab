"""Building the ONNX graph: the builder converters append nodes to, and the converter table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minitorchless.layers.base import Layer
from minitorchless.parameter import Parameter

__all__ = [
    "IR_VERSION",
    "OPSET",
    "Converter",
    "Inputs",
    "OnnxBuilder",
    "join",
    "one",
    "register_onnx_converter",
]

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


def join(path: str, child: str) -> str:
    return f"{path}.{child}" if path else child


def one(inputs: Inputs, layer: Layer) -> str:
    if not isinstance(inputs, str):
        raise TypeError(
            f"export_onnx: {type(layer).__name__} takes one value, received {len(inputs)}"
        )
    return inputs
