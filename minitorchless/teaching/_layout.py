"""Laying out ``draw``'s boxes in rows and writing them, their edges and frames, as SVG.

Rows come from the longest path from the inputs; an edge that skips rows goes
round the right side of the boxes it passes, in a lane of its own; a group
(a ``Residual``'s boxes) gets a dashed frame with its title in the top edge.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

__all__ = ["Box", "svg"]

BOX_HEIGHT = 44
ROW_GAP = 46  # room for the shape label between two rows of boxes
CHAR_WIDTH = 7.2  # of the 12 px monospace font, for sizing boxes
MARGIN = 20


@dataclass
class Box:
    """One box of the drawing: a layer, an input, a sum, the output."""

    label: str
    detail: str = ""
    note: str = ""  # parameter count, shared marker, statistics
    fill: str = "#eef2fb"
    row: int = 0
    x: float = 0.0
    width: float = 0.0


def _place(boxes: list[Box], edges: list[tuple[int, int, str]]) -> tuple[float, float]:
    """Rows by longest path from the inputs, boxes centred in their row; returns the size."""
    incoming: dict[int, list[int]] = {}
    for source, target, _ in edges:
        incoming.setdefault(target, []).append(source)
    for index, box in enumerate(boxes):  # boxes come in an order where sources are first
        box.row = 1 + max((boxes[s].row for s in incoming.get(index, [])), default=-1)
        longest = max(len(box.label), len(box.detail), len(box.note))
        box.width = max(110.0, CHAR_WIDTH * longest + 20)
    rows: dict[int, list[Box]] = {}
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


def _height(boxes: list[Box]) -> int:
    return BOX_HEIGHT + (16 if any(box.note for box in boxes) else 0)


def _top(box: Box, height: int) -> float:
    return MARGIN + box.row * (height + ROW_GAP)


def _edge(a: Box, b: Box, height: int, lane_x: float | None) -> str:
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


def _lanes(boxes: list[Box], edges: list[tuple[int, int, str]]) -> list[float | None]:
    """Per edge, the x of the lane it takes round the boxes it skips; ``None`` if it skips none."""
    lanes: list[float | None] = []
    for source, target, _ in edges:
        a, b = boxes[source], boxes[target]
        if b.row > a.row + 1:  # skips rows: round the right side of the boxes between
            between = [box.x + box.width for box in boxes if a.row < box.row < b.row]
            count = sum(lane is not None for lane in lanes) + 1
            lanes.append(max(between, default=a.x + a.width) + 18 * count)
        else:
            lanes.append(None)
    return lanes


def _frames(
    boxes: list[Box],
    edges: list[tuple[int, int, str]],
    lanes: list[float | None],
    groups: list[tuple[int, int, str]],
) -> list[str]:
    """A dashed frame round each group's boxes and skip lanes, its title in its top edge."""
    height, parts = _height(boxes), []
    for first, last, title in groups:
        inside = boxes[first : last + 1]
        inner = sum(first <= other[0] and other[1] <= last for other in groups) - 1
        pad = 8.0 + 6 * inner  # a frame holding frames stands clear of them
        skips = [x for x, edge in zip(lanes, edges, strict=True) if x and edge[1] == last]
        x0 = min(box.x for box in inside) - pad
        x1 = max([box.x + box.width for box in inside] + skips) + pad
        y0 = _top(boxes[first], height) - pad
        y1 = _top(boxes[last], height) + height + pad
        parts.append(
            f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" height="{y1 - y0:.1f}" '
            f'rx="10" fill="none" stroke="#99a" stroke-dasharray="5 4"/>'
        )
        width = CHAR_WIDTH * 0.92 * len(title) + 8
        parts.append(
            f'<rect x="{x0 + 8:.1f}" y="{y0 - 7:.1f}" width="{width:.1f}" height="13" '
            f'fill="white"/>'
        )
        parts.append(
            f'<text x="{x0 + 12:.1f}" y="{y0 + 4:.1f}" font-size="11" fill="#667">'
            f"{html.escape(title)}</text>"
        )
    return parts


def svg(
    boxes: list[Box], edges: list[tuple[int, int, str]], groups: list[tuple[int, int, str]]
) -> str:
    width, height_total = _place(boxes, edges)
    height = _height(boxes)
    esc = html.escape
    lanes = _lanes(boxes, edges)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
        f'height="{height_total:.0f}" viewBox="0 0 {width:.0f} {height_total:.0f}" '
        f'font-family="monospace" font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#667"/></marker></defs>',
        f'<rect width="{width:.0f}" height="{height_total:.0f}" fill="white"/>',
        *_frames(boxes, edges, lanes, groups),
    ]
    for (source, target, label), lane_x in zip(edges, lanes, strict=True):
        a, b = boxes[source], boxes[target]
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
