"""Finding the places where one layer object is used more than once.

A layer has one forward cache. When the same object runs at two places of a
container, the second forward overwrites what the first use's backward needs.
Containers that allow this (``Graph``, ``Parallel``) ask ``shared_uses`` which
of their uses need their caches saved and restored around each other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from minitorchless.layers.base import Layer


def _subtree(layer: Layer) -> set[int]:
    """The ids of ``layer`` and of every layer nested in it."""
    seen: set[int] = set()
    stack = [layer]
    while stack:
        current = stack.pop()
        if id(current) not in seen:
            seen.add(id(current))
            stack.extend(child for _, child in current.children())
    return seen


def shared_uses(uses: Sequence[Layer]) -> list[bool]:
    """For each use, whether it shares a layer (at any depth) with another use.

    ``uses`` lists the layer run at each place, the same object possibly
    several times. A use is flagged when some layer inside it (or itself) also
    runs inside another use.
    """
    subtrees = [_subtree(layer) for layer in uses]
    counts = Counter(layer_id for subtree in subtrees for layer_id in subtree)
    return [any(counts[layer_id] > 1 for layer_id in subtree) for subtree in subtrees]
