"""Tables, targets and their rendering as plain text (the terminal) or Markdown (the docs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Section", "Table", "Target", "markdown", "text"]


@dataclass(frozen=True)
class Target:
    """A speed target from the issue, and whether this run met it.

    Attributes:
        description: What is compared, e.g. ``"explicit loop / hand-written NumPy"``.
        value: The measured ratio or fraction.
        bound: The target's bound.
        kind: ``"at most"`` (value <= bound) or ``"at least"`` (value >= bound).
        unit: ``"x"`` for ratios, ``"%"`` for fractions (stored as 0..1).
    """

    description: str
    value: float
    bound: float
    kind: Literal["at most", "at least"]
    unit: Literal["x", "%"] = "x"

    @property
    def met(self) -> bool:
        return self.value <= self.bound if self.kind == "at most" else self.value >= self.bound

    def _format(self, number: float) -> str:
        return f"{number:.0%}" if self.unit == "%" else f"{number:.2f}x"

    def cells(self) -> list[str]:
        return [
            self.description,
            self._format(self.value),
            f"{self.kind} {self._format(self.bound)}",
            "met" if self.met else "MISSED",
        ]


@dataclass
class Table:
    """A titled table of strings."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Section:
    """One workload's results: what it is, its tables, its targets, and raw numbers."""

    title: str
    description: str
    tables: list[Table] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def target_table(self) -> Table | None:
        if not self.targets:
            return None
        table = Table("Targets", ["target", "measured", "goal", ""])
        table.rows = [target.cells() for target in self.targets]
        return table


def _widths(table: Table) -> list[int]:
    rows = [table.columns, *table.rows]
    return [max(len(row[i]) for row in rows) for i in range(len(table.columns))]


def _text_table(table: Table) -> list[str]:
    widths = _widths(table)

    def line(cells: list[str]) -> str:
        # first column left-aligned (names), the others right-aligned (numbers)
        parts = [cells[0].ljust(widths[0])]
        parts += [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join(parts).rstrip()

    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    return [table.title, rule, line(table.columns), rule, *map(line, table.rows), rule]


def text(section: Section) -> str:
    """Render a section for the terminal."""
    lines = [f"== {section.title}", section.description, ""]
    tables = [*section.tables]
    target_table = section.target_table()
    if target_table is not None:
        tables.append(target_table)
    for table in tables:
        lines += [*_text_table(table), ""]
    lines += [f"note: {note}" for note in section.notes]
    return "\n".join(lines).rstrip() + "\n"


def _markdown_table(table: Table) -> list[str]:
    align = ["---"] + ["---:"] * (len(table.columns) - 1)
    lines = [f"*{table.title}*", ""] if table.title else []
    lines.append("| " + " | ".join(table.columns) + " |")
    lines.append("| " + " | ".join(align) + " |")
    lines += ["| " + " | ".join(row) + " |" for row in table.rows]
    return [*lines, ""]


def markdown(sections: list[Section], machine: dict[str, str], settings: dict[str, str]) -> str:
    """Render a whole run as Markdown: the machine, the settings, then every section.

    Headings are of the third level, to sit under a section of ``docs/performance.md``.
    """
    lines = ["### Machine", "", "| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in machine.items()]
    lines += ["", "### Settings", "", "| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in settings.items()]
    lines.append("")
    for section in sections:
        lines += [f"### {section.title}", "", section.description, ""]
        for table in section.tables:
            lines += _markdown_table(table)
        target_table = section.target_table()
        if target_table is not None:
            lines += _markdown_table(target_table)
        lines += [f"- {note}" for note in section.notes]
        if section.notes:
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
