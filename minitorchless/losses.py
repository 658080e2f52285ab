"""Loss functions.

A loss is called as ``loss = loss_fn(predictions, targets)`` and returns a
Python float; ``loss_fn.backward()`` then returns dL/d(predictions), the
gradient that starts backpropagation through the model.

What ``reduction="mean"`` divides by follows PyTorch's ``torch.nn`` losses:
the number of elements for the element-wise losses (``MSELoss``, ``L1Loss``,
``BCELoss``, ``BCEWithLogitsLoss``) and the number of samples for
``CrossEntropyLoss``. Targets are cast to the predictions' dtype, so a float32
model's loss gradient is float32.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minitorchless._checks import as_float_array
from minitorchless.errors import ShapeError

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "L1Loss",
    "Loss",
    "MSELoss",
    "Reduction",
]

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

    def _predictions(self, predictions: ArrayLike) -> FloatArray:
        """Validate the predictions: a non-empty floating array."""
        self._cache = None  # a forward that fails must not leave the last batch's gradient
        predictions = as_float_array(self, predictions, what="predictions")
        if predictions.size == 0:
            raise ShapeError(
                f"{type(self).__name__}: received empty predictions of shape "
                f"{predictions.shape}; a loss needs at least one element"
            )
        return predictions

    def _same_shape(
        self, predictions: ArrayLike, targets: ArrayLike
    ) -> tuple[FloatArray, FloatArray]:
        """Validate predictions and targets of equal shape; targets take the predictions' dtype."""
        predictions = self._predictions(predictions)
        targets = as_float_array(self, targets, what="targets")
        if predictions.shape != targets.shape:
            raise ShapeError(
                f"{type(self).__name__}: predictions and targets must have the same shape, "
                f"received predictions {predictions.shape} and targets {targets.shape}"
            )
        if targets.dtype != predictions.dtype:
            targets = targets.astype(predictions.dtype)
        return predictions, targets

    def _reduce(self, total: float, count: int) -> float:
        """Turn the sum of ``count`` terms into this loss's reduction of them."""
        return total / count if self.reduction == "mean" else total

    def _scale(self, count: int) -> float:
        """The factor that the gradient of the sum takes under this loss's reduction."""
        return 1 / count if self.reduction == "mean" else 1.0

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
        return self._reduce(total, diff.size)

    def backward(self) -> FloatArray:
        diff = self._cached()
        grad: FloatArray = diff * diff.dtype.type(2 * self._scale(diff.size))  # model's dtype
        return grad


class L1Loss(Loss):
    """Mean absolute error, averaged over all elements as PyTorch does by default.

    ``L = mean(|y_hat - y|)``, so ``dL/dy_hat = sign(y_hat - y) / N``, taken as 0
    where the prediction equals the target (as PyTorch does).
    """

    def forward(self, predictions: ArrayLike, targets: ArrayLike) -> float:
        predictions, targets = self._same_shape(predictions, targets)
        diff = predictions - targets
        self._cache = diff
        return self._reduce(float(np.abs(diff).sum()), diff.size)

    def backward(self) -> FloatArray:
        diff = self._cached()
        grad: FloatArray = np.sign(diff)
        grad *= grad.dtype.type(self._scale(diff.size))
        return grad


class BCELoss(Loss):
    """Binary cross-entropy on probabilities, averaged over all elements.

    ``L = -mean(y log(p) + (1 - y) log(1 - p))`` for predictions ``p`` in [0, 1],
    such as a ``Sigmoid`` layer's outputs. As in PyTorch, each log is clamped at
    -100, so a confident wrong answer costs 100 rather than infinity, and the
    gradient ``(p - y) / (p (1 - p))`` has its denominator clamped at 1e-12.
    Prefer ``BCEWithLogitsLoss`` on the logits: it is stabler.

    Raises:
        ValueError: a prediction lies outside [0, 1].
    """

    def forward(self, predictions: ArrayLike, targets: ArrayLike) -> float:
        predictions, targets = self._same_shape(predictions, targets)
        low, high = predictions.min(), predictions.max()
        if low < 0 or high > 1:
            raise ValueError(
                f"BCELoss: predictions must be probabilities in [0, 1] (use BCEWithLogitsLoss "
                f"for logits), received values from {low} to {high}"
            )
        with np.errstate(divide="ignore"):  # log(0) = -inf is expected: it is clamped next
            log_p = np.log(predictions)
            log_not_p = np.log1p(-predictions)  # log(1 - p), accurate for small p
        np.maximum(log_p, -100, out=log_p)
        np.maximum(log_not_p, -100, out=log_not_p)
        self._cache = (predictions, targets)
        # sum of y log p + (1 - y) log(1 - p) = sum of y (log p - log(1 - p)) + sum of log(1 - p)
        log_p -= log_not_p
        total = -(float(np.vdot(targets, log_p)) + float(log_not_p.sum()))
        return self._reduce(total, predictions.size)

    def backward(self) -> FloatArray:
        predictions, targets = self._cached()
        # dL/dp = -y/p + (1 - y)/(1 - p) = (p - y) / (p (1 - p))
        denominator = 1 - predictions
        denominator *= predictions
        np.maximum(denominator, denominator.dtype.type(1e-12), out=denominator)
        grad: FloatArray = predictions - targets
        grad /= denominator
        grad *= grad.dtype.type(self._scale(predictions.size))
        return grad


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy on logits, with the sigmoid fused in; averaged over all elements.

    ``L = mean(-y log(sigmoid(x)) - (1 - y) log(1 - sigmoid(x)))``, computed in
    the stable form ``max(x, 0) - x y + log(1 + exp(-|x|))``, whose exponent is
    never positive: finite for any finite logit. ``dL/dx = (sigmoid(x) - y) / N``.
    """

    def forward(self, predictions: ArrayLike, targets: ArrayLike) -> float:
        logits, targets = self._same_shape(predictions, targets)
        exp_neg_abs = np.abs(logits)
        np.negative(exp_neg_abs, out=exp_neg_abs)
        np.exp(exp_neg_abs, out=exp_neg_abs)  # exp(-|x|) in (0, 1]: cannot overflow
        self._cache = (logits, targets, exp_neg_abs)
        losses = np.maximum(logits, 0)
        losses -= logits * targets
        losses += np.log1p(exp_neg_abs)
        return self._reduce(float(losses.sum()), logits.size)

    def backward(self) -> FloatArray:
        logits, targets, exp_neg_abs = self._cached()
        # with e = exp(-|x|): sigmoid(x) = 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0,
        # both free of overflow and of cancellation
        grad: FloatArray = np.where(logits >= 0, 1, exp_neg_abs)
        grad /= 1 + exp_neg_abs
        grad -= targets
        grad *= grad.dtype.type(self._scale(logits.size))
        return grad


class CrossEntropyLoss(Loss):
    """Softmax cross-entropy on logits, averaged over the samples (the rows).

    ``L = mean_i(-sum_c y_ic log softmax(z_i)_c)``. The log-softmax is fused in
    through the log-sum-exp ``log softmax(z)_c = z_c - m - log(sum_j exp(z_j - m))``
    with ``m`` the row's maximum, so the loss stays finite for logits of
    +-1000. The gradient is ``(softmax(z) * sum_c y_c - y) / N``, which is
    ``(softmax(z) - y) / N`` for targets that sum to one.

    Targets may be:

    - integer class labels, a 1-D array of length ``batch`` with values in
      ``[0, classes)`` (float arrays holding whole numbers are accepted);
    - one-hot rows or probability rows, of the logits' shape.

    As in PyTorch, ``reduction="mean"`` divides by the number of samples, not of
    elements, for either kind of target.

    Raises:
        ShapeError: the logits are not ``(batch, classes)`` or the targets fit neither form.
        ValueError: a label is not a whole number or lies outside ``[0, classes)``.
    """

    def forward(self, predictions: ArrayLike, targets: ArrayLike) -> float:
        logits = self._predictions(predictions)
        if logits.ndim != 2:
            hint = ""
            if logits.ndim == 1:
                hint = " (a single sample must be a row: use reshape(1, -1))"
            raise ShapeError(
                f"CrossEntropyLoss: expected logits of shape (batch, classes), "
                f"received shape {logits.shape}{hint}"
            )
        batch, classes = logits.shape
        target_array = np.asarray(targets)
        if target_array.shape == (batch,):
            labels = self._labels(target_array, classes)
            shifted, log_sums, softmax = self._log_softmax_parts(logits)
            # -log softmax(z)_y = log_sum - shifted_y, summed over the rows
            total = float(log_sums.sum()) - float(shifted[np.arange(batch), labels].sum())
            self._cache = (softmax, labels, None)
        elif target_array.shape == logits.shape:
            rows = as_float_array(self, target_array, what="targets")
            if rows.dtype != logits.dtype:
                rows = rows.astype(logits.dtype)
            shifted, log_sums, softmax = self._log_softmax_parts(logits)
            # -sum_c y_c (shifted_c - log_sum) = log_sum * sum_c y_c - sum_c y_c shifted_c
            row_sums = rows.sum(axis=1)
            total = float(np.dot(row_sums, log_sums)) - float(np.vdot(rows, shifted))
            self._cache = (softmax, rows, row_sums)
        else:
            hint = ""
            if target_array.shape == (batch, 1):
                hint = " (labels must be 1-D: use targets.ravel())"
            raise ShapeError(
                f"CrossEntropyLoss: targets must be labels of shape ({batch},) or rows of "
                f"the logits' shape {logits.shape}, received logits {logits.shape} and "
                f"targets {target_array.shape}{hint}"
            )
        return self._reduce(total, batch)

    @staticmethod
    def _log_softmax_parts(logits: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Return ``z - m``, ``log(sum(exp(z - m)))`` per row and the softmax, with m the row max.

        Subtracting the maximum makes every exponent <= 0 (nothing overflows) and
        every row sum >= 1 (its log is finite): log-sum-exp for any finite logits.
        """
        shifted = logits - logits.max(axis=1, keepdims=True)
        softmax = np.exp(shifted)
        sums = softmax.sum(axis=1, keepdims=True)
        log_sums = np.log(sums).ravel()
        softmax /= sums
        return shifted, log_sums, softmax

    def _labels(self, targets: NDArray[Any], classes: int) -> NDArray[np.intp]:
        """Check class labels: whole numbers in ``[0, classes)``; return them as indices."""
        kind = targets.dtype.kind
        if kind not in "iuf":
            raise TypeError(
                f"CrossEntropyLoss: labels must be integers, received dtype {targets.dtype}"
            )
        if kind == "f":
            whole = targets == np.trunc(targets)  # False for 1.5 and NaN; inf is caught below
            if not whole.all():
                index = int(np.argmin(whole))
                raise ValueError(
                    f"CrossEntropyLoss: labels must be whole numbers (class indices in "
                    f"[0, {classes}) for {classes} classes), received label "
                    f"{targets[index].item()!r} at index {index}"
                )
        if targets.min() < 0 or targets.max() >= classes:
            index = int(np.argmax((targets < 0) | (targets >= classes)))
            raise ValueError(
                f"CrossEntropyLoss: label {targets[index].item()!r} at index {index} is out of "
                f"range for {classes} classes (labels must be in [0, {classes}))"
            )
        return targets.astype(np.intp, copy=False)

    def backward(self) -> FloatArray:
        softmax, targets, row_sums = self._cached()
        batch = softmax.shape[0]
        if row_sums is None:  # targets are labels
            grad: FloatArray = softmax.copy()
            grad[np.arange(batch), targets] -= 1  # softmax - one_hot(label)
        else:  # targets are rows: d/dz of -sum_c y_c log softmax(z)_c
            grad = softmax * row_sums[:, None]
            grad -= targets
        grad *= grad.dtype.type(self._scale(batch))
        return grad
