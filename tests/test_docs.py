"""Every Python code block in README.md and docs/ runs, so the docs cannot rot.

The blocks of one page run in order in one namespace (a page may build on its
earlier blocks), in a temporary working directory. A block whose first line is
``# requires: name`` is skipped where that module cannot be imported (and run
in CI, which installs everything).
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
PAGES = [
    page for page in sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
    if BLOCK.search(page.read_text())
]
REQUIRES = re.compile(r"^# requires: ([\w.]+)")


def test_there_are_pages_with_code() -> None:
    assert sum(len(BLOCK.findall(page.read_text())) for page in PAGES) >= 3


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_code_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = BLOCK.findall(page.read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for number, source in enumerate(blocks, start=1):
        required = REQUIRES.match(source)
        if required and importlib.util.find_spec(required.group(1)) is None:
            if os.environ.get("MINITORCHLESS_REQUIRE_TORCH") == "1":
                pytest.fail(f"{page.name} block {number} needs {required.group(1)}")
            continue
        code = compile(source, f"{page.name}:block{number}", "exec")
        try:
            exec(code, namespace)
        except Exception as err:
            raise AssertionError(f"{page.name}, python block {number} failed: {err!r}") from err
