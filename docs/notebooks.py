"""The tutorials as Jupyter notebooks, made from their pages: one source, no drift.

Each page listed in ``PAGES`` is Markdown whose python blocks run in order
(``tests/test_docs.py`` runs them); jupytext reads such a page as a notebook,
one code cell per block. The pages stay the reviewable source in git, and the
notebooks are generated from them:

    python docs/notebooks.py            # writes notebooks/*.ipynb
    python docs/notebooks.py --out DIR

The docs site offers each notebook for download (``docs/hooks/notebooks.py``),
and ``tests/test_notebooks.py`` executes every one in a Jupyter kernel.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DOCS = Path(__file__).resolve().parent
PAGES = [
    "classic-network.md",
    "custom-layer.md",
    "composing.md",
    "convolution.md",
    "pooling-and-normalization.md",
    "sequences.md",
    "attention.md",
]
"""The tutorial pages that are also notebooks, by file name under ``docs/``."""


def notebook_text(page: str) -> str:
    """The ``.ipynb`` JSON of one page (needs jupytext)."""
    import jupytext

    notebook = jupytext.reads((DOCS / page).read_text(), fmt="md")
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return str(jupytext.writes(notebook, fmt="ipynb"))


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=DOCS.parent / "notebooks",
        help="output folder (default: notebooks/)",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    for page in PAGES:
        path = args.out / page.replace(".md", ".ipynb")
        path.write_text(notebook_text(page))
        print(f"wrote {path}")
        written.append(path)
    return written


if __name__ == "__main__":
    main()
