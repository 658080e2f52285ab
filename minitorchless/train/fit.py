"""``fit``: the training loop of the user's guide, run over mini-batches, written once.

``fit`` checks everything it is given, builds a :class:`~minitorchless.train.loop.Run`
and hands it to :func:`~minitorchless.train.loop.train_epochs`. Around the
five-line loop it adds what every real run needs: shuffling, validation,
metrics, callbacks, progress, and a guard against divergence.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike

from minitorchless._checks import generator, positive_int
from minitorchless.data import Batches, num_samples
from minitorchless.layers.base import Layer
from minitorchless.losses import Loss
from minitorchless.metrics import Metric
from minitorchless.optim.base import Optimizer
from minitorchless.train.arguments import (
    as_callbacks,
    as_data,
    as_metrics,
    check_batch_size,
    check_model_and_loss,
    check_optimizer,
    split_validation,
)
from minitorchless.train.callbacks import Callback, CallbackList, TrainingState
from minitorchless.train.divergence import Snapshot
from minitorchless.train.history import History
from minitorchless.train.loop import HistoryRecorder, Run, train_epochs
from minitorchless.train.progress import make_progress
from minitorchless.train.scheduling import Schedule

__all__ = ["fit"]


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
    check_model_and_loss("fit", model, loss, loss_required=True)
    check_optimizer("fit", optimizer)
    epochs = positive_int("fit", "epochs", epochs)
    batch_size = check_batch_size("fit", batch_size)
    if verbose not in (0, 1, 2):
        raise ValueError(f"fit: verbose must be 0, 1 or 2, received {verbose!r}")
    if log_every is None:
        log_every = max(1, epochs // 10)
    progress = make_progress(verbose, positive_int("fit", "log_every", log_every))
    named_metrics = as_metrics(metrics)
    user_callbacks = as_callbacks(callbacks)

    num_samples("fit", X, y, names=("X", "y"))
    X, y = as_data("fit", "X", X, model), as_data("fit", "y", y, model)
    X, y, validation = split_validation(model, X, y, validation_data, validation_split)
    mini = batch_size is not None and batch_size < len(X)
    batches = Batches(
        X, y, batch_size=batch_size, shuffle=shuffle and mini, rng=generator("fit", rng)
    )
    settings = {
        "epochs": epochs,
        "batch_size": batch_size,
        "samples": len(X),
        "steps_per_epoch": len(batches),
        "metrics": [m for m, _ in named_metrics],
    }
    state = TrainingState(model, optimizer, epochs, len(batches), params=settings)
    history = state.history = History(settings)
    everyone = [*user_callbacks, HistoryRecorder(history), *([progress] if progress else [])]
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
        Snapshot(optimizer.params) if terminate_on_nan else None,
    )
    was_training = model.training
    try:
        train_epochs(run)
    finally:
        model.train(was_training)
    return history
