"""Checking what ``fit``, ``evaluate`` and ``predict`` are given, before any work is done."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minitorchless._checks import check_finite, positive_int
from minitorchless.layers.base import Layer
from minitorchless.losses import Loss
from minitorchless.metrics import Metric
from minitorchless.metrics import get as get_metric
from minitorchless.optim.base import Optimizer
from minitorchless.train.callbacks import Callback
from minitorchless.train.scheduling import LearningRateScheduler, Schedule

__all__ = [
    "as_callbacks",
    "as_data",
    "as_metrics",
    "check_batch_size",
    "check_model_and_loss",
    "check_optimizer",
]


def check_model_and_loss(owner: str, model: Any, loss: Any, *, loss_required: bool) -> None:
    """Refuse a model that is not a Layer, or a loss that is not a Loss."""
    if not isinstance(model, Layer):
        raise TypeError(f"{owner}: model must be a Layer (e.g. Sequential), received {model!r}")
    if (loss is not None or loss_required) and not isinstance(loss, Loss):
        raise TypeError(f"{owner}: loss must be a Loss (e.g. mtl.MSELoss()), received {loss!r}")


def check_optimizer(owner: str, optimizer: Any) -> Optimizer:
    """Refuse anything but an Optimizer."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"{owner}: optimizer must be an Optimizer (e.g. mtl.SGD(model.parameters(), "
            f"lr=0.1)), received {optimizer!r}"
        )
    return optimizer


def as_data(owner: str, name: str, array: ArrayLike, model: Layer) -> NDArray[Any]:
    """Check one data array (numeric, finite) and give floats the model's dtype, once."""
    data = np.asarray(array)
    if data.dtype.kind not in "biuf":
        raise TypeError(f"{owner}: {name} must be numeric, received dtype {data.dtype}")
    # the documented choice: layers propagate NaN as NumPy does, training refuses it
    check_finite(owner, name, data)
    dtype = model.dtype
    if data.dtype.kind == "f" and dtype is not None and data.dtype != dtype:
        data = data.astype(dtype)  # once here rather than in every batch of every epoch
    return data


def check_batch_size(owner: str, batch_size: int | None) -> int | None:
    """``None`` (the full batch) or an integer >= 1."""
    return None if batch_size is None else positive_int(owner, "batch_size", batch_size)


def as_metrics(metrics: Iterable[str | Metric]) -> list[tuple[str, Metric]]:
    """Metric names and functions as ``(name, function)`` pairs."""
    if isinstance(metrics, str):  # metrics="accuracy" would otherwise iterate letters
        metrics = [metrics]
    return [get_metric(metric) for metric in metrics]


def as_callbacks(callbacks: Iterable[Callback | Schedule]) -> list[Callback]:
    """Callbacks as given, with bare learning-rate schedules wrapped in a scheduler callback."""
    resolved: list[Callback] = []
    for callback in callbacks:
        if isinstance(callback, Callback):
            resolved.append(callback)
        elif isinstance(callback, Schedule):
            resolved.append(LearningRateScheduler(callback))
        else:
            raise TypeError(
                "fit: callbacks must be Callback objects or learning-rate schedules, "
                f"received {type(callback).__name__}"
            )
    return resolved
