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
_TAKES_INDICES: set[type[Layer]] = set()  # layers that read integer inputs as indices


def register_onnx_converter(
    layer_cls: type[Layer], *, indices: bool = False
) -> Callable[[Converter], Converter]:
    """Decorate ``converter(builder, layer, inputs, path) -> output name`` for ``layer_cls``.

    The converter appends nodes with ``builder.node`` and ``builder.parameter``
    and returns the name of the value holding the layer's output (a list of
    names for a layer with several outputs). ``inputs`` is the name of the input
    value (a list of names for a merge layer) and ``path`` the layer's dotted
    position in the model, for node names.
    Lookup is by exact class, so a subclass that changes forward needs its own.

    With ``indices=True`` the layer reads integer inputs as indices
    (``Embedding``): a graph input it reads keeps the sample's integer type.
    Every other layer reads floats, so an integer input it reads is cast, as
    the layer itself casts it.
    """
    if not (isinstance(layer_cls, type) and issubclass(layer_cls, Layer)):
        raise TypeError(f"register_onnx_converter: expected a Layer class, received {layer_cls!r}")

    def decorate(converter: Converter) -> Converter:
        _CONVERTERS[layer_cls] = converter
        if indices:
            _TAKES_INDICES.add(layer_cls)
        else:
            _TAKES_INDICES.discard(layer_cls)
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
        # graph inputs whose sample holds integers, and who reads them how
        self.integer_inputs: dict[str, np.dtype[Any]] = {}
        self.read_as_indices: set[str] = set()
        self.read_as_floats: dict[str, str] = {}  # input -> the name of its float copy

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
        if self.integer_inputs:
            inputs = self._route_integers(layer, inputs)
        return converter(self, layer, inputs, path)

    def _route_integers(self, layer: Layer, inputs: Inputs) -> Inputs:
        """Hand integer graph inputs to ``layer`` as it reads them: indices, or floats."""
        names = [inputs] if isinstance(inputs, str) else list(inputs)
        if layer.children() or not any(name in self.integer_inputs for name in names):
            return inputs  # a container hands its inputs on to the layers that read them
        if type(layer) in _TAKES_INDICES:
            self.read_as_indices.update(name for name in names if name in self.integer_inputs)
            return inputs
        routed = [
            self.read_as_floats.setdefault(name, self.fresh(f"{name}.float"))
            if name in self.integer_inputs
            else name
            for name in names
        ]
        return routed[0] if isinstance(inputs, str) else routed

    def settle_integer_inputs(self) -> dict[str, np.dtype[Any]]:
        """After conversion: the integer inputs read as indices, with their dtypes.

        Those keep their integer type (and a ``Cast`` serves any layer that
        also reads them as floats). An integer input that only float layers
        read becomes a float input of the graph, as a float input would be.

        Raises:
            TypeError: an input read as indices is neither int32 nor int64,
                the index types of ONNX's ``Gather``.
        """
        from onnx import helper

        kept: dict[str, np.dtype[Any]] = {}
        for name, dtype in self.integer_inputs.items():
            alias = self.read_as_floats.get(name)
            if name not in self.read_as_indices:
                if alias is not None:
                    self.rename(alias, name)
                continue
            if dtype not in (np.int32, np.int64):
                raise TypeError(
                    f"export_onnx: {name!r} is read as indices, which ONNX takes as int32 or "
                    f"int64, but sample_input is {dtype}: pass sample_input.astype(np.int64)"
                )
            kept[name] = dtype
            if alias is not None:
                element = helper.np_dtype_to_tensor_dtype(self.dtype)
                self.nodes.insert(0, helper.make_node("Cast", [name], [alias], to=element))
        return kept

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
