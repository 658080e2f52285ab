"""Multi-head scaled dot-product attention, as ``torch.nn.MultiheadAttention(batch_first=True)``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
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
from minitorchless.layers.base import Layer
from minitorchless.layers.shapes import Shape, ShapeSpec, check_count, describe, known_rank

__all__ = ["MultiheadAttention", "OutProjection", "softmax_backward"]


@dataclass(frozen=True)
class OutProjection:
    """``layer.out_proj.weight`` and ``.bias``, as PyTorch users reach them.

    The parameters are the layer's own, registered under the dotted names
    ``out_proj.weight`` and ``out_proj.bias``; this only groups them.
    """

    weight: Any
    bias: Any


def softmax_backward(weights: FloatArray, grad_weights: FloatArray) -> FloatArray:
    """dL/ds from dL/dp for ``p = softmax(s)`` on the last axis.

    The Jacobian of the softmax is ``dp_j/ds_i = p_j (delta_ij - p_i)``, so
    ``dL/ds_i = p_i (dL/dp_i - sum_j p_j dL/dp_j)``: one product and one sum
    per row, never the ``(S, S)`` matrix itself. A masked key has ``p = 0``,
    so its score gets no gradient.
    """
    grad_scores: FloatArray = grad_weights - np.sum(grad_weights * weights, axis=-1, keepdims=True)
    grad_scores *= weights
    return grad_scores


class MultiheadAttention(Layer):
    """Multi-head attention: each position mixes the values of the positions it attends to.

    Self-attention takes one array ``x`` ``(N, T, E)``. The query, key and
    value of every position are ``x @ in_proj_weight.T + in_proj_bias``, split
    in three and then in ``num_heads`` heads of ``E // num_heads`` features.
    Per head, ``A = softmax(q k^T / sqrt(E // num_heads))`` weights the
    values, ``A v``; the heads are joined and projected by ``out_proj``.

    **Causal.** With ``causal=True`` position ``t`` attends to positions
    ``<= t`` only (a language model cannot look ahead): the scores above the
    diagonal are set to minus infinity before the softmax, so their weights
    are exactly 0.

    **Key padding.** Set ``layer.key_padding_mask`` to a boolean ``(N, S)``
    array before a forward; ``True`` marks a key (a padding position) that no
    query attends to, as in PyTorch. ``None`` (the default) masks nothing. A
    query row left with no key at all is refused.

    **Cross-attention.** Given two arrays ``[query, key_value]``, the queries
    come from the first (``(N, T, E)``) and the keys and values from the
    second (``(N, S, E)``): in a ``Graph``, a node whose inputs are
    ``["decoder", "encoder"]``. The backward then returns two gradients.

    The attention weights of the last forward stay in ``attention_weights``,
    ``(N, num_heads, T, S)``, for plotting. There is no dropout on them.

    Args:
        embed_dim: The features per position, ``E``.
        num_heads: The number of heads; must divide ``embed_dim``.
        bias: Learn ``in_proj_bias`` and ``out_proj.bias`` (initialised to 0).
        causal: Mask the keys after each query.
        rng: Source of randomness for the initial weights (Glorot uniform for
            ``in_proj_weight``, U(-1/sqrt(E), 1/sqrt(E)) for ``out_proj.weight``,
            as PyTorch draws them).
        dtype: Floating dtype of the parameters; inputs are cast to it.

    Shape:
        - inputs: ``(N, T, E)``, or ``[(N, T, E), (N, S, E)]`` for cross-attention
        - outputs: ``(N, T, E)``
        - in_proj_weight: ``(3 E, E)``; in_proj_bias: ``(3 E,)``
        - out_proj.weight: ``(E, E)`` as ``(out, in)``; out_proj.bias: ``(E,)``
        - key_padding_mask: ``(N, S)`` booleans; attention_weights: ``(N, heads, T, S)``
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        bias: bool = True,
        causal: bool = False,
        *,
        rng: np.random.Generator | None = None,
        dtype: DTypeLike = np.float64,
    ) -> None:
        super().__init__()
        self.embed_dim = positive_int("MultiheadAttention", "embed_dim", embed_dim)
        self.num_heads = positive_int("MultiheadAttention", "num_heads", num_heads)
        if self.embed_dim % self.num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim must be divisible by num_heads, received "
                f"embed_dim={embed_dim} and num_heads={num_heads} "
                f"({embed_dim} / {num_heads} = {embed_dim / num_heads:g})"
            )
        self.head_dim = self.embed_dim // self.num_heads
        self.causal = bool(causal)
        resolved = float_dtype("MultiheadAttention", dtype)
        rng = generator("MultiheadAttention", rng)
        e = self.embed_dim
        # drawn in float64 and rounded, so that float32 and float64 builds agree
        in_bound = math.sqrt(6.0 / (e + 3 * e))  # Glorot uniform on (3E, E)
        out_bound = 1.0 / math.sqrt(e)
        in_weight = rng.uniform(-in_bound, in_bound, (3 * e, e)).astype(resolved)
        out_weight = rng.uniform(-out_bound, out_bound, (e, e)).astype(resolved)
        self.in_proj_weight = self.add_parameter("in_proj_weight", in_weight)
        self.in_proj_bias = (
            self.add_parameter("in_proj_bias", np.zeros(3 * e, dtype=resolved)) if bias else None
        )
        out_w = self.add_parameter("out_proj.weight", out_weight)
        out_b = self.add_parameter("out_proj.bias", np.zeros(e, dtype=resolved)) if bias else None
        self.out_proj = OutProjection(out_w, out_b)
        self.key_padding_mask: Any = None
        self.attention_weights: FloatArray | None = None

    # ------------------------------------------------------------------ checks
    def input_arity(self) -> tuple[int, int | None]:
        return (1, 2)

    def _sequence(self, inputs: Any, what: str) -> FloatArray:
        array: FloatArray = as_float_array(self, inputs, what=what)
        if array.ndim != 3 or array.shape[-1] != self.embed_dim:
            raise ShapeError(
                f"{self!r} expects {what} of shape (batch, time, {self.embed_dim}) "
                f"(N, T, embed_dim), received shape {array.shape}"
            )
        if array.dtype != self.in_proj_weight.dtype:
            array = array.astype(self.in_proj_weight.dtype)  # a float32 model stays float32
        return array

    def _inputs(self, inputs: Any) -> tuple[FloatArray, FloatArray | None]:
        if not isinstance(inputs, (list, tuple)):
            return self._sequence(inputs, "inputs"), None
        if len(inputs) != 2:
            raise ValueError(
                f"{self!r} takes one array (self-attention) or two [query, key_value] "
                f"(cross-attention), received {len(inputs)}"
            )
        query = self._sequence(inputs[0], "inputs[0] (the query)")
        key_value = self._sequence(inputs[1], "inputs[1] (the keys and values)")
        if key_value.shape[0] != query.shape[0]:
            raise ShapeError(
                f"{self!r}: the query and key_value batches must have the same size, "
                f"received {query.shape[0]} and {key_value.shape[0]}"
            )
        return query, key_value

    def _mask_bias(self, batch: int, t: int, s: int, dtype: Any) -> FloatArray | None:
        """0 where a query may attend, -inf where it may not: added to the scores."""
        bias: FloatArray | None = None
        if self.causal:  # key j > query i is the future
            bias = np.where(np.triu(np.ones((t, s), dtype=bool), k=1), -np.inf, 0).astype(dtype)
        mask = self.key_padding_mask
        if mask is not None:
            mask = np.asarray(mask)
            if mask.dtype != bool or mask.shape != (batch, s):
                raise ShapeError(
                    f"{self!r}: key_padding_mask must be booleans of shape (batch, keys) = "
                    f"({batch}, {s}), True where a key is padding; received dtype "
                    f"{mask.dtype} and shape {mask.shape}"
                )
            padding = np.where(mask, -np.inf, 0).astype(dtype)[:, np.newaxis, np.newaxis, :]
            bias = padding if bias is None else bias + padding
        return bias

    # ----------------------------------------------------------------- compute
    def _heads(self, rows: FloatArray, batch: int, length: int, parts: int) -> FloatArray:
        """(N * L, parts * E) -> (parts, N, heads, L, head_dim)."""
        split = rows.reshape(batch, length, parts, self.num_heads, self.head_dim)
        moved: FloatArray = split.transpose(2, 0, 3, 1, 4)
        return moved

    def _project_in(self, query: FloatArray, key_value: FloatArray | None) -> FloatArray:
        """The queries (pre-scaled by 1/sqrt(head_dim)), keys and values, per head."""
        e, weight = self.embed_dim, self.in_proj_weight.value
        b = None if self.in_proj_bias is None else self.in_proj_bias.value
        n, t, _ = query.shape
        if key_value is None:  # one product for q, k and v: x W^T + b
            rows = query.reshape(-1, e) @ weight.T
            if b is not None:
                rows += b
            q, k, v = self._heads(rows, n, t, 3)
        else:
            q_rows = query.reshape(-1, e) @ weight[:e].T
            kv_rows = key_value.reshape(-1, e) @ weight[e:].T
            if b is not None:
                q_rows += b[:e]
                kv_rows += b[e:]
            (q,) = self._heads(q_rows, n, t, 1)
            k, v = self._heads(kv_rows, n, key_value.shape[1], 2)
        q = q * q.dtype.type(1.0 / math.sqrt(self.head_dim))
        return q, k, v  # type: ignore[return-value]

    def forward(self, inputs: Any) -> FloatArray:
        query, key_value = self._inputs(inputs)
        n, t, e = query.shape
        s = t if key_value is None else key_value.shape[1]
        q, k, v = self._project_in(query, key_value)
        scores = q @ k.swapaxes(-1, -2)  # (N, H, T, S): q k^T / sqrt(d)
        bias = self._mask_bias(n, t, s, scores.dtype)
        if bias is not None:
            scores += bias
        top = scores.max(axis=-1, keepdims=True)
        if bias is not None and np.isneginf(top).any():
            sample, _, row, _ = np.argwhere(np.isneginf(top))[0]
            raise ValueError(
                f"{self!r}: query {row} of sample {sample} may attend to no key (the causal "
                f"mask and key_padding_mask hide them all); leave at least one key unmasked"
            )
        scores -= top  # softmax, shifted so that exp never overflows
        weights = np.exp(scores, out=scores)
        weights /= weights.sum(axis=-1, keepdims=True)
        context = (weights @ v).transpose(0, 2, 1, 3).reshape(n * t, e)  # heads side by side
        outputs = context @ self.out_proj.weight.value.T
        if self.out_proj.bias is not None:
            outputs += self.out_proj.bias.value
        self.attention_weights = weights
        self.save_for_backward(query, key_value, q, k, v, weights, context)
        return outputs.reshape(n, t, e)  # type: ignore[no-any-return]

    def backward(self, grad_output: FloatArray) -> Any:
        return self._backward(grad_output, inputs_needed=True)

    def backward_parameters(self, grad_output: FloatArray) -> None:
        # the first layer's dL/dx is the data's, read by no one: skip its products
        self._backward(grad_output, inputs_needed=False)

    def _backward(self, grad_output: FloatArray, *, inputs_needed: bool) -> Any:
        query, key_value, q, k, v, weights, context = self.saved()
        n, t, e = query.shape
        grad_output = check_grad_shape(self, grad_output, query.shape)
        grad_rows = grad_output.reshape(-1, e).astype(query.dtype, copy=False)
        out_w, out_b = self.out_proj.weight, self.out_proj.bias
        if out_w.requires_grad:
            out_w.add_product(grad_rows.T, context)  # dL/dW_o = g^T context, as (out, in)
        if out_b is not None and out_b.requires_grad:
            out_b.grad += grad_rows.sum(axis=0)
        grad_context = (grad_rows @ out_w.value).reshape(n, t, self.num_heads, self.head_dim)
        grad_context = grad_context.transpose(0, 2, 1, 3)  # (N, H, T, d)
        grad_v = weights.swapaxes(-1, -2) @ grad_context  # context = A v
        grad_scores = softmax_backward(weights, grad_context @ v.swapaxes(-1, -2))
        grad_k = grad_scores.swapaxes(-1, -2) @ q  # scores = q_s k^T, q_s already scaled
        grad_q = grad_scores @ k
        grad_q *= grad_q.dtype.type(1.0 / math.sqrt(self.head_dim))
        if key_value is None:
            grad_rows_in = self._rows(np.stack([grad_q, grad_k, grad_v]), n, t)
            return self._project_in_backward(grad_rows_in, query, slice(None), inputs_needed)
        grad_q_rows = self._rows(grad_q[None], n, t)
        grad_query = self._project_in_backward(grad_q_rows, query, slice(0, e), inputs_needed)
        grad_kv = self._rows(np.stack([grad_k, grad_v]), n, key_value.shape[1])
        grad_key_value = self._project_in_backward(
            grad_kv, key_value, slice(e, None), inputs_needed
        )
        return grad_query, grad_key_value

    def _rows(self, per_head: FloatArray, batch: int, length: int) -> FloatArray:
        """(parts, N, heads, L, head_dim) -> (N * L, parts * E): the inverse of ``_heads``."""
        parts = per_head.shape[0]
        rows: FloatArray = per_head.transpose(1, 3, 0, 2, 4)
        return rows.reshape(batch * length, parts * self.embed_dim)

    def _project_in_backward(
        self, grad_rows: FloatArray, inputs: FloatArray, part: slice, inputs_needed: bool
    ) -> Any:
        """Add dL/d(in_proj) for rows ``part`` of the weight; return dL/d(inputs) if needed."""
        rows = inputs.reshape(-1, self.embed_dim)
        weight = self.in_proj_weight
        if weight.requires_grad:
            if part == slice(None):
                weight.add_product(grad_rows.T, rows)  # dL/dW_in = g^T x
            else:
                weight.grad[part] += grad_rows.T @ rows
        if self.in_proj_bias is not None and self.in_proj_bias.requires_grad:
            self.in_proj_bias.grad[part] += grad_rows.sum(axis=0)
        if not inputs_needed:
            return None
        grad_input: FloatArray = grad_rows @ weight.value[part]  # dL/dx = g W_in
        return grad_input.reshape(inputs.shape)

    # ------------------------------------------------------------------ shapes
    def output_shape(self, input_shape: ShapeSpec) -> Shape:
        check_count(self, input_shape)
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        for shape in shapes:
            rank = known_rank(shape)
            last = shape[-1] if len(shape) > 1 else None
            if (rank is not None and rank != 3) or (last is not None and last != self.embed_dim):
                raise ShapeError(
                    f"{self!r} expects inputs of shape (batch, time, {self.embed_dim}), "
                    f"received {describe(shape)}"
                )
        query = shapes[0]
        return (None, None, self.embed_dim) if known_rank(query) is None else tuple(query)

    # ---------------------------------------------------------------- configs
    def get_config(self) -> dict[str, Any]:
        return {
            "embed_dim": self.embed_dim,
            "num_heads": self.num_heads,
            "bias": self.in_proj_bias is not None,
            "causal": self.causal,
            "dtype": str(self.in_proj_weight.dtype),
        }

    @classmethod
    def size_from_config(cls, config: Mapping[str, Any]) -> int | None:
        e = config.get("embed_dim")
        if not isinstance(e, int):
            return None
        return 4 * e * e + (4 * e if config.get("bias", True) else 0)

    def extra_repr(self) -> str:
        flags = ("" if self.in_proj_bias is not None else ", bias=False") + (
            ", causal=True" if self.causal else ""
        )
        return f"{self.embed_dim}, num_heads={self.num_heads}{flags}"
