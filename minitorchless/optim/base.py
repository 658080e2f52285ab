"""The ``Optimizer`` base class."""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minitorchless._checks import positive_float
from minitorchless.optim.groups import group_parameters, split_groups
from minitorchless.optim.state import TORCH_OPTIONS, export_state, read_groups, read_state
from minitorchless.parameter import Parameter

__all__ = ["GroupOption", "Optimizer", "fraction", "running_average"]


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


class GroupOption:
    """An optimizer attribute backed by the parameter groups.

    Reading gives the first group's value; assigning sets it in every group.
    ``optimizer.lr = 0.01`` therefore changes the rate of all groups, and
    ``optimizer.param_groups[i]["lr"]`` that of one.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, optimizer: Optimizer | None, owner: type | None = None) -> Any:
        if optimizer is None:
            return self
        return optimizer.param_groups[0][self.name]

    def __set__(self, optimizer: Optimizer, value: Any) -> None:
        for group in optimizer.param_groups:
            group[self.name] = value


class Optimizer(ABC):
    """Updates parameters in place from their gradients.

    Args:
        parameters: The parameters to train, usually ``model.parameters()``;
            or a list of parameter groups as PyTorch takes them: dicts with a
            ``"params"`` entry and hyper-parameters that override the
            optimizer's arguments for that group. A parameter listed twice in
            one group is kept once; a parameter in two groups is an error.
        defaults: The hyper-parameters a group gets unless it sets its own.

    Attributes:
        param_groups: One dict per group: its hyper-parameters and, under
            ``"params"``, its list of ``Parameter`` objects. Schedules set the
            groups' ``"lr"``.
        defaults: The hyper-parameters given to the constructor.
        state: Per-parameter state (momentum buffers, moment estimates, step
            counts), keyed by the ``Parameter`` object; arrays in the
            parameter's dtype.

    A frozen parameter (``requires_grad=False``) may stay in a group: it gets
    no update and no state until it is unfrozen.

    Subclasses update ``parameter.value`` in place with in-place NumPy
    operations; intermediate results go to work arrays from ``_scratch``, which
    are allocated once and reused by every parameter and every step.
    """

    lr = GroupOption()  # the first group's rate; assigning sets every group's
    _state_names: frozenset[str] = frozenset()  # the names step() keeps in self.state

    def __init__(self, parameters: Any, defaults: dict[str, Any]) -> None:
        name = type(self).__name__
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Parameter, dict[str, Any]] = {}
        self._work: dict[tuple[np.dtype[Any], int], NDArray[Any]] = {}
        groups, plain = split_groups(name, parameters)
        for group in groups:
            self._add_group(group, plain)
        if not self.params:
            raise ValueError(
                f"{name}: received an empty parameter list; pass model.parameters() "
                f"of a model that has trainable parameters"
            )

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group of parameters, with hyper-parameters that override the defaults.

        Raises:
            TypeError, ValueError: the group has no ``"params"``, an unknown key,
                a parameter already in another group, or a hyper-parameter out
                of range; the message names the group.
        """
        self._add_group(dict(group), plain=False)

    def _add_group(self, group: dict[str, Any], plain: bool) -> None:
        name, index = type(self).__name__, len(self.param_groups)
        where = f"parameter group {index}"
        if "params" not in group:
            raise ValueError(f"{name}: {where} has no 'params' entry")
        unknown = sorted(set(group) - set(self.defaults) - {"params"})
        if unknown:
            raise ValueError(
                f"{name}: {where} has unknown keys {unknown}; "
                f"expected 'params' and some of {sorted(self.defaults)}"
            )
        params = group_parameters(name, where, group.pop("params"))
        taken = {
            id(parameter): i for i, g in enumerate(self.param_groups) for parameter in g["params"]
        }
        for parameter in params:
            if id(parameter) in taken:
                raise ValueError(
                    f"{name}: a parameter of shape {parameter.shape} is in parameter groups "
                    f"{taken[id(parameter)]} and {index}; each parameter belongs to one group"
                )
        merged = {**self.defaults, **group}
        self._check_hyper_parameters(
            merged, (lambda key: key) if plain else _labeller(where), False
        )
        merged["params"] = params
        self.param_groups.append(merged)

    def _check_hyper_parameters(
        self, group: dict[str, Any], label: Callable[[str], str], lr_may_be_zero: bool
    ) -> None:
        """Check and normalise a group's hyper-parameters in place.

        ``label(key)`` names a key in messages. A loaded state may carry a rate
        of 0, which a schedule can reach; a constructor's ``lr`` must be > 0.
        """
        name = type(self).__name__
        group["lr"] = positive_float(name, label("lr"), group["lr"], allow_zero=lr_may_be_zero)
        self._check_group(group, label)

    @abstractmethod
    def _check_group(self, group: dict[str, Any], label: Callable[[str], str]) -> None:
        """Check and normalise the subclass's hyper-parameters of ``group`` (all but ``lr``)."""

    def _non_negative(self, group: dict[str, Any], label: Callable[[str], str], *keys: str) -> None:
        """Check that each of ``keys`` is a finite number >= 0 and store it as a float."""
        for key in keys:
            group[key] = positive_float(
                type(self).__name__, label(key), group[key], allow_zero=True
            )

    @property
    def params(self) -> list[Parameter]:
        """Every parameter of every group, in order (frozen ones included)."""
        return [parameter for group in self.param_groups for parameter in group["params"]]

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zero."""
        for group in self.param_groups:
            for parameter in group["params"]:
                parameter.zero_grad()

    def reset_state(self) -> None:
        """Forget every running statistic (momentum, moment estimates, step counts).

        ``fit`` calls this when it rolls the weights back after a divergence:
        state that has seen the diverging gradients would push the restored
        weights straight back out.
        """
        self.state.clear()

    def step(self) -> None:
        """Update every trainable parameter once from its current gradient."""
        for group in self.param_groups:
            for parameter in group["params"]:
                if parameter.requires_grad:  # a frozen parameter is never updated
                    self._update(parameter, group)

    @abstractmethod
    def _update(self, parameter: Parameter, group: dict[str, Any]) -> None:
        """Update one parameter with its group's hyper-parameters."""

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state in PyTorch's layout, every array copied.

        ``{"state": {index: {name: value}}, "param_groups": [group, ...]}``:
        parameters are numbered in order through the groups; each group holds
        its hyper-parameters and its parameters' numbers under ``"params"``.
        Loading it into an optimizer built the same way continues the run
        exactly where it was saved.
        """
        return export_state(self.param_groups, self.state)

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Take the hyper-parameters and the state saved by ``state_dict()``.

        The optimizer must have been built on parameters of the same shapes, in
        the same groups. Everything is checked before anything changes: on an
        error the optimizer is left as it was. The arrays are copied.

        Raises:
            TypeError, ValueError: the groups' sizes, a state's name or an array's
                shape do not match; the message names the group or parameter.
        """
        name = type(self).__name__
        saved_groups, numbers = read_groups(name, self.param_groups, state_dict)
        groups = [self._loaded_group(i, group) for i, group in enumerate(saved_groups)]
        state = read_state(name, numbers, state_dict["state"], self._state_names)
        for group, loaded in zip(self.param_groups, groups, strict=True):
            params = group["params"]
            group.clear()
            group.update(loaded, params=params)
        self.state.clear()
        self.state.update(state)

    def _loaded_group(self, index: int, saved: dict[str, Any]) -> dict[str, Any]:
        """A saved group's hyper-parameters, checked; PyTorch's extra options (off) dropped."""
        name, label = type(self).__name__, _labeller(f"saved parameter group {index}")
        missing = sorted(set(self.defaults) - set(saved))
        if missing:
            raise ValueError(
                f"{name}.load_state_dict: saved parameter group {index} lacks {missing}"
            )
        group = dict(saved)
        decoupled = getattr(self, "_decoupled_weight_decay", False)
        if group.pop("decoupled_weight_decay", decoupled) != decoupled:
            raise ValueError(
                f"{name}.load_state_dict: {label('decoupled_weight_decay')} is "
                f"{not decoupled}; load it into {'Adam' if decoupled else 'AdamW'} instead"
            )
        for option in TORCH_OPTIONS:
            if group.pop(option, None):
                raise ValueError(
                    f"{name}.load_state_dict: {label(option)} is {saved[option]!r}, "
                    f"which {name} does not support"
                )
        self._check_hyper_parameters(group, label, True)
        return group

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
        buffer: NDArray[Any] = slots[key]
        return buffer

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
        options = ", ".join(f"{key}={value}" for key, value in self.defaults.items())
        groups = f", groups={len(self.param_groups)}" if len(self.param_groups) > 1 else ""
        return f"{type(self).__name__}({options}, parameters={len(self.params)}{groups})"


def _labeller(where: str) -> Callable[[str], str]:
    """Names a hyper-parameter of a group in messages: ``lr (parameter group 1)``."""
    return lambda key: f"{key} ({where})"
