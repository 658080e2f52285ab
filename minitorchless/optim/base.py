"""The ``Optimizer`` base class."""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minitorchless._checks import positive_float
from minitorchless.parameter import Parameter

__all__ = ["Optimizer", "fraction", "running_average"]


def fraction(owner: str, name: str, value: Any) -> float:
    """Return ``value`` as a float if it lies in [0, 1), else raise naming ``owner`` and ``name``.

    Decay rates (Adam's betas, RMSprop's alpha) live here: 1 would freeze the
    running average at its zero start.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a number in [0, 1), received {value!r}")
    number = float(value)
    if not 0 <= number < 1:  # also refuses NaN, for which every comparison is False
        raise ValueError(f"{owner}: {name} must be in [0, 1), received {value!r}")
    return number


def running_average(average: NDArray[Any], value: NDArray[Any], decay: float) -> None:
    """``average <- decay * average + (1 - decay) * value``, in place.

    Written as ``value + decay * (average - value)``, which needs no temporary
    array: the moment estimates of Adam and RMSprop are updated this way.
    """
    average -= value
    average *= decay
    average += value


class Optimizer(ABC):
    """Updates parameters in place from their gradients.

    Args:
        parameters: The parameters to train, usually ``model.parameters()``.
            Duplicates are kept once.
        lr: The learning rate, > 0. Schedules change ``optimizer.lr`` between epochs.

    Per-parameter state (momentum buffers, moment estimates) lives in
    ``self.state``, keyed by the ``Parameter`` object, in the parameter's dtype.

    Subclasses update ``parameter.value`` in place with in-place NumPy
    operations; intermediate results go to work arrays from ``_scratch``, which
    are allocated once and reused by every parameter and every step.
    """

    def __init__(self, parameters: Iterable[Parameter], lr: float) -> None:
        name = type(self).__name__
        if isinstance(parameters, Parameter):
            parameters = [parameters]
        unique: dict[int, Parameter] = {}
        for parameter in parameters:
            if not isinstance(parameter, Parameter):
                raise TypeError(
                    f"{name}: expected Parameter objects (model.parameters()), "
                    f"received {type(parameter).__name__}"
                )
            unique.setdefault(id(parameter), parameter)
        if not unique:
            raise ValueError(
                f"{name}: received an empty parameter list; pass model.parameters() "
                f"of a model that has trainable parameters"
            )
        self.params: list[Parameter] = list(unique.values())
        self.lr = positive_float(name, "lr", lr)
        self.state: dict[Parameter, dict[str, NDArray[Any]]] = {}
        self._work: dict[tuple[np.dtype[Any], int], NDArray[Any]] = {}

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zero."""
        for parameter in self.params:
            parameter.zero_grad()

    def reset_state(self) -> None:
        """Forget every running statistic (momentum, moment estimates, step counts).

        ``fit`` calls this when it rolls the weights back after a divergence:
        state that has seen the diverging gradients would push the restored
        weights straight back out.
        """
        self.state.clear()

    @abstractmethod
    def step(self) -> None:
        """Update every parameter once from its current gradient."""

    def _l2_gradient(self, parameter: Parameter, weight_decay: float, index: int) -> NDArray[Any]:
        """``grad + weight_decay * w`` in work array ``index`` (an L2 penalty's gradient)."""
        grad: NDArray[Any] = np.multiply(
            parameter.value, weight_decay, out=self._scratch(parameter, index)
        )
        grad += parameter.grad
        return grad

    def _buffer(self, parameter: Parameter, key: str) -> NDArray[Any]:
        """A zero-initialised state array of the parameter's shape and dtype."""
        slots = self.state.setdefault(parameter, {})
        if key not in slots:
            slots[key] = np.zeros_like(parameter.value)
        return slots[key]

    def _scratch(self, parameter: Parameter, index: int = 0) -> NDArray[Any]:
        """Work array ``index`` in the parameter's shape and dtype; its contents are arbitrary.

        One flat buffer per (dtype, index) serves every parameter through a
        reshaped view, so a step allocates nothing. The view is overwritten by
        the next call with the same dtype and index.
        """
        key = (parameter.dtype, index)
        buffer = self._work.get(key)
        if buffer is None or buffer.size < parameter.size:
            largest = max(
                [p.size for p in self.params if p.dtype == parameter.dtype] + [parameter.size]
            )
            buffer = self._work[key] = np.empty(largest, dtype=parameter.dtype)
        return buffer[: parameter.size].reshape(parameter.shape)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr}, parameters={len(self.params)})"
