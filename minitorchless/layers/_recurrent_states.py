"""The states of a recurrent layer: checking the initial state a user sets, and showing states.

Inside the layer a state is a tuple of arrays ``(num_layers, batch, hidden_size)``,
``(h,)`` or ``(h, c)``; users see a single array for ``RNN`` and ``GRU`` and a
pair for ``LSTM``, as PyTorch's recurrent modules take and return them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minitorchless._checks import as_float_array
from minitorchless._types import FloatArray
from minitorchless.errors import ShapeError

__all__ = ["States", "checked_states", "public", "starting_states"]

States = tuple[FloatArray, ...]


def public(states: States | None) -> Any:
    """The user's form: ``None``, one array, or a tuple ``(h, c)``."""
    if states is None:
        return None
    return states[0] if len(states) == 1 else tuple(states)


def checked_states(
    owner: object, value: Any, names: tuple[str, ...], sizes: tuple[int, int], dtype: Any
) -> States:
    """``value`` as the layer's states, copied in its dtype, or a clear error.

    Args:
        owner: The layer, named in errors.
        value: One array, or a pair for two states.
        names: The states' names, ``("h",)`` or ``("h", "c")``.
        sizes: ``(num_layers, hidden_size)``: the first and last axes every state must have.
        dtype: The layer's dtype.
    """
    if len(names) > 1 and not (isinstance(value, (tuple, list)) and len(value) == len(names)):
        raise TypeError(
            f"{owner!r}: initial_state must be a pair ({', '.join(n + '0' for n in names)}) "
            f"of arrays (num_layers, batch, hidden_size), received {type(value).__name__}"
        )
    parts = (value,) if len(names) == 1 else tuple(value)
    states = []
    for name, part in zip(names, parts, strict=True):
        array = as_float_array(owner, part, what=f"initial_state {name}0")
        if array.ndim != 3 or array.shape[::2] != sizes:
            raise ShapeError(
                f"{owner!r}: initial_state {name}0 must have shape (num_layers, batch, "
                f"hidden_size) = ({sizes[0]}, batch, {sizes[1]}), received {array.shape}"
            )
        states.append(array.astype(dtype, copy=True))  # a copy: the caller's array may change
    if len({state.shape for state in states}) > 1:
        raise ShapeError(
            f"{owner!r}: h0 and c0 must have the same shape, received "
            f"{' and '.join(str(state.shape) for state in states)}"
        )
    return tuple(states)


def starting_states(
    owner: object, initial: States | None, count: int, shape: tuple[int, int, int], dtype: Any
) -> States:
    """The states a forward starts from: zeros, or ``initial`` if its batch fits."""
    if initial is None:
        return tuple(np.zeros(shape, dtype=dtype) for _ in range(count))
    if initial[0].shape != shape:
        raise ShapeError(
            f"{owner!r}: initial_state has shape {initial[0].shape}, but the inputs have a "
            f"batch of {shape[1]}: expected {shape} (set initial_state = None to start from "
            f"zeros)"
        )
    return tuple(state.astype(dtype, copy=False) for state in initial)
