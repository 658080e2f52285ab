"""Shapes for shape inference: tuples with unknown sizes, checked with clear errors.

A shape is a tuple whose first entry is the batch axis. An entry is an int, or
``None`` for a size not known before data arrives (the batch's, usually). A
shape may start with ``...``, which stands for any number of unknown leading
axes: ``Dense(5, 4)`` maps ``(..., 5)`` to ``(..., 4)`` whatever the rank.
``ANY``, ``(...,)``, is a shape about which nothing is known.

Layers with several inputs or outputs use a list of shapes: ``ShapeSpec`` is
one shape or such a list.

Containers infer their children's shapes through :func:`infer_shape`, which
remembers each ``(layer, input shape)`` it has answered for as long as the
outermost check runs (:func:`shape_memo`). A layer shared at many places of a
model, or a container asking the same child twice, then costs one inference,
and checking a model costs one inference per distinct layer and shape rather
than one per path through it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from minitorchless.errors import ShapeError

__all__ = [
    "ANY",
    "MAX_RANK",
    "Shape",
    "ShapeSpec",
    "check_count",
    "describe",
    "infer_shape",
    "known_rank",
    "label",
    "last_axis",
    "sample_shape",
    "shape_memo",
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


def label(owner: Any) -> str:
    """How an error message names a layer: its repr, or its class for a container.

    A container's repr lists everything inside it, which would make a message
    as long as the model (and nested containers repeat each other's messages).
    """
    children = getattr(owner, "children", None)
    if callable(children) and children():
        return f"{type(owner).__name__}(...)"
    return repr(owner)


def single(owner: object, shape: ShapeSpec) -> Shape:
    """``shape`` itself if it describes one input; a ``ShapeError`` if it is a list."""
    if isinstance(shape, list):
        raise ShapeError(
            f"{label(owner)} takes one input, but is given {len(shape)}: {describe(shape)}"
        )
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
        raise ShapeError(f"{label(layer)} takes {expected} input(s), but is given {count}")


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
            f"{label(owner)}: all {what} must have the same shape, received "
            f"{', '.join(describe(shape) for shape in shapes)}"
        ) from None
    return result


# ----------------------------------------------------------- remembered answers
class ShapeMemo:
    """The output shapes inferred while one check runs, by ``(id(layer), input shape)``.

    Attributes:
        lookups: How many shapes were asked for, answered or not: the work of
            the check, since an answer costs a lookup and a miss costs the
            layer's own ``output_shape``, which asks for its children's.
        inferences: How many of them the memo could not answer.
        limit: At most this many lookups (``None``: no limit); the loader sets
            one so that no file can make shape checks run without bound.
        refuse: Builds the exception raised past ``limit``, from the count.
    """

    def __init__(
        self, limit: int | None = None, refuse: Callable[[int], Exception] | None = None
    ) -> None:
        # the layer is kept beside its answer so that its id cannot be reused meanwhile
        self.known: dict[tuple[int, Any], tuple[Any, ShapeSpec]] = {}
        self.lookups = 0
        self.inferences = 0
        self.limit = limit
        self.refuse = refuse


_MEMO: ContextVar[ShapeMemo | None] = ContextVar("minitorchless_shape_memo", default=None)


@contextmanager
def shape_memo(
    limit: int | None = None, refuse: Callable[[int], Exception] | None = None
) -> Iterator[ShapeMemo]:
    """Remember inferred shapes until the block ends; join the open memo if there is one.

    A memo lives only while a check runs (a container's constructor, a
    ``summary()``, a ``load``): layers may change between checks, never during one.
    """
    current = _MEMO.get()
    if current is not None:
        yield current
        return
    memo = ShapeMemo(limit, refuse)
    token = _MEMO.set(memo)
    try:
        yield memo
    finally:
        _MEMO.reset(token)


def _memo_key(shape: ShapeSpec) -> Any:
    if isinstance(shape, list):
        return ("several", *map(_memo_key, shape))
    hash(shape)  # TypeError for an unhashable shape: the caller then does not remember it
    return shape


MAX_RANK = 32
"""The most axes a shape may have: NumPy 1's limit (NumPy 2 takes 64).

Checked before a layer infers its output, so that a declared shape of
thousands of axes, which no array could have, cannot make shape inference
multiply thousands of sizes.
"""


def _check_rank(layer: Any, input_shape: ShapeSpec) -> None:
    for shape in input_shape if isinstance(input_shape, list) else [input_shape]:
        if isinstance(shape, tuple) and len(shape) > MAX_RANK:
            raise ShapeError(
                f"{type(layer).__name__} received a shape of {len(shape)} axes, "
                f"{describe(shape[:4])[:-1]}, ...): NumPy arrays have at most {MAX_RANK}"
            )


def infer_shape(layer: Any, input_shape: ShapeSpec) -> ShapeSpec:
    """``layer.output_shape(input_shape)``, answered once per check for each layer and shape."""
    memo = _MEMO.get()
    if memo is None:
        with shape_memo():
            return infer_shape(layer, input_shape)
    try:
        key = (id(layer), _memo_key(input_shape))
    except TypeError:
        _check_rank(layer, input_shape)
        return layer.output_shape(input_shape)
    memo.lookups += 1
    if memo.limit is not None and memo.lookups > memo.limit and memo.refuse is not None:
        raise memo.refuse(memo.lookups)
    found = memo.known.get(key)
    if found is None:
        memo.inferences += 1
        _check_rank(layer, input_shape)
        found = (layer, layer.output_shape(input_shape))
        memo.known[key] = found
    result = found[1]
    return list(result) if isinstance(result, list) else result  # callers may edit a list
