"""Merge layers: several arrays in, one array out.

A merge layer is the point where branches of a ``Graph`` meet. Its ``forward``
takes a list or tuple of arrays and its ``backward`` returns a tuple of
gradients, one per input, in the same order (the multi-input rule of the
``Layer`` contract). A graph node feeds one when its inputs are a list of node
names: ``("both", mtl.Concatenate(), ["left", "right"])``.

Arrays are never broadcast against each other: inputs of different shapes
are an error that names them, never a silently stretched sum.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from minitorchless._checks import as_float_array, check_grad_shape
from minitorchless._types import FloatArray
from minitorchless.errors import ShapeError
from minitorchless.layers.base import Layer

__all__ = ["Add", "Concatenate", "Merge"]



def _common_dtype(arrays: Sequence[FloatArray]) -> np.dtype[Any]:
    """The narrowest float dtype among ``arrays``.

    A float32 input means a float32 model; float64 ones then come from raw
    data fed in at float64. Merging in the narrowest keeps the model's dtype
    instead of upcasting it.
    """
    return min((array.dtype for array in arrays), key=lambda dtype: dtype.itemsize)


class Merge(Layer):
    """Base of layers that combine two or more arrays into one.

    Subclasses implement ``forward`` on a sequence of arrays, ``backward``
    returning a tuple of gradients, and ``merged_features``, which infers the
    output width from the input widths so that a ``Graph`` can check its
    wiring when it is built. Subclass it to write your own multi-input layer.
    """

    def as_arrays(self, inputs: ArrayLike) -> list[FloatArray]:
        """Check that ``inputs`` is a list or tuple of at least two numeric arrays.

        Subclasses call it first thing in ``forward``. Floating arrays pass
        through untouched; integer ones become float64.

        Raises:
            TypeError: ``inputs`` is not a list or tuple, or holds a non-numeric array.
            ValueError: fewer than two arrays.
        """
        if not isinstance(inputs, (list, tuple)):
            shape = getattr(inputs, "shape", None)
            received = f"an array of shape {shape}" if shape is not None else type(inputs).__name__
            raise TypeError(
                f"{self!r}: expected a list or tuple of at least 2 arrays, received {received}"
            )
        if len(inputs) < 2:
            raise ValueError(
                f"{self!r}: expected at least 2 arrays to merge, received {len(inputs)}"
            )
        return [as_float_array(self, array, what=f"inputs[{i}]") for i, array in enumerate(inputs)]

    @abstractmethod
    def forward(self, inputs: ArrayLike) -> FloatArray:
        """Merge a list or tuple of arrays into one array."""

    @abstractmethod
    def backward(  # type: ignore[override]  # one gradient per input (the multi-input rule)
        self, grad_output: FloatArray
    ) -> tuple[FloatArray, ...]:
        """Return one gradient per input, in the order of the inputs."""

    @abstractmethod
    def merged_features(self, in_features: Sequence[int | None]) -> int | None:
        """Infer the output width from the inputs' widths (``None``: unknown).

        Raises:
            ShapeError: the widths cannot be merged.
        """

    def output_features(self, in_features: int | None) -> int | None:
        # a single width means the layer was put in a chain, where it cannot merge anything
        if in_features is not None:
            raise ShapeError(
                f"{self!r} merges several inputs and cannot follow a single layer: "
                f"use it in a Graph node whose inputs are a list of node names"
            )
        return None


class Add(Merge):
    """Element-wise sum of two or more arrays of the same shape.

    Where a value fans out to several places, the gradients coming back add;
    ``Add`` is the mirror image: its one gradient goes back unchanged to every
    input, because d(a + b)/da = d(a + b)/db = 1.

    Shape:
        - inputs: a list or tuple of arrays, all of the same shape, e.g.
          ``[(batch, features), (batch, features)]``
        - outputs: that shape
        - backward: a tuple holding ``grad_output`` once per input (the same
          array; it is not copied, and callers must not write into it)
    """

    def forward(self, inputs: ArrayLike) -> FloatArray:
        self._cache = None  # a forward that fails must not leave an old cache
        arrays = self.as_arrays(inputs)
        shape = arrays[0].shape
        if any(array.shape != shape for array in arrays[1:]):
            raise ShapeError(
                f"{self!r}: all inputs must have the same shape (no broadcasting), "
                f"received shapes {[array.shape for array in arrays]}"
            )
        outputs = np.add(arrays[0], arrays[1], dtype=_common_dtype(arrays))  # a new array
        for array in arrays[2:]:
            outputs += array
        self._cache = (len(arrays), outputs.shape)
        return outputs

    def backward(self, grad_output: FloatArray) -> tuple[FloatArray, ...]:  # type: ignore[override]
        count, shape = self._cached()
        grad_output = check_grad_shape(self, grad_output, shape)
        grads: tuple[FloatArray, ...] = (grad_output,) * count
        return grads  # the sum passes its gradient to each term as it is

    def merged_features(self, in_features: Sequence[int | None]) -> int | None:
        known = {width for width in in_features if width is not None}
        if len(known) > 1:
            raise ShapeError(
                f"{self!r}: all inputs must have the same width, received widths "
                f"{list(in_features)}"
            )
        return known.pop() if known else None


class Concatenate(Merge):
    """Joins two or more arrays along the last axis.

    Backward slices ``grad_output`` back into one piece per input: each input
    only influenced its own columns of the output.

    Shape:
        - inputs: a list or tuple of arrays equal in every axis but the last,
          e.g. ``[(batch, a), (batch, b)]``
        - outputs: ``(batch, a + b)``
        - backward: a tuple of gradients of shapes ``(batch, a)`` and ``(batch, b)``
    """

    def forward(self, inputs: ArrayLike) -> FloatArray:
        self._cache = None  # a forward that fails must not leave an old cache
        arrays = self.as_arrays(inputs)
        leading = arrays[0].shape[:-1]
        if any(array.ndim == 0 or array.shape[:-1] != leading for array in arrays):
            raise ShapeError(
                f"{self!r}: inputs must agree in every axis but the last, received shapes "
                f"{[array.shape for array in arrays]}"
            )
        outputs = np.concatenate(arrays, axis=-1, dtype=_common_dtype(arrays))
        # where each input's columns end: backward splits the gradient there
        self._cache = (np.cumsum([array.shape[-1] for array in arrays[:-1]]), outputs.shape)
        return outputs

    def backward(self, grad_output: FloatArray) -> tuple[FloatArray, ...]:  # type: ignore[override]
        boundaries, shape = self._cached()
        grad_output = check_grad_shape(self, grad_output, shape)
        return tuple(np.split(grad_output, boundaries, axis=-1))

    def merged_features(self, in_features: Sequence[int | None]) -> int | None:
        if any(width is None for width in in_features):
            return None
        return sum(width for width in in_features if width is not None)
