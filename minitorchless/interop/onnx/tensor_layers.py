"""ONNX converters of Flatten, Reshape, LayerNorm and Embedding."""

from __future__ import annotations

import numpy as np

from minitorchless.interop.onnx.builder import Inputs, OnnxBuilder, one, register_onnx_converter
from minitorchless.layers.embedding import Embedding
from minitorchless.layers.layer_norm import LayerNorm
from minitorchless.layers.reshape import Flatten, Reshape

__all__: list[str] = []


@register_onnx_converter(Flatten)
def _flatten(builder: OnnxBuilder, layer: Flatten, inputs: Inputs, path: str) -> str:
    return builder.node("Flatten", [one(inputs, layer)], path, axis=1)  # (N, *) -> (N, prod)


@register_onnx_converter(Reshape)
def _reshape(builder: OnnxBuilder, layer: Reshape, inputs: Inputs, path: str) -> str:
    # 0 copies the input's size on that axis (the batch, which stays symbolic); -1 is inferred
    shape = builder.constant(np.array([0, *layer.shape], dtype=np.int64), path)
    return builder.node("Reshape", [one(inputs, layer), shape], path)


@register_onnx_converter(Embedding, indices=True)
def _embedding(builder: OnnxBuilder, layer: Embedding, inputs: Inputs, path: str) -> str:
    # row i of the weight for each index i: (num_embeddings, dim)[(N, T)] -> (N, T, dim)
    return builder.node("Gather", [builder.parameter(layer.weight), one(inputs, layer)], path)


@register_onnx_converter(LayerNorm)
def _layer_norm(builder: OnnxBuilder, layer: LayerNorm, inputs: Inputs, path: str) -> str:
    x = one(inputs, layer)
    axes = list(range(-len(layer.normalized_shape), 0))
    if builder.dtype != np.float32:
        return _layer_norm_float64(builder, layer, x, axes, path)
    scale = (
        builder.parameter(layer.weight)
        if layer.weight is not None
        else builder.constant(np.ones(layer.normalized_shape, dtype=builder.dtype), path)
    )
    operands = [x, scale] + ([builder.parameter(layer.bias)] if layer.bias is not None else [])
    return builder.node("LayerNormalization", operands, path, axis=axes[0], epsilon=layer.eps)


def _layer_norm_float64(
    builder: OnnxBuilder, layer: LayerNorm, x: str, axes: list[int], path: str
) -> str:
    """The normalization in float64 primitives.

    ``LayerNormalization`` takes ``epsilon`` as a float32 attribute, which
    would round a float64 model's ``eps``, and computes its statistics in the
    precision of its ``stash_type``, whose float64 setting onnxruntime lacks.
    """
    mean = builder.node("ReduceMean", [x], path, axes=axes, keepdims=1)
    centered = builder.node("Sub", [x, mean], path)
    square = builder.node("Mul", [centered, centered], path)
    variance = builder.node("ReduceMean", [square], path, axes=axes, keepdims=1)
    eps = builder.constant(np.asarray(layer.eps, dtype=builder.dtype), path)
    std = builder.node("Sqrt", [builder.node("Add", [variance, eps], path)], path)
    outputs = builder.node("Div", [centered, std], path)  # x_hat = (x - mean) / sqrt(var + eps)
    if layer.weight is not None:
        outputs = builder.node("Mul", [outputs, builder.parameter(layer.weight)], path)
    if layer.bias is not None:
        outputs = builder.node("Add", [outputs, builder.parameter(layer.bias)], path)
    return outputs
