"""``fit``, ``evaluate`` and ``predict``: the training loop, written once.

``fit`` runs the loop of the user's guide (forward, loss, zero_grad, backward,
step) over mini-batches, and adds what every real run needs around
it: shuffling, validation, metrics, callbacks, progress, and a guard against
divergence.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minitorchless._checks import check_finite, generator, open_fraction, positive_int
from minitorchless.data import Batches, num_samples
from minitorchless.layers.base import Layer
from minitorchless.losses import Loss
from minitorchless.metrics import Metric
from minitorchless.metrics import get as get_metric
from minitorchless.optim.base import Optimizer
from minitorchless.train.callbacks import (
    Callback,
    LearningRateScheduler,
    Logs,
    Schedule,
    TrainingState,
)
from minitorchless.train.divergence import DivergenceWarning, Snapshot, diverged
from minitorchless.train.history import History
from minitorchless.train.progress import make_progress

__all__ = ["DivergenceWarning", "evaluate", "fit", "predict"]


class _Means:
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


def _check_objects(owner: str, model: Any, loss: Any) -> None:
    if not isinstance(model, Layer):
        raise TypeError(f"{owner}: model must be a Layer (e.g. Sequential), received {model!r}")
    if loss is not None and not isinstance(loss, Loss):
        raise TypeError(f"{owner}: loss must be a Loss (e.g. mtl.MSELoss()), received {loss!r}")


def _as_data(owner: str, name: str, array: ArrayLike, model: Layer) -> NDArray[Any]:
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


def _batch_size(owner: str, batch_size: int | None) -> int | None:
    return None if batch_size is None else positive_int(owner, "batch_size", batch_size)


def _metrics(metrics: Iterable[str | Metric]) -> list[tuple[str, Metric]]:
    if isinstance(metrics, str):  # metrics="accuracy" would otherwise iterate letters
        metrics = [metrics]
    return [get_metric(metric) for metric in metrics]


def _callbacks(callbacks: Iterable[Callback | Schedule]) -> list[Callback]:
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


def _overrides(callback: Callback, hook: str) -> bool:
    return getattr(type(callback), hook) is not getattr(Callback, hook)


def fit(
    model: Layer,
    X: ArrayLike,
    y: ArrayLike,
    *,
    loss: Loss,
    optimizer: Optimizer,
    epochs: int,
    batch_size: int | None = None,
    validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    validation_split: float | None = None,
    metrics: Iterable[str | Metric] = (),
    callbacks: Iterable[Callback | Schedule] = (),
    verbose: int = 1,
    rng: np.random.Generator | None = None,
    log_every: int | None = None,
    shuffle: bool = True,
    terminate_on_nan: bool = True,
) -> History:
    """Train ``model`` on ``(X, y)`` and return the per-epoch History.

    Each batch runs the loop of the user's guide: forward, loss,
    ``optimizer.zero_grad()``, backward, ``optimizer.step()``, where the
    backward is ``model.backward_parameters``: the same gradients, without the
    gradient for the data that nobody reads. The model is in
    training mode while it learns and in eval mode while it is validated; its
    mode from before the call is restored at the end.

    Args:
        model: The model to train, in place.
        X: Inputs, one sample per row. NaN and infinity are refused.
        y: Targets with the same number of rows (labels, one-hot rows, values).
        loss: The loss to minimise, e.g. ``mtl.CrossEntropyLoss()``.
        optimizer: Built on ``model.parameters()``.
        epochs: Passes over the training data, >= 1.
        batch_size: Samples per step; ``None`` trains on the full batch, as the
            classic network does.
        validation_data: ``(X_val, y_val)`` to evaluate after every epoch.
        validation_split: Or hold out this fraction, in (0, 1), of ``(X, y)``:
            the *last* rows, taken before shuffling, as Keras does.
        metrics: Names from ``mtl.metrics.METRICS`` (``"accuracy"``, ``"mse"``,
            ``"mae"``) or functions ``metric(predictions, targets) -> float``.
        callbacks: ``Callback`` objects, and learning-rate schedules (wrapped in
            ``LearningRateScheduler``).
        verbose: 0 silent; 1 a tqdm bar when stdout is a terminal and plain
            lines otherwise; 2 plain lines always.
        rng: The generator that shuffles the batches (fresh if omitted).
        log_every: Epochs between plain progress lines; by default about ten
            lines per run.
        shuffle: Reshuffle the training rows every epoch (mini-batches only: a
            full batch's mean loss does not depend on the order).
        terminate_on_nan: Stop as soon as a batch loss is NaN or inf and go
            back to the last weights with a finite loss (see ``DivergenceWarning``).
            Costs one copy of the parameters per step.

    Returns:
        The History: ``history.history["loss"]``, ``["val_loss"]``, metrics.
        Training and validation values are means over the epoch's samples
        (training ones measured on each batch before its step, as Keras does).

    Raises:
        ValueError: X and y of different lengths, empty data, ``batch_size <= 0``,
            ``validation_split`` outside (0, 1), an unknown metric name,
            non-finite values in the data.
        TypeError: arguments of the wrong kind.

    Warns:
        DivergenceWarning: the loss became NaN or inf; training stopped.
    """
    _check_objects("fit", model, loss)
    if loss is None:
        raise TypeError("fit: loss must be a Loss (e.g. mtl.MSELoss()), received None")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            "fit: optimizer must be an Optimizer (e.g. mtl.SGD(model.parameters(), lr=0.1)), "
            f"received {optimizer!r}"
        )
    epochs = positive_int("fit", "epochs", epochs)
    batch_size = _batch_size("fit", batch_size)
    if verbose not in (0, 1, 2):
        raise ValueError(f"fit: verbose must be 0, 1 or 2, received {verbose!r}")
    log_every = max(1, epochs // 10) if log_every is None else positive_int(
        "fit", "log_every", log_every
    )
    named_metrics = _metrics(metrics)
    user_callbacks = _callbacks(callbacks)

    n = num_samples("fit", X, y, names=("X", "y"))
    X, y = _as_data("fit", "X", X, model), _as_data("fit", "y", y, model)
    if validation_data is not None and validation_split is not None:
        raise ValueError("fit: pass validation_data or validation_split, not both")
    validation: tuple[NDArray[Any], NDArray[Any]] | None = None
    if validation_split is not None:
        fraction = open_fraction("fit", "validation_split", validation_split)
        split = int(n * (1 - fraction))  # Keras's rule: the last rows validate
        if split == 0 or split == n:
            raise ValueError(
                f"fit: validation_split={fraction} of {n} samples leaves "
                f"{split} for training and {n - split} for validation; both need at least 1"
            )
        X, y, validation = X[:split], y[:split], (X[split:], y[split:])
        n = split
    elif validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise TypeError("fit: validation_data must be a pair (X_val, y_val)")
        num_samples("fit", *validation_data, names=("X_val", "y_val"))
        validation = (
            _as_data("fit", "X_val", validation_data[0], model),
            _as_data("fit", "y_val", validation_data[1], model),
        )

    mini = batch_size is not None and batch_size < n
    batches = Batches(
        X, y, batch_size=batch_size, shuffle=shuffle and mini,
        rng=generator("fit", rng),
    )
    state = TrainingState(
        model, optimizer, epochs, len(batches),
        params={"epochs": epochs, "batch_size": batch_size, "samples": n,
                "steps_per_epoch": len(batches), "metrics": [m for m, _ in named_metrics]},
    )
    history = state.history = History(state.params)
    progress = make_progress(verbose, log_every)
    everyone = [*user_callbacks, *([progress] if progress is not None else [])]
    for callback in everyone:
        callback.set_state(state)
    batch_begin = [c for c in everyone if _overrides(c, "on_batch_begin")]
    batch_end = [c for c in everyone if _overrides(c, "on_batch_end")]
    snapshot = Snapshot(optimizer.params) if terminate_on_nan else None

    was_training = model.training
    logs: Logs = {}
    try:
        for callback in everyone:
            callback.on_train_begin(logs)
        model.train()
        for epoch in range(epochs):
            epoch_logs: Logs = {}
            for callback in everyone:
                callback.on_epoch_begin(epoch, epoch_logs)
            if everyone:
                # a callback may have switched modes (validation restores its own); the
                # recursive call costs ~1 us, 3% of a classic full-batch epoch
                model.train()
            means = _Means(["loss", *(name for name, _ in named_metrics)])
            for index, (inputs, targets) in enumerate(batches):
                size = len(inputs)
                batch_logs: Logs = {"batch_size": float(size)}
                for callback in batch_begin:
                    callback.on_batch_begin(index, batch_logs)
                # overflow is expected when training diverges; it is reported
                # once, as a DivergenceWarning, instead of as NumPy noise
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    predictions = model(inputs)
                    value = loss(predictions, targets)
                    if snapshot is not None and not math.isfinite(value):
                        diverged(history, state, snapshot, value, epoch, index, len(batches))
                        break
                    batch_logs["loss"] = value
                    for name, metric in named_metrics:
                        batch_logs[name] = metric(predictions, targets)
                    optimizer.zero_grad()
                    # the gradient for the inputs (the data) is not needed: skip it
                    model.backward_parameters(loss.backward())
                    if snapshot is not None:
                        snapshot.save()
                    optimizer.step()
                means.add(batch_logs, size)
                for callback in batch_end:
                    callback.on_batch_end(index, batch_logs)
                if state.stop_requested:
                    break
            if history.diverged:
                break
            # means over the samples seen: all of them unless a callback stopped mid-epoch
            epoch_logs.update(means.values)
            if validation is not None:
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    scores = _evaluate(model, *validation, loss, named_metrics, batch_size)
                epoch_logs.update({f"val_{name}": value for name, value in scores.items()})
            for callback in user_callbacks:
                callback.on_epoch_end(epoch, epoch_logs)
            history.record(epoch, epoch_logs)
            if progress is not None:
                progress.on_epoch_end(epoch, epoch_logs)
            logs = epoch_logs
            if state.stop_requested:
                break
        # every step's weights are judged by the next batch's loss, except the last
        # step's: check those once, here, rather than paying a pass every epoch
        if snapshot is not None and not history.diverged and not all(
            np.isfinite(parameter.value).all() for parameter in optimizer.params
        ):
            diverged(history, state, snapshot, math.nan, epoch, index, len(batches),
                     cause="the weights became NaN or inf in the last step")
        history.stop_reason = state.stop_reason
        for callback in everyone:
            callback.on_train_end(logs)
    finally:
        model.train(was_training)
        if progress is not None:
            progress.close()
    return history


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
    _check_objects("evaluate", model, loss)
    named = _metrics(metrics)
    if loss is None and not named:
        raise ValueError("evaluate: nothing to compute; pass a loss, metrics, or both")
    num_samples("evaluate", X, y, names=("X", "y"))
    return _evaluate(model, X, y, loss, named, _batch_size("evaluate", batch_size))


def _evaluate(
    model: Layer,
    X: ArrayLike,
    y: ArrayLike,
    loss: Loss | None,
    named: list[tuple[str, Metric]],
    batch_size: int | None,
) -> dict[str, float]:
    batches = Batches(X, y, batch_size=batch_size)
    means = _Means([*(["loss"] if loss is not None else []), *(name for name, _ in named)])
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
    _check_objects("predict", model, None)
    batches = iter(Batches(X, batch_size=_batch_size("predict", batch_size)))
    was_training = model.training
    model.eval()
    try:
        (inputs,) = next(batches)  # Batches refuses empty data: there is a first batch
        result = model(inputs)
        if isinstance(result, (tuple, list)):
            raise TypeError(
                f"predict: {type(model).__name__} returns {len(result)} outputs; predict "
                f"stacks the rows of one output, so call the model on the data directly"
            )
        first = np.asarray(result)
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
