"""A mkdocs hook: the pages' math becomes MathML when the site is built.

``pymdownx.arithmatex`` (``generic: true``) wraps each formula of a page in an
element of class ``arithmatex``, as ``\\( ... \\)`` inline or ``\\[ ... \\]`` in a
block. This hook replaces each with the MathML that ``latex2mathml`` writes,
which browsers render natively. So the site loads no script to show its math,
needs no network, and works from a folder on disk.
"""

from __future__ import annotations

import html
import re
from typing import Any

from latex2mathml.converter import convert

INLINE = re.compile(r'<span class="arithmatex">\\\((.*?)\\\)</span>', re.DOTALL)
BLOCK = re.compile(r'<div class="arithmatex">\\\[(.*?)\\\]</div>', re.DOTALL)


def to_mathml(tex: str, display: str) -> str:
    """The MathML of one formula, given as it appears in the HTML (entities escaped)."""
    return convert(html.unescape(tex).strip(), display=display)


def on_page_content(content: str, **kwargs: Any) -> str:
    content = BLOCK.sub(lambda m: f'<div class="math">{to_mathml(m[1], "block")}</div>', content)
    return INLINE.sub(lambda m: to_mathml(m[1], "inline"), content)
