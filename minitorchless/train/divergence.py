"""Divergence: what ``fit`` does when the loss becomes NaN or infinite, or explodes.

A loss can diverge and stay finite: from 1.7 to three million, oscillating
there for ever. ``LossGuard`` therefore also calls it divergence when a
batch's loss exceeds ``divergence_factor`` times the lowest epoch loss so far.

The loss of a batch is measured on the forward pass *before* that batch's
optimizer step, so a non-finite loss at batch k convicts the weights that step
k-1 produced. Going back therefore needs the weights from before step k-1,
which ``Snapshot`` keeps. The optimizer's running state (momentum, moment
estimates) has seen the diverging gradients, so it is reset too.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minitorchless.parameter import Parameter
from minitorchless.train.callbacks import TrainingState
from minitorchless.train.history import History

__all__ = ["DivergenceWarning", "LossGuard", "Snapshot", "diverged"]


class DivergenceWarning(RuntimeWarning):
    """Training stopped because the loss became NaN or infinite, or exploded.

    ``fit`` warns rather than raises, on purpose: a diverged run still has
    results worth keeping (the History of every completed epoch, and a model
    holding the last weights that gave a finite loss), and an exception would
    throw the History away. Divergence is an outcome of the hyperparameters,
    like early stopping, not a misuse of the API. To make it an error, use
    ``warnings.simplefilter("error", mtl.DivergenceWarning)``; to detect it,
    check ``history.diverged``.
    """


class Snapshot:
    """A copy of the parameters from before the latest optimizer step.

    When the loss of batch k is NaN or inf, the weights that produced it came
    from step k-1, so the weights to go back to are the ones from *before*
    step k-1: the last weights whose loss was measured and found finite. The
    copy goes into buffers allocated once, so each step costs one ``memcpy`` of
    the parameters (its cost is measured in ``docs/performance.md``).
    ``fit(..., terminate_on_nan=False)`` saves it.
    """

    def __init__(self, parameters: Sequence[Parameter]) -> None:
        self.parameters = parameters
        self.buffers: list[NDArray[Any]] | None = None

    def save(self) -> None:
        if self.buffers is None:
            self.buffers = [parameter.value.copy() for parameter in self.parameters]
            return
        for buffer, parameter in zip(self.buffers, self.parameters, strict=True):
            buffer[...] = parameter.value

    def restore(self) -> bool:
        """Write the copy back into the parameters; False if no step was taken yet."""
        if self.buffers is None:
            return False
        for buffer, parameter in zip(self.buffers, self.parameters, strict=True):
            np.copyto(parameter.value, buffer)
        return True


class LossGuard:
    """The divergence guard of one run: the rollback point and the loss limit.

    A batch's loss counts as divergence when it is NaN or inf, or when it
    exceeds ``factor`` times the *reference*: the lowest epoch loss so far
    (the mean over an epoch's batches), or the first batch's loss during the
    first epoch. An epoch mean, rather than the best single batch, keeps a
    lucky batch from setting a limit that ordinary noise exceeds.

    Args:
        parameters: The parameters the optimizer changes.
        factor: The growth that counts as divergence; ``None`` watches for NaN
            and inf only.

    Attributes:
        snapshot: The weights from before the latest step.
        reference: The loss the limit is relative to (``inf`` before any).
        limit: The batch loss that counts as divergence (``inf`` without a factor).
    """

    def __init__(self, parameters: Sequence[Parameter], factor: float | None) -> None:
        self.snapshot = Snapshot(parameters)
        self.factor = factor
        self.started = False
        self.reference = math.inf
        self.limit = math.inf

    def lower(self, value: float) -> None:
        """Take ``value`` (the first batch's loss, an epoch's) as the reference if it is lower."""
        self.started = True
        if value < self.reference:
            self.reference = value
            if self.factor is not None:
                self.limit = self.factor * value

    def cause(self, value: float) -> str:
        """Why ``value`` counts as divergence, in words."""
        if not math.isfinite(value):
            return f"the training loss became {value}"
        return (
            f"the training loss grew to {value:.4g}, more than divergence_factor="
            f"{self.factor:g} times its lowest so far ({self.reference:.4g})"
        )


def diverged(
    history: History,
    state: TrainingState,
    snapshot: Snapshot,
    value: float,
    epoch: int,
    batch: int,
    batches: int,
    *,
    cause: str | None = None,
) -> None:
    """Go back to the last finite weights, record why, and warn.

    ``cause`` replaces "the training loss became <value>" in the messages.
    """
    restored = snapshot.restore()
    # momentum or moments that saw the diverging gradients would undo the rollback
    state.optimizer.reset_state()
    where = f"epoch {epoch + 1} (of {state.epochs}), batch {batch + 1} (of {batches})"
    what = cause if cause is not None else f"the training loss became {value}"
    history.diverged = True
    state.stop_requested = True
    state.stop_reason = f"diverged: {what} at {where}"
    kept = (
        "the model keeps the weights from before the last step, the last ones with a "
        "finite loss, and the optimizer's running state is reset"
        if restored
        else "no step had been taken: the initial weights already give this loss"
    )
    warnings.warn(
        f"fit: {what} at {where}; training stopped and {kept}. "
        f"Try a lower learning rate (the optimizer's lr is {state.optimizer.lr:g}), "
        f"or check the data and the loss for values that overflow.",
        DivergenceWarning,
        stacklevel=3,
    )
