"""``export_onnx``: write a model's inference graph as an ONNX file."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minitorchless._checks import as_float_array
from minitorchless._version import __version__
from minitorchless.interop.onnx.builder import IR_VERSION, OPSET, OnnxBuilder
from minitorchless.layers.base import Layer
from minitorchless.serialization._files import PathLike, write_atomic

__all__ = ["export_onnx"]


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


def _sample(sample: Any) -> NDArray[Any]:
    """One sample batch: integers stay integers (indices, maybe), anything else is floats."""
    if not isinstance(sample, np.ndarray):
        with contextlib.suppress(TypeError, ValueError):  # as_float_array words the error
            sample = np.asarray(sample)
    if isinstance(sample, np.ndarray) and sample.dtype.kind in "biu":
        return sample
    return as_float_array("export_onnx", sample, what="sample_input")


def _samples(model: Layer, sample_input: Any) -> tuple[list[NDArray[Any]], np.dtype[Any]]:
    """The sample batches as arrays, and the dtype the graph computes in."""
    if not isinstance(model, Layer):
        raise TypeError(f"export_onnx: model must be a Layer, received {model!r}")
    several = isinstance(sample_input, (list, tuple))
    samples = [_sample(sample) for sample in (sample_input if several else [sample_input])]
    if any(sample.ndim < 1 for sample in samples):
        raise ValueError("export_onnx: sample_input must have a batch axis, e.g. X[:1]")
    floats = [sample.dtype for sample in samples if sample.dtype.kind == "f"]
    dtype = model.dtype or (floats[0] if floats else np.dtype(np.float64))
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
            batches for a model with several inputs. An integer batch that a
            layer reads as indices (``Embedding``) makes an int32 or int64
            input, of the sample's type; any other input is a float one.

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
    for name, sample in zip(input_names, samples, strict=True):
        builder.fresh(name)
        if sample.dtype.kind != "f":
            builder.integer_inputs[name] = sample.dtype
    converted = builder.convert(model, input_names if several else input_names[0], "")
    indices = builder.settle_integer_inputs()
    values = [converted] if isinstance(converted, str) else list(converted)
    output_names = _name_outputs(builder, values, input_names)

    element = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE

    def info(name: str, array: NDArray[Any]) -> Any:
        kind = helper.np_dtype_to_tensor_dtype(indices[name]) if name in indices else element
        return helper.make_tensor_value_info(name, kind, ["batch", *array.shape[1:]])

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
