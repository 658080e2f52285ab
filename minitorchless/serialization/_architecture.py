"""Layer graphs to JSON and back, through ``get_config()`` and ``from_config()``.

The architecture is a flat list of layers, children before the containers that
hold them, and the index of the root::

    {"layers": [{"type": "Dense", "config": {"in_features": 4, ...}, "training": true},
                {"type": "Sigmoid", "config": {}, "training": true},
                {"type": "Sequential",
                 "config": {"layers": [{"$layer": 0}, {"$layer": 1}]},
                 "training": true}],
     "root": 2}

Inside a config, a layer is the reference ``{"$layer": index}``, so a layer that
appears twice (a shared layer) is stored once and comes back as one object.
Tuples are ``{"$tuple": [...]}``, and a dict whose own keys start with ``$`` is
wrapped as ``{"$dict": {...}}`` so that it cannot be mistaken for a reference.

Listing children first means every reference points backwards: the file cannot
describe a cycle, and rebuilding is one pass in order.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

import numpy as np

import minitorchless.layers as layer_zoo
from minitorchless.layers.base import Layer
from minitorchless.serialization._decode import decode_architecture
from minitorchless.serialization._rebuild import check_rebuilds

__all__ = ["decode_architecture", "encode_architecture", "register_layer", "registered_layers"]

LayerType = TypeVar("LayerType", bound=type[Layer])

# the user's classes, by the name files know them by; built-ins are not stored
# here but found in the package's public namespace (see _builtin_layers)
_REGISTRY: dict[str, type[Layer]] = {}


def _builtin_layers() -> dict[str, type[Layer]]:
    """Every concrete Layer class the package exports, by class name.

    Reading the public namespace of ``minitorchless.layers`` means a new
    built-in layer is loadable as soon as it is exported, with no list here to
    keep in step.
    """
    return {
        obj.__name__: obj
        for obj in vars(layer_zoo).values()
        if isinstance(obj, type)
        and issubclass(obj, Layer)
        and not inspect.isabstract(obj)
        and obj.__module__.startswith("minitorchless.")
    }


def registered_layers() -> dict[str, type[Layer]]:
    """The layer types ``load`` can rebuild by name: the built-ins and registered classes."""
    return {**_builtin_layers(), **_REGISTRY}


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


@overload
def register_layer(cls: LayerType, *, name: str | None = None) -> LayerType: ...


@overload
def register_layer(
    cls: None = None, *, name: str | None = None
) -> Callable[[LayerType], LayerType]: ...


def register_layer(
    cls: LayerType | None = None, *, name: str | None = None
) -> LayerType | Callable[[LayerType], LayerType]:
    """Make your own layer class loadable by name: ``@mtl.register_layer`` on the class.

    The class is saved under ``name`` (its ``__name__`` by default), and
    :func:`~minitorchless.load` rebuilds it with ``cls.from_config(config)``.
    Its ``get_config()`` must return JSON-ready values or Layers.

    Args:
        cls: The Layer subclass (when used as ``@register_layer``).
        name: The name files store; give one when two classes share a ``__name__``.

    Returns:
        The class itself, unchanged, or a decorator when called with ``name=`` only.

    Raises:
        TypeError: ``cls`` is not a Layer subclass.
        ValueError: ``name`` is already taken by another class.
    """

    def decorate(layer_cls: LayerType) -> LayerType:
        if not (isinstance(layer_cls, type) and issubclass(layer_cls, Layer)):
            raise TypeError(f"register_layer: expected a Layer subclass, received {layer_cls!r}")
        key = layer_cls.__name__ if name is None else name
        if not isinstance(key, str) or not key:
            raise TypeError(f"register_layer: name must be a non-empty string, received {key!r}")
        taken = registered_layers().get(key)
        # re-running a class definition (a notebook cell, a reloaded module) replaces it
        if (
            taken is not None
            and taken is not layer_cls
            and _qualified(taken) != _qualified(layer_cls)
        ):
            raise ValueError(
                f"register_layer: the name {key!r} is taken by {_qualified(taken)}; "
                f"register {_qualified(layer_cls)} under another one: "
                f"@register_layer(name='...')"
            )
        _REGISTRY[key] = layer_cls
        return layer_cls

    return decorate if cls is None else decorate(cls)


# ------------------------------------------------------------------- saving
class _Encoder:
    """Turns a layer graph into the flat, children-first list described above."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self._index: dict[int, int] = {}  # id(layer) -> position in entries
        self._open: set[int] = set()  # layers whose config is being encoded
        self._known = registered_layers()

    def add(self, layer: Layer) -> int:
        key = id(layer)
        if key in self._index:
            return self._index[key]  # a shared layer: one entry, many references
        if key in self._open:
            raise ValueError(f"save: {type(layer).__name__} contains itself; cannot store a cycle")
        self._open.add(key)
        raw = layer.get_config()
        config = self.value(raw, f"{type(layer).__name__}.get_config()")
        self._open.discard(key)
        check_rebuilds(layer, raw, config)  # refused now, rather than blamed on the file at load
        entry = {"type": self._type_name(type(layer)), "config": config, "training": layer.training}
        self._index[key] = len(self.entries)
        self.entries.append(entry)
        return self._index[key]

    def _type_name(self, cls: type[Layer]) -> str:
        for name, known in self._known.items():
            if known is cls:
                return name
        name = cls.__name__
        if name in self._known:
            raise ValueError(
                f"save: {_qualified(cls)} has the same name as {_qualified(self._known[name])}, "
                f"so a file could not tell them apart; register it under another name: "
                f"@mtl.register_layer(name='...')"
            )
        return name  # unregistered: load needs custom_layers= or a registration

    def value(self, value: Any, where: str) -> Any:
        if isinstance(value, Layer):
            return {"$layer": self.add(value)}
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return value.item()
        if isinstance(value, np.dtype):
            return value.name  # constructors take dtype names: Dense(dtype="float32")
        if isinstance(value, type) and issubclass(value, np.generic):
            return np.dtype(value).name
        if isinstance(value, list):
            return [self.value(item, f"{where}[{i}]") for i, item in enumerate(value)]
        if isinstance(value, tuple):
            return {"$tuple": [self.value(item, f"{where}[{i}]") for i, item in enumerate(value)]}
        if isinstance(value, Mapping):
            encoded = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise TypeError(f"save: {where} has the key {key!r}; config keys must be str")
                encoded[key] = self.value(item, f"{where}[{key!r}]")
            if any(key.startswith("$") for key in encoded):
                return {"$dict": encoded}
            return encoded
        raise TypeError(
            f"save: {where} is a {type(value).__name__} ({value!r:.60}), which a model file "
            f"cannot store: configs hold numbers, strings, booleans, None, lists, tuples, "
            f"dicts and Layers"
        )


def encode_architecture(model: Layer) -> str:
    """The JSON text describing ``model``'s layers, for the file's metadata."""
    encoder = _Encoder()
    root = encoder.add(model)
    return json.dumps({"layers": encoder.entries, "root": root}, separators=(",", ":"))
