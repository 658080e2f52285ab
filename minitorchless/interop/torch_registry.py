"""The converter tables of ``to_torch`` and ``from_torch``, and how to add to them.

Kept apart from the conversions themselves so that the built-in converters
(``torch_converters``, which import torch) and your own can register here
without importing torch or the conversion code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minitorchless.layers.base import Layer

__all__ = [
    "FROM_TORCH",
    "TO_TORCH",
    "FromTorch",
    "ToTorch",
    "register_from_torch",
    "register_torch_module",
]

ToTorch = Callable[[Any, Callable[[Layer], Any]], Any]
"""``converter(layer, convert) -> torch module``; ``convert`` converts a child layer."""

FromTorch = Callable[[Any, Callable[[Any], Layer], Any], Layer]
"""``converter(module, convert, dtype) -> layer``; ``convert`` converts a child module."""

TO_TORCH: dict[type[Layer], ToTorch] = {}
FROM_TORCH: dict[str, FromTorch] = {}  # by the module class's qualified name: no torch import


def register_torch_module(layer_cls: type[Layer]) -> Callable[[ToTorch], ToTorch]:
    """Decorate ``converter(layer, convert) -> torch.nn.Module`` as ``to_torch``'s for a class.

    The module's parameter and buffer names must be the ones
    ``to_torch_state_dict`` gives for the layer (its own names, by default):
    ``to_torch`` loads the weights by name, strictly, after the converter runs.
    """
    if not (isinstance(layer_cls, type) and issubclass(layer_cls, Layer)):
        raise TypeError(f"register_torch_module: expected a Layer class, received {layer_cls!r}")

    def decorate(converter: ToTorch) -> ToTorch:
        TO_TORCH[layer_cls] = converter
        return converter

    return decorate


def register_from_torch(qualified_name: str) -> Callable[[FromTorch], FromTorch]:
    """Decorate ``converter(module, convert, dtype) -> Layer`` for a torch module class.

    ``qualified_name`` is the module class's ``module.QualName``, e.g.
    ``"torch.nn.modules.linear.Linear"``, so that registering needs no torch import.
    """

    def decorate(converter: FromTorch) -> FromTorch:
        FROM_TORCH[qualified_name] = converter
        return converter

    return decorate
