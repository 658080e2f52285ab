"""An allowance of tensor values, charged as layers create their tensors.

While ``load`` rebuilds a file's layers it opens an allowance of the values
the file's header declares (see ``serialization._decode``); every parameter
and buffer a constructor creates through ``add_parameter`` or ``add_buffer``
is charged to it at once, so a layer asking for more than the file holds is
stopped at the first tensor over, whoever wrote the layer, instead of after
its constructor has created them all. Outside a load nothing is charged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ["charge", "tensor_allowance"]

Charge = Callable[[Any, str, tuple[int, ...]], None]
"""``(layer, tensor name, shape)``: raises once the allowance is spent."""

_OPEN: ContextVar[Charge | None] = ContextVar("minitorchless_tensor_allowance", default=None)


@contextmanager
def tensor_allowance(charge_to: Charge) -> Iterator[None]:
    """Charge every tensor created in the block to ``charge_to``."""
    token = _OPEN.set(charge_to)
    try:
        yield
    finally:
        _OPEN.reset(token)


def charge(layer: Any, name: str, shape: tuple[int, ...]) -> None:
    """Charge a new tensor of ``shape`` to the open allowance, if there is one."""
    charge_to = _OPEN.get()
    if charge_to is not None:
        charge_to(layer, name, shape)
