"""``evaluate`` and ``predict``: a model's scores and outputs, in eval mode, by batches.

Both run inside ``eval_mode()``: the calling thread sees every layer in eval
mode while the layers' ``training`` flags stay as they are. Several threads
may therefore predict with one model, even while it is in training mode, and
its mode is never changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minitorchless.data import Batches
from minitorchless.layers.base import Layer
from minitorchless.layers.modes import eval_mode
from minitorchless.losses import Loss
from minitorchless.metrics import Metric
from minitorchless.train.arguments import as_metrics, check_batch_size, check_model_and_loss
from minitorchless.train.callbacks import Logs
from minitorchless.train.inputs import Data, as_dataset, as_inputs, model_inputs

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
    X: ArrayLike | Mapping[str, ArrayLike],
    y: ArrayLike,
    *,
    loss: Loss | None = None,
    metrics: Iterable[str | Metric] = (),
    batch_size: int | None = None,
    sample_weight: ArrayLike | None = None,
) -> dict[str, float]:
    """Compute the loss and metrics of ``model`` on ``(X, y)``, in eval mode, by batches.

    Args:
        model: The model; its ``training`` flags are left alone (see ``mtl.eval_mode``).
        X: Inputs, one sample per row: an array, or for a model with several
            inputs a tuple of arrays or a dict keyed by the Graph's input names.
        y: Targets with the same number of rows.
        loss: The loss to report as ``"loss"``, if any.
        metrics: Metric names or functions, as in ``fit`` (never weighted).
        batch_size: Samples per forward pass; ``None`` runs all at once.
        sample_weight: One weight per sample for the loss, as in ``fit``.

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
    data = as_dataset("evaluate", ("X", "y"), model, (X, y, sample_weight), train=False)
    return evaluate_batches(model, data, loss, named, check_batch_size("evaluate", batch_size))


def evaluate_batches(
    model: Layer,
    data: Data,
    loss: Loss | None,
    named: list[tuple[str, Metric]],
    batch_size: int | None,
) -> dict[str, float]:
    """``evaluate`` on checked data: the means of the loss and metrics over the batches."""
    inputs, targets, weight = data
    count = len(inputs)
    batches = Batches(
        *inputs, targets, *([] if weight is None else [weight]), batch_size=batch_size
    )
    means = Means([*(["loss"] if loss is not None else []), *(name for name, _ in named)])
    with eval_mode():
        for batch in batches:
            predictions = model(model_inputs(batch[:count]))
            values = {name: metric(predictions, batch[count]) for name, metric in named}
            if loss is not None:
                batch_weight = batch[count + 1] if weight is not None else None
                values["loss"] = loss(predictions, batch[count], batch_weight)
            means.add(values, len(batch[0]))
    return means.values


def _one_output(result: Any, model: Layer) -> NDArray[Any]:
    if isinstance(result, (tuple, list)):
        raise TypeError(
            f"predict: {type(model).__name__} returns {len(result)} outputs; predict "
            f"stacks the rows of one output, so call the model on the data directly"
        )
    return np.asarray(result)


def predict(
    model: Layer, X: ArrayLike | Mapping[str, ArrayLike], *, batch_size: int | None = None
) -> NDArray[Any]:
    """Run ``model`` forward on ``X`` in eval mode, by batches, and return all outputs.

    Safe to call from several threads at once on one model: it never changes
    the model's ``training`` flags (see ``mtl.eval_mode``).

    Args:
        model: The model.
        X: Inputs, one sample per row: an array, or for a model with several
            inputs a tuple of arrays or a dict keyed by the Graph's input names.
        batch_size: Samples per forward pass; ``None`` runs all at once. Smaller
            batches bound the memory of the intermediate activations.

    Returns:
        The outputs, one row per sample, in the model's dtype.

    Raises:
        ValueError: empty data or ``batch_size <= 0``.
    """
    check_model_and_loss("predict", model, None, loss_required=False)
    arrays = as_inputs("predict", "X", X, model, train=False)
    batches = iter(Batches(*arrays, batch_size=check_batch_size("predict", batch_size)))
    with eval_mode():
        first = _one_output(model(model_inputs(next(batches))), model)
        count = len(arrays[0])
        if len(first) == count:
            return first
        # allocate once, now that the output's shape and dtype are known
        outputs = np.empty((count, *first.shape[1:]), first.dtype)
        outputs[: len(first)] = first
        start = len(first)
        for batch in batches:
            result = model(model_inputs(batch))
            outputs[start : start + len(result)] = result
            start += len(result)
        return outputs
