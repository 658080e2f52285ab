"""Copying named arrays into a model's tensors: the one set of checks every loader uses.

``Layer.load_state_dict``, the file loaders (``load``, ``load_weights``) and
``from_torch_state_dict`` all end here, so a state dict, a file and a PyTorch
state dict are refused with the same errors for the same mistakes:

- :class:`~minitorchless.errors.KeyMismatchError` lists every missing and
  every unexpected key;
- :class:`~minitorchless.errors.ShapeMismatchError` names every tensor of the
  wrong shape, with the shape expected and the one received;
- a value that is not a numeric array is a
  :class:`~minitorchless.errors.StateDictError`;
- NaN or infinity is a :class:`~minitorchless.errors.NonFiniteTensorError`
  (unless ``allow_nonfinite=True``), as ``fit`` refuses non-finite data: a
  weight of NaN makes every prediction it reaches NaN, without a word;
- a value that its tensor's dtype cannot hold (a finite float64 beyond
  float32's range, which the cast would make infinite; a counter out of an
  integer buffer's range, or not a whole number) is an
  :class:`~minitorchless.errors.UnsafeCastError`, always: rounding is the only
  change a cast may make.

Every check runs before anything is written, so a refused state dict leaves
the model exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, Protocol

import numpy as np
from numpy.typing import NDArray

from minitorchless.errors import (
    CorruptFileError,
    KeyMismatchError,
    NonFiniteTensorError,
    ShapeMismatchError,
    StateDictError,
    UnsafeCastError,
)

__all__ = ["KeyMap", "Target", "assign_arrays", "check_arrays", "check_values", "preview"]


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
    key_map: KeyMap,
    arrays: Mapping[str, Any],
    source: str,
    *,
    exact_dtype: bool = False,
    allow_nonfinite: bool = False,
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
        allow_nonfinite: Accept NaN and infinity, copied as they are.

    Returns:
        ``(tensor, array)`` pairs, the array already in the tensor's layout.

    Raises:
        KeyMismatchError: keys are missing or unexpected.
        ShapeMismatchError: arrays have the wrong shape; the message lists them all.
        StateDictError: a value is not a numeric array.
        CorruptFileError: ``exact_dtype`` and a dtype differs.
        NonFiniteTensorError: an array holds NaN or infinity (and not ``allow_nonfinite``).
        UnsafeCastError: an array holds values its tensor's dtype cannot hold.
    """
    _check_keys(key_map, arrays, source)
    updates = []
    received: list[tuple[str, NDArray[Any], np.dtype[Any]]] = []
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
        received.append((key, array, tensor.value.dtype))
    if wrong:
        _refuse_shapes(wrong, source)
    for key, array, dtype in received:  # in the key's own layout, so that indices match it
        check_values(key, array, dtype, source, allow_nonfinite=allow_nonfinite)
    return updates


def _refuse_shapes(
    wrong: list[tuple[str, str, tuple[int, ...], tuple[int, ...]]], source: str
) -> None:
    key, _, expected, received = wrong[0]
    described = "; ".join(
        f"key {key!r}: expected shape {shape}"
        + (f" (the model's {name!r})" if name != key else "")
        + f", received {got}"
        for key, name, shape, got in wrong[:8]
    )
    more = f"; ... ({len(wrong) - 8} more)" if len(wrong) > 8 else ""
    raise ShapeMismatchError(f"{source}: {described}{more}", key, expected, received)


_BLOCK = 1 << 20  # values scanned at a time: temporaries of a few MB, whatever the tensor


def _first_bad(array: NDArray[Any], bad_in: Flagger) -> tuple[int, int]:
    """How many values ``bad_in(block)`` flags, block by block, and the flat index of the first."""
    flat = array.reshape(-1)
    count, first = 0, -1
    for start in range(0, flat.size, _BLOCK):
        bad = bad_in(flat[start : start + _BLOCK])
        if bad.any():
            if first < 0:
                first = start + int(np.argmax(bad))
            count += int(np.count_nonzero(bad))
    return count, first


Flagger = Callable[[NDArray[Any]], NDArray[np.bool_]]


def _unsafe_in(target: np.dtype[Any]) -> Flagger:
    """A function flagging the values of a block that ``target`` cannot hold."""
    if target.kind == "f":

        def overflows(block: NDArray[Any]) -> NDArray[np.bool_]:
            with np.errstate(over="ignore"):  # the overflow is what is being looked for
                cast = block.astype(target)
            flagged: NDArray[np.bool_] = np.isfinite(block) & ~np.isfinite(cast)
            return flagged

        return overflows
    info = np.iinfo(target)
    low, high = float(info.min), float(info.max) + 1.0  # both powers of two: exact floats

    def outside(block: NDArray[Any]) -> NDArray[np.bool_]:
        flagged: NDArray[np.bool_]
        if block.dtype.kind == "f":
            whole = np.isfinite(block) & (np.floor(block) == block)
            flagged = ~(whole & (block >= low) & (block < high))
        else:
            own = np.iinfo(block.dtype)  # compare with bounds the block's own dtype can hold
            flagged = (block < max(info.min, own.min)) | (block > min(info.max, own.max))
        return flagged

    return outside


def check_values(
    key: str,
    array: NDArray[Any],
    target: np.dtype[Any],
    source: str,
    *,
    allow_nonfinite: bool = False,
) -> None:
    """Refuse NaN and infinity (unless allowed) and values that ``target`` cannot hold.

    Raises:
        NonFiniteTensorError: ``array`` holds NaN or infinity.
        UnsafeCastError: casting to ``target`` would change a value beyond rounding.
    """
    if array.dtype.kind == "f" and not (allow_nonfinite and target.kind == "f"):
        count, first = _first_bad(array, lambda block: ~np.isfinite(block))
        if count:
            at = tuple(int(i) for i in np.unravel_index(first, array.shape))
            if target.kind == "f":
                raise NonFiniteTensorError(
                    f"{source}: tensor {key!r} holds {count} NaN or infinite value(s), the "
                    f"first at index {at}: every output they reach would be NaN or inf. "
                    f"Pass allow_nonfinite=True to accept them as they are",
                    key,
                    count,
                )
            raise UnsafeCastError(
                f"{source}: tensor {key!r} holds {count} NaN or infinite value(s), the first "
                f"at index {at}, which its {target} buffer cannot hold",
                key,
                count,
            )
    if np.can_cast(array.dtype, target, casting="safe"):
        return  # no value can change beyond rounding
    count, first = _first_bad(array, _unsafe_in(target))
    if count:
        at = tuple(int(i) for i in np.unravel_index(first, array.shape))
        value = array.reshape(-1)[first].item()
        what = "overflow" if target.kind == "f" else "are not whole numbers within the range of"
        raise UnsafeCastError(
            f"{source}: tensor {key!r}: {count} value(s) {what} {target} (the first, "
            f"{value!r}, at index {at}): the cast from {array.dtype} would change them, not "
            f"round them. Cast the array yourself if that is what you mean",
            key,
            count,
        )


def assign_arrays(
    key_map: KeyMap,
    arrays: Mapping[str, Any],
    source: str,
    *,
    exact_dtype: bool = False,
    allow_nonfinite: bool = False,
) -> None:
    """Check every array (see :func:`check_arrays`), then copy them all in, in place.

    In place, so that optimizers and views holding the old arrays keep seeing
    the current values; each array is cast to its tensor's dtype.
    """
    checked = check_arrays(
        key_map, arrays, source, exact_dtype=exact_dtype, allow_nonfinite=allow_nonfinite
    )
    for tensor, array in checked:
        tensor.value[...] = array
