"""An optimizer's state dict in PyTorch's shape, and the checks that guard loading one.

The dict is ``{"state": {index: {name: value}}, "param_groups": [group, ...]}``:
parameters are numbered in order through the groups, each group lists its
parameters' numbers under ``"params"`` next to its hyper-parameters, and
``state`` holds, for each parameter that has any, its arrays (copies, in the
parameter's dtype) and its ``"step"`` count (an ``int``). The names are
PyTorch's (``momentum_buffer``, ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``,
``square_avg``, ``grad_avg``, ``sum``, ``step``), so a state dict from
``torch.optim`` whose tensors were turned into arrays loads as it is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from minitorchless.parameter import Parameter

__all__ = ["TORCH_OPTIONS", "export_state", "read_groups", "read_state"]

# options of torch.optim that minitorchless does not have; a state dict from
# torch may carry them at their default (off) and they are then dropped
TORCH_OPTIONS = ("dampening", "maximize", "foreach", "capturable", "differentiable", "fused")


def _copy(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else value


def export_state(
    param_groups: Sequence[Mapping[str, Any]], state: Mapping[Parameter, Mapping[str, Any]]
) -> dict[str, Any]:
    """The state dict of an optimizer with these groups and this state; every array is a copy."""
    index: dict[int, int] = {}
    groups = []
    for group in param_groups:
        numbers = [index.setdefault(id(parameter), len(index)) for parameter in group["params"]]
        entry = {key: _copy(value) for key, value in group.items() if key != "params"}
        groups.append({**entry, "params": numbers})
    slots = {
        index[id(parameter)]: {key: _copy(value) for key, value in values.items()}
        for parameter, values in state.items()
        if id(parameter) in index
    }
    return {"state": dict(sorted(slots.items())), "param_groups": groups}


def read_groups(
    owner: str, param_groups: Sequence[Mapping[str, Any]], state_dict: Any
) -> tuple[list[dict[str, Any]], dict[Any, Parameter]]:
    """The saved groups' hyper-parameters, and the map from saved numbers to our parameters.

    Raises:
        TypeError: ``state_dict`` is not a state dict.
        ValueError: its groups do not have our groups' sizes; the message says which.
    """
    if not (isinstance(state_dict, Mapping) and {"state", "param_groups"} <= state_dict.keys()):
        received = list(state_dict) if isinstance(state_dict, Mapping) else type(state_dict)
        raise TypeError(
            f"{owner}.load_state_dict: expected a dict with 'state' and 'param_groups' "
            f"(from state_dict()), received {received}"
        )
    saved = list(state_dict["param_groups"])
    if len(saved) != len(param_groups):
        raise ValueError(
            f"{owner}.load_state_dict: the state has {len(saved)} parameter groups, "
            f"this optimizer has {len(param_groups)}"
        )
    numbers: dict[Any, Parameter] = {}
    hyper = []
    for index, (group, ours) in enumerate(zip(saved, param_groups, strict=True)):
        if not isinstance(group, Mapping) or "params" not in group:
            raise TypeError(f"{owner}.load_state_dict: parameter group {index} has no 'params'")
        if len(group["params"]) != len(ours["params"]):
            raise ValueError(
                f"{owner}.load_state_dict: parameter group {index} has "
                f"{len(group['params'])} parameters in the state, "
                f"{len(ours['params'])} in this optimizer"
            )
        for number, parameter in zip(group["params"], ours["params"], strict=True):
            if numbers.setdefault(number, parameter) is not parameter:
                raise ValueError(f"{owner}.load_state_dict: parameter {number} is listed twice")
        hyper.append({key: value for key, value in group.items() if key != "params"})
    return hyper, numbers


def _step_count(owner: str, where: str, value: Any) -> int:
    number = np.asarray(value)
    if number.shape != () or number.dtype.kind not in "fiu":
        raise TypeError(f"{owner}.load_state_dict: {where} must be a number, received {value!r}")
    count = float(number)
    if not (math.isfinite(count) and count >= 0 and count == int(count)):
        raise ValueError(
            f"{owner}.load_state_dict: {where} must be a whole number >= 0, received {count}"
        )
    return int(count)


def _array(owner: str, where: str, value: Any, parameter: Parameter) -> np.ndarray[Any, Any]:
    array = np.asarray(value)
    if array.dtype.kind not in "fiu":
        raise TypeError(
            f"{owner}.load_state_dict: {where} must be a numeric array, received {array.dtype}"
        )
    if array.shape != parameter.shape:
        raise ValueError(
            f"{owner}.load_state_dict: {where} has shape {array.shape}, "
            f"expected the parameter's shape {parameter.shape}"
        )
    return np.array(array, dtype=parameter.dtype)  # a copy: the optimizer owns its state


def read_state(
    owner: str, numbers: Mapping[Any, Parameter], saved: Any, names: frozenset[str]
) -> dict[Parameter, dict[str, Any]]:
    """The saved per-parameter state, keyed by our parameters, checked and copied.

    Raises:
        TypeError, ValueError: an unknown parameter number or state name, or an array of
            the wrong shape; the message names the parameter's number and the entry.
    """
    if not isinstance(saved, Mapping):
        raise TypeError(
            f"{owner}.load_state_dict: 'state' must be a dict, received {type(saved).__name__}"
        )
    state: dict[Parameter, dict[str, Any]] = {}
    for number, values in saved.items():
        if number not in numbers:
            raise ValueError(
                f"{owner}.load_state_dict: the state has an entry for parameter {number!r}, "
                f"which no parameter group lists"
            )
        parameter = numbers[number]
        slots: dict[str, Any] = {}
        for name, value in dict(values).items():
            where = f"state of parameter {number}: {name!r}"
            if name not in names:
                raise ValueError(
                    f"{owner}.load_state_dict: {where} is not a state of {owner}; "
                    f"expected one of {sorted(names)}"
                )
            if name == "step":
                slots[name] = _step_count(owner, where, value)
            else:
                slots[name] = _array(owner, where, value, parameter)
        state[parameter] = slots
    return state
