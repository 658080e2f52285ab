"""Every Python code block in README.md and docs/ runs, so the docs cannot rot.

The blocks of one page run in order in one namespace (a page may build on its
earlier blocks), in a temporary working directory. A block whose first line is
``# requires: name`` is skipped where that module cannot be imported (and run
in CI, which installs everything).

What a page shows as a block's output is generated, never typed: a ``text``
block right after the line ``<!-- output -->``, which follows a python block,
must be exactly what that python block printed. Run the docs tests with
``MINITORCHLESS_UPDATE_DOCS=1`` to write the current outputs into the pages.

Beyond the code blocks: the code a page quotes in its equation-to-code tables
must still be in the library, every public module has an API reference page,
relative links and images resolve, the figure script draws every committed
figure, and the site builds with ``mkdocs build --strict`` (where the ``docs``
extra is installed).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
# right after a python block: <!-- output -->, then the text block showing what it printed
SHOWN = re.compile(r"\n\s*<!-- output -->\n```text\n(?P<shown>.*?)^```\n", re.DOTALL | re.MULTILINE)


def _shown_outputs(text: str) -> list[tuple[str, re.Match[str]]]:
    """``(code of the python block, match of the text block after it)`` for each shown output."""
    found = []
    for block in BLOCK.finditer(text):
        shown = SHOWN.match(text, block.end())
        if shown is not None:
            found.append((block[1], shown))
    return found


PAGES = [
    page
    for page in sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
    if BLOCK.search(page.read_text())
]
REQUIRES = re.compile(r"^# requires: ([\w.]+)")


def test_there_are_pages_with_code() -> None:
    assert sum(len(BLOCK.findall(page.read_text())) for page in PAGES) >= 3


def _run_blocks(page: Path) -> dict[str, str]:
    """Run a page's python blocks in order in one namespace; return each block's printed text."""
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    printed: dict[str, str] = {}
    for number, source in enumerate(BLOCK.findall(page.read_text()), start=1):
        required = REQUIRES.match(source)
        if required and importlib.util.find_spec(required.group(1)) is None:
            if os.environ.get("MINITORCHLESS_REQUIRE_TORCH") == "1":
                pytest.fail(f"{page.name} block {number} needs {required.group(1)}")
            continue
        code = compile(source, f"{page.name}:block{number}", "exec")
        stream = io.StringIO()
        try:
            with contextlib.redirect_stdout(stream):
                exec(code, namespace)
        except Exception as err:
            raise AssertionError(f"{page.name}, python block {number} failed: {err!r}") from err
        printed[source] = stream.getvalue()
    return printed


def _normalized(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_code_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    printed = _run_blocks(page)
    text = page.read_text()
    stale = []
    for code, match in _shown_outputs(text):
        actual = _normalized(printed.get(code, ""))
        if _normalized(match["shown"]) != actual:
            stale.append((match, actual))
    if stale and os.environ.get("MINITORCHLESS_UPDATE_DOCS") == "1":
        for match, actual in reversed(stale):
            start, end = match.span("shown")
            text = text[:start] + actual + "\n" + text[end:]
        page.write_text(text)
        return
    assert not stale, (
        f"{page.name} shows output that its code no longer prints (rerun with "
        f"MINITORCHLESS_UPDATE_DOCS=1 to regenerate):\n"
        + "\n".join(f"--- shown\n{m['shown']}--- printed\n{a}" for m, a in stale)
    )


def test_shown_output_is_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MINITORCHLESS_UPDATE_DOCS", raising=False)
    page = tmp_path / "page.md"
    # a block without shown output first: the check must still find the second block's
    page.write_text(
        "```python\nx = 6\n```\n\n```python\nprint(x * 7)\n```\n\n<!-- output -->\n"
        "```text\n41\n```\n"
    )
    with pytest.raises(AssertionError, match="no longer prints"):
        test_code_blocks_run(page, tmp_path, monkeypatch)
    monkeypatch.setenv("MINITORCHLESS_UPDATE_DOCS", "1")
    test_code_blocks_run(page, tmp_path, monkeypatch)
    assert "```text\n42\n```" in page.read_text()


# ------------------------------------------------------------ quoted code
TABLE_ROW = re.compile(r"^\|(.+)\|\s*$")
CODE_SPAN = re.compile(r"`([^`]+)`")
SOURCE = "\n".join(path.read_text() for path in sorted((ROOT / "minitorchless").rglob("*.py")))


def _quoted_code(page: Path) -> list[tuple[int, str]]:
    """Code spans in the ``code`` column of a page's tables, by line number.

    A table whose header has a column starting with "code" pairs equations with
    the library lines that compute them. Spans that are statements or calls
    (they contain ``=``, ``(``, ``@`` or ``[``) must appear verbatim in the
    source; names such as ``Dense.backward`` or ``dense.py`` are pointers.
    """
    quoted: list[tuple[int, str]] = []
    column: int | None = None
    for number, line in enumerate(page.read_text().splitlines(), start=1):
        row = TABLE_ROW.match(line)
        if row is None:
            column = None
            continue
        cells = [cell.strip() for cell in row.group(1).split("|")]
        if column is None:
            starts = [i for i, cell in enumerate(cells) if cell.lower().startswith("code")]
            column = starts[0] if starts else -1
            continue
        if column < 0 or column >= len(cells) or set(cells[0]) <= set("-: "):
            continue
        quoted += [
            (number, span)
            for span in CODE_SPAN.findall(cells[column])
            if any(mark in span for mark in "=(@[")
        ]
    return quoted


@pytest.mark.parametrize(
    "page", sorted((ROOT / "docs").rglob("*.md")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_quoted_code_is_still_in_the_library(page: Path) -> None:
    missing = [
        f"line {number}: `{span}`" for number, span in _quoted_code(page) if span not in SOURCE
    ]
    assert not missing, (
        f"{page.relative_to(ROOT)} quotes code that is no longer in minitorchless/ "
        "(update the table to the current line):\n  " + "\n  ".join(missing)
    )


def test_the_equation_tables_quote_code() -> None:
    assert len(_quoted_code(ROOT / "docs" / "classic-network.md")) >= 10


# ---------------------------------------------------------- API reference
def _public_modules() -> list[str]:
    """Dotted names of the modules that need an API page.

    Private modules (a part starting with ``_``) are left out. A package's
    ``__init__`` needs its own page only when it has no public submodule, i.e.
    when it holds the code rather than re-exporting it.
    """
    package = ROOT / "minitorchless"
    modules = []
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if path.name == "__init__.py":
            parts = parts[:-1]
            public = [p for p in path.parent.glob("*.py") if not p.name.startswith("_")]
            public += [
                p
                for p in path.parent.iterdir()
                if p.is_dir() and (p / "__init__.py").exists() and not p.name.startswith("_")
            ]
            if public:
                continue
        if any(part.startswith("_") for part in parts):
            continue
        modules.append(".".join(parts))
    return modules


def test_every_public_module_has_an_api_page() -> None:
    documented = set()
    for page in (ROOT / "docs" / "api").glob("*.md"):
        documented |= set(re.findall(r"^::: ([\w.]+)", page.read_text(), re.MULTILINE))
    missing = [name for name in _public_modules() if name not in documented]
    assert not missing, f"add a '::: name' line to a page of docs/api/ for: {missing}"
    stale = sorted(name for name in documented if importlib.util.find_spec(name) is None)
    assert not stale, f"docs/api/ documents modules that do not exist: {stale}"


# ----------------------------------------------------------- links, figures
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


@pytest.mark.parametrize(
    "page",
    [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_relative_links_and_images_resolve(page: Path) -> None:
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.DOTALL | re.MULTILINE)
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or an anchor on the same page
        if target.startswith("notebooks/") and target.endswith(".ipynb"):
            continue  # generated into the site from the page itself (docs/hooks/notebooks.py)
        if not (page.parent / target.split("#")[0]).exists():
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)} links to missing files: {broken}"


@pytest.mark.slow
def test_figure_script_draws_every_committed_figure(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    pytest.importorskip("sklearn")
    # the script's own folder heads sys.path, not ROOT: point it at this checkout's package
    # rather than whichever one is installed
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "make_figures.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
        env={**os.environ, "PYTHONPATH": path},
    )
    assert result.returncode == 0, result.stderr
    figures = ROOT / "docs" / "figures"
    drawn = {path.name for pattern in ("*.png", "*.svg") for path in tmp_path.glob(pattern)}
    committed = {path.name for pattern in ("*.png", "*.svg") for path in figures.glob(pattern)}
    assert drawn == committed, f"drawn {sorted(drawn)}, committed {sorted(committed)}"
    # drawings are plain text written by minitorchless alone: byte for byte the same
    for name in sorted(name for name in drawn if name.endswith(".svg")):
        assert (tmp_path / name).read_bytes() == (figures / name).read_bytes(), name
    used = "\n".join(
        page.read_text() for page in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]
    )
    unused = sorted(name for name in committed if f"figures/{name}" not in used)
    assert not unused, f"figures no page shows: {unused}"


# -------------------------------------------------------------- the site
@pytest.mark.slow
def test_site_builds_strictly(tmp_path: Path) -> None:
    """``mkdocs build --strict``: every page, link, nav entry and docstring resolves."""
    for module in ("mkdocs", "material", "mkdocstrings_handlers.python"):
        if importlib.util.find_spec(module.split(".")[0]) is None:
            pytest.skip(f"{module} is not installed (pip install '.[docs]')")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    _check_offline(tmp_path)
    # long signatures are laid out one parameter per line (the docs extra brings a formatter)
    training = re.sub(r"<[^>]+>", "", (tmp_path / "api" / "training" / "index.html").read_text())
    assert "fit(\n    model: Layer,\n    X: ArrayLike" in training
    assert (tmp_path / "notebooks" / "classic-network.ipynb").is_file()  # offered for download


REMOTE = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*(?:src|href)=["'](?:https?:)?//""")


def _check_offline(site: Path) -> None:
    """The built site needs no network: no remote script, style or image, and math as MathML."""
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 10
    remote = [
        f"{page.relative_to(site)}: {match[0]}"
        for page in pages
        for match in REMOTE.finditer(page.read_text())
    ]
    assert not remote, "pages that load something from the network:\n" + "\n".join(remote)
    math = (site / "math" / "index.html").read_text()
    assert math.count("<math") > 50  # the formulas, rendered at build time
    assert "\\(" not in math and "arithmatex" not in math  # no LaTeX left for a script


def test_the_offline_check_catches_a_remote_script(tmp_path: Path) -> None:
    (tmp_path / "math").mkdir()
    for index in range(11):
        (tmp_path / f"p{index}.html").write_text("<p>fine</p>")
    (tmp_path / "math" / "index.html").write_text(
        '<script src="https://cdn.example.org/x.js"></script>' + "<math></math>" * 60
    )
    with pytest.raises(AssertionError, match="load something from the network"):
        _check_offline(tmp_path)
