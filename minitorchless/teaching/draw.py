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

import html
import os
from dataclasses import dataclass, field
from typing import Any

from minitorchless.layers.base import Layer
from minitorchless.layers.combinators import Parallel, Residual
from minitorchless.layers.graph import Graph
from minitorchless.layers.sequential import Sequential
from minitorchless.layers.shapes import ANY, Shape, ShapeSpec, describe, sample_shape

__all__ = ["Drawing", "draw"]

BOX_HEIGHT = 44
ROW_GAP = 46  # room for the shape label between two rows of boxes
CHAR_WIDTH = 7.2  # of the 12 px monospace font, for sizing boxes
MARGIN = 20
SHARED_COLORS = ("#fde2c4", "#d9ecd0", "#e2dcf3", "#f7d6e0", "#d2e7f3")


@dataclass
class _Box:
    label: str
    detail: str = ""
    note: str = ""  # parameter count, shared marker, statistics
    fill: str = "#eef2fb"
    row: int = 0
    x: float = 0.0
    width: float = 0.0


@dataclass
class Drawing:
    """An SVG picture of a model. ``str(drawing)`` and ``drawing.svg`` are the SVG text.

    Attributes:
        svg: The SVG document.
        boxes: The label of each box, in drawing order (for tests and tools).
        edges: ``(from, to, shape label)`` per edge, by box index.
    """

    svg: str
    boxes: list[str] = field(default_factory=list)
    edges: list[tuple[int, int, str]] = field(default_factory=list)

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
        self.boxes: list[_Box] = []
        self.edges: list[tuple[int, int, str]] = []
        self.stats = stats  # dotted layer name -> text to show on its box
        self.uses: dict[int, int] = {}  # id(layer) -> how many places it runs at
        self.colors: dict[int, str] = {}
        self.prefix = ""  # a Graph node's name, put before the label of its first box

    def box(self, box: _Box, sources: list[tuple[int, ShapeSpec]]) -> int:
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
            inner = self.add(layer.block, sources, f"{path}block.")
            total = self.box(_Box("+", "skip connection", fill="#fff7d6"), [*sources, inner])
            return total, layer.output_shape(given)
        if isinstance(layer, Parallel):
            ends = [
                self.add(branch, sources, f"{path}{name}.") for name, branch in layer.children()
            ]
            if len(ends) == 1:
                return ends[0]
            merge = self.box(_Box(layer.merge, "merge", fill="#fff7d6"), ends)
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
        gather = self.box(_Box("outputs", ", ".join(graph.output_names), fill="#e8f5e9"), outputs)
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
        box = _Box(label, _short(layer.extra_repr(), 48), self.stats.get(name, ""), fill)
        return self.box(box, sources), shape


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


def _place(boxes: list[_Box], edges: list[tuple[int, int, str]]) -> tuple[float, float]:
    """Rows by longest path from the inputs, boxes centred in their row; returns the size."""
    incoming: dict[int, list[int]] = {}
    for source, target, _ in edges:
        incoming.setdefault(target, []).append(source)
    for index, box in enumerate(boxes):  # boxes come in an order where sources are first
        box.row = 1 + max((boxes[s].row for s in incoming.get(index, [])), default=-1)
        longest = max(len(box.label), len(box.detail), len(box.note))
        box.width = max(110.0, CHAR_WIDTH * longest + 20)
    rows: dict[int, list[_Box]] = {}
    for box in boxes:
        rows.setdefault(box.row, []).append(box)
    widest = max(sum(b.width for b in row) + 24 * (len(row) - 1) for row in rows.values())
    for row in rows.values():
        x = MARGIN + (widest - (sum(b.width for b in row) + 24 * (len(row) - 1))) / 2
        for box in row:
            box.x = x
            x += box.width + 24
    lanes = sum(1 for s, t, _ in edges if boxes[t].row > boxes[s].row + 1)
    width = widest + 2 * MARGIN + 18 * lanes  # room for the edges that skip rows
    height = 2 * MARGIN + len(rows) * _height(boxes) + (len(rows) - 1) * ROW_GAP
    return width, height


def _height(boxes: list[_Box]) -> int:
    return BOX_HEIGHT + (16 if any(box.note for box in boxes) else 0)


def _top(box: _Box, height: int) -> float:
    return MARGIN + box.row * (height + ROW_GAP)


def _edge(a: _Box, b: _Box, height: int, lane_x: float | None) -> str:
    """A curve from the bottom of ``a`` to the top of ``b``, round the side if it skips rows."""
    x1, y1 = a.x + a.width / 2, _top(a, height) + height
    x2, y2 = b.x + b.width / 2, _top(b, height)
    if lane_x is None:
        bend = (y2 - y1) / 2
        return (
            f"M {x1:.1f} {y1:.1f} C {x1:.1f} {y1 + bend:.1f} {x2:.1f} {y2 - bend:.1f} "
            f"{x2:.1f} {y2:.1f}"
        )
    turn = ROW_GAP / 2
    return (
        f"M {x1:.1f} {y1:.1f} C {x1:.1f} {y1 + turn:.1f} {lane_x:.1f} {y1:.1f} "
        f"{lane_x:.1f} {y1 + turn:.1f} L {lane_x:.1f} {y2 - turn:.1f} C {lane_x:.1f} "
        f"{y2:.1f} {x2:.1f} {y2 - turn:.1f} {x2:.1f} {y2:.1f}"
    )


def _svg(boxes: list[_Box], edges: list[tuple[int, int, str]]) -> str:
    width, height_total = _place(boxes, edges)
    height = _height(boxes)
    esc = html.escape
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
        f'height="{height_total:.0f}" viewBox="0 0 {width:.0f} {height_total:.0f}" '
        f'font-family="monospace" font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#667"/></marker></defs>',
        f'<rect width="{width:.0f}" height="{height_total:.0f}" fill="white"/>',
    ]
    lane = 0
    for source, target, label in edges:
        a, b = boxes[source], boxes[target]
        lane_x = None
        if b.row > a.row + 1:  # skips rows: round the right side of the boxes between
            between = [box.x + box.width for box in boxes if a.row < box.row < b.row]
            lane += 1
            lane_x = max(between, default=a.x + a.width) + 18 * lane
        parts.append(
            f'<path d="{_edge(a, b, height, lane_x)}" fill="none" stroke="#667" '
            f'stroke-width="1.2" marker-end="url(#arrow)"/>'
        )
        if lane_x is None:
            x = (a.x + a.width / 2 + b.x + b.width / 2) / 2 + 4
            y = _top(b, height) - ROW_GAP / 2 + 4
            parts.append(f'<text x="{x:.1f}" y="{y:.1f}" fill="#445">{esc(label)}</text>')
    for box in boxes:
        top, centre = _top(box, height), box.x + box.width / 2
        parts.append(
            f'<rect x="{box.x:.1f}" y="{top:.1f}" width="{box.width:.1f}" '
            f'height="{height}" rx="6" fill="{box.fill}" stroke="#556"/>'
        )
        lines = [
            (box.label, ' font-weight="bold"'),
            (box.detail, ' fill="#334"'),
            (box.note, ' fill="#a33"'),
        ]
        for number, (text, style) in enumerate(line for line in lines if line[0]):
            parts.append(
                f'<text x="{centre:.1f}" y="{top + 16 + 16 * number:.1f}" '
                f'text-anchor="middle"{style}>{esc(text)}</text>'
            )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


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
        (walk.box(_Box(f"{name}", describe(shape), fill="#e8f5e9"), []), shape)
        for name, shape in zip(names, shapes, strict=False)
    ]
    end, shape = walk.add(model, sources, "")
    walk.box(_Box("output", describe(shape), fill="#e8f5e9"), [(end, shape)])
    svg = _svg(walk.boxes, walk.edges)
    return Drawing(svg, [box.label for box in walk.boxes], list(walk.edges))
