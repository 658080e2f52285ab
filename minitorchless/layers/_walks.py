"""Walking a tree of layers once per distinct layer, and showing it that way.

One layer object may sit at several places of a model: a shared ``Dense``, or
a shared container that itself holds shared containers. The number of *paths*
to a layer then grows exponentially with the nesting (``Sequential(s, s)``
nested 30 times has 2**30 paths to its innermost layer), while the number of
distinct layers stays what the user built or what a file listed. Every walk of
the base class goes through :func:`distinct_layers`, so it costs one visit per
distinct layer and one step per child reference, whatever the sharing.

``repr`` shows a shared container in full once and by a short reference after
that, for the same reason: the text of a model stays linear in its size.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from minitorchless.layers.base import Layer

__all__ = ["child_repr", "distinct_layers", "repr_scope", "tree_repr"]


def distinct_layers(root: Layer) -> Iterator[tuple[str, Layer]]:
    """``(dotted prefix, layer)`` for ``root`` and every layer inside, each object once.

    Depth first, children in their order, each layer under the first prefix
    that reaches it: the order and the names of ``named_parameters``. Layers
    are marked when they are reached rather than when they are queued, which
    is what makes this the preorder of the recursive walk, pruned at repeats.
    No recursion, so nesting depth costs no stack.
    """
    seen: set[int] = set()
    stack: list[tuple[str, Layer]] = [("", root)]
    while stack:
        prefix, layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        yield prefix, layer
        children = layer.children()
        stack.extend((f"{prefix}{name}.", child) for name, child in reversed(children))


# the containers already shown by the repr being built (None: no repr is running)
_SHOWN: ContextVar[set[int] | None] = ContextVar("minitorchless_repr_shown", default=None)


@contextmanager
def repr_scope(container: Layer) -> Iterator[None]:
    """Mark ``container`` as shown while its repr is built, opening a scope if none is open.

    The outermost ``repr`` opens the scope; nested ones join it, so a
    container met a second time anywhere in the same repr is recognised.
    """
    shown = _SHOWN.get()
    token = None
    if shown is None:
        shown = set()
        token = _SHOWN.set(shown)
    shown.add(id(container))
    try:
        yield
    finally:
        if token is not None:
            _SHOWN.reset(token)


def child_repr(child: Layer) -> str:
    """``repr(child)``, or a one-line reference to a container this repr already showed.

    Leaves are always shown in full: their repr is one line, so repeating
    them keeps the text linear in the number of child references.
    """
    shown = _SHOWN.get()
    if shown is not None and id(child) in shown and child.children():
        return f"{type(child).__name__}(<shared: shown above>)"
    return repr(child)


def tree_repr(layer: Layer) -> str:
    """The default ``repr``: ``Type(extra)`` for a leaf, one indented line per child else."""
    children = layer.children()
    if not children:
        return f"{type(layer).__name__}({layer.extra_repr()})"
    lines = [f"{type(layer).__name__}("]
    with repr_scope(layer):
        for name, child in children:
            child_text = child_repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_text}")
    lines.append(")")
    return "\n".join(lines)
