"""Activation layers.

Each computes its derivative from the cached *output* where the math allows
(sigmoid' = s (1 - s), tanh' = 1 - t^2, relu' = [y > 0]), so the input need not
be kept alive for backward. ``Softmax`` is not element-wise, but its backward
also needs only its output.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from minitorchless._checks import as_float_array, check_grad_shape, positive_float
from minitorchless._types import FloatArray
from minitorchless.errors import ShapeError
from minitorchless.layers.base import Layer
from minitorchless.layers.shapes import Shape, ShapeSpec, describe, known_rank, single

__all__ = ["Activation", "Identity", "LeakyReLU", "ReLU", "Sigmoid", "Softmax", "Tanh"]


class Activation(Layer):
    """Base for element-wise activations whose derivative follows from their output.

    Subclasses implement ``function(inputs)`` and ``derivative(outputs)``.
    Any input shape is accepted; the output has the same shape and dtype.
    """

    @abstractmethod
    def function(self, inputs: FloatArray) -> FloatArray:
        """The activation g(z); returns a new array."""

    @abstractmethod
    def derivative(self, outputs: FloatArray) -> FloatArray:
        """g'(z) written in terms of the output g(z); returns a new array."""

    def forward(self, inputs: ArrayLike) -> FloatArray:
        outputs = self.function(as_float_array(self, inputs))
        self.save_for_backward(outputs)
        return outputs

    def backward(self, grad_output: FloatArray) -> FloatArray:
        outputs = self.saved()
        grad_output = check_grad_shape(self, grad_output, outputs.shape)
        grad_input = self.derivative(outputs)
        grad_input *= grad_output  # chain rule: dL/dz = dL/da * g'(z)
        return grad_input

    def backward_parameters(self, grad_output: FloatArray) -> None:
        # no parameters, and the input gradient is not wanted: only check the call
        check_grad_shape(self, grad_output, self.saved().shape)

    def output_shape(self, input_shape: ShapeSpec) -> Shape:
        return single(self, input_shape)  # element-wise: the shape is kept


class Sigmoid(Activation):
    """The logistic sigmoid, ``1 / (1 + exp(-z))``.

    Stable for any input: for z << 0, exp(-z) overflows to inf and the result
    is exactly 0, which is the correctly rounded answer; the overflow warning is
    silenced because it is expected.

    Shape:
        - inputs: any shape
        - outputs: same shape as inputs
    """

    def function(self, inputs: FloatArray) -> FloatArray:
        outputs = np.negative(inputs)
        with np.errstate(over="ignore"):
            np.exp(outputs, out=outputs)
        outputs += 1
        np.reciprocal(outputs, out=outputs)
        return outputs

    def derivative(self, outputs: FloatArray) -> FloatArray:
        derivative = 1 - outputs  # sigmoid'(z) = s (1 - s)
        derivative *= outputs
        return derivative


class Tanh(Activation):
    """The hyperbolic tangent, ``tanh(z)``, with values in (-1, 1).

    Shape:
        - inputs: any shape
        - outputs: same shape as inputs
    """

    def function(self, inputs: FloatArray) -> FloatArray:
        return np.tanh(inputs)

    def derivative(self, outputs: FloatArray) -> FloatArray:
        derivative = outputs * outputs  # tanh'(z) = 1 - t^2
        np.subtract(1, derivative, out=derivative)
        return derivative


class ReLU(Activation):
    """The rectified linear unit, ``max(z, 0)``.

    The derivative at exactly 0 is taken as 0, as PyTorch does.

    Shape:
        - inputs: any shape
        - outputs: same shape as inputs
    """

    def function(self, inputs: FloatArray) -> FloatArray:
        return np.maximum(inputs, 0)

    def derivative(self, outputs: FloatArray) -> FloatArray:
        return (outputs > 0).astype(outputs.dtype)  # relu'(z) = 1 where the output is positive

    def backward(self, grad_output: FloatArray) -> FloatArray:
        # dL/dz = dL/da * relu'(z), with relu'(z) = [a > 0]: the mask multiplies the
        # gradient in one pass, without the float copy of the mask that derivative() makes
        outputs = self.saved()
        grad_output = check_grad_shape(self, grad_output, outputs.shape)
        grad_input: FloatArray = np.multiply(grad_output, outputs > 0, dtype=outputs.dtype)
        return grad_input


class LeakyReLU(Activation):
    """The leaky rectified linear unit: ``z`` where ``z > 0``, else ``negative_slope * z``.

    The derivative at exactly 0 is taken as ``negative_slope``, as PyTorch does.

    Args:
        negative_slope: The slope for negative inputs, >= 0. (A negative slope
            would make the sign of the output ambiguous, and backward reads the
            derivative from the output's sign.)

    Shape:
        - inputs: any shape
        - outputs: same shape as inputs
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = positive_float(
            "LeakyReLU", "negative_slope", negative_slope, allow_zero=True
        )

    def function(self, inputs: FloatArray) -> FloatArray:
        slope = inputs.dtype.type(self.negative_slope)  # a scalar of the inputs' dtype
        return np.where(inputs > 0, inputs, inputs * slope)

    def derivative(self, outputs: FloatArray) -> FloatArray:
        # with a slope >= 0 the output is positive exactly where the input is
        derivative = np.full_like(outputs, self.negative_slope)
        derivative[outputs > 0] = 1
        return derivative

    def get_config(self) -> dict[str, Any]:
        return {"negative_slope": self.negative_slope}

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Identity(Activation):
    """Passes its inputs through unchanged: a placeholder, e.g. a linear output layer.

    Forward returns the inputs themselves and backward the incoming gradient
    itself, without copying: layers never modify their arguments, so sharing
    the arrays is safe and costs nothing.

    Shape:
        - inputs: any shape
        - outputs: same shape as inputs
    """

    def function(self, inputs: FloatArray) -> FloatArray:
        return inputs

    def derivative(self, outputs: FloatArray) -> FloatArray:
        return np.ones_like(outputs)

    def backward(self, grad_output: FloatArray) -> FloatArray:
        outputs = self.saved()
        grad_output = check_grad_shape(self, grad_output, outputs.shape)
        # dL/dz = dL/da; only the dtype is aligned with the forward's
        return grad_output.astype(outputs.dtype, copy=False)


class Softmax(Layer):
    """Normalized exponentials along one axis: ``exp(z_i) / sum_j exp(z_j)``.

    Stable for any finite input: the largest value along the axis is
    subtracted first, which leaves the result unchanged and keeps every
    exponent <= 0, so nothing overflows (tiny terms underflow to 0, harmlessly).

    For training a classifier, prefer feeding the logits to
    ``CrossEntropyLoss``, which fuses the softmax in more stably; use this layer
    when you need the probabilities themselves.

    Args:
        axis: The axis to normalize along; the last one (the features) by default.

    Shape:
        - inputs: any shape that has the axis ``axis``, e.g. ``(batch, classes)``
        - outputs: same shape as inputs; each slice along ``axis`` sums to 1
    """

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
            raise TypeError(f"Softmax: axis must be an integer, received {axis!r}")
        self.axis = int(axis)

    def forward(self, inputs: ArrayLike) -> FloatArray:
        inputs = as_float_array(self, inputs)
        if not -inputs.ndim <= self.axis < inputs.ndim:
            raise ShapeError(
                f"{self!r}: axis {self.axis} is out of range for inputs of shape {inputs.shape}"
            )
        outputs: FloatArray = inputs - inputs.max(axis=self.axis, keepdims=True)  # exponents <= 0
        np.exp(outputs, out=outputs)
        outputs /= outputs.sum(axis=self.axis, keepdims=True)
        self.save_for_backward(outputs)  # the Jacobian is diag(s) - s s^T: the output is enough
        return outputs

    def backward(self, grad_output: FloatArray) -> FloatArray:
        outputs = self.saved()
        grad_output = check_grad_shape(self, grad_output, outputs.shape)
        # dL/dz = s * (g - sum(g * s)), the product with the Jacobian, in one work array
        grad_input: FloatArray = np.multiply(grad_output, outputs, dtype=outputs.dtype)
        dot = grad_input.sum(axis=self.axis, keepdims=True)
        np.subtract(grad_output, dot, out=grad_input)
        grad_input *= outputs
        return grad_input

    def output_shape(self, input_shape: ShapeSpec) -> Shape:
        shape = single(self, input_shape)
        rank = known_rank(shape)
        if rank is not None and not -rank <= self.axis < rank:
            raise ShapeError(
                f"{self!r}: axis {self.axis} is out of range for inputs of shape {describe(shape)}"
            )
        return shape

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}

    def extra_repr(self) -> str:
        return f"axis={self.axis}"
