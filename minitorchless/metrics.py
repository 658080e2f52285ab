"""Metrics: how good predictions are, as numbers people read.

Unlike losses, metrics have no gradient and need not be smooth. Each metric is
a function ``metric(predictions, targets) -> float``; ``fit`` and ``evaluate``
accept them by name (``metrics=("accuracy",)``) or as any such callable.

Class predictions and targets may be given in any of three forms:

- integer labels, shape ``(n,)``;
- one row of scores per sample, shape ``(n, classes)``: one-hot rows,
  probabilities, or raw logits; the class is the arg-max of the row;
- a single column, shape ``(n, 1)``: the probability of the positive class of
  a binary problem (or 0/1 targets); the class is 1 above 0.5. A column of
  integers is read as a column of labels. Logits are refused here, since their
  threshold is 0: ``binary_accuracy(..., threshold=0.0)`` handles them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minitorchless._checks import same_shape
from minitorchless.errors import ShapeError

__all__ = [
    "METRICS",
    "Metric",
    "accuracy",
    "binary_accuracy",
    "confusion_matrix",
    "get",
    "mae",
    "mse",
    "to_labels",
]

Metric = Callable[[Any, Any], float]
IntArray = NDArray[np.int64]


def to_labels(owner: str, array: ArrayLike, *, what: str = "predictions") -> IntArray:
    """Turn labels, score rows or a probability column into integer class labels.

    Args:
        owner: The function to name in errors.
        array: ``(n,)`` integer labels, ``(n, classes)`` rows, or an ``(n, 1)`` column.
        what: What to call the array in errors.

    Raises:
        ShapeError: the array is not 1-D or 2-D.
        ValueError: 1-D labels that are not whole numbers, or are negative.
    """
    array = np.asarray(array)
    if array.ndim == 2 and array.shape[1] > 1:
        labels: IntArray = np.argmax(array, axis=1).astype(np.int64, copy=False)
        return labels
    if array.ndim == 2:
        column = array[:, 0]
        if column.dtype.kind != "f":
            array = column  # integer labels stored as a column: checked as labels below
        elif column.size and (column.min() < 0 or column.max() > 1):
            # not probabilities: most likely logits, whose threshold is 0, not 0.5
            raise ValueError(
                f"{owner}: a single column of {what} must hold probabilities in [0, 1], "
                f"received values from {column.min():.4g} to {column.max():.4g}; for "
                f"logits use binary_accuracy(predictions, targets, threshold=0.0)"
            )
        else:
            return (column > 0.5).astype(np.int64)  # a binary probability, or 0/1 targets
    if array.ndim != 1:
        raise ShapeError(
            f"{owner}: {what} must be labels of shape (n,) or rows of shape (n, classes), "
            f"received shape {array.shape}"
        )
    if array.dtype.kind == "f":
        # float labels are fine as long as they are whole numbers (e.g. loaded from CSV)
        if not np.array_equal(array, np.round(array)):
            raise ValueError(
                f"{owner}: 1-D {what} must be integer class labels, received floats with a "
                f"fractional part (e.g. {array[array != np.round(array)][0]!r}); "
                f"for binary probabilities pass a column of shape (n, 1)"
            )
    elif array.dtype.kind not in "biu":
        raise TypeError(f"{owner}: {what} must be numeric, received dtype {array.dtype}")
    labels = array.astype(np.int64, copy=False)
    if labels.size and labels.min() < 0:
        raise ValueError(
            f"{owner}: class labels must be >= 0, received {int(labels.min())} in {what}"
        )
    return labels


def _aligned_labels(
    owner: str, predictions: ArrayLike, targets: ArrayLike
) -> tuple[IntArray, IntArray]:
    predicted = to_labels(owner, predictions, what="predictions")
    actual = to_labels(owner, targets, what="targets")
    if predicted.shape != actual.shape:
        raise ShapeError(
            f"{owner}: predictions and targets must describe the same number of samples, "
            f"received {predicted.shape[0]} predictions and {actual.shape[0]} targets"
        )
    if predicted.size == 0:
        raise ValueError(f"{owner}: received empty predictions and targets")
    return predicted, actual


def accuracy(predictions: ArrayLike, targets: ArrayLike) -> float:
    """The fraction of samples whose predicted class is the target class.

    Args:
        predictions: Labels, score rows or a probability column (see the module).
        targets: Labels, one-hot or probability rows, or a 0/1 column.

    Returns:
        A float in [0, 1].
    """
    predicted, actual = _aligned_labels("accuracy", predictions, targets)
    return float(np.count_nonzero(predicted == actual)) / predicted.size


def binary_accuracy(predictions: ArrayLike, targets: ArrayLike, *, threshold: float = 0.5) -> float:
    """The fraction of yes/no outputs on the right side of ``threshold``.

    Every element counts, so it also measures multi-label outputs (one column
    per independent yes/no question).

    Args:
        predictions: Probabilities (``threshold=0.5``) or logits
            (``threshold=0.0``), any shape.
        targets: 0/1 values of the same shape.
        threshold: A prediction above it means "yes".

    By name (``metrics=["binary_accuracy"]``) it expects probabilities. For
    logits, pass ``fit`` a small named function (its name becomes the key in
    the History)::

        def logit_accuracy(predictions, targets):
            return binary_accuracy(predictions, targets, threshold=0.0)
    """
    predictions, targets = same_shape("binary_accuracy", predictions, targets)
    return float(np.count_nonzero((predictions > threshold) == (targets > 0.5))) / predictions.size


def confusion_matrix(
    predictions: ArrayLike, targets: ArrayLike, *, num_classes: int | None = None
) -> IntArray:
    """Count each (true class, predicted class) pair.

    Row ``i`` is the true class, column ``j`` the predicted one, as in
    scikit-learn: the diagonal holds the correct predictions.

    Args:
        predictions: Labels, score rows or a probability column.
        targets: Labels, one-hot or probability rows, or a 0/1 column.
        num_classes: The matrix size. Inferred from the data (the largest label
            plus one, or the width of score rows) when omitted.

    Returns:
        An int64 array of shape ``(num_classes, num_classes)``.

    Raises:
        ValueError: a label is ``>= num_classes``.
    """
    predicted, actual = _aligned_labels("confusion_matrix", predictions, targets)
    largest = int(max(predicted.max(), actual.max()))
    if num_classes is None:
        widths = [np.shape(a)[1] for a in (predictions, targets) if np.ndim(a) == 2]
        num_classes = max([largest + 1, *(w for w in widths if w > 1)])
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(
            f"confusion_matrix: num_classes must be an integer, received {num_classes!r}"
        )
    elif largest >= num_classes:
        raise ValueError(
            f"confusion_matrix: labels must be in [0, {num_classes}) for num_classes="
            f"{num_classes}, received label {largest}"
        )
    # one bincount over the pair index true * k + predicted counts every cell at once
    counts = np.bincount(actual * num_classes + predicted, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def _difference(owner: str, predictions: ArrayLike, targets: ArrayLike) -> NDArray[Any]:
    predictions, targets = same_shape(owner, predictions, targets)
    return np.asarray(predictions - targets, dtype=np.result_type(predictions, np.float32))


def mse(predictions: ArrayLike, targets: ArrayLike) -> float:
    """Mean squared error over all elements: ``mean((predictions - targets) ** 2)``."""
    diff = _difference("mse", predictions, targets).reshape(-1)
    return float(np.dot(diff, diff)) / diff.size


def mae(predictions: ArrayLike, targets: ArrayLike) -> float:
    """Mean absolute error over all elements: ``mean(|predictions - targets|)``."""
    diff = _difference("mae", predictions, targets)
    return float(np.abs(diff).mean())


METRICS: dict[str, Metric] = {
    "accuracy": accuracy,
    "binary_accuracy": binary_accuracy,
    "mae": mae,
    "mse": mse,
}
"""The metrics ``fit`` and ``evaluate`` know by name."""


def get(metric: str | Metric) -> tuple[str, Metric]:
    """Resolve a metric given by name or as a callable to ``(name, function)``.

    A callable is named by its ``__name__`` (the class name for objects);
    that name becomes its key in the logs and the History.

    Raises:
        ValueError: an unknown name; the message lists the known ones.
        TypeError: neither a string nor a callable.
    """
    if isinstance(metric, str):
        if metric not in METRICS:
            raise ValueError(
                f"metrics: unknown metric {metric!r}; known metrics are {sorted(METRICS)} "
                f"(or pass a function metric(predictions, targets) -> float)"
            )
        return metric, METRICS[metric]
    if callable(metric):
        return getattr(metric, "__name__", type(metric).__name__), metric
    raise TypeError(
        f"metrics: expected a metric name or a callable, received {type(metric).__name__}"
    )
