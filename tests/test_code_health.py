"""The package stays easy to change: short files, short functions.

One concept per file and functions that fit on a screen are conventions of the
project (``docs/architecture.md``); this test keeps them true. Docstrings do not
count towards a function's length: only its body of code does.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_FILE_LINES = 410  # "about 400"
MAX_FUNCTION_LINES = 60


def code_lines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """The lines a function's body spans, leaving out its docstring."""
    body = function.body
    first = body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        if len(body) == 1:
            return 0
        first = body[1]
    return (function.end_lineno or first.lineno) - first.lineno + 1


def long_functions(path: Path, limit: int) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({code_lines(node)} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and code_lines(node) > limit
    ]


PACKAGE_FILES = sorted((ROOT / "minitorchless").rglob("*.py"))


def test_no_file_is_long() -> None:
    assert len(PACKAGE_FILES) > 30
    long = [
        f"{p.relative_to(ROOT)} ({n} lines)"
        for p in PACKAGE_FILES
        if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES
    ]
    assert not long, f"files over {MAX_FILE_LINES} lines: split them by concept: {long}"


def test_no_function_is_long() -> None:
    long = [entry for path in PACKAGE_FILES for entry in long_functions(path, MAX_FUNCTION_LINES)]
    assert not long, f"function bodies over {MAX_FUNCTION_LINES} lines: {long}"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('def f():\n    """Doc."""\n    return 1\n', 1),
        ("def f():\n    a = 1\n    b = 2\n    return a + b\n", 3),
        ('def f():\n    """Only a docstring."""\n', 0),
    ],
)
def test_the_counter_leaves_docstrings_out(tmp_path: Path, body: str, expected: int) -> None:
    function = ast.parse(body).body[0]
    assert isinstance(function, ast.FunctionDef)
    assert code_lines(function) == expected
    path = ROOT / "tests" / "_probe_for_code_health.py"  # inside ROOT for relative_to
    try:
        path.write_text(body)
        assert long_functions(path, expected - 1)  # one line over the limit is caught
        assert not long_functions(path, expected)
    finally:
        path.unlink()
