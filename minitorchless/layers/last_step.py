"""``LastStep``: the last time step of a sequence, to follow a recurrent layer in a model."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from minitorchless._checks import as_float_array, check_grad_shape
from minitorchless._types import FloatArray
from minitorchless.errors import ShapeError
from minitorchless.layers.base import Layer
from minitorchless.layers.shapes import Shape, ShapeSpec, describe, known_rank, single

__all__ = ["LastStep"]


class LastStep(Layer):
    """The last step of each sequence: ``outputs = inputs[:, -1]``.

    A recurrent layer returns its whole output sequence; a classifier or a
    regressor that reads a sequence wants the state after the last step. Put
    ``LastStep()`` after the recurrent layer (built with ``batch_first=True``,
    the default): ``Sequential(LSTM(8, 32), LastStep(), Dense(32, 2))``.
    Backward sends the gradient to the last step and zeros to the others.

    Shape:
        - inputs: ``(batch, time, features)``
        - outputs: ``(batch, features)``
    """

    def forward(self, inputs: ArrayLike) -> FloatArray:
        array = as_float_array(self, inputs)
        if array.ndim != 3 or array.shape[1] == 0:
            raise ShapeError(
                f"{self!r} expects inputs of shape (batch, time, features) with at least one "
                f"step, received shape {array.shape}"
            )
        self.save_for_backward(array.shape, array.dtype)
        return np.array(array[:, -1])  # a copy, not a view of the caller's array

    def backward(self, grad_output: FloatArray) -> FloatArray:
        shape, dtype = self.saved()
        grad_output = check_grad_shape(self, grad_output, (shape[0], shape[2]))
        grad_input: FloatArray = np.zeros(shape, dtype=dtype)
        grad_input[:, -1] = grad_output  # only the last step reached the outputs
        return grad_input

    def output_shape(self, input_shape: ShapeSpec) -> Shape:
        shape = single(self, input_shape)
        rank = known_rank(shape)
        if rank is None:
            return (None, shape[-1]) if len(shape) > 1 else (None, None)
        if rank != 3:
            raise ShapeError(
                f"{self!r} expects inputs of shape (batch, time, features), received "
                f"{describe(shape)}"
            )
        return (shape[0], shape[2])
