"""``GraphBuilder``: wire a ``Graph`` with ordinary Python variables instead of names.

A ``Graph`` is declared as ``(name, layer, inputs)`` triples, which is explicit
but verbose in a loop: thirty residual blocks need thirty names. The builder
hands out a :class:`Symbol` for every value, so the wiring is written with
variables, and it makes up the names itself::

    g = mtl.GraphBuilder()
    x = g.input("x", (64,))
    h = g.add(mtl.Dense(64, 32, rng=rng), x)
    for _ in range(30):
        h = g.add(mtl.Residual(block()), h)
    model = g.build(outputs=g.add(mtl.Dense(32, 10, rng=rng), h))

``build`` compiles to the same ``Graph`` the triples would give, so every check
a ``Graph`` makes still runs, and its parameter names are stable: a node is
called by its layer's class, in lower case, numbered in the order it was added
(``dense``, ``residual``, ``residual_1``...), or by the ``name=`` given.
Symbols are placeholders, not arrays: ``layer(x)`` still means running the
layer on data, with no second meaning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from minitorchless.layers.base import Layer
from minitorchless.layers.graph import Graph
from minitorchless.layers.wiring import NodeSpec

__all__ = ["GraphBuilder", "Symbol"]


@dataclass(frozen=True)
class Symbol:
    """A value of the graph being built: a graph input, or a node's output.

    Attributes:
        name: The input's or node's name in the built ``Graph``.
    """

    name: str
    builder_id: int

    def __repr__(self) -> str:
        return f"Symbol({self.name!r})"


class GraphBuilder:
    """Collects inputs and nodes as Python variables, then builds a ``Graph``."""

    def __init__(self) -> None:
        self._inputs: dict[str, Any] = {}
        self._nodes: list[NodeSpec] = []
        self._names: set[str] = set()
        self._counts: dict[str, int] = {}

    def _symbol(self, name: str) -> Symbol:
        if name in self._names:
            raise ValueError(f"GraphBuilder: the name {name!r} is taken")
        self._names.add(name)
        return Symbol(name, id(self))

    def input(self, name: str = "x", shape: int | tuple[int | None, ...] | None = None) -> Symbol:
        """Declare a graph input, optionally with what is known of its shape.

        Args:
            name: The input's name (the graph's inputs keep the order declared).
            shape: One sample's shape (a tuple without the batch axis), the size
                of its last axis (an int), or ``None``, as ``Graph`` takes them.
        """
        symbol = self._symbol(name)
        self._inputs[name] = shape
        return symbol

    def add(self, layer: Layer, *inputs: Symbol, name: str | None = None) -> Symbol:
        """Add a node: ``layer`` applied to ``inputs``; return its output as a Symbol.

        Args:
            layer: The layer (the same object may be added several times: a
                shared layer).
            *inputs: The symbols it reads: one, or several for a layer that
                takes a list (``Add``, ``Concatenate``, a multi-input ``Graph``).
            name: The node's name; by default its layer's class in lower case,
                numbered from the second on (``dense``, ``dense_1``...).
        """
        if not inputs:
            raise TypeError(f"GraphBuilder.add: {type(layer).__name__} needs at least one input")
        for symbol in inputs:
            if not isinstance(symbol, Symbol) or symbol.builder_id != id(self):
                raise TypeError(
                    f"GraphBuilder.add: inputs must be Symbols of this builder "
                    f"(from its input() or add()), received {symbol!r}"
                )
        if name is None:
            name = self._fresh_name(type(layer).__name__.lower())
        symbol = self._symbol(name)
        sources = [s.name for s in inputs]
        self._nodes.append((name, layer, sources[0] if len(sources) == 1 else sources))
        return symbol

    def _fresh_name(self, base: str) -> str:
        """``base``, then ``base_1``, ``base_2``... the first one not taken."""
        count = self._counts.get(base, 0)
        name = base if count == 0 else f"{base}_{count}"
        while name in self._names:
            count += 1
            name = f"{base}_{count}"
        self._counts[base] = count + 1
        return name

    def build(self, outputs: Symbol | Sequence[Symbol]) -> Graph:
        """The ``Graph`` of everything added, returning ``outputs``.

        Raises:
            ValueError: everything a ``Graph`` refuses, e.g. a node whose
                output reaches no output (a dangling node), or an unused input.
        """
        chosen = [outputs] if isinstance(outputs, Symbol) else list(outputs)
        for symbol in chosen:
            if not isinstance(symbol, Symbol) or symbol.builder_id != id(self):
                raise TypeError(
                    f"GraphBuilder.build: outputs must be Symbols of this builder, "
                    f"received {symbol!r}"
                )
        declared = any(shape is not None for shape in self._inputs.values())
        inputs: Any = dict(self._inputs) if declared else list(self._inputs)
        return Graph(
            inputs=inputs, nodes=list(self._nodes), outputs=[symbol.name for symbol in chosen]
        )
