"""Parameter groups: reading the first argument of an optimizer as PyTorch does.

An optimizer takes either an iterable of parameters (one group) or a list of
dicts, each with a ``"params"`` entry and any hyper-parameters that override
the optimizer's defaults for that group::

    SGD([{"params": weights}, {"params": biases, "weight_decay": 0.0}],
        lr=0.1, weight_decay=1e-4)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from minitorchless.parameter import Parameter

__all__ = ["group_parameters", "split_groups"]


def split_groups(owner: str, parameters: Any) -> tuple[list[dict[str, Any]], bool]:
    """The groups described by an optimizer's first argument, and whether it was a plain iterable.

    Raises:
        TypeError: the argument mixes dicts with parameters, or is not iterable.
    """
    if isinstance(parameters, Parameter | Mapping):
        parameters = [parameters]
    if not isinstance(parameters, Iterable):
        raise TypeError(
            f"{owner}: expected an iterable of Parameter objects or of parameter-group dicts, "
            f"received {type(parameters).__name__}"
        )
    items = list(parameters)
    dicts = [isinstance(item, Mapping) for item in items]
    if items and all(dicts):
        return [dict(item) for item in items], False
    if any(dicts):
        raise TypeError(
            f"{owner}: expected either parameters or parameter-group dicts, received a mix of both"
        )
    return [{"params": items}], True


def group_parameters(owner: str, where: str, params: Any) -> list[Parameter]:
    """The distinct ``Parameter`` objects of one group's ``"params"`` entry, in order.

    A parameter listed twice in a group is kept once.

    Raises:
        TypeError: an item is not a ``Parameter``; the message names the group and the type.
    """
    if isinstance(params, Parameter):
        params = [params]
    if isinstance(params, Mapping) or not isinstance(params, Iterable):
        raise TypeError(
            f"{owner}: {where}'s 'params' must be an iterable of Parameter objects, "
            f"received {type(params).__name__}"
        )
    unique: dict[int, Parameter] = {}
    for parameter in params:
        if not isinstance(parameter, Parameter):
            raise TypeError(
                f"{owner}: expected Parameter objects (model.parameters()) in {where}, "
                f"received {type(parameter).__name__}"
            )
        unique.setdefault(id(parameter), parameter)
    return list(unique.values())
