"""Inverted dropout."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from minitorchless._checks import as_float_array, check_grad_shape, generator, positive_float
from minitorchless._types import FloatArray
from minitorchless.errors import ShapeError
from minitorchless.layers.base import Layer
from minitorchless.layers.shapes import Shape, ShapeSpec, describe, known_rank, single

__all__ = ["Dropout", "Dropout2d"]


class Dropout(Layer):
    """Zeroes each input with probability ``p`` during training (inverted dropout).

    The units that are kept are scaled by ``1 / (1 - p)``, so every output has
    the same expected value as its input and nothing needs rescaling at
    evaluation. In eval mode (``layer.eval()``, or inside ``mtl.eval_mode()`` in the
    calling thread) the layer is the identity and returns its inputs themselves.

    Each training forward draws a fresh mask from the layer's own generator;
    backward lets the gradient through the kept units only, with the same scale.

    Args:
        p: The probability of zeroing a unit, in [0, 1).
        rng: Source of the masks. A fresh ``np.random.default_rng()`` if omitted.

    Shape:
        - inputs: any shape
        - outputs: same shape as inputs
    """

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        self.p = positive_float(name, "p", p, allow_zero=True)
        if self.p >= 1:
            raise ValueError(
                f"{name}: p must be in [0, 1), received {p!r} (p=1 would zero every unit)"
            )
        self.rng = generator(name, rng)

    def forward(self, inputs: ArrayLike) -> FloatArray:
        inputs = as_float_array(self, inputs)
        if self.p == 0 or not self.training_active:
            self.save_for_backward(inputs.shape, inputs.dtype, None)  # None: the identity
            return inputs
        mask = self._draw_mask(self._mask_shape(inputs.shape), inputs.dtype)
        self.save_for_backward(inputs.shape, inputs.dtype, mask)  # backward scales by the mask
        outputs: FloatArray = inputs * mask
        return outputs

    def _mask_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of the mask: one draw per unit."""
        return shape

    def _draw_mask(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> FloatArray:
        """Return ``1 / (1 - p)`` where a unit is kept and 0 where it is dropped, in ``dtype``."""
        # the generator draws float32 or float64 directly: no float64 detour for a float32 model
        draw_dtype = dtype if dtype in (np.float32, np.float64) else np.float64
        mask = self.rng.random(shape, dtype=draw_dtype)  # uniform on [0, 1)
        np.greater_equal(mask, self.p, out=mask)  # 1 with probability 1 - p, else 0
        mask *= mask.dtype.type(1 / (1 - self.p))
        return mask.astype(dtype, copy=False)

    def backward(self, grad_output: FloatArray) -> FloatArray:
        shape, dtype, mask = self.saved()
        grad_output = check_grad_shape(self, grad_output, shape)
        if mask is None:
            return grad_output.astype(dtype, copy=False)
        # outputs = inputs * mask, so dL/dx = dL/dy * mask: dropped units pass no gradient
        # (the mask broadcasts: Dropout2d's has one entry per channel)
        grad_input: FloatArray = np.multiply(grad_output, mask, dtype=dtype)
        return grad_input

    def output_shape(self, input_shape: ShapeSpec) -> Shape:
        return single(self, input_shape)

    def get_config(self) -> dict[str, Any]:
        return {"p": self.p}

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout2d(Dropout):
    """Zeroes whole channels with probability ``p`` during training, as ``torch.nn.Dropout2d``.

    Neighbouring pixels of a feature map are strongly correlated, so dropping
    single pixels (``Dropout``) hardly regularizes a convolutional network:
    this layer draws one mask entry per sample and channel and drops or keeps
    the channel's whole map, scaling kept channels by ``1 / (1 - p)``. In eval
    mode it is the identity.

    Args:
        p: The probability of zeroing a channel, in [0, 1).
        rng: Source of the masks. A fresh ``np.random.default_rng()`` if omitted.

    Shape:
        - inputs: ``(batch, channels, height, width)``
        - outputs: same shape as inputs
    """

    def _mask_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) != 4:
            raise ShapeError(
                f"{self!r} expects inputs of shape (batch, channels, height, width) (4 axes), "
                f"received shape {shape}"
            )
        return (*shape[:2], 1, 1)  # one draw per (sample, channel), shared by its pixels

    def forward(self, inputs: ArrayLike) -> FloatArray:
        self._mask_shape(np.shape(inputs))  # the rank is checked in eval mode too
        return super().forward(inputs)

    def output_shape(self, input_shape: ShapeSpec) -> Shape:
        shape = single(self, input_shape)
        rank = known_rank(shape)
        if (rank is not None and rank != 4) or (rank is None and len(shape) > 5):
            raise ShapeError(
                f"{self!r} expects inputs of shape (batch, channels, height, width), "
                f"received {describe(shape)}"
            )
        return shape
