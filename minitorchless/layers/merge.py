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

from collections.abc import Sequence
from typing import Any

import numpy as np

from minitorchless._checks import as_float_array, check_grad_shape
from minitorchless._types import FloatArray
from minitorchless.errors import ShapeError
from minitorchless.layers.base import Layer
from minitorchless.layers.shapes import ANY, Shape, ShapeSpec, check_count, last_axis, unify

__all__ = ["Add", "Concatenate", "Merge"]


def _common_dtype(arrays: Sequence[FloatArray]) -> np.dtype[Any]:
    """The narrowest float dtype among ``arrays``.

    A float32 input means a float32 model; float64 ones then come from raw
    data fed in at float64. Merging in the narrowest keeps the model's dtype
    instead of upcasting it.
    """
    return min((array.dtype for array in arrays), key=lambda dtype: dtype.itemsize)


class Merge(Layer):
    """Base of the built-in layers that combine two or more arrays into one.

    It checks the list of inputs (``as_arrays``) and declares the arity, two or
    more inputs. A layer of your own need not subclass it to take several
    inputs: override ``input_arity`` and ``output_shape`` in any ``Layer``.
    """

    def input_arity(self) -> tuple[int, int | None]:
        return (2, None)

    def as_arrays(self, inputs: Any) -> list[FloatArray]:
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

    def _shapes(self, input_shape: ShapeSpec) -> list[Shape]:
        if not isinstance(input_shape, list):
            raise ShapeError(
                f"{self!r} merges several inputs and cannot follow a single layer: use it in "
                f"a Graph node whose inputs are a list of node names"
            )
        check_count(self, input_shape)
        return input_shape


class Add(Merge):
    """Element-wise sum of two or more arrays of the same shape.

    Where a value fans out to several places, the gradients coming back add;
    ``Add`` is the mirror image: its one gradient goes back unchanged to every
    input, because d(a + b)/da = d(a + b)/db = 1.

    Shape:
        - inputs: a list or tuple of arrays, all of the same shape, e.g.
          ``[(batch, *), (batch, *)]``
        - outputs: that shape
        - backward: a tuple holding ``grad_output`` once per input (the same
          array; it is not copied, and callers must not write into it)
    """

    def forward(self, inputs: Any) -> FloatArray:
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
        self.save_for_backward(len(arrays), outputs.shape)
        return outputs

    def backward(self, grad_output: FloatArray) -> tuple[FloatArray, ...]:
        count, shape = self.saved()
        grad_output = check_grad_shape(self, grad_output, shape)
        grads: tuple[FloatArray, ...] = (grad_output,) * count
        return grads  # the sum passes its gradient to each term as it is

    def output_shape(self, input_shape: ShapeSpec) -> Shape:
        return unify(self, self._shapes(input_shape))


class Concatenate(Merge):
    """Joins two or more arrays along the last axis.

    Backward slices ``grad_output`` back into one piece per input: each input
    only influenced its own columns of the output.

    Shape:
        - inputs: a list or tuple of arrays equal in every axis but the last,
          e.g. ``[(batch, *, a), (batch, *, b)]``
        - outputs: ``(batch, *, a + b)``
        - backward: a tuple of gradients of shapes ``(batch, *, a)`` and ``(batch, *, b)``
    """

    def forward(self, inputs: Any) -> FloatArray:
        arrays = self.as_arrays(inputs)
        leading = arrays[0].shape[:-1]
        if any(array.ndim == 0 or array.shape[:-1] != leading for array in arrays):
            raise ShapeError(
                f"{self!r}: inputs must agree in every axis but the last, received shapes "
                f"{[array.shape for array in arrays]}"
            )
        outputs = np.concatenate(arrays, axis=-1, dtype=_common_dtype(arrays))
        # where each input's columns end: backward splits the gradient there
        self.save_for_backward(np.cumsum([array.shape[-1] for array in arrays[:-1]]), outputs.shape)
        return outputs

    def backward(self, grad_output: FloatArray) -> tuple[FloatArray, ...]:
        boundaries, shape = self.saved()
        grad_output = check_grad_shape(self, grad_output, shape)
        return tuple(np.split(grad_output, boundaries, axis=-1))

    def output_shape(self, input_shape: ShapeSpec) -> Shape:
        shapes = [
            last_axis(self, shape, 1) if shape == ANY else shape
            for shape in self._shapes(input_shape)
        ]
        leading = unify(
            self, [(*shape[:-1], None) for shape in shapes], "inputs (in every axis but the last)"
        )
        widths = [shape[-1] for shape in shapes]
        total = None if any(width is None for width in widths) else sum(widths)
        return (*leading[:-1], total)
