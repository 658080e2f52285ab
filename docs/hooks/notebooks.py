"""A mkdocs hook: the tutorial notebooks, generated from their pages, join the site.

Each page of ``docs/notebooks.py``'s list becomes ``notebooks/<page>.ipynb`` in
the built site, so the link at the top of the page downloads it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # docs/, for notebooks.py

import notebooks


def on_files(files: Files, config: Any) -> Files:
    for page in notebooks.PAGES:
        name = "notebooks/" + page.replace(".md", ".ipynb")
        files.append(File.generated(config, name, content=notebooks.notebook_text(page)))
    return files
