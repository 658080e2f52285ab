"""The fully connected layer."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

import minitorchless.init as initializers
from minitorchless._checks import (
    as_batch,
    check_grad_shape,
    float_dtype,
    generator,
    positive_int,
)
from minitorchless._types import FloatArray
from minitorchless.errors import ShapeError
from minitorchless.layers.base import Layer
from minitorchless.parameter import Parameter

__all__ = ["Dense"]



class Dense(Layer):
    """A fully connected layer: ``outputs = inputs @ weight (+ bias)``.

    Batches are row-major: one sample per row. The weight has shape
    ``(in_features, out_features)`` so that forward is a single matrix product
    ``z = x W``. Bias-free by default, as in the classic 3-layer network.

    Args:
        in_features: Width of each input row.
        out_features: Width of each output row.
        bias: Add a learnable bias (initialised to zero).
        rng: Source of randomness for the initial weights. A fresh
            ``np.random.default_rng()`` if omitted.
        dtype: Floating dtype of the parameters; inputs are cast to it.
        init: Weight initializer: a name from ``minitorchless.init.INITIALIZERS``
            or a callable ``(shape, rng, dtype) -> ndarray``.

    Shape:
        - inputs: ``(batch, in_features)``
        - outputs: ``(batch, out_features)``
        - weight: ``(in_features, out_features)``; bias: ``(out_features,)``
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        bias: bool = False,
        rng: np.random.Generator | None = None,
        dtype: DTypeLike = np.float64,
        init: str | initializers.Initializer = "glorot_uniform",
    ) -> None:
        super().__init__()
        self.in_features = positive_int("Dense", "in_features", in_features)
        self.out_features = positive_int("Dense", "out_features", out_features)
        resolved = float_dtype("Dense", dtype)
        rng = generator("Dense", rng)
        weight = np.asarray(
            initializers.get(init)((self.in_features, self.out_features), rng, resolved),
            dtype=resolved,
        )
        if weight.shape != (self.in_features, self.out_features):
            raise ShapeError(
                f"Dense: init returned shape {weight.shape}, "
                f"expected {(self.in_features, self.out_features)}"
            )
        self.weight = Parameter(weight)
        self.bias = Parameter(np.zeros(self.out_features, dtype=resolved)) if bias else None

    def forward(self, inputs: ArrayLike) -> FloatArray:
        self._cache = None  # a forward that fails must not leave an old cache
        inputs = as_batch(self, inputs, self.in_features, self.weight.value.dtype)
        self._cache = inputs  # dL/dW = x^T delta needs the inputs
        outputs = inputs @ self.weight.value  # z = x W
        if self.bias is not None:
            outputs += self.bias.value
        return outputs

    def backward(self, grad_output: FloatArray) -> FloatArray:
        grad_output = self._add_parameter_grads(grad_output)
        grad_input: FloatArray = grad_output @ self.weight.value.T  # dL/dx = delta W^T
        return grad_input

    def backward_parameters(self, grad_output: FloatArray) -> None:
        # the first layer's dL/dx is the gradient for the data, read by no one:
        # skipping delta W^T saves a matrix product as large as the forward one
        self._add_parameter_grads(grad_output)

    def _add_parameter_grads(self, grad_output: FloatArray) -> FloatArray:
        """Add dL/dW (and dL/db) into ``.grad``; return ``grad_output``, checked."""
        inputs = self._cached()
        grad_output = check_grad_shape(self, grad_output, (inputs.shape[0], self.out_features))
        if grad_output.dtype != inputs.dtype:
            grad_output = grad_output.astype(inputs.dtype)  # a float32 model stays float32
        self.weight.add_product(inputs.T, grad_output)  # dL/dW += x^T delta
        if self.bias is not None:
            self.bias.grad += grad_output.sum(axis=0)  # dL/db = sum of delta over the batch
        return grad_output

    def output_features(self, in_features: int | None) -> int | None:
        if in_features is not None and in_features != self.in_features:
            raise ShapeError(
                f"{self!r} expects {self.in_features} input features, received {in_features}"
            )
        return self.out_features

    def own_parameters(self) -> list[tuple[str, Parameter]]:
        if self.bias is None:
            return [("weight", self.weight)]
        return [("weight", self.weight), ("bias", self.bias)]

    def get_config(self) -> dict[str, Any]:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
            "dtype": str(self.weight.value.dtype),
        }

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
