"""Recording one forward and backward pass of a model, layer use by layer use.

``explain`` runs its pass on a private copy of the model, and this module
instruments that copy: every leaf layer (one without children) and every
``Residual`` and ``Parallel``, whose sums are steps of their own, gets its
``forward`` and ``backward`` wrapped for the duration. A forward records the
layer's inputs, outputs and a copy of the layer as it was just before (for the
finite-difference check of that step); a backward records the gradient it
received, the one it returned and what it added to each parameter's ``.grad``.

A layer used at several places (a shared layer) gets one record per use. The
backward of a use is matched to its forward by the cache object the forward
saved (each forward saves a new one, and containers put each use's back before
its backward), so the pairing holds whatever order the container runs in.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minitorchless.layers.base import Layer
from minitorchless.layers.combinators import Parallel, Residual
from minitorchless.layers.graph import Graph
from minitorchless.layers.sequential import Sequential

__all__ = ["Call", "Recorder", "uses"]


@dataclass
class Call:
    """One use of one layer in the pass.

    Attributes:
        path: Where the layer sits, e.g. ``"2"``, ``"h"``, ``"1.block.0"``.
        layer: The layer (the instrumented copy's).
        use: 1 for its first use, 2 for a shared layer's second...
        before: A copy of the layer as it was when this use's forward began.
        inputs: What the forward was given.
        outputs: What it returned.
        grad_output: What the backward received (after the backward).
        grad_input: What the backward returned.
        param_grads: What this use's backward added to each own parameter's
            ``.grad``, by local name.
    """

    path: str
    layer: Layer
    use: int
    before: Layer
    inputs: Any
    outputs: Any = None
    cache: Any = None
    grad_output: Any = None
    grad_input: Any = None
    param_grads: dict[str, Any] = field(default_factory=dict)


def _is_step(layer: Layer) -> bool:
    return not layer.children() or isinstance(layer, (Residual, Parallel))


def uses(model: Layer, prefix: str = "") -> Iterator[tuple[str, Layer]]:
    """Every step layer with its path, in the order forward runs them (repeats included)."""
    if isinstance(model, Graph):
        for node in model._order:
            yield from uses(node.layer, f"{prefix}{node.name}.")
        return
    if isinstance(model, Sequential):
        for index, child in enumerate(model.layers):
            yield from uses(child, f"{prefix}{index}.")
        return
    if isinstance(model, Residual):
        yield from uses(model.block, f"{prefix}block.")
    elif isinstance(model, Parallel):
        for index, branch in enumerate(model.branches):
            yield from uses(branch, f"{prefix}{index}.")
    elif model.children():  # another container: one opaque step
        yield prefix.rstrip(".") or "model", model
        return
    yield prefix.rstrip(".") or "model", model


def _detached(layer: Layer) -> Layer:
    """A copy of ``layer`` with its own methods, not the recorder's wrappers, and no cache."""
    twin = copy.deepcopy(layer)
    for sub in (twin, *(child for _, child in twin._walk())):
        vars(sub).pop("forward", None)
        vars(sub).pop("backward", None)
    twin.clear_cache()
    return twin


class Recorder:
    """Instruments a model (in place: give it a copy) and collects its ``Call`` records."""

    def __init__(self, model: Layer) -> None:
        self.calls: list[Call] = []
        self._paths: dict[int, list[str]] = {}
        for path, layer in uses(model):
            self._paths.setdefault(id(layer), []).append(path)
        self._by_cache: dict[int, Call] = {}
        seen: set[int] = set()
        for _, layer in uses(model):
            if id(layer) not in seen:
                seen.add(id(layer))
                self._wrap(layer)

    def _wrap(self, layer: Layer) -> None:
        forward, backward = layer.forward, layer.backward
        paths = self._paths[id(layer)]
        count = [0]

        def recording_forward(inputs: Any) -> Any:
            use = count[0]
            count[0] += 1
            path = paths[min(use, len(paths) - 1)]
            call = Call(path, layer, use + 1, _detached(layer), inputs)
            call.outputs = forward(inputs)
            call.cache = layer._saved  # kept alive, so its id stays this use's
            self._by_cache[id(call.cache)] = call
            self.calls.append(call)
            return call.outputs

        def recording_backward(grad_output: Any) -> Any:
            call = self._by_cache.get(id(layer._saved))
            before = {name: p.grad.copy() for name, p in layer.own_parameters()}
            grad_input = backward(grad_output)
            if call is not None:
                call.grad_output, call.grad_input = grad_output, grad_input
                call.param_grads = {
                    name: np.asarray(p.grad - before[name]) for name, p in layer.own_parameters()
                }
            return grad_input

        layer.forward = recording_forward  # type: ignore[method-assign]
        layer.backward = recording_backward  # type: ignore[method-assign]
