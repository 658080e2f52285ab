"""Shapes for shape inference: tuples with unknown sizes, checked with clear errors.

A shape is a tuple whose first entry is the batch axis. An entry is an int, or
``None`` for a size not known before data arrives (the batch's, usually). A
shape may start with ``...``, which stands for any number of unknown leading
axes: ``Dense(5, 4)`` maps ``(..., 5)`` to ``(..., 4)`` whatever the rank.
``ANY``, ``(...,)``, is a shape about which nothing is known.

Layers with several inputs or outputs use a list of shapes: ``ShapeSpec`` is
one shape or such a list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from minitorchless.errors import ShapeError

__all__ = [
    "ANY",
    "Shape",
    "ShapeSpec",
    "check_count",
    "describe",
    "known_rank",
    "last_axis",
    "sample_shape",
    "single",
    "unify",
]

Shape = tuple[Any, ...]
"""A tuple of ints, ``None`` (unknown) and, first, possibly ``...`` (unknown leading axes)."""

ShapeSpec = Any
"""One ``Shape``, or a list of them for several inputs or outputs."""

ANY: Shape = (...,)


def known_rank(shape: Shape) -> int | None:
    """The number of axes, or ``None`` when the shape starts with ``...``."""
    return None if shape and shape[0] is Ellipsis else len(shape)


def describe(shape: ShapeSpec) -> str:
    """``(batch, 16, 8, 8)``: the batch axis named, unknown sizes as ``?``, ``...`` as ``*``."""
    if isinstance(shape, list):
        return ", ".join(describe(part) for part in shape)
    if shape == ANY:
        return "?"
    entries = []
    for index, size in enumerate(shape):
        if size is Ellipsis:
            entries.append("*")
        elif size is None:
            entries.append("batch" if index == 0 else "?")
        else:
            entries.append(str(size))
    return f"({', '.join(entries)})"


def sample_shape(owner: str, shape: Any) -> Shape:
    """A batch shape from one sample's shape: ``(1, 28, 28)`` -> ``(None, 1, 28, 28)``.

    An int ``n`` is the sample shape ``(n,)``; ``None`` entries are unknown sizes.
    """
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not all(
        size is None or (isinstance(size, int) and not isinstance(size, bool) and size >= 1)
        for size in shape
    ):
        raise TypeError(
            f"{owner}: the shape of one sample must be an int or a tuple of positive ints "
            f"(None where unknown), without the batch axis, e.g. (1, 28, 28); received {shape!r}"
        )
    return (None, *shape)


def single(owner: object, shape: ShapeSpec) -> Shape:
    """``shape`` itself if it describes one input; a ``ShapeError`` if it is a list."""
    if isinstance(shape, list):
        raise ShapeError(f"{owner!r} takes one input, but is given {len(shape)}: {describe(shape)}")
    return shape  # type: ignore[no-any-return]


def check_count(layer: Any, shape: ShapeSpec) -> None:
    """Check the number of inputs against ``layer.input_arity()``."""
    fewest, most = layer.input_arity()
    count = len(shape) if isinstance(shape, list) else 1
    if count < fewest or (most is not None and count > most):
        expected = (
            str(fewest)
            if fewest == most
            else (f"at least {fewest}" if most is None else f"{fewest} to {most}")
        )
        raise ShapeError(f"{layer!r} takes {expected} input(s), but is given {count}")


def last_axis(owner: object, shape: Shape, size: int, what: str = "features") -> Shape:
    """Check that the last axis of ``shape`` has ``size`` entries (where known).

    Returns ``shape``, or ``(..., None)`` for ``ANY``, so that callers can
    replace the last axis.
    """
    if shape == ANY:
        return (..., None)
    if len(shape) < 2:
        raise ShapeError(
            f"{owner!r} expects inputs of shape (batch, ..., {size}), with at least a batch "
            f"axis and a {what} axis, received {describe(shape)}"
        )
    if shape[-1] is not None and shape[-1] != size:
        raise ShapeError(
            f"{owner!r} expects {size} {what} on the last axis, received {describe(shape)}"
        )
    return shape


def _merge_size(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None or a == b:
        return a
    raise ValueError


def _unify_pair(a: Shape, b: Shape) -> Shape:
    """The shape both ``a`` and ``b`` can be; ``ValueError`` if none."""
    a_open, b_open = a[:1] == (...,), b[:1] == (...,)
    a_tail, b_tail = (a[1:] if a_open else a), (b[1:] if b_open else b)
    if not (a_open or b_open):
        if len(a_tail) != len(b_tail):
            raise ValueError
        return tuple(_merge_size(x, y) for x, y in zip(a_tail, b_tail, strict=True))
    # at least one has unknown leading axes: align the two from the right
    if (not a_open and len(b_tail) > len(a_tail)) or (not b_open and len(a_tail) > len(b_tail)):
        raise ValueError
    n = min(len(a_tail), len(b_tail))
    common = tuple(
        _merge_size(x, y)
        for x, y in zip(a_tail[len(a_tail) - n :], b_tail[len(b_tail) - n :], strict=True)
    )
    longer = a_tail if len(a_tail) >= len(b_tail) else b_tail
    merged = (*longer[: len(longer) - n], *common)
    return (..., *merged) if a_open and b_open else merged


def unify(owner: object, shapes: Sequence[Shape], what: str = "inputs") -> Shape:
    """The one shape that every shape in ``shapes`` can be, or a ``ShapeError`` naming them."""
    result: Shape = ANY
    try:
        for shape in shapes:
            result = _unify_pair(result, shape)
    except ValueError:
        raise ShapeError(
            f"{owner!r}: all {what} must have the same shape, received "
            f"{', '.join(describe(shape) for shape in shapes)}"
        ) from None
    return result
