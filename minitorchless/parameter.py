"""The tensors a layer owns: trainable ``Parameter``s and non-trainable ``Buffer``s."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minitorchless.errors import ShapeError

__all__ = ["Buffer", "Parameter"]


class Parameter:
    """A trainable array together with the gradient that backward accumulates into it.

    Optimizers update ``value`` in place, so code holding a reference to the array
    (an optimizer's state, a user's view) keeps seeing the current weights.
    ``grad`` always has the shape and dtype of ``value``.

    Args:
        value: The initial values. Must be a floating array; it is not copied.
        requires_grad: Whether training changes it. A frozen parameter
            (``False``) is left out of ``Layer.parameters()``, its layer skips
            computing its gradient, and an optimizer that holds it gives it no
            update and no state while it stays frozen.
    """

    __slots__ = ("_grad", "_zero_pending", "requires_grad", "value")

    def __init__(self, value: ArrayLike, *, requires_grad: bool = True) -> None:
        array = np.asarray(value)
        if array.dtype.kind != "f":
            raise TypeError(f"Parameter: value must be a floating array, received {array.dtype}")
        self.value: NDArray[np.floating[Any]] = array
        self._grad: NDArray[np.floating[Any]] = np.zeros_like(array)
        self._zero_pending = False
        self.requires_grad = bool(requires_grad)

    @property
    def grad(self) -> NDArray[np.floating[Any]]:
        """dL/d(value), accumulated by backward; same shape and dtype as ``value``."""
        if self._zero_pending:
            self._grad.fill(0)
            self._zero_pending = False
        return self._grad

    @grad.setter
    def grad(self, value: NDArray[np.floating[Any]]) -> None:
        array = np.asarray(value)
        if array.shape != self.value.shape or array.dtype != self.value.dtype:
            raise ShapeError(
                f"Parameter.grad must have the value's shape {self.value.shape} and dtype "
                f"{self.value.dtype}, received shape {array.shape} and dtype {array.dtype}; "
                f"add into it (grad += ...) rather than replacing it"
            )
        self._grad = array
        self._zero_pending = False

    def add_product(self, left: NDArray[Any], right: NDArray[Any]) -> None:
        """``grad += left @ right``; straight into ``grad`` when it was just zeroed.

        After ``zero_grad`` the product is written into the gradient's memory by
        the matrix multiply itself, which saves both the pass that zeroes the
        array and the temporary that ``+=`` would allocate and then add.
        """
        if self._zero_pending:
            np.matmul(left, right, out=self._grad)
            self._zero_pending = False
        else:
            self._grad += left @ right

    def cast(self, dtype: np.dtype[Any]) -> None:
        """Give ``value`` and ``grad`` the floating ``dtype`` (new arrays, same numbers)."""
        self.value = self.value.astype(dtype)
        self._grad = self._grad.astype(dtype)

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
        """Set the gradient to zero.

        The zeroing is deferred until the gradient is next read or accumulated
        into, so that a Dense layer can write its first product straight into it
        (see ``add_product``). Reading ``grad`` always gives the zeroed array.
        """
        self._zero_pending = True

    def __repr__(self) -> str:
        frozen = "" if self.requires_grad else ", requires_grad=False"
        return f"Parameter(shape={self.shape}, dtype={self.dtype}{frozen})"


class Buffer:
    """Non-trainable state of a layer, such as BatchNorm's running statistics.

    A buffer travels with the model: ``state_dict``, ``save``/``load``,
    ``to(dtype)`` (floating buffers only) and the PyTorch state dicts carry
    it. Nothing trains it: ``parameters()`` and optimizers never see it, and
    its layer updates ``value`` in place.

    Args:
        value: The initial values, a numeric array; it is not copied.
    """

    __slots__ = ("value",)

    def __init__(self, value: ArrayLike) -> None:
        array = np.asarray(value)
        if array.dtype.kind not in "fiu":
            raise TypeError(f"Buffer: value must be a numeric array, received {array.dtype}")
        self.value: NDArray[Any] = array

    def cast(self, dtype: np.dtype[Any]) -> None:
        """Give a floating buffer the floating ``dtype``; integer buffers (counters) stay."""
        if self.value.dtype.kind == "f":
            self.value = self.value.astype(dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``value``."""
        return self.value.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        """The dtype of ``value``."""
        return self.value.dtype

    @property
    def size(self) -> int:
        """The number of scalars in ``value``."""
        return int(self.value.size)

    def __repr__(self) -> str:
        return f"Buffer(shape={self.shape}, dtype={self.dtype})"
