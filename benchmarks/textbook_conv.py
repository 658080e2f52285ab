"""The textbook im2col convolution, as the tutorials write it: W4's NumPy contender.

Forward: pad, take every window with ``sliding_window_view``, move the
channels next to the kernel axes and reshape (a copy) into one row per output
pixel, then one matrix product. Backward: the same product transposed for the
weights, and col2im by ``kh * kw`` strided adds for the input. Channels-last
inside, channels-first outside, as in CS231n's assignment and its many copies.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

__all__ = ["TextbookConv2d"]

Array = NDArray[Any]


class TextbookConv2d:
    """A stride-1 ``Conv2d`` with zero padding ``pad`` on both axes; ``weight`` is OIHW."""

    def __init__(self, weight: Array, bias: Array, pad: int) -> None:
        self.weight, self.bias, self.pad = weight, bias, pad
        self.grad_weight = np.zeros_like(weight)
        self.grad_bias = np.zeros_like(bias)
        self.cache: tuple[tuple[int, ...], Array] | None = None

    def forward(self, x: Array) -> Array:
        out_channels, _, kh, kw = self.weight.shape
        p = self.pad
        padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        windows = sliding_window_view(padded, (kh, kw), axis=(2, 3))  # (N, C, Ho, Wo, kh, kw)
        n, c, ho, wo = windows.shape[:4]
        cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw)
        out = cols @ self.weight.reshape(out_channels, -1).T + self.bias  # (N Ho Wo, O)
        self.cache = (padded.shape, cols)
        return out.reshape(n, ho, wo, out_channels).transpose(0, 3, 1, 2)

    def backward(self, grad_output: Array) -> Array:
        assert self.cache is not None, "forward first"
        padded_shape, cols = self.cache
        out_channels, c, kh, kw = self.weight.shape
        n, _, ho, wo = grad_output.shape
        rows = grad_output.transpose(0, 2, 3, 1).reshape(-1, out_channels)  # (N Ho Wo, O)
        self.grad_weight += (rows.T @ cols).reshape(self.weight.shape)
        self.grad_bias += rows.sum(axis=0)
        grad_cols = (rows @ self.weight.reshape(out_channels, -1)).reshape(n, ho, wo, c, kh, kw)
        grad_padded = np.zeros(padded_shape, dtype=grad_output.dtype)
        for i in range(kh):
            for j in range(kw):
                grad_padded[:, :, i : i + ho, j : j + wo] += grad_cols[..., i, j].transpose(
                    0, 3, 1, 2
                )
        p = self.pad
        return grad_padded[:, :, p : p + ho, p : p + wo] if p else grad_padded
