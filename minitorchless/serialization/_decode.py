"""Rebuilding the layers an architecture lists, with work bounded by the file's size.

The architecture (see ``_architecture``) lists layers children first; each is
rebuilt with its class's ``from_config``, in order, so every reference points
to a layer already built. What a hostile file could make this cost is capped:

- the number of layers, ``MAX_LAYERS``, and how deep containers nest and
  config values nest, ``MAX_NESTING_DEPTH``, each checked before building;
- memory: the values the layers' tensors hold may not exceed what the header
  declares (plus a small slack): a class that can tell its size from its config
  (``Layer.size_from_config``, every built-in layer) is checked before its
  constructor runs, and every tensor any constructor creates is charged as it
  is created (``layers._allowance``), so a user's layer is stopped at the first
  tensor over;
- shape checks: the containers' constructors infer their children's shapes
  through one memo for the whole file, so each ``(layer, shape)`` is inferred
  once; the lookups in all are at most two per JSON value of the architecture
  (a real model needs fewer than one), and at most ``MAX_SHAPE_CHECKS``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from minitorchless.errors import (
    CorruptFileError,
    FileLimitError,
    SerializationError,
    UnknownLayerError,
)
from minitorchless.layers._allowance import tensor_allowance
from minitorchless.layers.base import Layer
from minitorchless.layers.shapes import shape_memo
from minitorchless.serialization import limits
from minitorchless.serialization._json import parse_json, value_bound

__all__ = ["decode_architecture"]

_SLACK = 1 << 20  # values (8 MiB in float64) beyond the file's own tensors
_CHECKS_PER_VALUE = 2


def _is_index(value: Any, bound: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < bound


class _Decoder:
    """Rebuilds layers in file order; every check names the file and the layer."""

    def __init__(
        self, source: str, known: Mapping[str, type[Layer]], stored: int, values: int
    ) -> None:
        self.source = source
        # a real model looks up fewer shapes than its architecture has JSON values; twice
        # that keeps shape checks linear in the file, within the constant limit
        self.shape_checks = min(limits.MAX_SHAPE_CHECKS, _CHECKS_PER_VALUE * values + 1000)
        self.known = known
        self.built: list[Layer] = []
        self.depth: list[int] = []  # per built layer, how deep its containers nest
        self._references: list[int] = []  # the layers the config being decoded refers to
        # parameters the file can fill, plus a small slack so that a near miss reaches
        # the precise key and shape errors: a layer asking for more is refused before
        # it allocates, so a tiny hostile file cannot make load reserve gigabytes
        self.budget = stored + _SLACK
        self.building = ""  # the layer being rebuilt, for messages

    def corrupt(self, message: str) -> CorruptFileError:
        return CorruptFileError(f"{self.source}: architecture: {message}")

    def over(self, what: str, limit: str, value: int) -> FileLimitError:
        maximum = getattr(limits, limit)
        return FileLimitError(
            f"{self.source}: architecture: {what} {value:,}, more than {limit} = {maximum:,}",
            limit,
            value,
            maximum,
        )

    def build(self, architecture: Any) -> Layer:
        if not isinstance(architecture, dict) or set(architecture) != {"layers", "root"}:
            raise self.corrupt("expected an object with exactly 'layers' and 'root'")
        entries = architecture["layers"]
        if not isinstance(entries, list) or not entries:
            raise self.corrupt("'layers' must be a non-empty list")
        if len(entries) > limits.MAX_LAYERS:
            raise self.over("the number of layers is", "MAX_LAYERS", len(entries))
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

        # one memo for the whole file: a layer shared by many containers is inferred once;
        # every tensor a constructor creates is charged to the budget as it is created
        with shape_memo(self.shape_checks, self._too_many_checks), tensor_allowance(self.charge):
            for index, entry in enumerate(entries):
                self.building = f"layer {index} ({entry['type']})"
                self.built.append(self._rebuild(index, entry["type"], entry["config"]))
        # after every constructor has run, so that no container resets its children
        for layer, entry in zip(self.built, entries, strict=True):
            layer.training = entry["training"]
        return self.built[architecture["root"]]

    def _too_many_checks(self, count: int) -> FileLimitError:
        return FileLimitError(
            f"{self.source}: architecture: checking the shapes of the layers takes more than "
            f"{self.shape_checks:,} lookups ({_CHECKS_PER_VALUE} per JSON value of the "
            f"architecture, and at most MAX_SHAPE_CHECKS = {limits.MAX_SHAPE_CHECKS:,})",
            "MAX_SHAPE_CHECKS",
            count,
            self.shape_checks,
        )

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

    def _config(self, index: int, name: str, stored: dict[str, Any]) -> dict[str, Any]:
        """The decoded config, after checking how deep the layers it refers to nest."""
        self._references = []
        config = self.value(stored, index, 1)
        depth = 1 + max((self.depth[reference] for reference in self._references), default=0)
        if depth > limits.MAX_NESTING_DEPTH:
            raise self.over(f"layer {index} ({name}) nests containers", "MAX_NESTING_DEPTH", depth)
        self.depth.append(depth)
        return config  # type: ignore[no-any-return]

    def _declared_size(self, cls: type[Layer], config: dict[str, Any]) -> int | None:
        try:
            size = cls.size_from_config(config)
        except Exception:  # an untrusted config may upset it: the constructor will say why
            return None
        return size if isinstance(size, int) and size >= 0 else None

    def _rebuild(self, index: int, name: str, stored: dict[str, Any]) -> Layer:
        cls = self.known[name]
        config = self._config(index, name, stored)
        declared = self._declared_size(cls, config)
        if declared is not None and declared > self.budget:
            # a user's size_from_config may answer any int: never print thousands of digits
            shown = f"{declared:,}" if declared < 10**40 else "more than 10**40"
            raise self.corrupt(
                f"layer {index} ({name}) declares {shown} parameters, far more than "
                f"the file's tensors hold"
            )
        try:
            layer = cls.from_config(config)
        except (SerializationError, MemoryError):
            # a limit met by the shape checks inside a container's constructor; or memory
            # running out, which is never passed off as a fault of the file's
            raise
        except Exception as err:  # an untrusted config may upset a constructor in any way
            own = (
                ""
                if cls.__module__.startswith("minitorchless.")
                else (
                    f" ({name} is not built in: does its get_config() return every argument "
                    f"its constructor needs?)"
                )
            )
            raise self.corrupt(
                f"layer {index} ({name}) cannot be rebuilt from its config {str(stored)[:200]}: "
                f"{type(err).__name__}: {err}{own}"
            ) from err
        if not isinstance(layer, Layer):
            raise TypeError(
                f"load: {cls.__module__}.{cls.__qualname__}.from_config returned "
                f"{type(layer).__name__}, not a Layer"
            )
        return layer

    def charge(self, layer: Any, name: str, shape: tuple[int, ...]) -> None:
        """Charge a tensor that a constructor creates: refused past what the file holds."""
        self.budget -= math.prod(shape)
        if self.budget < 0:
            raise self.corrupt(
                f"{self.building} creates a tensor {name[:80]!r} of shape {shape} (in a "
                f"{type(layer).__name__}), and with it more parameters than the file's tensors "
                f"hold"
            )

    def value(self, value: Any, index: int, level: int) -> Any:
        """The decoded ``value``, the ``level``-th list or object down from the config."""
        if not isinstance(value, (list, dict)):
            return value
        if level > limits.MAX_NESTING_DEPTH:
            raise self.over(f"layer {index}: the config nests values", "MAX_NESTING_DEPTH", level)
        if isinstance(value, list):
            return [self.value(item, index, level + 1) for item in value]
        tagged = [key for key in value if key.startswith("$")]
        if not tagged:
            return {key: self.value(item, index, level + 1) for key, item in value.items()}
        if len(value) != 1:
            raise self.corrupt(f"layer {index}: a tagged value must have one key, found {tagged}")
        tag, content = next(iter(value.items()))
        if tag == "$layer":
            if not _is_index(content, len(self.built)):
                raise self.corrupt(
                    f"layer {index} refers to layer {str(content)[:20]}, which is not "
                    f"among the {len(self.built)} layers listed before it"
                )
            self._references.append(content)
            return self.built[content]
        if tag == "$tuple" and isinstance(content, list):
            return tuple(self.value(item, index, level + 1) for item in content)
        if tag == "$dict" and isinstance(content, dict):
            return {key: self.value(item, index, level + 1) for key, item in content.items()}
        raise self.corrupt(f"layer {index}: unknown tagged value {tag[:40]!r}")


def decode_architecture(
    text: str, source: str, known: Mapping[str, type[Layer]], stored: int
) -> Layer:
    """Rebuild the layers described by ``encode_architecture``'s JSON ``text``.

    Layer types are looked up in ``known`` and nowhere else. ``stored`` is the
    number of values in the file's tensors: layers may not ask for more.
    """
    architecture = parse_json(text, "architecture", source, allow_constants=True)
    try:
        return _Decoder(source, known, stored, value_bound(text)).build(architecture)
    except RecursionError as err:
        raise CorruptFileError(f"{source}: the architecture is nested too deeply") from err
