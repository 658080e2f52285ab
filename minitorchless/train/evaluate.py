"""``evaluate`` and ``predict``: a model's scores and outputs, in eval mode, by batches."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minitorchless.data import Batches, num_samples
from minitorchless.layers.base import Layer
from minitorchless.losses import Loss
from minitorchless.metrics import Metric
from minitorchless.train.arguments import as_metrics, check_batch_size, check_model_and_loss
from minitorchless.train.callbacks import Logs

__all__ = ["Means", "evaluate", "evaluate_batches", "predict"]


class Means:
    """Means over samples of per-batch values, each batch weighted by its size.

    Kept as running means, ``mean += (value - mean) * size / seen``, so that a
    single full batch reports its loss exactly as the loss function returned it.
    """

    def __init__(self, names: Iterable[str]) -> None:
        self.values = dict.fromkeys(names, 0.0)
        self.seen = 0

    def add(self, values: Logs, size: int) -> None:
        self.seen += size
        weight = size / self.seen
        for name, mean in self.values.items():
            self.values[name] = mean + (values[name] - mean) * weight


def evaluate(
    model: Layer,
    X: ArrayLike,
    y: ArrayLike,
    *,
    loss: Loss | None = None,
    metrics: Iterable[str | Metric] = (),
    batch_size: int | None = None,
) -> dict[str, float]:
    """Compute the loss and metrics of ``model`` on ``(X, y)``, in eval mode, by batches.

    Args:
        model: The model; its training/eval mode is restored afterwards.
        X: Inputs, one sample per row.
        y: Targets with the same number of rows.
        loss: The loss to report as ``"loss"``, if any.
        metrics: Metric names or functions, as in ``fit``.
        batch_size: Samples per forward pass; ``None`` runs all at once.

    Returns:
        ``{"loss": ..., "accuracy": ...}``: means over all samples.

    Raises:
        ValueError: neither a loss nor a metric, X and y of different lengths,
            empty data, ``batch_size <= 0``, an unknown metric name.
    """
    check_model_and_loss("evaluate", model, loss, loss_required=False)
    named = as_metrics(metrics)
    if loss is None and not named:
        raise ValueError("evaluate: nothing to compute; pass a loss, metrics, or both")
    num_samples("evaluate", X, y, names=("X", "y"))
    return evaluate_batches(model, X, y, loss, named, check_batch_size("evaluate", batch_size))


def evaluate_batches(
    model: Layer,
    X: ArrayLike,
    y: ArrayLike,
    loss: Loss | None,
    named: list[tuple[str, Metric]],
    batch_size: int | None,
) -> dict[str, float]:
    """``evaluate`` on checked arguments: the means of the loss and metrics over the batches."""
    batches = Batches(X, y, batch_size=batch_size)
    means = Means([*(["loss"] if loss is not None else []), *(name for name, _ in named)])
    was_training = model.training
    model.eval()
    try:
        for inputs, targets in batches:
            predictions = model(inputs)
            values = {name: metric(predictions, targets) for name, metric in named}
            if loss is not None:
                values["loss"] = loss(predictions, targets)
            means.add(values, len(inputs))
    finally:
        model.train(was_training)
    return means.values


def _one_output(result: Any, model: Layer) -> NDArray[Any]:
    if isinstance(result, (tuple, list)):
        raise TypeError(
            f"predict: {type(model).__name__} returns {len(result)} outputs; predict "
            f"stacks the rows of one output, so call the model on the data directly"
        )
    return np.asarray(result)


def predict(model: Layer, X: ArrayLike, *, batch_size: int | None = None) -> NDArray[Any]:
    """Run ``model`` forward on ``X`` in eval mode, by batches, and return all outputs.

    Args:
        model: The model; its training/eval mode is restored afterwards.
        X: Inputs, one sample per row.
        batch_size: Samples per forward pass; ``None`` runs all at once. Smaller
            batches bound the memory of the intermediate activations.

    Returns:
        The outputs, one row per sample, in the model's dtype.

    Raises:
        ValueError: empty data or ``batch_size <= 0``.
    """
    check_model_and_loss("predict", model, None, loss_required=False)
    batches = iter(Batches(X, batch_size=check_batch_size("predict", batch_size)))
    was_training = model.training
    model.eval()
    try:
        (inputs,) = next(batches)  # Batches refuses empty data: there is a first batch
        first = _one_output(model(inputs), model)
        count = np.shape(X)[0]
        if len(first) == count:
            return first
        # allocate once, now that the output's shape and dtype are known
        outputs = np.empty((count, *first.shape[1:]), first.dtype)
        outputs[: len(first)] = first
        start = len(first)
        for (inputs,) in batches:
            result = model(inputs)
            outputs[start : start + len(result)] = result
            start += len(result)
        return outputs
    finally:
        model.train(was_training)
