"""Laying out an ``Explanation``: aligned text for a terminal, a table for a notebook."""

from __future__ import annotations

import html
import textwrap
from typing import TYPE_CHECKING

import numpy as np

from minitorchless._types import FloatArray

if TYPE_CHECKING:
    from minitorchless.teaching.explanation import Explanation, Phase

__all__ = ["FORMULA_WIDTH", "format_value", "render", "render_html", "shape_of"]

FORMULA_WIDTH = 100  # longer formulas go on, indented, on the lines below


def shape_of(array: FloatArray) -> str:
    return str(tuple(np.shape(array)))


def format_value(value: FloatArray, rows: int | None, precision: int) -> str:
    array = np.asarray(value)
    cut = rows is not None and array.ndim > 1 and array.shape[0] > rows
    shown = array[:rows] if cut else array
    text = np.array2string(shown, precision=precision, suppress_small=True, max_line_width=88)
    if shown is not array:
        text += f"   (first {rows} of {array.shape[0]} rows)"
    return text


def _header(result: Explanation, precision: int) -> list[str]:
    lines = []
    if result.parameters:
        listed = ", ".join(f"{name} {shape_of(result.values[name])}" for name in result.parameters)
        lines.append(f"Parameters: {listed}")
        for name in result.parameters:
            label = f"  {name} = "
            value = format_value(result.values[name], None, precision)
            lines.append(label + value.replace("\n", "\n" + " " * len(label)))
    inputs = [
        name for name in result.values if name == "X" or (name[:1] == "X" and name[1:].isdigit())
    ]
    shapes = ", ".join(f"{name} {shape_of(result.values[name])}" for name in inputs)
    batch = np.shape(result.values[inputs[0]])[0] if inputs else 0
    lines.append(f"Forward: one batch of {batch} samples, {shapes}, computed in float64")
    return lines


def render(result: Explanation, rows: int, precision: int) -> str:
    """Lay the steps out as aligned text: where, formula, shapes, the values, the check."""
    lines = _header(result, precision)
    width_where = max(len(step.layer) for step in result.steps)
    width_formula = min(FORMULA_WIDTH, max(len(step.formula) for step in result.steps))
    pad = " " * (4 + width_where)
    phase: Phase = "forward"
    for step in result.steps:
        if step.phase != phase:
            phase = step.phase
            lines.append("Loss:" if phase == "loss" else "Backward:")
        first, *rest = textwrap.wrap(step.formula, FORMULA_WIDTH, break_on_hyphens=False)
        lines.append(f"  {step.layer:<{width_where}}  {first:<{width_formula}}  {step.shapes}")
        lines.extend(f"{pad}    {line}" for line in rest)
        if step.phase == "loss":
            lines.append(f"{pad}L = {float(step.value):.{precision + 2}g}")
            continue
        label = f"{step.name} = "
        value = format_value(step.value, rows if step.per_sample else None, precision)
        lines.append(f"{pad}{label}{value.replace(chr(10), chr(10) + pad + ' ' * len(label))}")
        if step.check:
            lines.append(f"{pad}{step.check}")
    summary = (
        "every gradient above agrees with finite differences of its own step"
        if (result.verified)
        else "SOME GRADIENTS DISAGREE with finite differences: see MISMATCH"
    )
    lines.append(f"Checks: {summary}")
    return "\n".join(lines)


def render_html(result: Explanation, rows: int, precision: int) -> str:
    """The steps as an HTML table, for a notebook."""
    esc = html.escape
    cells = []
    for step in result.steps:
        if step.phase == "loss":
            value = f"L = {float(step.value):.{precision + 2}g}"
        else:
            value = format_value(step.value, rows if step.per_sample else None, precision)
        colour = "" if step.passed else ' style="color:#b00"'
        cells.append(
            f"<tr><td>{esc(step.phase)}</td><td><code>{esc(step.layer)}</code></td>"
            f"<td><code>{esc(step.formula)}</code></td><td>{esc(step.shapes)}</td>"
            f"<td><pre>{esc(value)}</pre></td><td{colour}>{esc(step.check)}</td></tr>"
        )
    head = "".join(
        f"<th>{name}</th>" for name in ("phase", "where", "formula", "shapes", "value", "check")
    )
    return (
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(cells)}</tbody></table>"
        f"<p>loss {result.loss:.{precision + 2}g}; "
        f"{'all checks passed' if result.verified else 'SOME CHECKS FAILED'}</p>"
    )
