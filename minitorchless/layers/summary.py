"""``summary()``'s table: one row per layer, containers nesting their children's rows.

A container met a second time in the same table (a shared container) gets one
row saying so instead of its rows again, so that the table stays linear in the
model's size, however the containers are shared and nested.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from minitorchless.layers.shapes import (
    ANY,
    Shape,
    ShapeSpec,
    describe,
    infer_shape,
    sample_shape,
    shape_memo,
)

if TYPE_CHECKING:
    from minitorchless.layers.base import Layer

__all__ = ["SummaryRows", "child_rows", "nest", "print_summary", "summary_scope"]

SummaryRows = list[tuple[str, Any, int]]
"""``(name, output shape or None, parameter count)`` per row."""


# the containers whose rows the table being built already holds (None: no table)
_LISTED: ContextVar[set[int] | None] = ContextVar("minitorchless_summary_listed", default=None)


@contextmanager
def summary_scope() -> Iterator[None]:
    """Open the set of listed containers for one table (join the open one if any)."""
    if _LISTED.get() is not None:
        yield
        return
    token = _LISTED.set(set())
    try:
        yield
    finally:
        _LISTED.reset(token)


def child_rows(layer: Layer, input_shape: ShapeSpec) -> tuple[SummaryRows, ShapeSpec]:
    """``layer.summary_rows(input_shape)``, or one row for a container listed already."""
    listed = _LISTED.get()
    if listed is not None and layer.children():
        if id(layer) in listed:
            output_shape = infer_shape(layer, input_shape)
            return [(f"{type(layer).__name__} (shared: listed above)", output_shape, 0)], (
                output_shape
            )
        listed.add(id(layer))
    return layer.summary_rows(input_shape)


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


def print_summary(
    model: Layer, input_shape: int | tuple[int | None, ...] | None, print_fn: Callable[[str], None]
) -> None:
    """Print ``model.summary(input_shape)``'s table, then the totals and the dtype."""
    shape: Shape = ANY if input_shape is None else sample_shape("summary", input_shape)
    with shape_memo(), summary_scope():
        rows, _ = model.summary_rows(shape)
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
