"""Strided windows for convolutions: im2col, its adjoint col2im, and the batch chunks.

A 2-D convolution is one matrix product once every window of the (padded)
input is laid out as a column: ``im2col`` builds that matrix as a strided view
of the input and copies it once, and ``col2im`` adds each column back where it
came from, which is how the input gradient is assembled. Both act on
``(N, C, H, W)`` arrays; ``Conv1d`` uses them with a height of 1.

The window matrix is ``kernel_height * kernel_width`` times as large as the
input, so the convolutions build it a slice of the batch at a time whenever
the whole of it would take more than :data:`WINDOW_BUDGET_BYTES`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from minitorchless._types import FloatArray

__all__ = [
    "WINDOW_BUDGET_BYTES",
    "Geometry",
    "batch_chunks",
    "col2im",
    "im2col",
    "pad",
    "unpad",
]

WINDOW_BUDGET_BYTES = 128 * 2**20
"""The most bytes a convolution's window matrix takes at once (128 MiB).

Below it, forward builds the matrix for the whole batch and keeps it for
backward, which then needs no second copy of the windows. Above it, forward
and backward each build it for as many samples at a time as fit (one at least)
and backward rebuilds it from the padded input it keeps instead.
"""


@dataclass(frozen=True)
class Geometry:
    """How the kernel slides over the two spatial axes: each entry is ``(height, width)``.

    Attributes:
        kernel: The kernel's size.
        stride: The step between two windows.
        dilation: The step between two taps of the kernel.
        padding: The zeros added ``((top, bottom), (left, right))``.
    """

    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    padding: tuple[tuple[int, int], tuple[int, int]]

    def span(self, axis: int) -> int:
        """How far the kernel reaches on ``axis`` (0: height, 1: width): ``d (k - 1) + 1``."""
        return self.dilation[axis] * (self.kernel[axis] - 1) + 1

    def padded(self, size: int, axis: int) -> int:
        """The size of ``axis`` once padded."""
        return size + sum(self.padding[axis])

    def output(self, size: int, axis: int) -> int:
        """The output's size on ``axis``: ``floor((padded - span) / stride) + 1``, or <= 0."""
        return (self.padded(size, axis) - self.span(axis)) // self.stride[axis] + 1


def pad(inputs: FloatArray, geometry: Geometry) -> FloatArray:
    """``inputs`` with zeros around its last two axes: a new array, or ``inputs`` if none."""
    (top, bottom), (left, right) = geometry.padding
    if top == bottom == left == right == 0:
        return inputs
    n, c, h, w = inputs.shape
    padded = np.zeros((n, c, h + top + bottom, w + left + right), dtype=inputs.dtype)
    padded[:, :, top : top + h, left : left + w] = inputs
    return padded


def im2col(padded: FloatArray, geometry: Geometry) -> FloatArray:
    """The window matrix of a padded batch, ``(N, C * kh * kw, Ho * Wo)``, C-contiguous.

    Column ``(ho, wo)`` of sample ``n`` holds the window whose top-left tap is
    ``padded[n, :, ho * sh, wo * sw]``, its rows ordered ``(c, i, j)`` as the
    weight's ``(C, kh, kw)`` axes are, so that the convolution of sample ``n``
    is ``weight.reshape(O, -1) @ cols[n]``. The view costs nothing; the
    ``reshape`` copies it once, the rows of each window contiguous in ``wo``.
    """
    n, c, h, w = padded.shape
    (kh, kw), (sh, sw), (dh, dw) = geometry.kernel, geometry.stride, geometry.dilation
    ho, wo = (h - geometry.span(0)) // sh + 1, (w - geometry.span(1)) // sw + 1
    s_n, s_c, s_h, s_w = padded.strides
    windows = as_strided(
        padded,
        shape=(n, c, kh, kw, ho, wo),
        strides=(s_n, s_c, s_h * dh, s_w * dw, s_h * sh, s_w * sw),
        writeable=False,
    )
    return windows.reshape(n, c * kh * kw, ho * wo)


def col2im(
    grad_taps: FloatArray, geometry: Geometry, out_hw: tuple[int, int], grad_padded: FloatArray
) -> None:
    """The adjoint of :func:`im2col`: add each window's gradient back where the window was.

    ``grad_taps`` is the gradient of the window matrix with its rows in
    *tap-major* order, ``(N, groups, kh * kw * C_g, Ho * Wo)`` with rows
    ``(i, j, c)``: the rows of one tap ``(i, j)`` then form one block, whose
    slice ``grad_taps[:, g, tap]`` is as contiguous as it can be, which makes
    the adds below a third faster than with im2col's ``(c, i, j)`` rows.
    ``grad_padded``, the padded input's gradient ``(N, C, Hp, Wp)``, is added
    into. Tap ``(i, j)`` of every window reads the strided slice ``padded[:,
    :, i dh :: sh, j dw :: sw]``, so its gradient is added into that slice:
    ``kh * kw`` vectorized adds, where windows that overlap add up.
    """
    n, groups = grad_taps.shape[:2]
    (kh, kw), (sh, sw), (dh, dw) = geometry.kernel, geometry.stride, geometry.dilation
    ho, wo = out_hw
    taps = grad_taps.reshape(n, groups, kh, kw, -1, ho, wo)
    target = grad_padded.reshape(n, groups, -1, *grad_padded.shape[2:])  # a view: (N, G, C_g, ...)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
            columns = slice(j * dw, j * dw + sw * (wo - 1) + 1, sw)
            target[:, :, :, rows, columns] += taps[:, :, i, j]


def unpad(grad_padded: FloatArray, geometry: Geometry, size: tuple[int, int]) -> FloatArray:
    """The part of a padded array's gradient that belongs to the unpadded input."""
    (top, _), (left, _) = geometry.padding
    if grad_padded.shape[2:] == size:
        return grad_padded
    return grad_padded[:, :, top : top + size[0], left : left + size[1]]


def batch_chunks(batch: int, bytes_per_sample: int, budget: int | None = None) -> list[slice]:
    """Slices of the batch whose window matrices each fit in ``budget`` (one sample at least).

    ``budget`` defaults to :data:`WINDOW_BUDGET_BYTES`, read when called.
    """
    limit = WINDOW_BUDGET_BYTES if budget is None else budget
    step = max(1, limit // max(1, bytes_per_sample))
    return [slice(start, min(start + step, batch)) for start in range(0, batch, step)]
