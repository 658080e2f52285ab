"""Learned positions: a vector per position added to a sequence, and the transformer block."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from minitorchless._checks import (
    as_float_array,
    check_grad_shape,
    float_dtype,
    generator,
    positive_int,
)
from minitorchless._types import FloatArray
from minitorchless.errors import ShapeError
from minitorchless.layers.attention import MultiheadAttention
from minitorchless.layers.base import Layer
from minitorchless.layers.combinators import Residual
from minitorchless.layers.dense import Dense
from minitorchless.layers.layer_norm import LayerNorm
from minitorchless.layers.sequential import Sequential
from minitorchless.layers.shapes import Shape, ShapeSpec, describe, known_rank, single
from minitorchless.layers.smooth_activations import GELU

__all__ = ["PositionalEmbedding", "transformer_block"]


class PositionalEmbedding(Layer):
    """Adds a learned vector per position: ``outputs[n, t] = inputs[n, t] + weight[t]``.

    Attention by itself cannot tell positions apart (it mixes a set); this
    layer tells it where each token sits. It is ``Embedding(max_len, E)``
    looked up at ``0, 1, ..., T-1`` and added to the sequence, so sequences
    may be shorter than ``max_len``, never longer. The weight is drawn from
    N(0, 0.02^2), small next to token embeddings.

    Args:
        max_len: The longest sequence, the number of position vectors.
        embed_dim: The features per position.
        rng: Source of randomness for the initial weight.
        dtype: The floating dtype of the weight; inputs are cast to it.

    Shape:
        - inputs: ``(N, T, embed_dim)`` with ``T <= max_len``
        - outputs: same shape
        - weight: ``(max_len, embed_dim)``
    """

    def __init__(
        self,
        max_len: int,
        embed_dim: int,
        *,
        rng: np.random.Generator | None = None,
        dtype: DTypeLike = np.float64,
    ) -> None:
        super().__init__()
        self.max_len = positive_int("PositionalEmbedding", "max_len", max_len)
        self.embed_dim = positive_int("PositionalEmbedding", "embed_dim", embed_dim)
        resolved = float_dtype("PositionalEmbedding", dtype)
        weight = generator("PositionalEmbedding", rng).normal(0.0, 0.02, (max_len, embed_dim))
        self.weight = self.add_parameter("weight", weight.astype(resolved))

    def forward(self, inputs: Any) -> FloatArray:
        inputs = as_float_array(self, inputs)
        if inputs.ndim != 3 or inputs.shape[-1] != self.embed_dim or inputs.shape[1] > self.max_len:
            raise ShapeError(
                f"{self!r} expects inputs of shape (batch, time, {self.embed_dim}) with "
                f"time <= max_len = {self.max_len}, received shape {inputs.shape}"
            )
        length = inputs.shape[1]
        self.save_for_backward(inputs.shape)
        outputs: FloatArray = np.add(inputs, self.weight.value[:length], dtype=self.weight.dtype)
        return outputs

    def backward(self, grad_output: FloatArray) -> FloatArray:
        shape = self.saved()
        grad_output = check_grad_shape(self, grad_output, shape)
        if self.weight.requires_grad:  # position t is shared by every sample: sum over the batch
            self.weight.grad[: shape[1]] += grad_output.sum(axis=0)
        return grad_output

    def output_shape(self, input_shape: ShapeSpec) -> Shape:
        shape = single(self, input_shape)
        if known_rank(shape) is None:
            return (None, None, self.embed_dim)
        length = shape[1] if len(shape) == 3 else None
        if (
            len(shape) != 3
            or shape[-1] not in (None, self.embed_dim)
            or (length is not None and length > self.max_len)
        ):
            raise ShapeError(
                f"{self!r} expects inputs of shape (batch, time, {self.embed_dim}) with "
                f"time <= max_len = {self.max_len}, received {describe(shape)}"
            )
        return shape

    def get_config(self) -> dict[str, Any]:
        return {
            "max_len": self.max_len,
            "embed_dim": self.embed_dim,
            "dtype": str(self.weight.dtype),
        }

    @classmethod
    def size_from_config(cls, config: Mapping[str, Any]) -> int | None:
        max_len, embed_dim = config.get("max_len"), config.get("embed_dim")
        if not (isinstance(max_len, int) and isinstance(embed_dim, int)):
            return None
        return max_len * embed_dim

    def extra_repr(self) -> str:
        return f"{self.max_len}, {self.embed_dim}"


def transformer_block(
    embed_dim: int,
    num_heads: int,
    hidden: int | None = None,
    *,
    causal: bool = True,
    approximate: str = "none",
    rng: np.random.Generator | None = None,
    dtype: DTypeLike = np.float64,
) -> Sequential:
    """A pre-norm transformer block, composed of plain layers (no class of its own).

    ``x + attention(LayerNorm(x))``, then ``x + MLP(LayerNorm(x))`` with the
    MLP ``Dense(E, hidden) -> GELU -> Dense(hidden, E)``. The result is an
    ordinary ``Sequential`` of two ``Residual`` blocks: its parameters are
    named ``0.block.1.in_proj_weight``... and everything that handles a
    ``Sequential`` (saving, ``to_torch``, ONNX) handles it.

    Args:
        embed_dim: The features per position.
        num_heads: The attention heads; must divide ``embed_dim``.
        hidden: The MLP's width, ``4 * embed_dim`` by default.
        causal: Mask the future in the attention (a language model's block).
        approximate: The GELU's form, ``"none"`` (exact) or ``"tanh"`` (cheaper).
        rng: Source of randomness for every initial weight.
        dtype: The floating dtype of every parameter.
    """
    rng = generator("transformer_block", rng)
    width = 4 * embed_dim if hidden is None else hidden
    attention = MultiheadAttention(embed_dim, num_heads, causal=causal, rng=rng, dtype=dtype)
    mlp = Sequential(
        LayerNorm(embed_dim, dtype=dtype),
        Dense(embed_dim, width, bias=True, rng=rng, dtype=dtype),
        GELU(approximate=approximate),
        Dense(width, embed_dim, bias=True, rng=rng, dtype=dtype),
    )
    return Sequential(
        Residual(Sequential(LayerNorm(embed_dim, dtype=dtype), attention)), Residual(mlp)
    )
