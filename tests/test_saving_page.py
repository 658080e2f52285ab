"""docs/saving.md states the loader's guarantees, each backed by a test that exists.

The page's tables are written by hand, so this test holds them to the code:
every test a guarantee cites is defined in ``tests/``, every row of the
guarantees cites one, and the limits table lists every constant of
``serialization.limits`` with its value.
"""

from __future__ import annotations

import re
from pathlib import Path

from minitorchless.layers.shapes import MAX_RANK
from minitorchless.serialization import _decode, _json, limits

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "docs" / "saving.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = PAGE.index(f"### {title}")
    end = PAGE.find("\n#", start + 1)
    return PAGE[start : end if end >= 0 else len(PAGE)]


def _defined_tests() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests").rglob("*.py"):
        names |= set(re.findall(r"^def (test_\w+)\(", path.read_text(encoding="utf-8"), re.M))
    return names


def _table_rows(text: str) -> list[list[str]]:
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def test_every_test_the_page_cites_exists() -> None:
    cited = set(re.findall(r"`(test_\w+)`", PAGE))
    assert len(cited) >= 20
    missing = sorted(cited - _defined_tests())
    assert not missing, f"docs/saving.md cites tests that do not exist: {missing}"


def test_every_guarantee_is_backed_by_a_named_test() -> None:
    rows = _table_rows(_section("What is guaranteed, and which test proves it"))
    assert len(rows) >= 20
    for guarantee, _, tests in rows:
        assert re.search(r"`test_\w+`", tests), f"no test backs: {guarantee}"


def test_the_limits_table_gives_every_limit_its_value() -> None:
    rows = _table_rows(_section("The limits"))
    shown = {name.strip("`"): int(value.replace(",", "")) for name, value, _ in rows}
    assert shown == {name: getattr(limits, name) for name in limits.__all__}


def test_the_numbers_of_the_guarantees_are_the_codes() -> None:
    rows = _table_rows(_section("What is guaranteed, and which test proves it"))
    policies = " ".join(policy for _, policy, _ in rows)
    assert _decode._SLACK == 2**20 and "plus 2²⁰" in policies
    assert f"{_json._MAX_INTEGER_DIGITS} digits at most" in policies
    assert f"{MAX_RANK} axes, `minitorchless.layers.shapes.MAX_RANK`" in policies
    assert f"{_decode._CHECKS_PER_VALUE} lookups per JSON value" in policies
