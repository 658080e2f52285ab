"""Convolutions over one and two spatial axes: ``Conv1d`` and ``Conv2d``, as in PyTorch.

Each is one matrix product over the windows of its input (see ``_windows``):
forward is ``out[n] = W @ cols[n]`` with ``W`` the weight as a matrix
``(out_channels, in_channels * kh * kw)`` and ``cols[n]`` the windows of
sample ``n`` as columns; backward is ``dL/dW = sum_n g[n] @ cols[n]^T`` and
``dL/dcols[n] = W^T @ g[n]``, which ``col2im`` adds back into the input's
gradient. With ``groups``, the channels split into independent blocks and the
same products run block by block. ``Conv1d`` is a ``Conv2d`` of height 1.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from minitorchless._checks import (
    as_float_array,
    check_grad_shape,
    float_dtype,
    generator,
    positive_int,
)
from minitorchless._types import FloatArray
from minitorchless.errors import ShapeError
from minitorchless.layers import _windows
from minitorchless.layers._windows import Geometry, col2im, im2col, pad, unpad
from minitorchless.layers.base import Layer
from minitorchless.layers.shapes import Shape, ShapeSpec, describe, known_rank, single

__all__ = ["Conv1d", "Conv2d"]

Padding = int | tuple[int, ...] | str


def _sizes(owner: str, name: str, value: Any, rank: int, minimum: int = 1) -> tuple[int, ...]:
    """An int or a tuple of ``rank`` ints, each >= ``minimum``, as a tuple."""
    values = (value,) * rank if isinstance(value, numbers.Integral) else value
    if (
        isinstance(value, bool)
        or not isinstance(values, (tuple, list))
        or len(values) != rank
        or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and int(v) >= minimum
            for v in values
        )
    ):
        raise ValueError(
            f"{owner}: {name} must be an int >= {minimum} or a tuple of {rank} of them, "
            f"received {value!r}"
        )
    return tuple(int(v) for v in values)


def _padding(owner: str, value: Any, rank: int) -> str | tuple[int, ...]:
    if isinstance(value, str):
        if value not in ("same", "valid"):
            raise ValueError(
                f"{owner}: padding must be an int, a tuple of {rank} ints, 'same' or "
                f"'valid', received {value!r}"
            )
        return value
    return _sizes(owner, "padding", value, rank, minimum=0)


def _side_padding(
    padding: str | tuple[int, ...], kernel: tuple[int, ...], dilation: tuple[int, ...]
) -> list[tuple[int, int]]:
    """The zeros before and after each spatial axis.

    ``"same"`` pads ``d (k - 1)`` in all, the extra one (if odd) at the end, as
    PyTorch does, so that a stride of 1 keeps the size.
    """
    if padding == "valid":
        return [(0, 0)] * len(kernel)
    if padding == "same":
        totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        return [(total // 2, total - total // 2) for total in totals]
    return [(int(p), int(p)) for p in padding]


class _Conv(Layer):
    """The convolution over ``_rank`` spatial axes; see ``Conv1d`` and ``Conv2d``."""

    _rank = 2
    _axes = "H, W"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] = 1,
        padding: Padding = 0,
        dilation: int | tuple[int, ...] = 1,
        groups: int = 1,
        bias: bool = True,
        *,
        rng: np.random.Generator | None = None,
        dtype: DTypeLike = np.float64,
    ) -> None:
        super().__init__()
        name, rank = type(self).__name__, self._rank
        self.in_channels = positive_int(name, "in_channels", in_channels)
        self.out_channels = positive_int(name, "out_channels", out_channels)
        self.kernel_size = _sizes(name, "kernel_size", kernel_size, rank)
        self.stride = _sizes(name, "stride", stride, rank)
        self.padding = _padding(name, padding, rank)
        self.dilation = _sizes(name, "dilation", dilation, rank)
        self.groups = positive_int(name, "groups", groups)
        for what, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
            if channels % self.groups:
                raise ValueError(
                    f"{name}: groups must divide {what}: expected a divisor of {channels}, "
                    f"received groups={self.groups}"
                )
        if self.padding == "same" and any(s != 1 for s in self.stride):
            raise ValueError(
                f"{name}: padding='same' needs stride 1 on every axis (PyTorch refuses it for "
                f"strided convolutions too), received stride={self.stride}"
            )
        resolved = float_dtype(name, dtype)
        rng = generator(name, rng)
        self._build_parameters(rng, resolved, bias)
        sides = _side_padding(self.padding, self.kernel_size, self.dilation)
        unit: Any = () if rank == 2 else (1,)  # Conv1d: a Conv2d of height 1
        self._geometry = Geometry(
            kernel=(*unit, *self.kernel_size),
            stride=(*unit, *self.stride),
            dilation=(*unit, *self.dilation),
            padding=(*(() if rank == 2 else ((0, 0),)), *sides),
        )

    def _build_parameters(self, rng: np.random.Generator, dtype: np.dtype[Any], bias: bool) -> None:
        # PyTorch's default: kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
        # and the same bound for the bias
        shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        bound = 1.0 / math.sqrt(math.prod(shape[1:]))
        self.weight = self.add_parameter("weight", rng.uniform(-bound, bound, shape).astype(dtype))
        self.bias = (
            self.add_parameter("bias", rng.uniform(-bound, bound, self.out_channels).astype(dtype))
            if bias
            else None
        )

    # ---------------------------------------------------------------- compute
    def _grouped_weight(self) -> FloatArray:
        """The weight as ``groups`` matrices ``(groups, out / groups, in / groups * kh * kw)``."""
        return self.weight.value.reshape(self.groups, self.out_channels // self.groups, -1)

    def _tap_major_transpose(self) -> FloatArray:
        """``W^T`` per group, ``(groups, kh * kw * C_g, O_g)``, rows in col2im's order (i, j, c)."""
        groups, per_group = self.groups, self.out_channels // self.groups
        weight = self.weight.value.reshape(groups, per_group, -1, *self._geometry.kernel)
        transposed: FloatArray = weight.transpose(0, 3, 4, 2, 1).reshape(groups, -1, per_group)
        return transposed

    def _check(self, inputs: FloatArray) -> FloatArray:
        if inputs.ndim != self._rank + 2:
            raise ShapeError(
                f"{self!r} expects inputs of shape (batch, channels, {self._axes}) with "
                f"{self._rank + 2} axes, received shape {inputs.shape}"
            )
        if inputs.shape[1] != self.in_channels:
            raise ShapeError(
                f"{self!r} expects {self.in_channels} channels on axis 1, received shape "
                f"{inputs.shape} ({inputs.shape[1]} channels)"
            )
        self._spatial_output(inputs.shape[2:], describe(inputs.shape))
        if inputs.dtype != self.weight.dtype:
            inputs = inputs.astype(self.weight.dtype)  # a float32 model stays float32
        return inputs

    def _spatial_output(self, sizes: tuple[Any, ...], received: str) -> tuple[Any, ...]:
        """The output's spatial sizes (``None`` where unknown); refuse a kernel too large."""
        geometry, offset = self._geometry, 2 - self._rank
        outputs: list[int | None] = []
        for axis, size in enumerate(sizes):
            if size is None:
                outputs.append(None)
                continue
            padded, span = geometry.padded(size, axis + offset), geometry.span(axis + offset)
            if span > padded:
                raise ShapeError(
                    f"{self!r}: the kernel spans {span} on spatial axis {axis} "
                    f"(dilation * (kernel_size - 1) + 1), expected at most the padded input's "
                    f"size {padded}; received {received}"
                )
            outputs.append(geometry.output(size, axis + offset))
        return tuple(outputs)

    def forward(self, inputs: ArrayLike) -> FloatArray:
        inputs = self._check(as_float_array(self, inputs))
        planar = inputs[:, :, np.newaxis, :] if self._rank == 1 else inputs
        geometry = self._geometry
        padded = pad(planar, geometry)
        out_hw = (geometry.output(planar.shape[2], 0), geometry.output(planar.shape[3], 1))
        n, groups = planar.shape[0], self.groups
        weight = self._grouped_weight()
        outputs = np.empty((n, self.out_channels, out_hw[0] * out_hw[1]), dtype=inputs.dtype)
        chunks = self._chunks(n, out_hw, inputs.dtype)
        cols = None
        for part in chunks:
            cols = im2col(padded[part], geometry)
            size = cols.shape[0]
            # out[n] = W @ cols[n], one product per sample and group, written in place
            np.matmul(
                weight,
                cols.reshape(size, groups, -1, cols.shape[-1]),
                out=outputs[part].reshape(size, groups, -1, cols.shape[-1]),
            )
        if self.bias is not None:
            outputs += self.bias.value[:, np.newaxis]
        # one chunk: keep the window matrix for backward; several: the padded input
        kept = cols if len(chunks) == 1 else None
        self.save_for_backward(
            padded if kept is None else None, kept, padded.shape, planar.shape[2:], out_hw
        )
        return outputs.reshape(n, self.out_channels, *out_hw[2 - self._rank :])

    def _chunks(self, n: int, out_hw: tuple[int, int], dtype: np.dtype[Any]) -> list[slice]:
        per_sample = self.in_channels * math.prod(self._geometry.kernel) * math.prod(out_hw)
        return _windows.batch_chunks(n, per_sample * dtype.itemsize)

    def backward(self, grad_output: FloatArray) -> FloatArray:
        return cast(FloatArray, self._backward(grad_output, need_input=True))

    def backward_parameters(self, grad_output: FloatArray) -> None:
        # the first layer's dL/dx is nobody's: skip W^T g and col2im
        self._backward(grad_output, need_input=False)

    def _backward(self, grad_output: FloatArray, *, need_input: bool) -> FloatArray | None:
        padded, cols, padded_shape, in_hw, out_hw = self.saved()
        n, dtype = padded_shape[0], self.weight.dtype
        shape = (n, self.out_channels, *out_hw[2 - self._rank :])
        grad_output = check_grad_shape(self, grad_output, shape).astype(dtype, copy=False)
        grads = grad_output.reshape(n, self.groups, -1, out_hw[0] * out_hw[1])
        if self.bias is not None and self.bias.requires_grad:
            self.bias.grad += grads.sum(axis=(0, 3)).reshape(-1)  # dL/db = sum of g
        weight = self._grouped_weight()
        weight_t = self._tap_major_transpose() if need_input else weight
        grad_weight = np.zeros_like(weight) if self.weight.requires_grad else None
        grad_padded = np.zeros(padded_shape, dtype=dtype) if need_input else None
        chunks = [slice(0, n)] if cols is not None else self._chunks(n, out_hw, dtype)
        for part in chunks:
            part_cols = cols if cols is not None else im2col(padded[part], self._geometry)
            size = part_cols.shape[0]
            grouped = part_cols.reshape(size, self.groups, -1, part_cols.shape[-1])
            if grad_weight is not None:  # dL/dW = sum_n g[n] @ cols[n]^T
                grad_weight += np.matmul(grads[part], grouped.swapaxes(-1, -2)).sum(axis=0)
            if grad_padded is not None:  # dL/dcols[n] = W^T @ g[n], added back by col2im
                grad_cols = np.matmul(weight_t, grads[part])
                col2im(grad_cols, self._geometry, out_hw, grad_padded[part])
        if grad_weight is not None:
            self.weight.grad += grad_weight.reshape(self.weight.shape)
        if grad_padded is None:
            return None
        grad_input = unpad(grad_padded, self._geometry, in_hw)
        return grad_input[:, :, 0, :] if self._rank == 1 else grad_input

    # ----------------------------------------------------------------- shapes
    def output_shape(self, input_shape: ShapeSpec) -> Shape:
        shape = single(self, input_shape)
        rank = self._rank + 2
        if known_rank(shape) is None:  # (..., C, H, W): the known trailing axes, then unknowns
            tail = shape[1:][-(rank - 1) :] if len(shape) > 1 else ()
            shape = (None,) * (rank - len(tail)) + tuple(tail)
        if len(shape) != rank:
            raise ShapeError(
                f"{self!r} expects inputs of shape (batch, channels, {self._axes}) with "
                f"{rank} axes, received {describe(shape)}"
            )
        if shape[1] is not None and shape[1] != self.in_channels:
            raise ShapeError(
                f"{self!r} expects {self.in_channels} channels on axis 1, received "
                f"{describe(shape)}"
            )
        return (shape[0], self.out_channels, *self._spatial_output(shape[2:], describe(shape)))

    # ---------------------------------------------------------- architecture
    def get_config(self) -> dict[str, Any]:
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": self.padding if isinstance(self.padding, str) else list(self.padding),
            "dilation": list(self.dilation),
            "groups": self.groups,
            "bias": self.bias is not None,
            "dtype": str(self.weight.dtype),
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Any:
        config = dict(config)
        for key in ("kernel_size", "stride", "padding", "dilation"):
            if isinstance(config.get(key), list):
                config[key] = tuple(config[key])
        return cls(**config)

    @classmethod
    def size_from_config(cls, config: Mapping[str, Any]) -> int | None:
        try:  # a layer with these arguments, but no arrays: the constructor's own checks
            sizes = _sizes(cls.__name__, "kernel_size", config.get("kernel_size"), cls._rank)
            in_channels = positive_int(cls.__name__, "in_channels", config.get("in_channels"))
            out_channels = positive_int(cls.__name__, "out_channels", config.get("out_channels"))
            groups = positive_int(cls.__name__, "groups", config.get("groups", 1))
        except (TypeError, ValueError):
            return None  # the constructor refuses them
        weights = out_channels * (in_channels // groups) * math.prod(sizes)
        return weights + (out_channels if config.get("bias", True) else 0)

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * self._rank:
            text += f", padding={self.padding!r}"
        if self.dilation != (1,) * self._rank:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")


class Conv2d(_Conv):
    """A 2-D convolution (a cross-correlation, as in every framework), as ``torch.nn.Conv2d``.

    ``out[n, o, y, x] = bias[o] + sum_{c, i, j} weight[o, c, i, j] *
    padded[n, g * C_g + c, y * sh + i * dh, x * sw + j * dw]``, where ``g`` is
    the group of output channel ``o`` and ``C_g = in_channels / groups``.
    Computed as one matrix product over the windows of the batch (no loop over
    pixels or samples), built a slice of the batch at a time when the window
    matrix would exceed ``minitorchless.layers._windows.WINDOW_BUDGET_BYTES``.
    Zero padding only (PyTorch's ``padding_mode="zeros"``).

    Args:
        in_channels: The channels of the inputs (axis 1).
        out_channels: The channels of the outputs: the number of filters.
        kernel_size: The filters' size: an int or ``(height, width)``.
        stride: The step between windows: an int or a pair.
        padding: Zeros around each spatial axis: an int, a pair, ``"valid"``
            (none) or ``"same"`` (the output keeps the input's size; stride 1 only).
        dilation: The step between the taps of a filter: an int or a pair.
        groups: Split the channels into this many independent blocks; it must
            divide ``in_channels`` and ``out_channels``.
        bias: Learn one bias per output channel.
        rng: Source of randomness for the initial weights and bias, both drawn
            from ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` as PyTorch draws them,
            ``fan_in = in_channels / groups * kh * kw``.
        dtype: The floating dtype of the parameters; inputs are cast to it.

    Shape:
        - inputs: ``(batch, in_channels, H, W)``
        - outputs: ``(batch, out_channels, H_out, W_out)``, with
          ``H_out = floor((H + pad_top + pad_bottom - dh * (kh - 1) - 1) / sh) + 1``
          (and the same for ``W_out``)
        - weight: ``(out_channels, in_channels / groups, kh, kw)``; bias: ``(out_channels,)``
    """


class Conv1d(_Conv):
    """A 1-D convolution over sequences, as ``torch.nn.Conv1d``.

    ``out[n, o, t] = bias[o] + sum_{c, j} weight[o, c, j] * padded[n, g * C_g
    + c, t * s + j * d]``: a ``Conv2d`` of height 1, computed by the same code.

    Args:
        in_channels: The channels of the inputs (axis 1).
        out_channels: The channels of the outputs: the number of filters.
        kernel_size: The filters' length.
        stride: The step between windows.
        padding: Zeros at both ends: an int, ``"valid"`` or ``"same"`` (stride 1 only).
        dilation: The step between the taps of a filter.
        groups: Split the channels into this many independent blocks; it must
            divide ``in_channels`` and ``out_channels``.
        bias: Learn one bias per output channel.
        rng: Source of randomness for the initial weights and bias (PyTorch's
            ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, ``fan_in = in_channels / groups * k``).
        dtype: The floating dtype of the parameters; inputs are cast to it.

    Shape:
        - inputs: ``(batch, in_channels, L)``
        - outputs: ``(batch, out_channels, L_out)``, with
          ``L_out = floor((L + 2 * padding - d * (k - 1) - 1) / s) + 1``
        - weight: ``(out_channels, in_channels / groups, k)``; bias: ``(out_channels,)``
    """

    _rank = 1
    _axes = "L"
