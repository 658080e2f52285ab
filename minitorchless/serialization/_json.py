"""Parsing untrusted JSON with bounded memory: count first, then parse."""

from __future__ import annotations

import json
import math
from typing import Any

from minitorchless.errors import CorruptFileError, FileLimitError
from minitorchless.serialization import limits

__all__ = ["parse_json", "value_bound"]


def value_bound(text: str | bytes) -> int:
    """An upper bound on the number of JSON values ``text`` can describe, without parsing it.

    Every value but the outermost is an array element after a ``[`` or a
    ``,``, an object's key after a ``{`` or a ``,``, or a key's value after a
    ``:``. Counting those characters (inside strings too, which only
    over-counts) bounds the values, and so the memory the parser will build,
    for four passes of ``count`` over the bytes.
    """
    if isinstance(text, str):
        return 1 + sum(text.count(char) for char in "[{,:")
    return 1 + sum(text.count(char) for char in (b"[", b"{", b",", b":"))


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key[:80]!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python's parser accepts NaN and Infinity


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} overflows a float")
    return value


_MAX_INTEGER_DIGITS = 20  # 2**64 has 20 digits: no size, offset or count in a file needs more


def _bounded_int(text: str) -> int:
    # refused before conversion: turning thousands of digits into an int takes time
    # quadratic in their number, and every product, sum and message made of it after
    if len(text.lstrip("-")) > _MAX_INTEGER_DIGITS:
        raise ValueError(
            f"the integer {text[:20]}... of {len(text)} digits is beyond 64 bits, which no "
            f"size in a model file needs"
        )
    return int(text)


def parse_json(text: str | bytes, what: str, source: str, *, allow_constants: bool = False) -> Any:
    """Parse untrusted JSON, turning every failure into ``CorruptFileError``.

    Text that could describe more than ``limits.MAX_JSON_VALUES`` values is
    refused before parsing. Duplicate keys are refused (JSON parsers disagree
    on which one wins), as are numbers beyond a float's range, integers of more
    than 20 digits (beyond 64 bits, and costly to convert), and absurd
    nesting, which makes the parser recurse too deep, counts as corrupt too.

    Args:
        text: The JSON text, from an untrusted file.
        what: What the text is, for messages (``"safetensors header"``).
        source: The file's path, to start every message with.
        allow_constants: Accept ``NaN``, ``Infinity`` and ``-Infinity``. They
            are not JSON, and other readers of the safetensors header refuse
            them, but Python's ``json.dumps`` writes them for a layer config
            holding a non-finite float (an unbounded clip value, say), so the
            architecture accepts them.

    Raises:
        FileLimitError: The text may hold more values than the limit.
        CorruptFileError: The text is not valid JSON.
    """
    bound = value_bound(text)
    if bound > limits.MAX_JSON_VALUES:
        raise FileLimitError(
            f"{source}: the {what} may hold up to {bound:,} JSON values (counted from its "
            f"brackets, commas and colons), more than MAX_JSON_VALUES = "
            f"{limits.MAX_JSON_VALUES:,}: refused before parsing, to bound the memory it takes",
            "MAX_JSON_VALUES",
            bound,
            limits.MAX_JSON_VALUES,
        )
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_constant=float if allow_constants else _no_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise CorruptFileError(f"{source}: the {what} is not valid JSON: {err}") from err
