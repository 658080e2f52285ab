"""Loss functions.

A loss is called as ``loss = loss_fn(predictions, targets)`` and returns a
Python float; ``loss_fn.backward()`` then returns dL/d(predictions), the
gradient that starts backpropagation through the model.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minitorchless._checks import as_float_array
from minitorchless.errors import ShapeError

__all__ = ["Loss", "MSELoss", "Reduction"]

FloatArray = NDArray[np.floating[Any]]
Reduction = Literal["mean", "sum"]


class Loss(ABC):
    """Base class of the losses.

    Args:
        reduction: ``"mean"`` averages over the elements (or samples, as each
            loss documents); ``"sum"`` adds them up.
    """

    def __init__(self, reduction: Reduction = "mean") -> None:
        if reduction not in ("mean", "sum"):
            raise ValueError(
                f"{type(self).__name__}: reduction must be 'mean' or 'sum', received {reduction!r}"
            )
        self.reduction: Reduction = reduction
        self._cache: Any = None

    def __call__(self, predictions: ArrayLike, targets: ArrayLike) -> float:
        return self.forward(predictions, targets)

    @abstractmethod
    def forward(self, predictions: ArrayLike, targets: ArrayLike) -> float:
        """Return the loss as a float and cache what ``backward`` needs."""

    @abstractmethod
    def backward(self) -> FloatArray:
        """Return dL/d(predictions) for the last ``forward``."""

    def _cached(self) -> Any:
        if self._cache is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward() was called before the loss was computed: "
                f"call loss_fn(predictions, targets) first"
            )
        return self._cache

    def _same_shape(
        self, predictions: ArrayLike, targets: ArrayLike
    ) -> tuple[FloatArray, FloatArray]:
        """Validate predictions and targets of equal shape; targets take the predictions' dtype."""
        predictions = as_float_array(self, predictions, what="predictions")
        targets = as_float_array(self, targets, what="targets")
        if predictions.shape != targets.shape:
            raise ShapeError(
                f"{type(self).__name__}: predictions and targets must have the same shape, "
                f"received predictions {predictions.shape} and targets {targets.shape}"
            )
        if targets.dtype != predictions.dtype:
            targets = targets.astype(predictions.dtype)
        return predictions, targets

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"


class MSELoss(Loss):
    """Mean squared error, averaged over *all* elements as PyTorch does by default.

    ``L = mean((y_hat - y)^2)``, so ``dL/dy_hat = 2 (y_hat - y) / N`` where N is
    the number of elements; with ``reduction="sum"``, N is 1.
    """

    def forward(self, predictions: ArrayLike, targets: ArrayLike) -> float:
        predictions, targets = self._same_shape(predictions, targets)
        diff = predictions - targets
        self._cache = diff
        flat = diff.reshape(-1)
        total = float(np.dot(flat, flat))  # sum of squares as one BLAS call
        return total / diff.size if self.reduction == "mean" else total

    def backward(self) -> FloatArray:
        diff = self._cached()
        scale = 2 / diff.size if self.reduction == "mean" else 2
        grad: FloatArray = diff * diff.dtype.type(scale)  # a scalar of the model's dtype
        return grad
