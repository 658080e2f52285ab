"""Copying named arrays into a model's tensors: the one set of checks every loader uses.

``Layer.load_state_dict``, the file loaders (``load``, ``load_weights``) and
``from_torch_state_dict`` all end here, so a state dict, a file and a PyTorch
state dict are refused with the same errors for the same mistakes:

- :class:`~minitorchless.errors.KeyMismatchError` lists every missing and
  every unexpected key;
- :class:`~minitorchless.errors.ShapeMismatchError` names every tensor of the
  wrong shape, with the shape expected and the one received;
- a value that is not a numeric array is a
  :class:`~minitorchless.errors.StateDictError`.

Every check runs before anything is written, so a refused state dict leaves
the model exactly as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

import numpy as np
from numpy.typing import NDArray

from minitorchless.errors import (
    CorruptFileError,
    KeyMismatchError,
    ShapeMismatchError,
    StateDictError,
)

__all__ = ["KeyMap", "Target", "assign_arrays", "check_arrays", "preview"]


class HasValue(Protocol):
    """A tensor of the model: a ``Parameter`` or a buffer, written in place through ``value``."""

    @property
    def value(self) -> NDArray[Any]: ...


class Target(NamedTuple):
    """Where one key of a state dict goes.

    Attributes:
        name: The tensor's dotted name in the model (``"0.weight"``).
        tensor: The parameter or buffer to write into.
        transposed: Whether the incoming array is the transpose of ``tensor.value``
            (PyTorch's ``nn.Linear`` keeps its weight as ``(out, in)``).
    """

    name: str
    tensor: HasValue
    transposed: bool


KeyMap = dict[str, Target]
"""The key an array has in a state dict or file -> where it goes in the model."""


def preview(names: list[str], limit: int = 8) -> str:
    """A few names, shortened: names may come from an untrusted file, so never all of them."""
    shown = ", ".join(repr(name[:80]) for name in names[:limit])
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return f"[{shown}{more}]"


def _check_keys(key_map: KeyMap, arrays: Mapping[str, Any], source: str) -> None:
    missing = [key for key in key_map if key not in arrays]
    unexpected = [key for key in arrays if key not in key_map]
    if not (missing or unexpected):
        return
    problems = []
    if missing:
        problems.append(f"missing keys {preview(missing)}")
    if unexpected:
        problems.append(f"unexpected keys {preview(unexpected)}")
    raise KeyMismatchError(
        f"{source}: the keys do not match the model's tensors: " + "; ".join(problems),
        missing,
        unexpected,
    )


def _as_numeric(key: str, value: Any, source: str) -> NDArray[Any]:
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as err:  # ragged nested lists, for one
        raise StateDictError(f"{source}: key {key!r}: not an array ({err})") from None
    if array.dtype.kind not in "fiu":
        raise StateDictError(
            f"{source}: key {key!r}: expected a numeric array, received dtype {array.dtype}"
        )
    return array


def check_arrays(
    key_map: KeyMap, arrays: Mapping[str, Any], source: str, *, exact_dtype: bool = False
) -> list[tuple[HasValue, NDArray[Any]]]:
    """Check every array against the tensor it is meant for; write nothing.

    Args:
        key_map: Where each key goes.
        arrays: The incoming arrays by key (array-likes are converted).
        source: What the arrays come from, to start every message with (a
            file's path, ``"Sequential.load_state_dict"``...).
        exact_dtype: Refuse an array whose dtype differs from its tensor's
            (a model file must hold what its architecture builds) instead of
            casting it.

    Returns:
        ``(tensor, array)`` pairs, the array already in the tensor's layout.

    Raises:
        KeyMismatchError: keys are missing or unexpected.
        ShapeMismatchError: arrays have the wrong shape; the message lists them all.
        StateDictError: a value is not a numeric array.
        CorruptFileError: ``exact_dtype`` and a dtype differs.
    """
    _check_keys(key_map, arrays, source)
    updates = []
    wrong: list[tuple[str, str, tuple[int, ...], tuple[int, ...]]] = []
    for key, (name, tensor, transposed) in key_map.items():
        array = _as_numeric(key, arrays[key], source)
        own_shape = tensor.value.shape
        expected = own_shape[::-1] if transposed else own_shape
        if array.shape != expected:
            wrong.append((key, name, expected, array.shape))
            continue
        if exact_dtype and array.dtype != tensor.value.dtype:
            raise CorruptFileError(
                f"{source}: tensor {key!r} has dtype {array.dtype}, but the architecture "
                f"builds {name!r} in {tensor.value.dtype}"
            )
        updates.append((tensor, array.T if transposed else array))
    if wrong:
        key, _, expected, received = wrong[0]
        described = "; ".join(
            f"key {key!r}: expected shape {shape}"
            + (f" (the model's {name!r})" if name != key else "")
            + f", received {got}"
            for key, name, shape, got in wrong[:8]
        )
        more = f"; ... ({len(wrong) - 8} more)" if len(wrong) > 8 else ""
        raise ShapeMismatchError(f"{source}: {described}{more}", key, expected, received)
    return updates


def assign_arrays(
    key_map: KeyMap, arrays: Mapping[str, Any], source: str, *, exact_dtype: bool = False
) -> None:
    """Check every array (see :func:`check_arrays`), then copy them all in, in place.

    In place, so that optimizers and views holding the old arrays keep seeing
    the current values; each array is cast to its tensor's dtype.
    """
    for tensor, array in check_arrays(key_map, arrays, source, exact_dtype=exact_dtype):
        tensor.value[...] = array
