"""The fully connected layer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

import minitorchless.init as initializers
from minitorchless._checks import (
    as_features,
    check_grad_shape,
    float_dtype,
    generator,
    positive_int,
)
from minitorchless._types import FloatArray
from minitorchless.errors import ShapeError
from minitorchless.layers.base import Layer
from minitorchless.layers.shapes import Shape, ShapeSpec, last_axis, single

__all__ = ["Dense"]


class Dense(Layer):
    """A fully connected layer: ``outputs = inputs @ weight (+ bias)``, on the last axis.

    Batches are row-major: one sample per row. The weight has shape
    ``(in_features, out_features)`` so that forward is a single matrix product
    ``z = x W``. Bias-free by default, as in the classic 3-layer network.
    Inputs of any rank are accepted, as ``torch.nn.Linear`` accepts them: the
    product acts on the last axis, so ``(N, T, F)`` becomes ``(N, T, out)``.

    Args:
        in_features: Size of the inputs' last axis.
        out_features: Size of the outputs' last axis.
        bias: Add a learnable bias (initialised to zero).
        rng: Source of randomness for the initial weights. A fresh
            ``np.random.default_rng()`` if omitted.
        dtype: Floating dtype of the parameters; inputs are cast to it.
        init: Weight initializer: a name from ``minitorchless.init.INITIALIZERS``
            or a callable ``(shape, rng, dtype) -> ndarray``.

    Shape:
        - inputs: ``(batch, *, in_features)``
        - outputs: ``(batch, *, out_features)``
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
        shape = (self.in_features, self.out_features)
        weight = np.asarray(initializers.get(init)(shape, rng, resolved), dtype=resolved)
        if weight.shape != shape:
            raise ShapeError(f"Dense: init returned shape {weight.shape}, expected {shape}")
        self.weight = self.add_parameter("weight", weight)
        self.bias = (
            self.add_parameter("bias", np.zeros(self.out_features, dtype=resolved))
            if bias
            else None
        )

    def forward(self, inputs: Any) -> FloatArray:
        inputs = as_features(self, inputs, self.in_features, self.weight.value.dtype)
        self.save_for_backward(inputs)  # dL/dW = x^T delta needs the inputs
        if inputs.ndim == 2:
            outputs: FloatArray = inputs @ self.weight.value  # z = x W
        else:  # (N, T, F): the same product on the rows of the flattened leading axes
            rows = inputs.reshape(-1, self.in_features) @ self.weight.value
            outputs = rows.reshape(*inputs.shape[:-1], self.out_features)
        if self.bias is not None:
            outputs += self.bias.value
        return outputs

    def backward(self, grad_output: FloatArray) -> FloatArray:
        inputs = self.saved()
        grad_rows = self._add_parameter_grads(inputs, grad_output)
        grad_input: FloatArray = grad_rows @ self.weight.value.T  # dL/dx = delta W^T
        return grad_input if inputs.ndim == 2 else grad_input.reshape(inputs.shape)

    def backward_parameters(self, grad_output: FloatArray) -> None:
        # the first layer's dL/dx is the gradient for the data, read by no one:
        # skipping delta W^T saves a matrix product as large as the forward one
        self._add_parameter_grads(self.saved(), grad_output)

    def _add_parameter_grads(self, inputs: FloatArray, grad_output: FloatArray) -> FloatArray:
        """Add dL/dW (and dL/db) into ``.grad``; return ``grad_output`` as checked rows."""
        grad_output = check_grad_shape(self, grad_output, (*inputs.shape[:-1], self.out_features))
        if grad_output.dtype != inputs.dtype:
            grad_output = grad_output.astype(inputs.dtype)  # a float32 model stays float32
        if inputs.ndim != 2:
            inputs = inputs.reshape(-1, self.in_features)
            grad_output = grad_output.reshape(-1, self.out_features)
        if self.weight.requires_grad:
            self.weight.add_product(inputs.T, grad_output)  # dL/dW += x^T delta
        if self.bias is not None and self.bias.requires_grad:
            self.bias.grad += grad_output.sum(axis=0)  # dL/db = sum of delta over the rows
        return grad_output

    def output_shape(self, input_shape: ShapeSpec) -> Shape:
        shape = last_axis(self, single(self, input_shape), self.in_features)
        return (*shape[:-1], self.out_features)

    def get_config(self) -> dict[str, Any]:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
            "dtype": str(self.weight.value.dtype),
        }

    @classmethod
    def size_from_config(cls, config: Mapping[str, Any]) -> int | None:
        in_features, out_features = config.get("in_features"), config.get("out_features")
        if not (isinstance(in_features, int) and isinstance(out_features, int)):
            return None  # the constructor refuses them
        return in_features * out_features + (out_features if config.get("bias") else 0)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
