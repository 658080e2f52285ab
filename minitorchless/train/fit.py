"""``fit``: the training loop of the user's guide, run over mini-batches, written once.

``fit`` checks everything it is given, builds a :class:`~minitorchless.train.loop.Run`
and hands it to :func:`~minitorchless.train.loop.train_epochs`. Around the
five-line loop it adds what every real run needs: shuffling, validation,
metrics, callbacks, progress, and a guard against divergence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from minitorchless._checks import generator, positive_float, positive_int
from minitorchless.data import Batches
from minitorchless.layers.base import Layer
from minitorchless.losses import Loss
from minitorchless.metrics import Metric
from minitorchless.optim.base import Optimizer
from minitorchless.train.arguments import (
    as_callbacks,
    as_metrics,
    check_batch_size,
    check_model_and_loss,
    check_optimizer,
)
from minitorchless.train.backup import BackupAndRestore
from minitorchless.train.callbacks import Callback, CallbackList, TrainingState
from minitorchless.train.divergence import LossGuard
from minitorchless.train.history import History
from minitorchless.train.inputs import Data, as_dataset, class_sample_weight, split_validation
from minitorchless.train.loop import HistoryRecorder, Run, train_epochs
from minitorchless.train.preflight import check_optimizer_parameters, check_targets
from minitorchless.train.progress import make_progress
from minitorchless.train.scheduling import Schedule

__all__ = ["fit"]

_VALIDATION = ("validation_data X_val", "validation_data y_val")


def fit(
    model: Layer,
    X: ArrayLike | Mapping[str, ArrayLike],
    y: ArrayLike,
    *,
    loss: Loss,
    optimizer: Optimizer,
    epochs: int,
    batch_size: int | None = None,
    validation_data: tuple[Any, ...] | None = None,
    validation_split: float | None = None,
    metrics: Iterable[str | Metric] = (),
    callbacks: Iterable[Callback | Schedule] = (),
    verbose: int = 1,
    rng: np.random.Generator | None = None,
    log_every: int | None = None,
    shuffle: bool = True,
    terminate_on_nan: bool = True,
    sample_weight: ArrayLike | None = None,
    class_weight: Mapping[int, float] | None = None,
    clip_grad_norm: float | None = None,
    divergence_factor: float | None = 1e4,
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
        X: Inputs, one sample per row. NaN and infinity are refused. For a
            model with several inputs, a tuple of arrays or a dict keyed by the
            Graph's ``input_names``; they are batched and shuffled together.
        y: Targets with the same number of rows (labels, one-hot rows, values).
        loss: The loss to minimise, e.g. ``mtl.CrossEntropyLoss()``.
        optimizer: Built on ``model.parameters()``.
        epochs: Passes over the training data, >= 1.
        batch_size: Samples per step; ``None`` trains on the full batch, as the
            classic network does.
        validation_data: ``(X_val, y_val)``, or ``(X_val, y_val, sample_weight_val)``,
            to evaluate after every epoch.
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
            Costs one copy of the parameters per step. Either way, NumPy's
            overflow, invalid-value and divide warnings are silenced while the
            epochs run (callbacks included): divergence is reported once, as a
            ``DivergenceWarning``.
        sample_weight: One finite weight >= 0 per row of ``X``: each sample's
            term of the loss is multiplied by it (the loss still divides by
            its usual denominator, as Keras does; see ``minitorchless.losses``).
        class_weight: ``{class: weight}``: each row's loss is multiplied by the
            weight of its class (classes not named weigh 1); multiplied into
            ``sample_weight`` when both are given.
        clip_grad_norm: Scale each batch's gradients so that their total 2-norm
            is at most this, after ``on_before_step`` and before the step, as
            ``torch.nn.utils.clip_grad_norm_`` does; the norm before clipping is
            logged as ``"grad_norm"`` in the batch logs.
        divergence_factor: With ``terminate_on_nan``, a batch loss above this
            many times the lowest epoch loss so far (the first batch's loss
            during the first epoch) counts as divergence too, handled as NaN
            is; ``None`` watches for NaN and inf only. Batches of one or two
            samples from a very large data set may need a larger factor.

    Returns:
        The History: ``history.history["loss"]``, ``["val_loss"]``, metrics.
        Training and validation values are means over the epoch's samples
        (training ones measured on each batch before its step, as Keras does).

    Everything that can be checked before the first step is, so that these
    errors leave the model untouched: the data against the model's input
    shape (``validation_data`` too, named as such), every target against the
    loss (a class label out of range is reported with its row of ``y``), and
    the optimizer's parameters against the model's trainable ones.

    Raises:
        ValueError: X and y of different lengths, empty data, ``batch_size <= 0``,
            ``validation_split`` outside (0, 1), an unknown metric name,
            non-finite values in the data, targets the loss refuses, an
            optimizer holding parameters that are not the model's.
        ShapeError: inputs that do not suit the model.
        TypeError: arguments of the wrong kind.

    Warns:
        DivergenceWarning: the loss became NaN or inf, or grew beyond
            ``divergence_factor``; training stopped.
    """
    check_model_and_loss("fit", model, loss, loss_required=True)
    check_optimizer("fit", optimizer)
    check_optimizer_parameters("fit", model, optimizer)
    epochs = positive_int("fit", "epochs", epochs)
    batch_size = check_batch_size("fit", batch_size)
    if verbose not in (0, 1, 2):
        raise ValueError(f"fit: verbose must be 0, 1 or 2, received {verbose!r}")
    if log_every is None:
        log_every = max(1, epochs // 10)
    progress = make_progress(verbose, positive_int("fit", "log_every", log_every))
    named_metrics = as_metrics(metrics)
    user_callbacks = as_callbacks(callbacks)
    clip = (
        None if clip_grad_norm is None else positive_float("fit", "clip_grad_norm", clip_grad_norm)
    )
    factor = _factor(divergence_factor)
    data = _training_data(model, loss, (X, y, sample_weight), class_weight)
    data, validation = split_validation(model, data, validation_data, validation_split)
    if validation is not None and validation_data is not None:
        check_targets("fit", _VALIDATION, model, loss, validation)
    inputs, targets, _ = data
    batches = _batches(data, batch_size, shuffle, generator("fit", rng))
    settings = {
        "epochs": epochs,
        "batch_size": batch_size,
        "samples": len(targets),
        "steps_per_epoch": len(batches),
        "metrics": [m for m, _ in named_metrics],
    }
    state = TrainingState(model, optimizer, epochs, len(batches), params=settings)
    history = state.history = History(settings)
    # backups run after every callback and the History recorder: they store the epoch as
    # all of them left it
    backups = [c for c in user_callbacks if isinstance(c, BackupAndRestore)]
    others = [c for c in user_callbacks if not isinstance(c, BackupAndRestore)]
    everyone = [*others, HistoryRecorder(history), *backups, *([progress] if progress else [])]
    state.callbacks, state.rngs = everyone, {"shuffle": batches.rng}
    guard = state.guard = LossGuard(optimizer.params, factor) if terminate_on_nan else None
    run = Run(
        model,
        loss,
        optimizer,
        batches,
        validation,
        named_metrics,
        batch_size,
        CallbackList(everyone, state),
        state,
        history,
        guard,
        inputs=len(inputs),
        clip_grad_norm=clip,
    )
    was_training = model.training
    try:
        train_epochs(run)
    finally:
        model.train(was_training)
    return history


def _batches(
    data: Data, batch_size: int | None, shuffle: bool, rng: np.random.Generator
) -> Batches:
    """The training batches: inputs, targets, weights; shuffled for mini-batches only."""
    inputs, targets, weight = data
    mini = batch_size is not None and batch_size < len(targets)
    extra = [] if weight is None else [weight]
    return Batches(
        *inputs, targets, *extra, batch_size=batch_size, shuffle=shuffle and mini, rng=rng
    )


def _factor(divergence_factor: float | None) -> float | None:
    if divergence_factor is None:
        return None
    factor = positive_float("fit", "divergence_factor", divergence_factor)
    if factor <= 1:
        raise ValueError(
            f"fit: divergence_factor must be > 1 (or None), received {divergence_factor!r}"
        )
    return factor


def _training_data(
    model: Layer, loss: Loss, given: tuple[Any, Any, Any], class_weight: Mapping[int, float] | None
) -> Data:
    """The checked training data, class weights folded into the sample weights, all of y checked."""
    inputs, targets, weight = as_dataset("fit", ("X", "y"), model, given)
    if class_weight is not None:
        per_row = class_sample_weight("fit", class_weight, targets)
        weight = per_row if weight is None else weight * per_row
    data = (inputs, targets, weight)
    check_targets("fit", ("X", "y"), model, loss, data)
    return data
