"""Nested training state as JSON plus named arrays: what a backup file holds, without pickle.

``pack`` turns dicts, lists, numbers, strings and arrays into a JSON-ready
value, putting every array into ``tensors`` under a path-like key and leaving
``{"tensor": key}`` in its place; ``unpack`` reverses it. Dict keys may be
any JSON scalar (``{0: ...}`` stays an int key), which is why dicts are
stored as lists of pairs.

``scalar_state`` and ``set_scalar_state`` cover objects without a
``state_dict``: the numbers and flags among their attributes.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["pack", "scalar_state", "set_scalar_state", "unpack"]


def pack(value: Any, key: str, tensors: dict[str, NDArray[Any]]) -> Any:
    """``value`` as JSON-ready data, its arrays moved into ``tensors`` under keys from ``key``."""
    if isinstance(value, np.ndarray):
        tensors[key] = np.require(value, requirements="C")
        return {"tensor": key}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        pairs = [[name, pack(item, f"{key}.{name}", tensors)] for name, item in value.items()]
        return {"items": pairs}
    if isinstance(value, (list, tuple)):
        return [pack(item, f"{key}.{index}", tensors) for index, item in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"BackupAndRestore: cannot store a {type(value).__name__} at {key!r}")


def unpack(value: Any, tensors: dict[str, NDArray[Any]]) -> Any:
    """The inverse of ``pack``: arrays are fresh copies of the file's tensors."""
    if isinstance(value, dict):
        if "tensor" in value:
            return np.array(tensors[value["tensor"]])
        return {name: unpack(item, tensors) for name, item in value["items"]}
    if isinstance(value, list):
        return [unpack(item, tensors) for item in value]
    return value


def scalar_state(owner: object, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The attributes of ``owner`` that are plain numbers or flags (``lr``, ``steps``...)."""
    return {
        name: value
        for name, value in vars(owner).items()
        if isinstance(value, (bool, numbers.Real)) and name not in skip
    }


def set_scalar_state(owner: object, state: dict[str, Any]) -> None:
    """Put back what ``scalar_state`` took."""
    for name, value in state.items():
        setattr(owner, name, value)
