"""``draw``: a picture of a model, as SVG, with the shapes that flow along its edges.

``mtl.draw(model, input_shape=(4,))`` walks the model the way its forward
runs: a ``Sequential`` becomes a chain, a ``Graph`` its nodes, a ``Residual``
its block plus a skip edge into a sum, a ``Parallel`` its branches and their
merge. Every other layer (``Dense``, an activation, a convolution, a layer of
yours) is one box with its name, its arguments and its parameter count. Each
edge is labelled with the shape inferred for it (``(batch, 16, 8, 8)``), and a
layer used at several places is drawn at each of them, marked as shared.

No Graphviz is needed: the layout is a layered drawing computed here, written
as plain SVG text. In a notebook the returned ``Drawing`` shows itself; save it
with ``drawing.save("model.svg")``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from minitorchless.layers.base import Layer
from minitorchless.layers.combinators import Parallel, Residual
from minitorchless.layers.conv import Conv1d, Conv2d
from minitorchless.layers.graph import Graph
from minitorchless.layers.sequential import Sequential
from minitorchless.layers.shapes import ANY, Shape, ShapeSpec, describe, sample_shape
from minitorchless.teaching._layout import Box, svg

__all__ = ["Drawing", "draw"]

SHARED_COLORS = ("#fde2c4", "#d9ecd0", "#e2dcf3", "#f7d6e0", "#d2e7f3")


@dataclass
class Drawing:
    """An SVG picture of a model. ``str(drawing)`` and ``drawing.svg`` are the SVG text.

    Attributes:
        svg: The SVG document.
        boxes: The label of each box, in drawing order (for tests and tools).
        edges: ``(from, to, shape label)`` per edge, by box index.
        groups: ``(first box, last box, title)`` per frame drawn round a
            block, such as each ``Residual`` of a transformer.
    """

    svg: str
    boxes: list[str] = field(default_factory=list)
    edges: list[tuple[int, int, str]] = field(default_factory=list)
    groups: list[tuple[int, int, str]] = field(default_factory=list)

    def _repr_svg_(self) -> str:
        return self.svg

    def __str__(self) -> str:
        return self.svg

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the SVG to ``path``."""
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(self.svg)


class _Walk:
    """Turns a model into boxes and edges, following the data as forward does."""

    def __init__(self, stats: dict[str, str]) -> None:
        self.boxes: list[Box] = []
        self.edges: list[tuple[int, int, str]] = []
        self.groups: list[tuple[int, int, str]] = []  # a Residual's boxes, framed
        self.stats = stats  # dotted layer name -> text to show on its box
        self.uses: dict[int, int] = {}  # id(layer) -> how many places it runs at
        self.colors: dict[int, str] = {}
        self.prefix = ""  # a Graph node's name, put before the label of its first box

    def box(self, box: Box, sources: list[tuple[int, ShapeSpec]]) -> int:
        box.label, self.prefix = self.prefix + box.label, ""
        index = len(self.boxes)
        self.boxes.append(box)
        for source, shape in sources:
            self.edges.append((source, index, describe(shape)))
        return index

    def add(
        self, layer: Layer, sources: list[tuple[int, ShapeSpec]], path: str
    ) -> tuple[int, ShapeSpec]:
        """Draw ``layer`` fed by ``sources``; return its output's box and shape."""
        shapes = [shape for _, shape in sources]
        given: ShapeSpec = shapes[0] if len(shapes) == 1 else shapes
        if isinstance(layer, Sequential):
            for name, child in layer.children():
                sources = [self.add(child, sources, f"{path}{name}.")]
            return sources[0]
        if isinstance(layer, Residual):
            first = len(self.boxes)
            inner = self.add(layer.block, sources, f"{path}block.")
            total = self.box(Box("+", "skip connection", fill="#fff7d6"), [*sources, inner])
            self.groups.append((first, total, f"Residual {path.rstrip('.')}".rstrip()))
            return total, layer.output_shape(given)
        if isinstance(layer, Parallel):
            ends = [
                self.add(branch, sources, f"{path}{name}.") for name, branch in layer.children()
            ]
            if len(ends) == 1:
                return ends[0]
            merge = self.box(Box(layer.merge, "merge", fill="#fff7d6"), ends)
            return merge, layer.output_shape(given)
        if isinstance(layer, Graph):
            return self._graph(layer, sources, path)
        return self._leaf(layer, sources, given, path)

    def _graph(
        self, graph: Graph, sources: list[tuple[int, ShapeSpec]], path: str
    ) -> tuple[int, ShapeSpec]:
        values = dict(zip(graph.input_names, sources, strict=True))
        for node in graph._order:
            feeding = [values[source] for source in node.sources]
            self.prefix = f"{node.name}: "  # the next box drawn is this node's
            values[node.name] = self.add(node.layer, feeding, f"{path}{node.name}.")
        outputs = [values[name] for name in graph.output_names]
        if len(outputs) == 1:
            return outputs[0]
        gather = self.box(Box("outputs", ", ".join(graph.output_names), fill="#e8f5e9"), outputs)
        return gather, [shape for _, shape in outputs]

    def _leaf(
        self, layer: Layer, sources: list[tuple[int, ShapeSpec]], given: ShapeSpec, path: str
    ) -> tuple[int, ShapeSpec]:
        shape = layer.output_shape(given)  # refuses, with the layer's own message, a misfit
        name = path.rstrip(".")
        count = layer.num_parameters()
        label = type(layer).__name__ + (f" · {count:,} params" if count else "")
        if self.uses.get(id(layer), 0) > 1:
            label += " · shared"
        fill = self.colors.get(id(layer), "#eef2fb")
        box = Box(label, _short(_detail(layer), 60), self.stats.get(name, ""), fill)
        return self.box(box, sources), shape


def _detail(layer: Layer) -> str:
    """The line under a layer's name: its arguments, a convolution's in a short form."""
    if not isinstance(layer, (Conv1d, Conv2d)):
        return layer.extra_repr()
    parts = [
        f"{layer.in_channels} -> {layer.out_channels} channels",
        " x ".join(map(str, layer.kernel_size)),
    ]
    padding = layer.padding if isinstance(layer.padding, str) else _sizes(layer.padding)
    for name, value, default in (
        ("stride", _sizes(layer.stride), "1"),
        ("padding", padding, "0"),
        ("dilation", _sizes(layer.dilation), "1"),
        ("groups", str(layer.groups), "1"),
    ):
        if value != default:
            parts.append(f"{name} {value}")
    return ", ".join(parts)


def _sizes(sizes: tuple[int, ...]) -> str:
    return str(sizes[0]) if len(set(sizes)) == 1 else " x ".join(map(str, sizes))


def _short(text: str, limit: int = 38) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _count_uses(model: Layer) -> dict[int, int]:
    """How many places each leaf layer runs at: 2 or more means shared."""
    counts: dict[int, int] = {}

    def visit(layer: Layer) -> None:
        if isinstance(layer, Graph):
            for node in layer.nodes:
                visit(node.layer)
        elif isinstance(layer, Sequential):
            for child in layer.layers:  # each position, a repeated layer included
                visit(child)
        elif isinstance(layer, Residual):
            visit(layer.block)
        elif isinstance(layer, Parallel):
            for branch in layer.branches:
                visit(branch)
        else:
            counts[id(layer)] = counts.get(id(layer), 0) + 1

    visit(model)
    return counts


def _statistics(inspector: Any) -> dict[str, str]:
    """The latest epoch's gradient norms and saturated/dead fractions, by layer name."""
    if inspector is None:
        return {}
    notes: dict[str, list[str]] = {}
    for key, values in inspector.layer_stats.items():
        name, _, statistic = key.rpartition("/")
        if not values:
            continue
        value = values[-1]
        if statistic == "grad_norm":
            layer = name.rpartition(".")[0] or name
            notes.setdefault(layer, []).append(f"|g| {value:.2g}")
        elif statistic in ("saturated", "dead"):
            notes.setdefault(name, []).append(f"{statistic} {value:.0%}")
    return {name: ", ".join(texts) for name, texts in notes.items()}


def draw(
    model: Layer,
    input_shape: int | tuple[int | None, ...] | list[Any] | None = None,
    *,
    inspector: Any = None,
) -> Drawing:
    """Draw ``model`` as an SVG: its layers, the shapes on the edges, parameters, sharing.

    Args:
        model: Any layer or container.
        input_shape: The shape of one sample, without the batch axis, e.g.
            ``(1, 8, 8)`` (an int ``n`` means ``(n,)``); a list of them for a
            model with several inputs. Omitted, edges show what can be inferred
            without it (``*`` for unknown leading axes).
        inspector: An ``mtl.Inspector`` that watched a training run: each
            layer's box then shows its latest gradient norm (``|g|``) and the
            saturated or dead fraction of its activations.

    Returns:
        A ``Drawing``; it displays itself in a notebook, and ``save(path)``
        writes the SVG.

    Raises:
        ShapeError: ``input_shape`` does not fit the model (the message names
            the layer).
    """
    if not isinstance(model, Layer):
        raise TypeError(f"draw: model must be a Layer, received {type(model).__name__}")
    fewest, _ = model.input_arity()
    if isinstance(input_shape, list):
        shapes: list[Shape] = [sample_shape("draw", shape) for shape in input_shape]
    else:
        shapes = [ANY if input_shape is None else sample_shape("draw", input_shape)]
        shapes = shapes * max(fewest, 1) if input_shape is None else shapes
    walk = _Walk(_statistics(inspector))
    walk.uses = _count_uses(model)
    shared = [layer_id for layer_id, count in walk.uses.items() if count > 1]
    walk.colors = {
        layer_id: SHARED_COLORS[i % len(SHARED_COLORS)] for i, layer_id in enumerate(shared)
    }
    names = getattr(model, "input_names", None) or ["input"] * len(shapes)
    sources = [
        (walk.box(Box(f"{name}", describe(shape), fill="#e8f5e9"), []), shape)
        for name, shape in zip(names, shapes, strict=False)
    ]
    end, shape = walk.add(model, sources, "")
    walk.box(Box("output", describe(shape), fill="#e8f5e9"), [(end, shape)])
    text = svg(walk.boxes, walk.edges, walk.groups)
    return Drawing(text, [box.label for box in walk.boxes], list(walk.edges), list(walk.groups))
