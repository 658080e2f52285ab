"""Gradient clipping, between ``backward`` and ``optimizer.step()``."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from minitorchless._checks import positive_float
from minitorchless.parameter import Parameter

__all__ = ["clip_grad_norm", "clip_grad_value"]


def _trainable(owner: str, parameters: Parameter | Iterable[Parameter]) -> list[Parameter]:
    """The parameters whose gradients are clipped: all but the frozen ones."""
    items = [parameters] if isinstance(parameters, Parameter) else list(parameters)
    for item in items:
        if not isinstance(item, Parameter):
            raise TypeError(
                f"{owner}: expected Parameter objects (model.parameters()), "
                f"received {type(item).__name__}"
            )
    return [item for item in items if item.requires_grad]


def _at_least(name: str, value: Any, *, allow_zero: bool) -> float:
    """``value`` as a float if it is a number > 0 (>= 0 with ``allow_zero``); inf is allowed."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"clip_grad_norm: {name} must be a number, received {value!r}")
    number = float(value)
    if not (number >= 0 if allow_zero else number > 0):  # also refuses NaN
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"clip_grad_norm: {name} must be {bound} or inf, received {value!r}")
    return number


def _vector_norm(values: np.ndarray[Any, Any], norm_type: float) -> float:
    """The ``norm_type``-norm of all the entries of ``values``, as a float."""
    magnitudes = np.abs(values.astype(np.float64, copy=False))
    if norm_type == math.inf:
        return float(magnitudes.max(initial=0.0))
    if norm_type == 2:
        return float(np.sqrt(np.dot(magnitudes.ravel(), magnitudes.ravel())))
    return float(np.sum(magnitudes**norm_type) ** (1 / norm_type))


def clip_grad_norm(
    parameters: Parameter | Iterable[Parameter],
    max_norm: float,
    norm_type: float = 2.0,
    *,
    error_if_nonfinite: bool = False,
) -> float:
    """Scale the gradients, in place, so that their joint norm is at most ``max_norm``.

    As PyTorch's ``torch.nn.utils.clip_grad_norm_``: the total norm is the
    norm of the vector of every gradient's norm (the norm of all gradients
    joined into one vector), and when it exceeds ``max_norm`` every gradient
    is multiplied by ``max_norm / (total_norm + 1e-6)``. Frozen parameters
    are left out. A non-finite total norm makes every gradient non-finite, as
    in PyTorch, unless ``error_if_nonfinite`` raises first.

    Args:
        parameters: The parameters whose gradients to clip, or one parameter.
        max_norm: The largest total norm, >= 0; ``math.inf`` only measures it.
        norm_type: The order of the norm, > 0; ``math.inf`` for the largest
            absolute entry.
        error_if_nonfinite: Raise rather than scale when the total norm is
            NaN or infinite.

    Returns:
        The total norm before clipping, as a Python float.

    Raises:
        ValueError: ``max_norm`` or ``norm_type`` is out of range, or the norm is
            not finite and ``error_if_nonfinite`` is set.
    """
    params = _trainable("clip_grad_norm", parameters)
    max_norm = _at_least("max_norm", max_norm, allow_zero=True)  # inf: measure, never clip
    order = _at_least("norm_type", norm_type, allow_zero=False)
    norms = np.array([_vector_norm(parameter.grad, order) for parameter in params])
    total = _vector_norm(norms, order)
    if error_if_nonfinite and not math.isfinite(total):
        raise ValueError(
            f"clip_grad_norm: the total norm of order {order} of the gradients is {total}; "
            f"pass error_if_nonfinite=False to clip anyway"
        )
    coefficient = max_norm / (total + 1e-6)
    if not coefficient >= 1:  # also when NaN, which spreads to every gradient as in PyTorch
        with np.errstate(invalid="ignore"):  # inf * 0 is NaN there too: no warning
            for parameter in params:
                parameter.grad *= coefficient
    return total


def clip_grad_value(parameters: Parameter | Iterable[Parameter], clip_value: float) -> None:
    """Clamp every gradient entry, in place, to ``[-clip_value, clip_value]``.

    As PyTorch's ``torch.nn.utils.clip_grad_value_``; frozen parameters are
    left out and NaN entries stay NaN.

    Args:
        parameters: The parameters whose gradients to clip, or one parameter.
        clip_value: The largest absolute value of an entry, >= 0.
    """
    params = _trainable("clip_grad_value", parameters)
    bound = positive_float("clip_grad_value", "clip_value", clip_value, allow_zero=True)
    for parameter in params:
        np.clip(parameter.grad, -bound, bound, out=parameter.grad)
