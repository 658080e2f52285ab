"""The minitorchless contenders: the user's loop, written out, and ``fit``.

The explicit loops are the loop of the README, call for call, as a user
writes it with the documented API:

- ``model(inputs)``, ``loss_fn(predictions, targets)``,
  ``optimizer.zero_grad()``, then ``model.backward(loss_fn.backward())`` (the
  README's loop) or ``model.backward_parameters(loss_fn.backward())`` (the
  documented call for a training step, which skips the gradient for the data),
  then ``optimizer.step()``;
- mini-batches come from ``mtl.data.Batches(..., shuffle=True)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

import minitorchless as mtl

__all__ = [
    "Backward",
    "build_mlp",
    "explicit_epochs",
    "explicit_loop",
    "explicit_minibatch_epoch",
    "fit",
]

Array = NDArray[Any]
Backward = Literal["backward", "backward_parameters"]


def build_mlp(
    sizes: list[int],
    activation: type[mtl.Layer],
    weights: list[Array],
    *,
    bias: bool,
    dtype: Any,
) -> mtl.Sequential:
    """``Dense, activation, ..., Dense`` (+ a final activation for sigmoid nets) with ``weights``.

    The classic sigmoid network ends in a sigmoid; the ReLU nets end in the
    logits that ``CrossEntropyLoss`` takes.
    """
    layers: list[mtl.Layer] = []
    for index, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(mtl.Dense(fan_in, fan_out, bias=bias, dtype=dtype, init="zeros"))
        if index < len(sizes) - 2 or activation is mtl.Sigmoid:
            layers.append(activation())
    model = mtl.Sequential(*layers)
    for parameter, value in zip(model.parameters(), weights, strict=True):
        parameter.value[...] = value
    return model


def explicit_loop(
    model: mtl.Layer,
    loss_fn: mtl.Loss,
    optimizer: mtl.Optimizer,
    batches: Iterable[tuple[Array, Array]],
    *,
    backward: Backward,
) -> float:
    """The README's loop, call for call, over ``batches``; returns the last loss."""
    # the backward call is chosen once, outside the loop, like the user's own code
    backward_step = model.backward if backward == "backward" else model.backward_parameters
    loss = 0.0
    for inputs, targets in batches:
        predictions = model(inputs)
        loss = loss_fn(predictions, targets)
        optimizer.zero_grad()
        backward_step(loss_fn.backward())
        optimizer.step()
    return loss


def explicit_epochs(
    model: mtl.Layer,
    loss_fn: mtl.Loss,
    optimizer: mtl.Optimizer,
    X: Array,
    Y: Array,
    *,
    epochs: int,
    backward: Backward = "backward",
) -> float:
    """Full-batch epochs of the README's loop; returns the last loss."""
    full_batch = itertools.repeat((X, Y), epochs)
    return explicit_loop(model, loss_fn, optimizer, full_batch, backward=backward)


def explicit_minibatch_epoch(
    model: mtl.Layer,
    loss_fn: mtl.Loss,
    optimizer: mtl.Optimizer,
    batches: mtl.data.Batches,
    *,
    backward: Backward = "backward_parameters",
) -> float:
    """One epoch of the README's loop over shuffled mini-batches; returns the last loss."""
    return explicit_loop(model, loss_fn, optimizer, batches, backward=backward)


def fit(
    model: mtl.Layer,
    loss_fn: mtl.Loss,
    optimizer: mtl.Optimizer,
    X: Array,
    Y: Array,
    *,
    epochs: int,
    batch_size: int | None,
    rng: np.random.Generator,
    terminate_on_nan: bool = True,
) -> float:
    """``mtl.fit``, silent, with its defaults unless ``terminate_on_nan`` says otherwise.

    Returns the last epoch's loss.
    """
    history = mtl.fit(
        model,
        X,
        Y,
        loss=loss_fn,
        optimizer=optimizer,
        epochs=epochs,
        batch_size=batch_size,
        verbose=0,
        rng=rng,
        terminate_on_nan=terminate_on_nan,
    )
    return float(history.history["loss"][-1])
