"""The trainable array and its gradient."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["Parameter"]


class Parameter:
    """A trainable array together with the gradient that backward accumulates into it.

    Optimizers update ``value`` in place, so code holding a reference to the array
    (an optimizer's state, a user's view) keeps seeing the current weights.
    ``grad`` always has the shape and dtype of ``value``.

    Args:
        value: The initial values. Must be a floating array; it is not copied.
    """

    __slots__ = ("grad", "value")

    def __init__(self, value: ArrayLike) -> None:
        array = np.asarray(value)
        if array.dtype.kind != "f":
            raise TypeError(f"Parameter: value must be a floating array, received {array.dtype}")
        self.value: NDArray[np.floating[Any]] = array
        self.grad: NDArray[np.floating[Any]] = np.zeros_like(array)

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``value``."""
        return self.value.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        """The dtype of ``value`` (and of ``grad``)."""
        return self.value.dtype

    @property
    def size(self) -> int:
        """The number of scalars in ``value``."""
        return int(self.value.size)

    def zero_grad(self) -> None:
        """Set the gradient to zero, in place."""
        self.grad.fill(0)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, dtype={self.dtype})"
