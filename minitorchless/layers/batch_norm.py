"""Batch normalization: each channel standardized over the batch, with running statistics."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from minitorchless._checks import (
    as_float_array,
    check_grad_shape,
    float_dtype,
    positive_float,
    positive_int,
    unit_interval,
)
from minitorchless._types import FloatArray
from minitorchless.errors import ShapeError
from minitorchless.layers.base import Layer
from minitorchless.layers.shapes import Shape, ShapeSpec, describe, known_rank, single

__all__ = ["BatchNorm1d", "BatchNorm2d"]


class _BatchNorm(Layer):
    """What ``BatchNorm1d`` and ``BatchNorm2d`` share; they differ in the ranks they take."""

    _ranks: tuple[int, ...] = (4,)
    _layout = "(batch, channels, height, width)"

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        *,
        dtype: DTypeLike = np.float64,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = positive_int(name, "num_features", num_features)
        self.eps = positive_float(name, "eps", eps)
        # None: the running statistics are the plain mean of every batch seen, as in torch
        self.momentum = None if momentum is None else unit_interval(name, "momentum", momentum)
        self.affine = bool(affine)
        resolved = float_dtype(name, dtype)
        features = self.num_features
        self.weight = (
            self.add_parameter("weight", np.ones(features, dtype=resolved)) if affine else None
        )
        self.bias = (
            self.add_parameter("bias", np.zeros(features, dtype=resolved)) if affine else None
        )
        self.running_mean = self.add_buffer("running_mean", np.zeros(features, dtype=resolved))
        self.running_var = self.add_buffer("running_var", np.ones(features, dtype=resolved))
        self.num_batches_tracked = self.add_buffer(
            "num_batches_tracked", np.zeros((), dtype=np.int64)
        )

    # ------------------------------------------------------------------ checks
    def _check(self, inputs: FloatArray) -> FloatArray:
        if inputs.ndim not in self._ranks or inputs.shape[1] != self.num_features:
            raise ShapeError(
                f"{self!r} expects inputs of shape {self._layout} with "
                f"{self.num_features} channels on axis 1, received shape {inputs.shape}"
            )
        dtype = self.weight.dtype if self.weight is not None else inputs.dtype
        return inputs.astype(dtype, copy=False)  # a float32 model stays float32

    def _per_channel(self, values: FloatArray, ndim: int) -> FloatArray:
        """``(C,)`` values shaped to broadcast against ``(N, C, *spatial)``."""
        return values.reshape((1, -1) + (1,) * (ndim - 2))

    # ----------------------------------------------------------------- compute
    def forward(self, inputs: ArrayLike) -> FloatArray:
        inputs = self._check(as_float_array(self, inputs))
        axes = (0, *range(2, inputs.ndim))  # every axis but the channels'
        if self.training:
            count = inputs.size // self.num_features  # values per channel: N * H * W
            if count < 2:
                raise ValueError(
                    f"{self!r}: training mode needs more than 1 value per channel to compute "
                    f"a variance (as torch requires), received inputs of shape {inputs.shape}; "
                    f"use a larger batch, or eval() to normalize with the running statistics"
                )
            mean = inputs.mean(axis=axes, keepdims=True)
            centered: FloatArray = inputs - mean
            variance = np.mean(centered * centered, axis=axes, keepdims=True)  # biased
            self._track(mean.reshape(-1), variance.reshape(-1), count)
        else:
            dtype = inputs.dtype
            mean = self._per_channel(self.running_mean.value.astype(dtype), inputs.ndim)
            centered = inputs - mean
            variance = self._per_channel(self.running_var.value.astype(dtype), inputs.ndim)
        inverse_std: FloatArray = 1 / np.sqrt(variance + inputs.dtype.type(self.eps))
        normalized = centered
        normalized *= inverse_std  # x_hat = (x - mean) / sqrt(var + eps)
        self.save_for_backward(normalized, inverse_std, self.training)
        if self.weight is None or self.bias is None:
            return normalized
        outputs: FloatArray = normalized * self._per_channel(self.weight.value, inputs.ndim)
        outputs += self._per_channel(self.bias.value, inputs.ndim)  # y = x_hat * gamma + beta
        return outputs

    def _track(self, mean: FloatArray, variance: FloatArray, count: int) -> None:
        """PyTorch's update of the running statistics, with the unbiased variance."""
        self.num_batches_tracked.value[...] += 1
        factor = 1 / int(self.num_batches_tracked.value) if self.momentum is None else self.momentum
        unbiased = variance * (count / (count - 1))  # var * m / (m - 1), Bessel's correction
        for buffer, batch in ((self.running_mean, mean), (self.running_var, unbiased)):
            # running = (1 - momentum) * running + momentum * batch
            buffer.value[...] = (1 - factor) * buffer.value + factor * batch

    def backward(self, grad_output: FloatArray) -> FloatArray:
        normalized, inverse_std, training = self.saved()
        grad_output, grad_sum, projection_sum = self._parameter_grads(grad_output, normalized)
        # dL/dx_hat = dL/dy * gamma, and x_hat = (x - mean) * r with r = 1 / sqrt(var + eps)
        scale = inverse_std  # r * gamma, one per channel
        if self.weight is not None:
            scale = inverse_std * self._per_channel(self.weight.value, normalized.ndim)
        grad_input: FloatArray = grad_output * scale
        if not training:  # the statistics are constants: x_hat is affine in x
            return grad_input
        # the batch's mean and variance depend on x too; over the m values of a channel,
        # dL/dx = r * gamma * (dy - mean(dy) - x_hat * mean(dy * x_hat))
        count = normalized.size // self.num_features
        grad_input -= scale * (grad_sum / count)
        grad_input -= normalized * (scale * (projection_sum / count))
        return grad_input

    def backward_parameters(self, grad_output: FloatArray) -> None:
        normalized = self.saved()[0]
        self._parameter_grads(grad_output, normalized)

    def _parameter_grads(
        self, grad_output: FloatArray, normalized: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Add dL/dgamma and dL/dbeta into ``.grad``.

        Returns ``grad_output``, checked, and its sums per channel, ``sum(dy)``
        and ``sum(dy * x_hat)``: the parameters' gradients, which the input's
        gradient reuses.
        """
        grad_output = check_grad_shape(self, grad_output, normalized.shape)
        grad_output = grad_output.astype(normalized.dtype, copy=False)
        axes = (0, *range(2, normalized.ndim))
        projection_sum = np.sum(grad_output * normalized, axis=axes, keepdims=True)
        grad_sum = np.sum(grad_output, axis=axes, keepdims=True)
        if self.weight is not None and self.weight.requires_grad:
            self.weight.grad += projection_sum.reshape(-1)  # dL/dgamma = sum dy * x_hat
        if self.bias is not None and self.bias.requires_grad:
            self.bias.grad += grad_sum.reshape(-1)  # dL/dbeta = sum dy
        return grad_output, grad_sum, projection_sum

    # ------------------------------------------------------------------ shapes
    def output_shape(self, input_shape: ShapeSpec) -> Shape:
        shape = single(self, input_shape)
        full = shape
        if known_rank(shape) is None:  # unknown leading axes: complete them where one rank fits
            tail = shape[1:]
            if len(self._ranks) > 1 or len(tail) > self._ranks[0]:
                return shape
            full = (None,) * (self._ranks[0] - len(tail)) + tuple(tail)
        if len(full) not in self._ranks or full[1] not in (None, self.num_features):
            raise ShapeError(
                f"{self!r} expects inputs of shape {self._layout} with "
                f"{self.num_features} channels on axis 1, received {describe(shape)}"
            )
        return (full[0], self.num_features, *full[2:])

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        return {
            "num_features": self.num_features,
            "eps": self.eps,
            "momentum": self.momentum,
            "affine": self.affine,
            "dtype": str(self.running_mean.dtype),
        }

    @classmethod
    def size_from_config(cls, config: Mapping[str, Any]) -> int | None:
        features = config.get("num_features")
        if not isinstance(features, numbers.Integral) or isinstance(features, bool):
            return None  # the constructor refuses it
        parameters = 2 * int(features) if config.get("affine", True) else 0
        return parameters + 2 * int(features) + 1  # running mean and var, the counter

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"
        )


class BatchNorm1d(_BatchNorm):
    """Normalize each channel over the batch (and the length), as ``torch.nn.BatchNorm1d``.

    In training mode, each channel's values across the batch (and positions)
    become ``(x - mean) / sqrt(var + eps) * weight + bias``, with the batch's
    mean and biased variance; the running statistics move towards them,
    ``running = (1 - momentum) * running + momentum * batch``, the variance
    unbiased (``* m / (m - 1)`` for ``m`` values per channel), as in PyTorch.
    In eval mode the running statistics replace the batch's, so each sample's
    output no longer depends on the others.

    Args:
        num_features: The number of channels ``C``.
        eps: Added to the variance, so that a constant channel does not divide by 0.
        momentum: The weight of the new batch in the running statistics;
            ``None`` for the plain average over every batch seen.
        affine: Learn ``weight`` (initialised to 1) and ``bias`` (to 0), of shape ``(C,)``.
        dtype: The floating dtype of the parameters and running statistics.

    Shape:
        - inputs: ``(batch, C)`` or ``(batch, C, length)``
        - outputs: same shape as inputs
        - weight, bias, running_mean, running_var: ``(C,)``; num_batches_tracked: ``()``
    """

    _ranks = (2, 3)
    _layout = "(batch, channels) or (batch, channels, length)"


class BatchNorm2d(_BatchNorm):
    """Normalize each channel over the batch and the image, as ``torch.nn.BatchNorm2d``.

    The statistics of channel ``c`` are taken over every sample and pixel,
    ``m = N * H * W`` values; otherwise, arguments included, as :class:`BatchNorm1d`.

    Shape:
        - inputs: ``(batch, C, height, width)``
        - outputs: same shape as inputs
        - weight, bias, running_mean, running_var: ``(C,)``; num_batches_tracked: ``()``
    """
