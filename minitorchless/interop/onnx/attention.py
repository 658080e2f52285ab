"""ONNX converters of MultiheadAttention (from MatMul and Softmax) and PositionalEmbedding."""

from __future__ import annotations

import math

import numpy as np

from minitorchless.interop.onnx.builder import Inputs, OnnxBuilder, one, register_onnx_converter
from minitorchless.layers.attention import MultiheadAttention
from minitorchless.layers.positional import PositionalEmbedding

__all__: list[str] = []


def _ints(builder: OnnxBuilder, values: list[int], path: str) -> str:
    return builder.constant(np.array(values, dtype=np.int64), path)


def _length(builder: OnnxBuilder, x: str, path: str) -> str:
    """The time axis of ``x`` (N, T, E) as a 1-D int64 tensor ``[T]``."""
    return builder.node("Shape", [x], path, start=1, end=2)


def _projection(
    builder: OnnxBuilder, layer: MultiheadAttention, x: str, rows: slice, path: str
) -> str:
    """``x @ in_proj_weight[rows].T + in_proj_bias[rows]``, the parameters kept whole."""
    weight_t = builder.node("Transpose", [builder.parameter(layer.in_proj_weight)], path)
    bias = None if layer.in_proj_bias is None else builder.parameter(layer.in_proj_bias)
    if rows != slice(None):
        start, stop = _ints(builder, [rows.start], path), _ints(builder, [rows.stop], path)
        weight_t = builder.node(
            "Slice", [weight_t, start, stop, _ints(builder, [1], path)], path
        )  # columns of W^T are rows of W
        if bias is not None:
            bias = builder.node("Slice", [bias, start, stop, _ints(builder, [0], path)], path)
    outputs = builder.node("MatMul", [x, weight_t], path)
    return outputs if bias is None else builder.node("Add", [outputs, bias], path)


def _heads(
    builder: OnnxBuilder, layer: MultiheadAttention, rows: str, parts: int, path: str
) -> list[str]:
    """(N, L, parts * E) -> ``parts`` tensors (N, heads, L, head_dim)."""
    shape = _ints(builder, [0, 0, parts, layer.num_heads, layer.head_dim], path)
    split = builder.node("Reshape", [rows, shape], path)
    moved = builder.node("Transpose", [split], path, perm=[2, 0, 3, 1, 4])
    return [_pick(builder, moved, i, path) for i in range(parts)]


def _scalar(builder: OnnxBuilder, value: int, path: str) -> str:
    """An int64 scalar (initializers are stored at least 1-D: squeeze the axis away)."""
    return builder.node("Squeeze", [_ints(builder, [value], path), _ints(builder, [0], path)], path)


def _pick(builder: OnnxBuilder, x: str, index: int, path: str) -> str:
    """``x[index]`` on the first axis, which disappears."""
    picked = builder.node("Gather", [x, _ints(builder, [index], path)], path, axis=0)
    return builder.node("Squeeze", [picked, _ints(builder, [0], path)], path)


def _causal(builder: OnnxBuilder, scores: str, query: str, source: str, path: str) -> str:
    """Minus infinity wherever key j comes after query i (j > i), as the layer masks it."""
    zero, one_ = _scalar(builder, 0, path), _scalar(builder, 1, path)
    axis0 = _ints(builder, [0], path)
    t = builder.node("Squeeze", [_length(builder, query, path), axis0], path)
    s = builder.node("Squeeze", [_length(builder, source, path), axis0], path)
    rows = builder.node(
        "Unsqueeze", [builder.node("Range", [zero, t, one_], path), _ints(builder, [1], path)], path
    )
    cols = builder.node("Unsqueeze", [builder.node("Range", [zero, s, one_], path), axis0], path)
    future = builder.node("Greater", [cols, rows], path)  # (T, S)
    minus_inf = builder.constant(np.array(-np.inf, dtype=builder.dtype), path)
    return builder.node("Where", [future, minus_inf, scores], path)


@register_onnx_converter(MultiheadAttention)
def _attention(builder: OnnxBuilder, layer: MultiheadAttention, inputs: Inputs, path: str) -> str:
    if layer.key_padding_mask is not None:
        raise TypeError(
            f"export_onnx: {layer!r} at {path!r} has a key_padding_mask, which belongs to one "
            f"batch; export with layer.key_padding_mask = None"
        )
    e = layer.embed_dim
    if isinstance(inputs, str):  # self-attention: one product for q, k and v
        query = source = inputs
        q, k, v = _heads(
            builder, layer, _projection(builder, layer, query, slice(None), path), 3, path
        )
    else:
        query, source = inputs
        (q,) = _heads(
            builder, layer, _projection(builder, layer, query, slice(0, e), path), 1, path
        )
        k, v = _heads(
            builder, layer, _projection(builder, layer, source, slice(e, 3 * e), path), 2, path
        )
    scale = builder.constant(np.array(1.0 / math.sqrt(layer.head_dim), dtype=builder.dtype), path)
    q = builder.node("Mul", [q, scale], path)
    k_t = builder.node("Transpose", [k], path, perm=[0, 1, 3, 2])
    scores = builder.node("MatMul", [q, k_t], path)  # (N, H, T, S)
    if layer.causal:
        scores = _causal(builder, scores, query, source, path)
    weights = builder.node("Softmax", [scores], path, axis=-1)
    context = builder.node("MatMul", [weights, v], path)
    joined = builder.node("Transpose", [context], path, perm=[0, 2, 1, 3])
    joined = builder.node("Reshape", [joined, _ints(builder, [0, 0, e], path)], path)
    out_t = builder.node("Transpose", [builder.parameter(layer.out_proj.weight)], path)
    outputs = builder.node("MatMul", [joined, out_t], path)
    if layer.out_proj.bias is not None:
        outputs = builder.node("Add", [outputs, builder.parameter(layer.out_proj.bias)], path)
    return outputs


@register_onnx_converter(PositionalEmbedding)
def _positions(builder: OnnxBuilder, layer: PositionalEmbedding, inputs: Inputs, path: str) -> str:
    x = one(inputs, layer)
    start, axis = _ints(builder, [0], path), _ints(builder, [0], path)
    first = builder.node(
        "Slice", [builder.parameter(layer.weight), start, _length(builder, x, path), axis], path
    )
    return builder.node("Add", [x, first], path)  # (N, T, E) + (T, E): weight[:T] per sample
