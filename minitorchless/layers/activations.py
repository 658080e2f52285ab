"""Element-wise activation layers.

Each computes its derivative from the cached *output* where the math allows
(sigmoid' = s (1 - s), tanh' = 1 - t^2, relu' = [y > 0]), so the input need not
be kept alive for backward.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minitorchless._checks import as_float_array, check_grad_shape
from minitorchless.layers.base import Layer

__all__ = ["Activation", "ReLU", "Sigmoid", "Tanh"]

FloatArray = NDArray[np.floating[Any]]


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
        self._cache = outputs
        return outputs

    def backward(self, grad_output: FloatArray) -> FloatArray:
        outputs = self._cached()
        grad_output = check_grad_shape(self, grad_output, outputs.shape)
        grad_input = self.derivative(outputs)
        grad_input *= grad_output  # chain rule: dL/dz = dL/da * g'(z)
        return grad_input

    def output_features(self, in_features: int | None) -> int | None:
        return in_features


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
