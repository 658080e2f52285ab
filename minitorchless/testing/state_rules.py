"""The contract's rules about state: repeatability, state dicts, configs, modes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minitorchless.errors import StateDictError
from minitorchless.layers.base import Layer
from minitorchless.serialization._architecture import encode_architecture
from minitorchless.testing.rules import Case

__all__ = ["STATE_RULES"]


def _same_outputs(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return len(a) == len(b) and all(
        np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b, strict=True)
    )


def repeatable(case: Case) -> None:
    """Two copies in the same state give identical outputs."""
    if not _same_outputs(case.forward(case.copy()), case.forward(case.copy())):
        raise case.fail(
            "repeatable",
            "two copies in the same state gave different outputs; "
            "draw random numbers from a Generator the layer keeps (rng=...)",
        )


def _different(case: Case) -> Layer:
    """A layer of the same architecture whose every tensor differs from the subject's."""
    other = case.factory(np.random.default_rng(case.seed + 1)) if case.factory else case.copy()
    for _, tensor in other.named_tensors():
        tensor.value[...] = tensor.value + 1  # never equal, even where both were zero
    return other


def state_dict_round_trip(case: Case) -> None:
    """``load_state_dict(state_dict())`` restores every tensor and the outputs; bad keys fail."""
    state = case.subject.state_dict()
    if not state:
        return
    other = _different(case)
    if sorted(other.state_dict()) != sorted(state):
        raise case.fail(
            "state_dict round trip",
            f"another build has the keys {sorted(other.state_dict())}, this one {sorted(state)}",
        )
    other.load_state_dict(state)
    for name, value in other.state_dict().items():
        if not np.array_equal(value, state[name]):
            raise case.fail(
                "state_dict round trip",
                f"load_state_dict did not write {name!r}: the layer kept its own values",
            )
    original, restored = case.copy().eval(), other.eval()
    if not _same_outputs(case.forward(original), case.forward(restored)):
        raise case.fail(
            "state_dict round trip",
            "after load_state_dict the outputs differ: "
            "some state that forward uses is not in the state dict",
        )
    fresh = _different(case)
    before = fresh.state_dict()
    first = next(iter(state))
    try:
        fresh.load_state_dict({key: value for key, value in state.items() if key != first})
    except StateDictError:
        pass
    else:
        raise case.fail(
            "state_dict round trip",
            f"load_state_dict accepted a state dict without {first!r}; it must refuse missing keys",
        )
    if any(not np.array_equal(value, before[key]) for key, value in fresh.state_dict().items()):
        raise case.fail("state_dict round trip", "a refused state dict changed the layer")


def config_rebuilds(case: Case) -> None:
    """``from_config(get_config())`` builds the same architecture, and the config is storable."""
    layer = case.subject
    name = type(layer).__name__
    try:
        encode_architecture(layer)
    except (TypeError, ValueError) as err:
        raise case.fail("get_config", f"the config cannot be saved: {err}") from None
    config = layer.get_config()
    try:
        rebuilt = type(layer).from_config(config)
    except Exception as err:
        raise case.fail(
            "get_config",
            f"{name}.from_config(get_config()) fails: "
            f"{type(err).__name__}: {err}; get_config must return every "
            f"constructor argument (received {config!r:.200})",
        ) from None
    _check_declared_size(case, config)
    ours = [(key, tensor.shape) for key, tensor in layer.named_tensors()]
    theirs = [(key, tensor.shape) for key, tensor in rebuilt.named_tensors()]
    if ours != theirs:
        raise case.fail(
            "get_config",
            f"from_config(get_config()) builds tensors {theirs}, "
            f"the layer has {ours}: an argument is missing from get_config",
        )
    rebuilt.to(layer.dtype or np.float64).load_state_dict(layer.state_dict())
    if not _same_outputs(case.forward(case.copy().eval()), case.forward(rebuilt.eval())):
        raise case.fail(
            "get_config",
            "the rebuilt layer, given the same weights, computes "
            "something else: an argument is missing from get_config",
        )


def _check_declared_size(case: Case, config: dict[str, Any]) -> None:
    """A layer's ``size_from_config``, if it answers, is what its own tensors hold."""
    layer = case.subject
    declared = type(layer).size_from_config(config)
    held = sum(p.size for _, p in layer.own_parameters())
    held += sum(buffer.size for _, buffer in layer.own_buffers())
    if declared is not None and declared != held:
        raise case.fail(
            "get_config",
            f"{type(layer).__name__}.size_from_config(get_config()) is {declared}, but the "
            f"layer's own parameters and buffers hold {held} values: load would misjudge "
            f"what a file may allocate",
        )


def _modes(layer: Layer) -> list[bool]:
    return [sub.training for _, sub in layer._walk()]


def modes(case: Case) -> None:
    """``eval()``/``train()`` reach every sublayer; eval is deterministic and changes no buffer."""
    layer = case.copy().eval()
    if any(_modes(layer)):
        raise case.fail(
            "train/eval",
            "eval() left a sublayer in training mode: "
            "override children() so that containers reach every sublayer",
        )
    buffers = {key: buffer.value.copy() for key, buffer in layer.named_buffers()}
    first, second = case.forward(layer), case.forward(layer)
    if not _same_outputs(first, second):
        raise case.fail("train/eval", "two forwards in eval mode gave different outputs")
    for key, buffer in layer.named_buffers():
        if not np.array_equal(buffer.value, buffers[key]):
            raise case.fail("train/eval", f"a forward in eval mode changed the buffer {key!r}")
    if not all(_modes(layer.train())):
        raise case.fail("train/eval", "train() left a sublayer in eval mode")


STATE_RULES: list[Callable[[Case], None]] = [
    repeatable,
    state_dict_round_trip,
    config_rebuilds,
    modes,
]
