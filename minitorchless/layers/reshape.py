"""Layers that change the shape of each sample, not its values: ``Flatten`` and ``Reshape``.

Both keep the batch axis and the order of the values (C order, as NumPy and
PyTorch lay arrays out), so backward only has to give the gradient the input's
shape back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from typing_extensions import Self

from minitorchless._checks import as_float_array, check_grad_shape
from minitorchless._types import FloatArray
from minitorchless.errors import ShapeError
from minitorchless.layers.base import Layer
from minitorchless.layers.shapes import Shape, ShapeSpec, describe, known_rank, single

__all__ = ["Flatten", "Reshape"]


class _ShapeOnly(Layer):
    """Base of the layers whose backward gives the gradient the input's shape back."""

    def _keep(self, inputs: FloatArray, outputs: FloatArray) -> FloatArray:
        self.save_for_backward(inputs.shape, outputs.shape, inputs.dtype)
        return outputs

    def backward(self, grad_output: FloatArray) -> FloatArray:
        input_shape, output_shape, dtype = self.saved()
        grad_output = check_grad_shape(self, grad_output, output_shape)
        # the values are the same ones in another arrangement: so are their gradients
        grad_input: FloatArray = grad_output.astype(dtype, copy=False).reshape(input_shape)
        return grad_input


class Flatten(_ShapeOnly):
    """Flatten each sample into one axis, keeping the batch axis: ``(N, *) -> (N, prod(*))``.

    As ``torch.nn.Flatten()`` with its defaults (``start_dim=1``): an image
    batch ``(N, C, H, W)`` becomes ``(N, C * H * W)``, in C order, ready for a
    ``Dense``. The output is a view of the input when the input is contiguous.

    Shape:
        - inputs: ``(batch, *)``, at least two axes
        - outputs: ``(batch, product of the other axes)``
    """

    def forward(self, inputs: ArrayLike) -> FloatArray:
        inputs = as_float_array(self, inputs)
        if inputs.ndim < 2:
            raise ShapeError(
                f"{self!r} expects inputs of shape (batch, ...) with at least 2 axes, "
                f"received shape {inputs.shape}"
            )
        # math.prod, not -1: a batch of 0 samples has no size to infer from
        return self._keep(inputs, inputs.reshape(inputs.shape[0], math.prod(inputs.shape[1:])))

    def output_shape(self, input_shape: ShapeSpec) -> Shape:
        shape = single(self, input_shape)
        rank = known_rank(shape)
        if rank is None:  # unknown leading axes: neither the batch nor the product is known
            return (None, None)
        if rank < 2:
            raise ShapeError(
                f"{self!r} expects inputs of shape (batch, ...) with at least 2 axes, "
                f"received {describe(shape)}"
            )
        sample = shape[1:]
        return (shape[0], None if None in sample else math.prod(sample))


def _target_shape(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """Check ``Reshape``'s arguments: ints >= 1, and at most one -1."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])  # Reshape((4, 3)) as well as Reshape(4, 3), as torch takes both
    if not all(
        isinstance(size, (int, np.integer))
        and not isinstance(size, bool)
        and (size >= 1 or size == -1)
        for size in shape
    ):
        raise TypeError(
            f"Reshape: the sample shape must be integers >= 1, with at most one -1 for a size "
            f"to infer, e.g. Reshape(4, -1); received {shape!r}"
        )
    if list(shape).count(-1) > 1:
        raise ValueError(f"Reshape: at most one size can be -1 (inferred), received {shape!r}")
    return tuple(int(size) for size in shape)


class Reshape(_ShapeOnly):
    """Reshape each sample to ``shape``, keeping the batch axis, as ``x.reshape(N, *shape)``.

    One size may be ``-1``: it is inferred from the sample's size, as
    ``torch.Tensor.reshape`` infers it. The values keep their C order, so
    ``Reshape(16, 4, 4)`` turns the ``(N, 256)`` output of a ``Dense`` into
    16 channels of 4 x 4. A size that cannot hold the sample is refused when
    the model is built, where the input shape is known, and at forward.

    Args:
        *shape: The shape of one output sample, without the batch axis:
            ``Reshape(4, 3)`` (or ``Reshape((4, 3))``), ``Reshape(-1, 2)``.

    Shape:
        - inputs: ``(batch, *)``, whose sample size fits ``shape``
        - outputs: ``(batch, *shape)``, with the ``-1`` size inferred
    """

    def __init__(self, *shape: Any) -> None:
        super().__init__()
        self.shape = _target_shape(shape)

    def _resolve(self, sample: tuple[int, ...], described: str) -> tuple[int, ...]:
        """The output sample shape for samples of shape ``sample``, or a ``ShapeError``."""
        size, known = math.prod(sample), math.prod(s for s in self.shape if s != -1)
        if -1 not in self.shape:
            if size == known:
                return self.shape
            problem = f"{size} values per sample, and {self.shape} holds {known}"
        elif size % known == 0:
            return tuple(size // known if s == -1 else s for s in self.shape)
        else:
            problem = f"{size} values per sample, not a multiple of {known}"
        raise ShapeError(
            f"{self!r} cannot reshape inputs of shape {described} into (batch, "
            f"{', '.join(map(str, self.shape))}): {problem}"
        )

    def forward(self, inputs: ArrayLike) -> FloatArray:
        inputs = as_float_array(self, inputs)
        if inputs.ndim < 1:
            raise ShapeError(
                f"{self!r} expects inputs of shape (batch, ...), received a scalar of shape ()"
            )
        target = self._resolve(inputs.shape[1:], str(inputs.shape))
        return self._keep(inputs, inputs.reshape(inputs.shape[0], *target))

    def output_shape(self, input_shape: ShapeSpec) -> Shape:
        shape = single(self, input_shape)
        rank = known_rank(shape)
        if rank == 0:
            raise ShapeError(f"{self!r} expects inputs of shape (batch, ...), received ()")
        if rank is None or None in shape[1:]:  # the sample's size is not known yet
            return (
                None if rank is None else shape[0],
                *(None if s == -1 else s for s in self.shape),
            )
        return (shape[0], *self._resolve(shape[1:], describe(shape)))

    def get_config(self) -> dict[str, Any]:
        return {"shape": list(self.shape)}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        return cls(*config["shape"])

    def extra_repr(self) -> str:
        return ", ".join(map(str, self.shape))
