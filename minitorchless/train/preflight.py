"""What ``fit`` checks before its first step, so that a misuse fails with the weights untouched.

Three things would otherwise show up only after steps had changed the model,
or never:

- data that does not suit the model: ``X`` (or the validation inputs) of the
  wrong width, found by ``model.output_shape`` without computing anything;
- targets that do not suit the loss, such as a class label out of range: the
  loss is evaluated once on all of ``y``, in its original order, against a
  placeholder of the model's output shape, so the error names the row of ``y``
  rather than a position in a shuffled batch;
- an optimizer that holds parameters which are not the model's trainable
  ones (built on another model, or on frozen parameters): it would train
  nothing, silently.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from minitorchless.errors import ShapeError
from minitorchless.layers.base import Layer
from minitorchless.losses import Loss
from minitorchless.optim.base import Optimizer

__all__ = ["check_optimizer_parameters", "check_targets"]


def check_optimizer_parameters(owner: str, model: Layer, optimizer: Optimizer) -> None:
    """Refuse an optimizer holding a parameter that is not among ``model.parameters()``.

    An optimizer on a *subset* of them is accepted: training only some
    parameters (a new head on a fixed body) is a legitimate use.
    """
    trainable = {id(parameter) for parameter in model.parameters()}
    foreign = [p for p in optimizer.params if id(p) not in trainable]
    if not foreign:
        return
    frozen = {id(p) for _, p in model.named_parameters() if not p.requires_grad}
    some_frozen = sum(id(p) in frozen for p in foreign)
    detail = f" ({some_frozen} of them frozen parameters of the model)" if some_frozen else ""
    raise ValueError(
        f"{owner}: {len(foreign)} of the optimizer's {len(optimizer.params)} parameters are "
        f"not trainable parameters of the model{detail}, received "
        f"{type(optimizer).__name__} over {[p.shape for p in foreign][:4]}; build the "
        f"optimizer on model.parameters() of the model being trained"
    )


def _output_shape(owner: str, what: str, model: Layer, inputs: tuple[NDArray[Any], ...]) -> Any:
    shapes = [(None, *array.shape[1:]) for array in inputs]
    try:
        return model.output_shape(shapes[0] if len(shapes) == 1 else shapes)
    except ShapeError as err:
        raise ShapeError(f"{owner}: {what} does not suit the model: {err}") from None


def check_targets(
    owner: str,
    what: tuple[str, str],
    model: Layer,
    loss: Loss,
    data: tuple[tuple[NDArray[Any], ...], NDArray[Any], NDArray[Any] | None],
) -> None:
    """Check inputs against the model and all targets against the loss, computing no model.

    ``what`` names the inputs and targets in messages (``("X", "y")`` or the
    validation data's names); ``data`` is ``(inputs, targets, sample_weight)``.
    """
    inputs, targets, weight = data
    shape = _output_shape(owner, what[0], model, inputs)
    if isinstance(shape, list):
        raise TypeError(
            f"{owner}: {type(model).__name__} has {len(shape)} outputs; fit trains a model "
            f"with one output (see 'Several outputs' in docs/training.md)"
        )
    # (..., 4) has unknown leading axes: only a shape that starts with the batch axis will do
    known = isinstance(shape, tuple) and len(shape) > 1 and shape[0] is not Ellipsis
    sample = tuple(shape[1:]) if known else ()
    if not sample or not all(isinstance(size, int) for size in sample):
        return  # the output shape is not known in advance: the loss checks each batch
    # a read-only placeholder of the outputs' shape: one row of zeros, broadcast
    zeros = np.zeros((1, *sample), dtype=model.dtype or np.float64)
    placeholder = np.broadcast_to(zeros, (len(targets), *sample))
    try:
        with np.errstate(all="ignore"):
            loss(placeholder, targets, sample_weight=weight)
    except (ValueError, TypeError) as err:
        kind = type(err)
        raise kind(
            f"{owner}: {what[1]} (in its original row order) does not suit "
            f"{type(loss).__name__} and the model's outputs {(None, *sample)}: {err}"
        ) from None
