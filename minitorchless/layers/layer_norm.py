"""Layer normalization: each sample standardized over its trailing axes, then scaled and shifted."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from minitorchless._checks import as_float_array, check_grad_shape, float_dtype, positive_float
from minitorchless._types import FloatArray
from minitorchless.errors import ShapeError
from minitorchless.layers.base import Layer
from minitorchless.layers.shapes import MAX_RANK, Shape, ShapeSpec, describe, known_rank, single

__all__ = ["LayerNorm"]


def _normalized_shape(value: Any) -> tuple[int, ...]:
    shape = (value,) if isinstance(value, (int, np.integer)) else value
    if not (
        isinstance(shape, (tuple, list))
        and shape
        and all(
            isinstance(size, (int, np.integer)) and not isinstance(size, bool) and size >= 1
            for size in shape
        )
    ) or isinstance(value, bool):
        raise TypeError(
            f"LayerNorm: normalized_shape must be an int >= 1 or a non-empty tuple of them "
            f"(the sizes of the trailing axes), received {value!r}"
        )
    return tuple(int(size) for size in shape)


class LayerNorm(Layer):
    """Normalize each sample over its last axes, as ``torch.nn.LayerNorm``.

    For each position, the values ``x`` of the trailing ``normalized_shape``
    axes become ``(x - mean) / sqrt(var + eps) * weight + bias``, with the mean
    and the (biased) variance taken over those axes. Unlike batch
    normalization, nothing depends on the other samples of the batch, so
    training and evaluation compute the same thing.

    Args:
        normalized_shape: The sizes of the trailing axes to normalize over:
            ``d`` for the last axis, ``(h, w)`` for the last two.
        eps: Added to the variance, so that a constant input does not divide by 0.
        elementwise_affine: Learn a ``weight`` (initialised to 1) and a
            ``bias`` (initialised to 0) of shape ``normalized_shape``.
        bias: With ``elementwise_affine``, whether to learn the bias too.
        dtype: The floating dtype of ``weight`` and ``bias``; inputs are cast
            to it. Without parameters, the inputs keep their own dtype.

    Shape:
        - inputs: ``(batch, *, *normalized_shape)``
        - outputs: same shape as inputs
        - weight, bias: ``normalized_shape``
    """

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        *,
        dtype: DTypeLike = np.float64,
    ) -> None:
        super().__init__()
        self.normalized_shape = _normalized_shape(normalized_shape)
        self.eps = positive_float("LayerNorm", "eps", eps)
        self.elementwise_affine = bool(elementwise_affine)
        self._bias = bool(bias)
        resolved = float_dtype("LayerNorm", dtype)
        self.weight = (
            self.add_parameter("weight", np.ones(self.normalized_shape, dtype=resolved))
            if self.elementwise_affine
            else None
        )
        self.bias = (
            self.add_parameter("bias", np.zeros(self.normalized_shape, dtype=resolved))
            if self.elementwise_affine and bias
            else None
        )
        # the normalized axes, counted from the end
        self._axes = tuple(range(-len(self.normalized_shape), 0))

    def _check(self, inputs: FloatArray) -> FloatArray:
        k = len(self.normalized_shape)
        if inputs.ndim < k + 1 or inputs.shape[-k:] != self.normalized_shape:
            raise ShapeError(
                f"{self!r} expects inputs of shape (batch, ..., "
                f"{', '.join(map(str, self.normalized_shape))}): a batch axis, then trailing "
                f"axes equal to normalized_shape {self.normalized_shape}; received shape "
                f"{inputs.shape}"
            )
        if self.weight is not None and inputs.dtype != self.weight.dtype:
            inputs = inputs.astype(self.weight.dtype)  # a float32 model stays float32
        return inputs

    def forward(self, inputs: ArrayLike) -> FloatArray:
        inputs = self._check(as_float_array(self, inputs))
        centered: FloatArray = inputs - inputs.mean(axis=self._axes, keepdims=True)
        variance = np.mean(centered * centered, axis=self._axes, keepdims=True)
        variance += inputs.dtype.type(self.eps)
        inverse_std: FloatArray = np.sqrt(variance, out=variance)
        np.reciprocal(inverse_std, out=inverse_std)
        normalized = centered
        normalized *= inverse_std  # x_hat = (x - mean) / sqrt(var + eps), in place
        self.save_for_backward(normalized, inverse_std)  # all backward needs
        if self.weight is None:
            return normalized
        outputs: FloatArray = normalized * self.weight.value
        if self.bias is not None:
            outputs += self.bias.value
        return outputs

    def backward(self, grad_output: FloatArray) -> FloatArray:
        normalized, inverse_std = self.saved()
        grad_output = self._parameter_grads(grad_output, normalized)
        # dL/dx = (g - mean(g) - x_hat * mean(g * x_hat)) / sqrt(var + eps), with
        # g = dL/dx_hat = grad_output * weight and means over the normalized axes
        grad_normalized = grad_output if self.weight is None else grad_output * self.weight.value
        projection = np.mean(grad_normalized * normalized, axis=self._axes, keepdims=True)
        mean_grad = grad_normalized.mean(axis=self._axes, keepdims=True)
        grad_input: FloatArray = grad_normalized - mean_grad
        grad_input -= normalized * projection
        grad_input *= inverse_std
        return grad_input

    def backward_parameters(self, grad_output: FloatArray) -> None:
        normalized, _ = self.saved()
        self._parameter_grads(grad_output, normalized)

    def _parameter_grads(self, grad_output: FloatArray, normalized: FloatArray) -> FloatArray:
        """Add dL/dweight and dL/dbias into ``.grad``; return ``grad_output``, checked."""
        grad_output = check_grad_shape(self, grad_output, normalized.shape)
        if grad_output.dtype != normalized.dtype:
            grad_output = grad_output.astype(normalized.dtype)
        # weight and bias are shared by every leading position: sum over those axes
        leading = tuple(range(normalized.ndim - len(self.normalized_shape)))
        if self.weight is not None and self.weight.requires_grad:
            self.weight.grad += np.sum(grad_output * normalized, axis=leading)
        if self.bias is not None and self.bias.requires_grad:
            self.bias.grad += np.sum(grad_output, axis=leading)
        return grad_output

    def output_shape(self, input_shape: ShapeSpec) -> Shape:
        shape = single(self, input_shape)
        k = len(self.normalized_shape)
        rank = known_rank(shape)
        tail = shape[1:] if rank is None else shape
        if rank is not None and rank < k + 1:
            self._refuse(shape)
        # compare the trailing sizes that are known; unknown leading axes may hide the rest
        overlap = min(k, len(tail))
        if any(
            size is not None and size != expected
            for size, expected in zip(
                tail[len(tail) - overlap :], self.normalized_shape[k - overlap :], strict=True
            )
        ):
            self._refuse(shape)
        leading = tail[: len(tail) - overlap]
        return (*((...,) if rank is None else ()), *leading, *self.normalized_shape)

    def _refuse(self, shape: Shape) -> None:
        raise ShapeError(
            f"{self!r} expects inputs of shape (batch, ..., "
            f"{', '.join(map(str, self.normalized_shape))}): trailing axes equal to "
            f"normalized_shape {self.normalized_shape}, after a batch axis; received "
            f"{describe(shape)}"
        )

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "normalized_shape": list(self.normalized_shape),
            "eps": self.eps,
            "elementwise_affine": self.elementwise_affine,
            "bias": self._bias,
        }
        if self.weight is not None:
            config["dtype"] = str(self.weight.dtype)
        return config

    @classmethod
    def size_from_config(cls, config: Mapping[str, Any]) -> int | None:
        try:
            shape = _normalized_shape(config.get("normalized_shape"))
        except TypeError:
            return None  # the constructor refuses it, and says why
        if len(shape) > MAX_RANK:
            return None  # no array has that many axes: NumPy refuses it at once
        if not config.get("elementwise_affine", True):
            return 0
        return math.prod(shape) * (2 if config.get("bias", True) else 1)

    def extra_repr(self) -> str:
        affine = "" if self.elementwise_affine else ", elementwise_affine=False"
        no_bias = ", bias=False" if self.elementwise_affine and self.bias is None else ""
        return f"{self.normalized_shape}, eps={self.eps}{affine}{no_bias}"
