"""The training loop itself: epochs of batches, each batch the five-line loop of the guide.

``fit`` checks its arguments and builds a :class:`Run`; :func:`train_epochs`
then runs it. Reading from the bottom up: :func:`train_step` is the loop of
the README (forward, loss, zero_grad, backward, step), :func:`run_epoch`
runs it over the batches and validates, :func:`train_epochs` repeats epochs
until the end or a stop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minitorchless.data import Batches
from minitorchless.layers.base import Layer
from minitorchless.losses import Loss
from minitorchless.metrics import Metric
from minitorchless.optim.base import Optimizer
from minitorchless.optim.clip import clip_grad_norm
from minitorchless.train.callbacks import Callback, CallbackList, Logs, TrainingState
from minitorchless.train.divergence import LossGuard, diverged
from minitorchless.train.evaluate import Means, evaluate_batches
from minitorchless.train.history import History
from minitorchless.train.inputs import Data

__all__ = ["HistoryRecorder", "Run", "run_epoch", "train_epochs", "train_step"]


@dataclass
class Run:
    """Everything one ``fit`` call trains with, checked and ready.

    Attributes:
        model, loss, optimizer: What is trained, against what, by what.
        batches: The training batches (re-iterable: one pass per epoch): the
            model's inputs, then the targets, then the sample weights if any.
        validation: Held-out data to score after every epoch, or ``None``.
        metrics: ``(name, function)`` pairs computed on every batch.
        batch_size: The size asked for, also used for validation.
        callbacks: The user's callbacks, then the History recorder and progress.
        state: What the callbacks share with the loop.
        history: What ``fit`` returns.
        guard: The divergence guard: the weights before the latest step and the
            loss limit (``None`` when ``terminate_on_nan`` is off).
        inputs: How many arrays the model takes.
        clip_grad_norm: The bound on the gradients' total norm, or ``None``.
        epoch, batch: Where the loop is (from 0), for messages.
    """

    model: Layer
    loss: Loss
    optimizer: Optimizer
    batches: Batches
    validation: Data | None
    metrics: list[tuple[str, Metric]]
    batch_size: int | None
    callbacks: CallbackList
    state: TrainingState
    history: History
    guard: LossGuard | None
    inputs: int = 1
    clip_grad_norm: float | None = None
    epoch: int = 0
    batch: int = 0


class HistoryRecorder(Callback):
    """Records each epoch's logs into the History, after the user's callbacks added theirs."""

    def __init__(self, history: History) -> None:
        super().__init__()
        self.history = history

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        self.history.record(epoch, logs)


def _diverge(run: Run, value: float, cause: str | None) -> None:
    assert run.guard is not None
    diverged(
        run.history,
        run.state,
        run.guard.snapshot,
        value,
        run.epoch,
        run.batch,
        len(run.batches),
        cause=cause,
    )


def train_step(run: Run, batch: tuple[NDArray[Any], ...], logs: Logs) -> bool:
    """One optimizer step on one batch; ``False`` (and no step) if its loss diverged.

    ``batch`` holds the model's inputs, the targets and, if any, the sample
    weights. The loss of the batch and its metrics go into ``logs``. The
    backward is ``backward_parameters``: the gradients of ``backward``
    without the one for the data, which nobody reads.
    """
    count = run.inputs
    targets = batch[count]
    predictions = run.model(batch[0] if count == 1 else list(batch[:count]))
    weight = batch[count + 1] if len(batch) > count + 1 else None
    value = run.loss(predictions, targets, weight)
    guard = run.guard
    if guard is not None:
        if not math.isfinite(value) or value > guard.limit:
            _diverge(run, value, guard.cause(value))
            return False
        if not guard.started:
            guard.lower(value)
    logs["loss"] = value
    for name, metric in run.metrics:
        logs[name] = metric(predictions, targets)
    run.optimizer.zero_grad()
    run.model.backward_parameters(run.loss.backward())
    if run.callbacks.before_step:
        run.callbacks.on_before_step(run.batch, logs)
    if run.clip_grad_norm is not None:
        logs["grad_norm"] = clip_grad_norm(run.optimizer.params, run.clip_grad_norm)
    if guard is not None:
        guard.snapshot.save()  # the weights this step changes: the rollback point
    run.optimizer.step()
    return True


def run_epoch(run: Run, epoch: int) -> Logs | None:
    """Train one epoch and validate; return its logs, or ``None`` if training diverged."""
    run.epoch = epoch
    logs: Logs = {}
    run.callbacks.on_epoch_begin(epoch, logs)
    if not run.model.training:
        run.model.train()  # a callback switched the model to eval mode: train it again
    means = Means(["loss", *(name for name, _ in run.metrics)])
    for index, batch in enumerate(run.batches):
        run.batch = index
        size = len(batch[0])
        batch_logs: Logs = {"batch_size": float(size)}
        run.callbacks.on_batch_begin(index, batch_logs)
        if not train_step(run, batch, batch_logs):
            return None
        means.add(batch_logs, size)
        run.callbacks.on_batch_end(index, batch_logs)
        if run.state.stop_requested:
            break
    # means over the samples seen: all of them unless a callback stopped mid-epoch
    logs.update(means.values)
    if run.guard is not None:
        run.guard.lower(logs["loss"])
    if run.validation is not None:
        scores = evaluate_batches(run.model, run.validation, run.loss, run.metrics, run.batch_size)
        logs.update({f"val_{name}": value for name, value in scores.items()})
    run.callbacks.on_epoch_end(epoch, logs)
    return logs


def _check_last_step(run: Run) -> None:
    """Judge the last step's weights, which no later loss did."""
    if run.guard is None or run.history.diverged:
        return
    if not all(np.isfinite(parameter.value).all() for parameter in run.optimizer.params):
        _diverge(run, math.nan, "the weights became NaN or inf in the last step")


def train_epochs(run: Run) -> Logs:
    """Run every epoch of ``run`` until the last, a stop or a divergence; return the last logs.

    ``on_train_begin`` and ``on_train_end`` frame it, and ``on_train_end``
    runs however training ends, an exception or Ctrl-C included, so that a
    callback such as ``EarlyStopping(restore_best_weights=True)`` can put
    the best weights back.
    """
    logs: Logs = {}
    try:
        run.callbacks.on_train_begin(logs)
        run.model.train()
        # overflow is expected when training diverges; it is reported once, as a
        # DivergenceWarning, instead of as NumPy noise. One context for the whole
        # run: entering one per batch costs as much as a small layer's forward
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # a BackupAndRestore resuming a run has moved initial_epoch on in on_train_begin
            for epoch in range(run.state.initial_epoch, run.state.epochs):
                epoch_logs = run_epoch(run, epoch)
                if epoch_logs is None:  # diverged: the epoch is not recorded
                    break
                logs = epoch_logs
                if run.state.stop_requested:
                    break
            # every step's weights are judged by the next batch's loss, except the last
            # step's: check those once, here, rather than paying a pass every epoch
            _check_last_step(run)
    except BaseException as err:
        run.state.interrupted = True
        if run.state.stop_reason is None:
            run.state.stop_reason = f"interrupted by {type(err).__name__}"
        raise
    finally:
        run.history.stop_reason = run.state.stop_reason
        run.callbacks.on_train_end(logs)
    return logs
