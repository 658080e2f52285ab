"""Laying out an ``Explanation`` as aligned text: where, formula, shapes, then the values."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from minitorchless._types import FloatArray

if TYPE_CHECKING:
    from minitorchless.teaching.explain import Explanation, Phase

__all__ = ["format_value", "render", "shape_of"]


def shape_of(array: FloatArray) -> str:
    return str(tuple(array.shape))


def format_value(value: FloatArray, rows: int | None, precision: int) -> str:
    array = np.asarray(value)
    cut = rows is not None and array.ndim > 1 and array.shape[0] > rows
    shown = array[:rows] if cut else array
    text = np.array2string(shown, precision=precision, suppress_small=True, max_line_width=88)
    if shown is not array:
        text += f"   (first {rows} of {array.shape[0]} rows)"
    return text


def render(result: Explanation, rows: int, precision: int) -> str:
    """Lay the steps out as aligned text: where, formula, shapes, then the values."""
    x = result.values["X"]
    weights = [name for name in result.values if name[0] in "Wb"]
    listed = ", ".join(f"{name} {shape_of(result.values[name])}" for name in weights)
    lines = [f"Parameters: {listed}"]
    for name in weights:
        label = f"  {name} = "
        value = format_value(result.values[name], None, precision)
        lines.append(label + value.replace("\n", "\n" + " " * len(label)))
    lines.append(f"Forward: one batch of {x.shape[0] if x.ndim else 1} samples, X {shape_of(x)}")
    width_where = max(len(step.layer) for step in result.steps)
    width_formula = max(len(step.formula) for step in result.steps)
    phase: Phase = "forward"
    for step in result.steps:
        if step.phase != phase:
            phase = step.phase
            lines.append("Loss:" if phase == "loss" else "Backward:")
        lines.append(
            f"  {step.layer:<{width_where}}  {step.formula:<{width_formula}}  {step.shapes}"
        )
        if step.phase == "loss":
            lines.append(f"  {'':<{width_where}}  L = {float(step.value):.{precision + 2}g}")
            continue
        label = f"{step.name} = "
        value = format_value(step.value, rows if step.per_sample else None, precision)
        indent = " " * (4 + width_where + len(label))
        value = value.replace("\n", "\n" + indent)
        lines.append(f"  {'':<{width_where}}  {label}{value}")
    return "\n".join(lines)
