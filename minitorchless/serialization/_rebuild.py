"""Refusing, when saving, a layer that its saved config could not rebuild.

A layer is stored as its type and ``get_config()``; ``load`` rebuilds it with
``from_config``. If the config leaves out an argument, the file is written
without complaint and ``load`` fails later, blaming the file. So ``save``
checks each layer class that is not built in (the built-ins are round-tripped
by the test suite) the way ``load`` will use it:

- with the default ``from_config`` (``cls(**config)``), the config must bind to
  the constructor's signature: a missing required argument is named;
- then ``from_config(config)`` must succeed and build tensors of the same names,
  shapes and dtypes as the layer's: an optional argument left out (a size, a
  dtype) shows up there.

The rebuild allocates the layer's own tensors once more, so each class and
config is checked once per process and remembered.
"""

from __future__ import annotations

import inspect
import json
import weakref
from typing import Any

from minitorchless.layers.base import Layer

__all__ = ["check_rebuilds"]

# class -> the configs (as JSON text) already rebuilt successfully
_VERIFIED: weakref.WeakKeyDictionary[type, set[str]] = weakref.WeakKeyDictionary()
_REMEMBERED = 64  # configs per class: a run saving every epoch checks its layers once


def _arguments(cls: type[Layer]) -> list[inspect.Parameter] | None:
    try:
        return list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):  # no signature to read (a C extension, say)
        return None


def _omitted(cls: type[Layer], config: dict[str, Any]) -> list[str]:
    """The constructor's named arguments that ``config`` does not give."""
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in _arguments(cls) or [] if p.kind in named and p.name not in config]


def _check_arguments(cls: type[Layer], config: dict[str, Any]) -> None:
    """With the default ``from_config``, the config must bind to the constructor."""
    if getattr(cls.from_config, "__func__", None) is not Layer.from_config.__func__:  # type: ignore[attr-defined]
        return  # a from_config of its own: only the rebuild can tell
    parameters = _arguments(cls)
    if parameters is None:
        return
    try:
        inspect.Signature(parameters).bind(**config)
    except TypeError as err:
        required = [
            p.name
            for p in parameters
            if p.default is inspect.Parameter.empty
            and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
            and p.name not in config
        ]
        problem = (
            f"it leaves out the required argument(s) {required}"
            if required
            else f"{cls.__name__}(**config) fails: {err}"
        )
        raise TypeError(
            f"save: {cls.__name__}.get_config() returns {sorted(config)}, which cannot rebuild "
            f"the layer: {problem}. Return every constructor argument from get_config() (or "
            f"give {cls.__name__} a from_config), or the file would not load"
        ) from None


def _check_rebuilt(layer: Layer, config: dict[str, Any]) -> None:
    """``from_config(config)`` must build the layer's tensors: names, shapes and dtypes."""
    cls = type(layer)
    try:
        rebuilt = cls.from_config(config)
    except Exception as err:
        raise TypeError(
            f"save: {cls.__name__}.from_config({cls.__name__}.get_config()) fails, so load "
            f"could not rebuild the layer: {type(err).__name__}: {err}"
        ) from err
    if not isinstance(rebuilt, Layer):
        raise TypeError(
            f"save: {cls.__name__}.from_config returned {type(rebuilt).__name__}, not a Layer"
        )
    ours = [(key, tensor.shape, str(tensor.dtype)) for key, tensor in layer.named_tensors()]
    theirs = [(key, tensor.shape, str(tensor.dtype)) for key, tensor in rebuilt.named_tensors()]
    if ours != theirs:
        first = next(
            (i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b),
            min(len(ours), len(theirs)),
        )
        has = ours[first] if first < len(ours) else "no further tensor"
        gets = theirs[first] if first < len(theirs) else "no further tensor"
        raise TypeError(
            f"save: {cls.__name__} rebuilt from its get_config() differs from the layer (the "
            f"layer has {has}, the rebuilt one {gets}): get_config() leaves out an argument, "
            f"among {_omitted(cls, config)}; the file would not load"
        )


def check_rebuilds(layer: Layer, config: dict[str, Any], encoded: Any) -> None:
    """Refuse a layer that ``load`` could not rebuild from ``config``, naming what is missing.

    Args:
        layer: The layer being saved.
        config: Its ``get_config()``, as ``from_config`` will receive it.
        encoded: The same config as stored in the file (to remember it by).

    Raises:
        TypeError: The config cannot rebuild the layer; the message names the
            layer and the missing argument.
    """
    cls = type(layer)
    if cls.__module__.startswith("minitorchless."):
        return
    text = json.dumps(encoded, sort_keys=True)
    verified = _VERIFIED.setdefault(cls, set())
    if text in verified:
        return
    _check_arguments(cls, config)
    _check_rebuilt(layer, config)
    if len(verified) < _REMEMBERED:
        verified.add(text)
