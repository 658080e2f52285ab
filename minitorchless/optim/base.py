"""The ``Optimizer`` base class."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minitorchless._checks import positive_float
from minitorchless.parameter import Parameter

__all__ = ["Optimizer"]


class Optimizer(ABC):
    """Updates parameters in place from their gradients.

    Args:
        parameters: The parameters to train, usually ``model.parameters()``.
            Duplicates are kept once.
        lr: The learning rate, > 0. Schedules change ``optimizer.lr`` between epochs.

    Per-parameter state (momentum buffers, moment estimates) lives in
    ``self.state``, keyed by the ``Parameter`` object, in the parameter's dtype.
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

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zero."""
        for parameter in self.params:
            parameter.grad.fill(0)

    @abstractmethod
    def step(self) -> None:
        """Update every parameter once from its current gradient."""

    def _buffer(self, parameter: Parameter, key: str) -> NDArray[Any]:
        """A zero-initialised state array of the parameter's shape and dtype."""
        slots = self.state.setdefault(parameter, {})
        if key not in slots:
            slots[key] = np.zeros_like(parameter.value)
        return slots[key]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr}, parameters={len(self.params)})"
