"""``summary()``'s table: one row per layer, containers nesting their children's rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from minitorchless.layers.shapes import ShapeSpec, describe

if TYPE_CHECKING:
    from minitorchless.layers.base import Layer

__all__ = ["SummaryRows", "nest", "print_summary"]

SummaryRows = list[tuple[str, Any, int]]
"""``(name, output shape or None, parameter count)`` per row."""


def nest(label: str, layer: Layer, rows: SummaryRows, shape: ShapeSpec = None) -> SummaryRows:
    """A child's rows under ``label``: one row inline, several under a header, indented.

    ``shape``, if given, is shown on the inline row or the header instead of
    the child's own.
    """
    if len(rows) == 1:
        name, own_shape, count = rows[0]
        return [(f"{label}: {name}", own_shape if shape is None else shape, count)]
    header = (f"{label}: {type(layer).__name__}", shape, 0)
    return [header, *((f"  {name}", own_shape, count) for name, own_shape, count in rows)]


def print_summary(model: Layer, rows: SummaryRows, print_fn: Callable[[str], None]) -> None:
    """Print the rows as a table, then the totals and the dtype."""
    headers = ("Layer", "Output shape", "Params")
    body = [
        (name, "" if shape is None else describe(shape), f"{count:,}")
        for name, shape, count in rows
    ]
    widths = [max(len(row[i]) for row in [headers, *body]) for i in range(3)]
    rule = "-" * (sum(widths) + 4)

    def line(cells: tuple[str, str, str]) -> str:
        return f"{cells[0]:<{widths[0]}}  {cells[1]:<{widths[1]}}  {cells[2]:>{widths[2]}}"

    print_fn(line(headers))
    print_fn(rule)
    for row in body:
        print_fn(line(row))
    print_fn(rule)
    total = model.num_parameters()
    trainable = model.num_parameters(trainable_only=True)
    print_fn(f"Total params: {total:,}")
    if trainable != total:
        print_fn(f"Trainable params: {trainable:,} (frozen: {total - trainable:,})")
    buffers = sum(buffer.size for buffer in model.buffers())
    if buffers:
        print_fn(f"Buffers (not trained): {buffers:,}")
    dtype = model.dtype
    print_fn(f"dtype: {dtype if dtype is not None else 'none (no parameters)'}")
