"""What ``explain`` returns: the ``Step``s of one pass and the ``Explanation`` holding them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from minitorchless._types import FloatArray
from minitorchless.teaching.text import render_html

__all__ = ["Explanation", "Phase", "Step"]

Phase = Literal["forward", "loss", "backward"]


@dataclass(frozen=True)
class Step:
    """One computation of the pass.

    Attributes:
        phase: ``"forward"``, ``"loss"`` or ``"backward"``.
        layer: Where it happens: the layer's dotted name and class, e.g.
            ``"[0] Dense"``, or the loss's class.
        name: The symbol of the result, e.g. ``"Z1"``, ``"delta2"``, ``"dL/dW1"``.
        formula: What is computed, e.g. ``"Z1 = X @ W1"``.
        shapes: The shapes involved, e.g. ``"(4, 5) @ (5, 4) -> (4, 4)"``.
        value: The result, as the layer computed it.
        per_sample: Whether ``value`` has a row per sample (only the first
            rows are printed) rather than being a parameter's gradient.
        check: For a gradient, the finite-difference check of it, in words.
        passed: Whether that check passed (``True`` where there is none).
    """

    phase: Phase
    layer: str
    name: str
    formula: str
    shapes: str
    value: FloatArray
    per_sample: bool = True
    check: str = ""
    passed: bool = True


@dataclass
class Explanation:
    """Everything ``explain`` computed: the steps, in order, and their results by symbol.

    ``str(explanation)`` is the printed walk-through; in a notebook it shows as
    a table; ``explanation["delta1"]`` is the array behind a symbol.

    Attributes:
        steps: The forward steps, the loss, then the backward steps.
        loss: The loss of the batch.
        values: Every result by symbol: ``"X"``, ``"Z1"``, ``"A1"``, ...,
            ``"dL/dA2"``, ``"delta2"``, ``"dL/dW2"``, ...
        text: The walk-through as printed.
        verified: Whether every gradient agreed with its finite-difference check.
        parameters: The symbols of the weights shown (``"W1"``, ``"b1"``...).
    """

    steps: list[Step] = field(default_factory=list)
    loss: float = float("nan")
    values: dict[str, FloatArray] = field(default_factory=dict)
    text: str = ""
    verified: bool = True
    parameters: list[str] = field(default_factory=list)
    rows: int = 2
    precision: int = 4

    def __getitem__(self, name: str) -> FloatArray:
        if name not in self.values:
            raise KeyError(f"explain: no value named {name!r}; available: {list(self.values)}")
        return self.values[name]

    def __str__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return render_html(self, self.rows, self.precision)
