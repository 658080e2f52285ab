"""The tutorial notebooks, made from their pages, run top to bottom in a Jupyter kernel."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs"))

import notebooks  # noqa: E402

NEEDED = ("jupytext", "nbclient", "nbformat", "ipykernel")


def _need_jupyter() -> None:
    for module in NEEDED:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (pip install -e '.[test]')")


def test_every_listed_page_exists_and_links_its_notebook() -> None:
    for page in notebooks.PAGES:
        text = (ROOT / "docs" / page).read_text()
        link = f"(notebooks/{page.replace('.md', '.ipynb')})"
        assert link in text, f"docs/{page} should link its notebook {link}"


@pytest.mark.slow
@pytest.mark.parametrize("page", notebooks.PAGES)
def test_the_notebook_runs(page: str, tmp_path: Path) -> None:
    _need_jupyter()
    import nbclient
    import nbformat

    notebook = nbformat.reads(notebooks.notebook_text(page), as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert len(code) >= 3  # one cell per python block of the page
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    # the kernel imports this checkout's package, not whichever one is installed
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    client.execute(env={**os.environ, "PYTHONPATH": path})  # raises on the first failure
    errors = [
        output
        for cell in code
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
    assert any(cell.get("outputs") for cell in code)  # it really ran and printed


def test_the_script_writes_one_notebook_per_page(tmp_path: Path) -> None:
    pytest.importorskip("jupytext")
    written = notebooks.main(["--out", str(tmp_path)])
    assert [path.name for path in written] == [p.replace(".md", ".ipynb") for p in notebooks.PAGES]
    first = json.loads(written[0].read_text())
    assert first["metadata"]["kernelspec"]["name"] == "python3"
    assert any(cell["cell_type"] == "code" for cell in first["cells"])
