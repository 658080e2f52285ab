"""Embedding: a learned vector per index, looked up for a batch of integer indices."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from minitorchless._checks import check_grad_shape, float_dtype, generator, positive_int
from minitorchless._types import FloatArray, IntArray
from minitorchless.errors import ShapeError
from minitorchless.layers.base import Layer
from minitorchless.layers.shapes import Shape, ShapeSpec, known_rank, single

__all__ = ["Embedding", "scatter_add_cells", "scatter_add_rows"]


def scatter_add_rows(target: FloatArray, indices: IntArray, rows: FloatArray) -> None:
    """``target[indices[i]] += rows[i]`` for every ``i``, repeated indices adding up.

    The readable definition: ``np.add.at`` is the unbuffered ``+=`` that
    counts every repeat (``target[indices] += rows`` would keep only one of
    them). ``Embedding`` uses the faster :func:`scatter_add_cells`; the tests
    hold the two equal.
    """
    np.add.at(target, indices, rows)


def scatter_add_cells(
    target: FloatArray, indices: IntArray, rows: FloatArray, skip: int | None = None
) -> None:
    """The same sum as :func:`scatter_add_rows`, one scalar cell at a time.

    ``np.add.at`` on whole rows loops over the rows in C but handles each
    one as a small sub-array; on the flattened table with one flat index per
    (row, column) cell it takes NumPy's fast path for 1-D arrays instead. The
    sum stays in the rows' dtype (a float32 model makes no float64 array) and
    the extra memory is one index per cell of ``rows``, whatever the
    vocabulary. ``python -m benchmarks.embedding`` times it against the
    readable form, sorting with ``np.add.reduceat``, and ``np.bincount``.

    Args:
        target: The array to add into, ``(num_rows, dim)``.
        indices: One row index per row of ``rows``, 1-D.
        rows: The values to add, ``(len(indices), dim)``.
        skip: An index whose row is left exactly as it was (``Embedding``'s padding).
    """
    kept = None if skip is None else target[skip].copy()
    if target.flags.c_contiguous:
        dim = target.shape[1]
        cells = indices[:, np.newaxis] * dim + np.arange(dim)  # cell (i, j) of the table
        np.add.at(target.reshape(-1), cells.reshape(-1), rows.reshape(-1))
    else:  # a flat view would be a copy: add row by row
        np.add.at(target, indices, rows)
    if kept is not None:
        target[skip] = kept  # the padding row: put back, bit for bit


class Embedding(Layer):
    """A lookup table of learned vectors: index ``i`` becomes row ``i`` of ``weight``.

    As ``torch.nn.Embedding``: integer indices of any shape come in, and each is
    replaced by its ``embedding_dim`` vector. The weight is drawn from N(0, 1),
    as PyTorch draws it. The row of ``padding_idx``, if given, starts at zero
    and is never trained: its gradient stays zero, so padding positions of a
    sequence contribute nothing. Backward adds each position's gradient into
    the row it read, repeated indices adding up; the indices themselves have no
    gradient, so backward returns ``None``.

    Args:
        num_embeddings: How many indices there are (the vocabulary size).
        embedding_dim: The size of each vector.
        padding_idx: An index whose row stays zero and untrained; negative
            values count from the end, as PyTorch counts them.
        rng: Source of randomness for the initial weights. A fresh
            ``np.random.default_rng()`` if omitted.
        dtype: The floating dtype of the weight, and of the outputs.

    Shape:
        - inputs: integer indices ``(batch, *)`` in ``[0, num_embeddings)``, e.g. ``(N, T)``
        - outputs: ``(batch, *, embedding_dim)``
        - weight: ``(num_embeddings, embedding_dim)``
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        *,
        rng: np.random.Generator | None = None,
        dtype: DTypeLike = np.float64,
    ) -> None:
        super().__init__()
        self.num_embeddings = positive_int("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = positive_int("Embedding", "embedding_dim", embedding_dim)
        self.padding_idx = self._padding(padding_idx)
        resolved = float_dtype("Embedding", dtype)
        # drawn in float64 and rounded, so that float32 and float64 builds agree
        weight = generator("Embedding", rng).standard_normal((num_embeddings, embedding_dim))
        if self.padding_idx is not None:
            weight[self.padding_idx] = 0
        self.weight = self.add_parameter("weight", weight.astype(resolved))

    def _padding(self, padding_idx: Any) -> int | None:
        if padding_idx is None:
            return None
        if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)):
            raise TypeError(f"Embedding: padding_idx must be an integer, received {padding_idx!r}")
        if not -self.num_embeddings <= padding_idx < self.num_embeddings:
            raise ValueError(
                f"Embedding: padding_idx must be within [-{self.num_embeddings}, "
                f"{self.num_embeddings}) (num_embeddings), received {padding_idx}"
            )
        return int(padding_idx) % self.num_embeddings  # -1 is the last row, as in torch

    def _indices(self, inputs: ArrayLike) -> IntArray:
        indices = np.asarray(inputs)
        if indices.dtype.kind not in "iu":
            hint = ""
            if indices.dtype.kind == "f":
                hint = " (cast whole-number floats with .astype(np.int64))"
            raise TypeError(
                f"{self!r} expects integer indices, received dtype {indices.dtype} "
                f"(shape {indices.shape}){hint}"
            )
        if indices.ndim < 1:
            raise ShapeError(
                f"{self!r} expects indices of shape (batch, ...), e.g. (N, T), received a "
                f"scalar of shape ()"
            )
        if indices.size and (indices.min() < 0 or indices.max() >= self.num_embeddings):
            bad = np.argwhere((indices < 0) | (indices >= self.num_embeddings))[0]
            position = tuple(int(i) for i in bad)
            raise ValueError(
                f"{self!r} expects indices in [0, {self.num_embeddings}), received "
                f"{int(indices[position])} at position {position} of the indices "
                f"(shape {indices.shape})"
            )
        return indices

    def forward(self, inputs: ArrayLike) -> FloatArray:
        indices = self._indices(inputs)
        self.save_for_backward(indices)  # which row each gradient goes to
        outputs: FloatArray = np.take(self.weight.value, indices, axis=0)
        return outputs

    def backward(self, grad_output: FloatArray) -> None:
        self.backward_parameters(grad_output)
        return None  # indices have no gradient

    def backward_parameters(self, grad_output: FloatArray) -> None:
        indices = self.saved()
        grad_output = check_grad_shape(self, grad_output, (*indices.shape, self.embedding_dim))
        if not self.weight.requires_grad:
            return
        if grad_output.dtype != self.weight.dtype:
            grad_output = grad_output.astype(self.weight.dtype)  # a float32 model stays float32
        # dL/dW[i] = sum of the gradients of the positions that read row i; the
        # padding row is skipped, so it is never trained
        scatter_add_cells(
            self.weight.grad,
            indices.reshape(-1),
            grad_output.reshape(-1, self.embedding_dim),
            skip=self.padding_idx,
        )

    def output_shape(self, input_shape: ShapeSpec) -> Shape:
        shape = single(self, input_shape)
        if known_rank(shape) == 0:
            raise ShapeError(f"{self!r} expects indices of shape (batch, ...), received ()")
        return (*shape, self.embedding_dim)

    def get_config(self) -> dict[str, Any]:
        return {
            "num_embeddings": self.num_embeddings,
            "embedding_dim": self.embedding_dim,
            "padding_idx": self.padding_idx,
            "dtype": str(self.weight.dtype),
        }

    @classmethod
    def size_from_config(cls, config: Mapping[str, Any]) -> int | None:
        rows, columns = config.get("num_embeddings"), config.get("embedding_dim")
        if not (isinstance(rows, int) and isinstance(columns, int) and rows >= 1 and columns >= 1):
            return None  # the constructor refuses them, and says why
        return rows * columns

    def extra_repr(self) -> str:
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"
