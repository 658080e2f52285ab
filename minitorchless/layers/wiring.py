"""Checking a graph's declaration: names, references, order, and that nothing is left over.

``check_wiring`` turns what the user wrote, ``inputs``, a list of
``(name, layer, inputs)`` triples and ``outputs``, into a validated
``Wiring``: the nodes in the order given and in a topological order. It knows
nothing about arrays or widths; ``Graph`` adds those.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from minitorchless.layers.base import Layer
from minitorchless.layers.shapes import ANY, Shape, sample_shape

__all__ = ["InputDeclaration", "Node", "NodeSpec", "Wiring", "check_arity", "check_wiring"]

InputDeclaration = int | tuple[int | None, ...] | None
"""What a ``Graph`` may know of an input: its last axis's size, one sample's shape, or nothing."""

NodeSpec = tuple[str, Layer, "str | Sequence[str]"]
"""A node as the user writes it: ``(name, layer, input name or list of input names)``."""


class Node(NamedTuple):
    """A checked node: its name, layer, the names it reads, and whether it takes a list."""

    name: str
    layer: Layer
    sources: tuple[str, ...]
    multi: bool


class Wiring(NamedTuple):
    """A checked graph declaration."""

    input_names: list[str]
    declared: dict[str, Any]  # what the user said of each input, as given
    input_shapes: dict[str, Shape]  # the same, as shapes
    nodes: list[Node]  # in the order given: it decides the names of shared layers
    order: list[Node]  # each node after every node it reads from
    output_names: list[str]


def _check_name(owner: str, name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{owner}: names must be strings, received {name!r}")
    if not name or "." in name:
        # the dot joins names in state-dict keys: "h.weight" must stay unambiguous
        raise ValueError(f"{owner}: a name must be non-empty and contain no '.', received {name!r}")
    return name


def _names(owner: str, what: str, value: Any, *, distinct: bool = True) -> list[str]:
    """Normalize ``"a"`` or ``["a", "b"]`` to a non-empty list of names."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)) or not names:
        raise TypeError(
            f"{owner}: {what} must be a name or a non-empty list of names, received {value!r}"
        )
    names = [_check_name(owner, name) for name in names]
    if distinct and len(set(names)) < len(names):
        # counted once each: a list.count per name would be quadratic in a long list
        repeated = sorted(name for name, count in Counter(names).items() if count > 1)
        raise ValueError(f"{owner}: {what} name {_few(repeated)} more than once")
    return names


def _few(names: Sequence[str], limit: int = 8) -> str:
    """A few names for a message: a graph may have thousands, and a file may be hostile."""
    shown = ", ".join(repr(name[:80]) for name in names[:limit])
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return f"[{shown}{more}]"


def _input_shapes(
    inputs: str | Sequence[str] | Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Shape]]:
    """What was declared of each input, and the shape it stands for."""
    if not isinstance(inputs, Mapping):
        names = _names("Graph", "inputs", inputs)
        return dict.fromkeys(names), dict.fromkeys(names, ANY)
    declared: dict[str, Any] = {}
    shapes: dict[str, Shape] = {}
    for name in _names("Graph", "inputs", list(inputs)):
        value = inputs[name]
        if value is None:
            shapes[name] = ANY
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            shapes[name] = (..., value)  # the size of the last axis, any rank
        elif isinstance(value, (tuple, list)):
            shapes[name] = sample_shape(f"Graph: input {name!r}", tuple(value))
            value = tuple(value)
        else:
            raise ValueError(
                f"Graph: input {name!r} must be declared by the size of its last "
                f"axis (a positive int), the shape of one sample (a tuple), or "
                f"None, received {value!r}"
            )
        declared[name] = value
    return declared, shapes


def _parse_nodes(
    nodes: Sequence[NodeSpec],
    input_names: list[str],
    check_arity: Callable[[str, Layer, tuple[str, ...]], bool],
) -> list[Node]:
    if not isinstance(nodes, (list, tuple)):
        raise TypeError(
            f"Graph: nodes must be a list of (name, layer, inputs) triples, "
            f"received {type(nodes).__name__}"
        )
    where = dict.fromkeys(input_names, "an input")
    parsed = []
    for index, spec in enumerate(nodes):
        if not isinstance(spec, (list, tuple)) or len(spec) != 3:
            raise TypeError(
                f"Graph: node {index} must be a (name, layer, inputs) triple, received {spec!r}"
            )
        name, layer, sources = spec
        _check_name("Graph", name)
        if name in where:
            raise ValueError(
                f"Graph: duplicate name {name!r}: node {index} reuses the name of {where[name]}"
            )
        where[name] = f"node {index}"
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Graph: node {name!r} must hold a Layer, "
                f"received {type(layer).__name__} ({layer!r})"
            )
        # a node may read one value twice: Add of ["h", "h"] is 2h
        names = tuple(_names(f"Graph node {name!r}", "inputs", sources, distinct=False))
        parsed.append(Node(name, layer, names, check_arity(name, layer, names)))
    for node in parsed:
        for source in node.sources:
            if source not in where:
                raise ValueError(
                    f"Graph: node {node.name!r} takes input from {source!r}, "
                    f"which is neither an input nor a node; known names: "
                    f"{_few(sorted(where))}"
                )
    return parsed


def _find_cycle(pending: list[Node]) -> str:
    """Follow unfinished inputs from an unfinished node until a name repeats."""
    by_name = {node.name: node for node in pending}
    path = [pending[0].name]
    where = {path[0]: 0}  # name -> position on the path, so each step is O(1)
    while True:
        source = next(s for s in by_name[path[-1]].sources if s in by_name)
        if source in where:
            cycle = [name[:80] for name in reversed([*path[where[source] :], source])]
            if len(cycle) > 12:  # in the direction the data flows, and never endless
                cycle = [*cycle[:6], f"... ({len(cycle) - 12} more)", *cycle[-6:]]
            return " -> ".join(cycle)
        where[source] = len(path)
        path.append(source)


def _topological_order(nodes: list[Node], input_names: list[str]) -> list[Node]:
    """The nodes, each after the nodes it reads from; ties keep the order given.

    Kahn's algorithm with the ready nodes in a heap by their position in the
    list: linear in the wiring (times a log), whatever order the nodes come in.
    """
    index = {node.name: position for position, node in enumerate(nodes)}
    waiting = [sum(source in index for source in node.sources) for node in nodes]
    readers: dict[str, list[int]] = {}
    for position, node in enumerate(nodes):
        for source in node.sources:
            if source in index:
                readers.setdefault(source, []).append(position)
    ready = [position for position, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order: list[Node] = []
    while ready:
        node = nodes[heapq.heappop(ready)]
        order.append(node)
        for reader in readers.get(node.name, ()):
            waiting[reader] -= 1
            if waiting[reader] == 0:
                heapq.heappush(ready, reader)
    if len(order) < len(nodes):
        done = {node.name for node in order}
        pending = [node for node in nodes if node.name not in done]
        raise ValueError(f"Graph: the nodes form a cycle: {_find_cycle(pending)}")
    return order


def _check_everything_used(
    nodes: list[Node], input_names: list[str], output_names: list[str]
) -> None:
    """Every node must lead to an output, and every input must be read."""
    sources = {node.name: node.sources for node in nodes}
    reached = set()
    stack = list(output_names)
    while stack:
        name = stack.pop()
        if name not in reached:
            reached.add(name)
            stack.extend(sources.get(name, ()))
    dangling = [node.name for node in nodes if node.name not in reached]
    if dangling:
        raise ValueError(
            f"Graph: dangling node(s) {_few(dangling)}: their outputs reach no graph "
            f"output {_few(output_names)}; make them outputs or remove them"
        )
    unused = [name for name in input_names if name not in reached]
    if unused:
        raise ValueError(
            f"Graph: unused input(s) {_few(unused)}: no node reads them and they are not outputs"
        )


def check_wiring(
    inputs: str | Sequence[str] | Mapping[str, Any],
    nodes: Sequence[NodeSpec],
    outputs: str | Sequence[str],
    check_arity: Callable[[str, Layer, tuple[str, ...]], bool],
) -> Wiring:
    """Validate a graph declaration and order its nodes.

    Args:
        inputs: A name, a list of names, or a mapping from name to what is
            known of it (see ``InputDeclaration``).
        nodes: ``(name, layer, inputs)`` triples, in any order.
        outputs: A name or a list of names.
        check_arity: Called with each node's name, layer and input names;
            raises if the layer cannot take that many inputs, and returns
            whether it takes them as a list.

    Raises:
        TypeError: a malformed declaration.
        ValueError: a duplicate or unknown name, a cycle, a dangling node or
            an unused input; the message names them.
    """
    declared, input_shapes = _input_shapes(inputs)
    input_names = list(declared)
    parsed = _parse_nodes(nodes, input_names, check_arity)
    output_names = _names("Graph", "outputs", outputs)
    known = set(input_names) | {node.name for node in parsed}
    for name in output_names:
        if name not in known:
            raise ValueError(
                f"Graph: output {name!r} is neither an input nor a node; "
                f"known names: {_few(sorted(known))}"
            )
    order = _topological_order(parsed, input_names)
    _check_everything_used(parsed, input_names, output_names)
    return Wiring(input_names, declared, input_shapes, parsed, order, output_names)


def check_arity(name: str, layer: Layer, sources: tuple[str, ...]) -> bool:
    """Check how many inputs a node's layer is wired to; return whether it takes a list."""
    fewest, most = layer.input_arity()
    count = len(sources)
    if fewest <= count and (most is None or count <= most):
        return count > 1
    kind = type(layer).__name__
    if most == 1:
        raise ValueError(
            f"Graph: node {name!r} ({kind}) takes one input, but is wired to "
            f"{list(sources)}; merge them first with Add or Concatenate"
        )
    expected = (
        str(fewest)
        if fewest == most
        else (f"at least {fewest}" if most is None else f"{fewest} to {most}")
    )
    raise ValueError(
        f"Graph: node {name!r} ({kind}) takes {expected} inputs, but is wired to {list(sources)}"
    )
