"""Forward hooks: how tools look inside a model without reading a layer's private state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["ForwardHook", "HookHandle"]

ForwardHook = Callable[[Any, Any, Any], None]
"""``hook(layer, inputs, outputs)``, called after each forward of the layer it is added to."""


class HookHandle:
    """What ``register_forward_hook`` returns: ``handle.remove()`` takes the hook off."""

    def __init__(self, hooks: list[ForwardHook], hook: ForwardHook) -> None:
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        """Take the hook off its layer (again: nothing)."""
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)
