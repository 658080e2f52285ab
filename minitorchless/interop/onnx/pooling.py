"""ONNX converters of pooling, batch normalization (eval) and Dropout2d."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from minitorchless.interop.onnx.builder import Inputs, OnnxBuilder, one, register_onnx_converter
from minitorchless.interop.onnx.core import elementwise
from minitorchless.layers.batch_norm import BatchNorm1d, BatchNorm2d
from minitorchless.layers.dropout import Dropout2d
from minitorchless.layers.pooling import (
    AvgPool1d,
    AvgPool2d,
    GlobalAvgPool2d,
    MaxPool1d,
    MaxPool2d,
)

__all__: list[str] = []


_LAST = np.iinfo(np.int64).max  # a Slice end meaning "to the end of the axis"


def _padded(builder: OnnxBuilder, layer: Any, x: str, path: str, fill: float) -> str:
    """``x`` with the layer's padding, filled with ``fill``, as an explicit ``Pad`` node.

    The pooling nodes then run without ``pads``: onnx's reference evaluator
    mis-sizes padded windows at stride 1, and the explicit form is the
    layer's own computation anyway.
    """
    if not any(layer.padding):
        return x
    pads = np.array([0, 0, *layer.padding, 0, 0, *layer.padding], dtype=np.int64)
    value = builder.constant(np.asarray(fill, dtype=builder.dtype), path)
    return builder.node("Pad", [x, builder.constant(pads, path), value], path)


def _pool_node(builder: OnnxBuilder, layer: Any, x: str, path: str, op: str) -> str:
    return builder.node(
        op, [x], path, kernel_shape=list(layer.kernel_size), strides=list(layer.stride)
    )


def _max_pool(builder: OnnxBuilder, layer: Any, inputs: Inputs, path: str) -> str:
    # -inf padding never wins a maximum, as in the layer
    x = _padded(builder, layer, one(inputs, layer), path, -np.inf)
    return _pool_node(builder, layer, x, path, "MaxPool")


def _avg_pool(builder: OnnxBuilder, layer: Any, inputs: Inputs, path: str) -> str:
    # the padded zeros count in the mean, as in the layer (and PyTorch's default)
    x = _padded(builder, layer, one(inputs, layer), path, 0.0)
    if builder.dtype == np.float32:
        return _pool_node(builder, layer, x, path, "AveragePool")
    return _avg_pool_float64(builder, layer, x, path)


def _avg_pool_float64(builder: OnnxBuilder, layer: Any, x: str, path: str) -> str:
    """The mean of the windows as the layer computes it, from ops onnxruntime has in float64.

    onnxruntime has no float64 ``AveragePool``: on the padded input, take one
    strided ``Slice`` per kernel offset (each holds that element of every
    window), sum them and divide by the window's size.
    """
    dims = len(layer.kernel_size)
    axes = builder.constant(np.arange(2, 2 + dims, dtype=np.int64), path)
    steps = builder.constant(np.array(layer.stride, dtype=np.int64), path)
    parts = []
    for offset in itertools.product(*(range(k) for k in layer.kernel_size)):
        # from the offset to the last window's element: k - 1 - offset before the axis' end
        ends = [
            o - k + 1 if o < k - 1 else _LAST
            for o, k in zip(offset, layer.kernel_size, strict=True)
        ]
        starts = builder.constant(np.array(offset, dtype=np.int64), path)
        stops = builder.constant(np.array(ends, dtype=np.int64), path)
        parts.append(builder.node("Slice", [x, starts, stops, axes, steps], path))
    total = builder.node("Sum", parts, path) if len(parts) > 1 else parts[0]
    scale = builder.constant(np.asarray(1 / np.prod(layer.kernel_size), dtype=np.float64), path)
    return builder.node("Mul", [total, scale], path)


for _pool in (MaxPool1d, MaxPool2d):
    register_onnx_converter(_pool)(_max_pool)
for _mean in (AvgPool1d, AvgPool2d):
    register_onnx_converter(_mean)(_avg_pool)
register_onnx_converter(Dropout2d)(elementwise("Identity"))  # inference graph: eval-mode dropout


@register_onnx_converter(GlobalAvgPool2d)
def _global_avg_pool(
    builder: OnnxBuilder, layer: GlobalAvgPool2d, inputs: Inputs, path: str
) -> str:
    x = one(inputs, layer)
    if builder.dtype != np.float32:  # onnxruntime has no float64 GlobalAveragePool
        return builder.node("ReduceMean", [x], path, axes=[2, 3], keepdims=0)
    pooled = builder.node("GlobalAveragePool", [x], path)  # (N, C, 1, 1)
    return builder.node("Flatten", [pooled], path, axis=1)  # (N, C)


def _batch_norm(builder: OnnxBuilder, layer: Any, inputs: Inputs, path: str) -> str:
    """The eval-mode normalization, with the running statistics as constants.

    ``BatchNormalization`` takes ``epsilon`` as a float32 attribute, which would
    round a float64 model's ``eps``; the difference goes into the variance
    instead, so that ``var + epsilon`` is the layer's ``running_var + eps``.
    """
    dtype = builder.dtype
    features = layer.num_features
    epsilon = float(np.float32(layer.eps))
    variance = layer.running_var.value.astype(dtype) + dtype.type(layer.eps - epsilon)
    operands = [
        one(inputs, layer),
        builder.parameter(layer.weight)
        if layer.weight is not None
        else builder.constant(np.ones(features, dtype=dtype), path),
        builder.parameter(layer.bias)
        if layer.bias is not None
        else builder.constant(np.zeros(features, dtype=dtype), path),
        builder.constant(layer.running_mean.value.astype(dtype), path),
        builder.constant(variance, path),
    ]
    return builder.node("BatchNormalization", operands, path, epsilon=epsilon)


for _norm in (BatchNorm1d, BatchNorm2d):
    register_onnx_converter(_norm)(_batch_norm)
