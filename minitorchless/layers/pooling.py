"""Pooling: the maximum or the mean of each window of a channels-first batch.

Every pooling layer here runs one vectorized pass per kernel offset: for the
offset ``(i, j)`` of a ``kh x kw`` window, the strided view
``padded[..., i::stride, j::stride]`` holds that element of *every* window at
once, for every sample and channel. There is no Python loop over pixels or
samples, and no window matrix is copied: forward and backward cost
``kh * kw`` passes over an array of the output's size.
"""

from __future__ import annotations

import itertools
import numbers
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from minitorchless._checks import as_float_array, check_grad_shape
from minitorchless._types import FloatArray
from minitorchless.errors import ShapeError
from minitorchless.layers.base import Layer
from minitorchless.layers.shapes import Shape, ShapeSpec, describe, known_rank, single

__all__ = ["AvgPool1d", "AvgPool2d", "GlobalAvgPool2d", "MaxPool1d", "MaxPool2d"]

_SPATIAL = {1: "length", 2: "height, width"}

Window = tuple[Any, ...]  # an index: ``...`` then one slice per spatial axis


def _sizes(owner: str, name: str, value: Any, dims: int, minimum: int) -> tuple[int, ...]:
    """``value`` (an int, or a tuple of ``dims`` ints) as a ``dims``-tuple of ints >= minimum."""
    items = (value,) * dims if isinstance(value, numbers.Integral) else value
    if (
        not isinstance(items, (tuple, list))
        or len(items) != dims
        or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in items)
    ):
        what = "an int" if dims == 1 else f"an int or a tuple of {dims} ints"
        raise TypeError(f"{owner}: {name} must be {what}, received {value!r}")
    if any(v < minimum for v in items):
        raise ValueError(f"{owner}: {name} must be >= {minimum}, received {value!r}")
    return tuple(int(v) for v in items)


def _shown(sizes: tuple[int, ...]) -> Any:
    """How a size appears in repr and config: an int when every axis has the same one."""
    return sizes[0] if len(set(sizes)) == 1 else sizes


def window_offsets(
    kernel: tuple[int, ...], stride: tuple[int, ...], out_sizes: tuple[int, ...]
) -> list[Window]:
    """One index per kernel offset, in window order (row-major, as torch walks a window).

    ``padded[window_offsets(...)[k]]`` has the output's shape: entry ``(n, c, i, j)``
    is the ``k``-th element of the window that output ``(n, c, i, j)`` reads.
    """
    return [
        (
            ...,
            *(
                slice(o, o + s * (n - 1) + 1, s)
                for o, s, n in zip(offset, stride, out_sizes, strict=True)
            ),
        )
        for offset in itertools.product(*(range(k) for k in kernel))
    ]


class _Pool(Layer):
    """What the four pooling layers share: their arguments, checks, shapes and windows."""

    _dims = 2
    _fill = 0.0  # the value the padding holds

    def __init__(
        self,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] | None = None,
        padding: int | tuple[int, ...] = 0,
    ) -> None:
        super().__init__()
        name, dims = type(self).__name__, self._dims
        self.kernel_size = _sizes(name, "kernel_size", kernel_size, dims, 1)
        self.stride = (
            self.kernel_size if stride is None else _sizes(name, "stride", stride, dims, 1)
        )
        self.padding = _sizes(name, "padding", padding, dims, 0)
        if any(p > k // 2 for p, k in zip(self.padding, self.kernel_size, strict=True)):
            raise ValueError(
                f"{name}: padding must be at most half the kernel size (padding <= "
                f"kernel_size // 2, as torch requires), received padding={_shown(self.padding)} "
                f"with kernel_size={_shown(self.kernel_size)}"
            )
        self._count = int(np.prod(self.kernel_size))  # elements per window

    # ------------------------------------------------------------------ shapes
    def _layout(self) -> str:
        return f"(batch, channels, {_SPATIAL[self._dims]})"

    def _out_sizes(self, spatial: tuple[Any, ...], shape: Any) -> tuple[Any, ...]:
        """The output's spatial sizes (``None`` where unknown); refuse a kernel that overhangs."""
        out: list[Any] = []
        for axis, (size, k, s, p) in enumerate(
            zip(spatial, self.kernel_size, self.stride, self.padding, strict=True)
        ):
            if size is None:
                out.append(None)
                continue
            if k > size + 2 * p:
                raise ShapeError(
                    f"{self!r}: the kernel ({k}) is larger than the padded input on spatial "
                    f"axis {axis} ({size} + 2 x padding {p} = {size + 2 * p}); received "
                    f"{shape if isinstance(shape, str) else f'shape {shape}'}"
                )
            out.append((size + 2 * p - k) // s + 1)
        return tuple(out)

    def _check(self, inputs: FloatArray) -> tuple[int, ...]:
        if inputs.ndim != self._dims + 2:
            raise ShapeError(
                f"{self!r} expects inputs of shape {self._layout()} ({self._dims + 2} axes), "
                f"received shape {inputs.shape}"
            )
        return self._out_sizes(inputs.shape[2:], inputs.shape)

    def output_shape(self, input_shape: ShapeSpec) -> Shape:
        shape = single(self, input_shape)
        rank, full = known_rank(shape), self._dims + 2
        tail = shape if rank is not None else shape[1:]
        if len(tail) > full or (rank is not None and rank != full):
            raise ShapeError(
                f"{self!r} expects inputs of shape {self._layout()}, received {describe(shape)}"
            )
        tail = (None,) * (full - len(tail)) + tuple(tail)
        return (*tail[:2], *self._out_sizes(tail[2:], describe(shape)))

    # ----------------------------------------------------------------- windows
    def _padded(self, inputs: FloatArray) -> FloatArray:
        if not any(self.padding):
            return inputs
        widths = ((0, 0), (0, 0), *((p, p) for p in self.padding))
        return np.pad(inputs, widths, constant_values=self._fill)

    def _unpadded(self, grad: FloatArray) -> FloatArray:
        """The gradient of the input from that of the padded input: the padding's dropped."""
        if not any(self.padding):
            return grad
        spatial = zip(self.padding, grad.shape[2:], strict=True)
        inner: Window = (..., *(slice(p, size - p) for p, size in spatial))
        cropped: FloatArray = grad[inner]
        return cropped

    def _windows(self, out_shape: tuple[int, ...]) -> list[Window]:
        return window_offsets(self.kernel_size, self.stride, out_shape[2:])

    def _grad_output(self, grad_output: Any, shape: tuple[int, ...], dtype: Any) -> FloatArray:
        checked: FloatArray = check_grad_shape(self, grad_output, shape).astype(dtype, copy=False)
        return checked

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        return {
            "kernel_size": _config(self.kernel_size),
            "stride": _config(self.stride),
            "padding": _config(self.padding),
        }

    def extra_repr(self) -> str:
        return (
            f"kernel_size={_shown(self.kernel_size)}, stride={_shown(self.stride)}, "
            f"padding={_shown(self.padding)}"
        )


def _config(sizes: tuple[int, ...]) -> Any:
    shown = _shown(sizes)
    return list(shown) if isinstance(shown, tuple) else shown


class _MaxPool(_Pool):
    _fill = -np.inf  # padding never wins a maximum, as in torch

    def forward(self, inputs: ArrayLike) -> FloatArray:
        inputs = as_float_array(self, inputs)
        out_sizes = self._check(inputs)
        padded = self._padded(inputs)
        windows = self._windows((*inputs.shape[:2], *out_sizes))
        outputs: FloatArray = padded[windows[0]].copy()
        # which offset of its window each maximum came from: what backward routes by
        index = np.zeros(outputs.shape, dtype=np.min_scalar_type(len(windows) - 1))
        wins = np.empty(outputs.shape, dtype=bool)
        nan_aware = bool(np.isnan(inputs).any())  # one pass, to skip one per offset
        for offset, window in enumerate(windows[1:], start=1):
            candidate = padded[window]
            # strictly greater: a tie keeps the first maximum in window order, as torch
            np.greater(candidate, outputs, out=wins)
            if nan_aware:
                wins |= np.isnan(candidate)  # torch lets a NaN win, the last one seen
            np.maximum(outputs, candidate, out=outputs)  # a NaN propagates, as in torch
            # the offsets grow, so the last one that won is the largest of wins * offset:
            # branch-free passes, several times faster than a masked copy
            np.maximum(index, wins.view(np.uint8) * index.dtype.type(offset), out=index)
        if any(self.padding) and np.isneginf(outputs).any():
            self._first_real_input(index, outputs, inputs.shape, windows)
        self.save_for_backward(index, inputs.shape, padded.shape, inputs.dtype)
        return outputs

    def _first_real_input(
        self, index: Any, outputs: FloatArray, shape: tuple[int, ...], windows: list[Window]
    ) -> None:
        """Point a window whose inputs are all ``-inf`` at its first input, not at padding.

        Padding ties with a ``-inf`` input, and the first maximum in window order
        may then be padding, whose gradient is dropped; torch gives it to the
        window's first real input instead. Rare, so done only when it happens.
        """
        widths = ((0, 0), (0, 0), *((p, p) for p in self.padding))
        real = np.pad(np.ones(shape, dtype=bool), widths)  # False on the padding
        lost = np.isneginf(outputs)
        for offset, window in reversed(list(enumerate(windows))):  # the first one wins
            np.copyto(index, offset, where=lost & real[window], casting="unsafe")

    def backward(self, grad_output: FloatArray) -> FloatArray:
        index, _, padded_shape, dtype = self.saved()
        grad_output = self._grad_output(grad_output, index.shape, dtype)
        # d max / dx is 1 at the maximum and 0 elsewhere: each gradient goes to
        # the element its window's maximum came from, summed where windows overlap
        grad = np.zeros(padded_shape, dtype=dtype)
        # a product with the mask is a branch-free pass, but inf * 0 is NaN: a gradient
        # that is not finite takes the (slower) selection, so only the maxima receive it
        finite = bool(np.isfinite(grad_output).all())
        for offset, window in enumerate(self._windows(index.shape)):
            chosen = index == offset
            if finite:
                grad[window] += grad_output * chosen
            else:
                grad[window] += np.where(chosen, grad_output, 0)
        return self._unpadded(grad)


class _AvgPool(_Pool):
    def forward(self, inputs: ArrayLike) -> FloatArray:
        inputs = as_float_array(self, inputs)
        out_sizes = self._check(inputs)
        padded = self._padded(inputs)  # zeros, counted in the mean (count_include_pad=True)
        windows = self._windows((*inputs.shape[:2], *out_sizes))
        outputs: FloatArray = padded[windows[0]].copy()
        for window in windows[1:]:
            outputs += padded[window]
        outputs *= inputs.dtype.type(1 / self._count)  # y = sum of the window / (kh * kw)
        self.save_for_backward(outputs.shape, padded.shape, inputs.dtype)
        return outputs

    def backward(self, grad_output: FloatArray) -> FloatArray:
        out_shape, padded_shape, dtype = self.saved()
        grad_output = self._grad_output(grad_output, out_shape, dtype)
        # dy / dx = 1 / (kh * kw) for every element of the window
        share = grad_output * dtype.type(1 / self._count)
        grad = np.zeros(padded_shape, dtype=dtype)
        for window in self._windows(out_shape):
            grad[window] += share
        return self._unpadded(grad)


class MaxPool1d(_MaxPool):
    """The maximum of each window along the length, as ``torch.nn.MaxPool1d``.

    Padding is ``-inf``, so it never wins. Of several equal maxima in a window,
    the first (in window order) gets the gradient, as in PyTorch; a NaN wins
    over any number (the last NaN of the window, as in PyTorch).

    Args:
        kernel_size: The window's length.
        stride: The step between windows (``kernel_size`` if omitted).
        padding: ``-inf`` added at both ends, at most ``kernel_size // 2``.

    Shape:
        - inputs: ``(batch, channels, length)``
        - outputs: ``(batch, channels, (length + 2 * padding - kernel_size) // stride + 1)``
    """

    _dims = 1


class MaxPool2d(_MaxPool):
    """The maximum of each window, as ``torch.nn.MaxPool2d``.

    Padding is ``-inf``, so it never wins. Of several equal maxima in a window,
    the first in row-major window order gets the gradient, as in PyTorch; a
    NaN wins over any number (the last NaN of the window, as in PyTorch).

    Args:
        kernel_size: The window's size: an int, or ``(height, width)``.
        stride: The step between windows, int or pair (``kernel_size`` if omitted).
        padding: ``-inf`` added on each side, int or pair, at most half the kernel.

    Shape:
        - inputs: ``(batch, channels, height, width)``
        - outputs: ``(batch, channels, out_height, out_width)``, where
          ``out_height = (height + 2 * padding[0] - kernel_size[0]) // stride[0] + 1``
          and likewise for the width
    """

    _dims = 2


class AvgPool1d(_AvgPool):
    """The mean of each window along the length, as ``torch.nn.AvgPool1d``.

    The padding is zeros and counts in the mean (PyTorch's default,
    ``count_include_pad=True``): every window divides by ``kernel_size``.

    Args:
        kernel_size: The window's length.
        stride: The step between windows (``kernel_size`` if omitted).
        padding: Zeros added at both ends, at most ``kernel_size // 2``.

    Shape:
        - inputs: ``(batch, channels, length)``
        - outputs: ``(batch, channels, (length + 2 * padding - kernel_size) // stride + 1)``
    """

    _dims = 1


class AvgPool2d(_AvgPool):
    """The mean of each window, as ``torch.nn.AvgPool2d``.

    The padding is zeros and counts in the mean (PyTorch's default,
    ``count_include_pad=True``): every window divides by ``kh * kw``.

    Args:
        kernel_size: The window's size: an int, or ``(height, width)``.
        stride: The step between windows, int or pair (``kernel_size`` if omitted).
        padding: Zeros added on each side, int or pair, at most half the kernel.

    Shape:
        - inputs: ``(batch, channels, height, width)``
        - outputs: ``(batch, channels, out_height, out_width)``, where
          ``out_height = (height + 2 * padding[0] - kernel_size[0]) // stride[0] + 1``
          and likewise for the width
    """

    _dims = 2


class GlobalAvgPool2d(Layer):
    """The mean of each channel over the whole image: ``(N, C, H, W) -> (N, C)``.

    The head of most convolutional classifiers: it replaces ``Flatten`` before
    the last ``Dense``, and works on images of any size. In PyTorch it is
    ``nn.AdaptiveAvgPool2d(1)`` followed by ``nn.Flatten()``.

    Shape:
        - inputs: ``(batch, channels, height, width)``
        - outputs: ``(batch, channels)``
    """

    def forward(self, inputs: ArrayLike) -> FloatArray:
        inputs = as_float_array(self, inputs)
        if inputs.ndim != 4:
            raise ShapeError(
                f"{self!r} expects inputs of shape (batch, channels, height, width) (4 axes), "
                f"received shape {inputs.shape}"
            )
        self.save_for_backward(inputs.shape, inputs.dtype)
        outputs: FloatArray = inputs.mean(axis=(2, 3))
        return outputs

    def backward(self, grad_output: FloatArray) -> FloatArray:
        shape, dtype = self.saved()
        grad_output = check_grad_shape(self, grad_output, shape[:2]).astype(dtype, copy=False)
        # y = sum over the image / (H * W): every pixel gets 1 / (H * W) of the gradient
        grad_input: FloatArray = np.empty(shape, dtype=dtype)
        grad_input[...] = (grad_output * dtype.type(1 / (shape[2] * shape[3])))[:, :, None, None]
        return grad_input

    def output_shape(self, input_shape: ShapeSpec) -> Shape:
        shape = single(self, input_shape)
        rank = known_rank(shape)
        tail = shape if rank is not None else shape[1:]
        if len(tail) > 4 or (rank is not None and rank != 4):
            raise ShapeError(
                f"{self!r} expects inputs of shape (batch, channels, height, width), "
                f"received {describe(shape)}"
            )
        full = (None,) * (4 - len(tail)) + tuple(tail)
        return tuple(full[:2])
