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
from minitorchless.errors import CorruptFileError, UnknownLayerError
from minitorchless.layers.base import Layer
from minitorchless.layers.dense import Dense
from minitorchless.serialization._files import parse_json

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
        config = self.value(layer.get_config(), f"{type(layer).__name__}.get_config()")
        self._open.discard(key)
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


# ------------------------------------------------------------------ loading
def _is_index(value: Any, bound: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < bound


_SLACK = 1 << 20  # values (8 MiB in float64) beyond the file's own tensors


class _Decoder:
    """Rebuilds layers in file order; every check names the file and the layer."""

    def __init__(self, source: str, known: Mapping[str, type[Layer]], stored: int) -> None:
        self.source = source
        self.known = known
        self.built: list[Layer] = []
        # parameters the file can fill, plus a small slack so that a near miss reaches
        # the precise key and shape errors: a layer asking for more is refused before
        # it allocates, so a tiny hostile file cannot make load reserve gigabytes
        self.budget = stored + _SLACK

    def corrupt(self, message: str) -> CorruptFileError:
        return CorruptFileError(f"{self.source}: architecture: {message}")

    def build(self, architecture: Any) -> Layer:
        if not isinstance(architecture, dict) or set(architecture) != {"layers", "root"}:
            raise self.corrupt("expected an object with exactly 'layers' and 'root'")
        entries = architecture["layers"]
        if not isinstance(entries, list) or not entries:
            raise self.corrupt("'layers' must be a non-empty list")
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or set(entry) != {"type", "config", "training"}:
                raise self.corrupt(f"layer {index} must have exactly 'type', 'config', 'training'")
            if not isinstance(entry["type"], str) or not isinstance(entry["config"], dict):
                raise self.corrupt(f"layer {index} needs a string 'type' and an object 'config'")
            if not isinstance(entry["training"], bool):
                raise self.corrupt(f"layer {index} needs a boolean 'training'")
        if not _is_index(architecture["root"], len(entries)):
            raise self.corrupt(f"'root' must index the {len(entries)} layers")
        self._check_types([entry["type"] for entry in entries])
        for index, entry in enumerate(entries):
            self.built.append(self._rebuild(index, entry["type"], entry["config"]))
        # after every constructor has run, so that no container resets its children
        for layer, entry in zip(self.built, entries, strict=True):
            layer.training = entry["training"]
        return self.built[architecture["root"]]

    def _check_types(self, names: list[str]) -> None:
        unknown = sorted({name for name in names if name not in self.known})
        if unknown:
            shown = ", ".join(repr(name[:80]) for name in unknown[:8])
            example = unknown[0][:80] if unknown[0].isidentifier() else "MyLayer"
            raise UnknownLayerError(
                f"{self.source}: unknown layer type(s) {shown}: neither built into "
                f"minitorchless nor registered. If it is your own class, decorate it with "
                f"@mtl.register_layer before loading, or pass it: "
                f"mtl.load(path, custom_layers=[{example}])"
            )

    def _declared_size(self, cls: type[Layer], config: Any) -> int:
        """The parameter count a Dense config asks for, known before building it."""
        if not (issubclass(cls, Dense) and isinstance(config, dict)):
            return 0
        in_features, out_features = config.get("in_features"), config.get("out_features")
        if not (isinstance(in_features, int) and isinstance(out_features, int)):
            return 0  # the constructor refuses these itself
        return in_features * out_features + (out_features if config.get("bias") else 0)

    def _rebuild(self, index: int, name: str, stored: dict[str, Any]) -> Layer:
        cls = self.known[name]
        config = self.value(stored, index)
        declared = self._declared_size(cls, config)
        if declared > self.budget:
            raise self.corrupt(
                f"layer {index} ({name}) declares {declared:,} parameters, far more than "
                f"the file's tensors hold"
            )
        try:
            layer = cls.from_config(config)
        except Exception as err:  # an untrusted config may upset a constructor in any way
            raise self.corrupt(
                f"layer {index} ({name}) cannot be rebuilt from its config {str(stored)[:200]}: "
                f"{type(err).__name__}: {err}"
            ) from err
        if not isinstance(layer, Layer):
            raise TypeError(
                f"load: {_qualified(cls)}.from_config returned {type(layer).__name__}, not a Layer"
            )
        self.budget -= sum(parameter.size for _, parameter in layer.own_parameters())
        if self.budget < 0:
            raise self.corrupt(
                f"layer {index} ({name}) has more parameters than the file's tensors hold"
            )
        return layer

    def value(self, value: Any, index: int) -> Any:
        if isinstance(value, list):
            return [self.value(item, index) for item in value]
        if not isinstance(value, dict):
            return value
        tagged = [key for key in value if key.startswith("$")]
        if not tagged:
            return {key: self.value(item, index) for key, item in value.items()}
        if len(value) != 1:
            raise self.corrupt(f"layer {index}: a tagged value must have one key, found {tagged}")
        tag, content = next(iter(value.items()))
        if tag == "$layer":
            if not _is_index(content, len(self.built)):
                raise self.corrupt(
                    f"layer {index} refers to layer {str(content)[:20]}, which is not "
                    f"among the {len(self.built)} layers listed before it"
                )
            return self.built[content]
        if tag == "$tuple" and isinstance(content, list):
            return tuple(self.value(item, index) for item in content)
        if tag == "$dict" and isinstance(content, dict):
            return {key: self.value(item, index) for key, item in content.items()}
        raise self.corrupt(f"layer {index}: unknown tagged value {tag[:40]!r}")


def decode_architecture(
    text: str, source: str, known: Mapping[str, type[Layer]], stored: int
) -> Layer:
    """Rebuild the layers described by ``encode_architecture``'s JSON ``text``.

    Layer types are looked up in ``known`` and nowhere else. ``stored`` is the
    number of values in the file's tensors: layers may not ask for more.
    """
    architecture = parse_json(text, "architecture", source)
    try:
        return _Decoder(source, known, stored).build(architecture)
    except RecursionError as err:
        raise CorruptFileError(f"{source}: the architecture is nested too deeply") from err
