"""The limits a model file must keep within: what bounds the work of loading any file.

A file is data from anywhere. Each limit below caps one way a small file
could make the loader work or allocate far out of proportion to its size;
together they make the cost of ``load`` and ``load_weights`` grow linearly
with the file, whatever it holds. A file over a limit is refused, before the
work it would cause, with a :class:`~minitorchless.errors.FileLimitError`
whose ``limit`` names the constant.

The values leave ample room for real models: a ``Sequential`` of 10,000
layers has a header of about 2 MB and 260,000 JSON values. A program that
trusts its files and needs more may raise a limit for the whole process, the
way Pillow's ``Image.MAX_IMAGE_PIXELS`` is raised::

    import minitorchless.serialization.limits as limits
    limits.MAX_LAYERS = 50_000

The loader reads the constants from this module at each call.
"""

from __future__ import annotations

__all__ = [
    "MAX_HEADER_BYTES",
    "MAX_JSON_VALUES",
    "MAX_LAYERS",
    "MAX_NESTING_DEPTH",
    "MAX_PARAMETERS",
    "MAX_SHAPE_CHECKS",
]

MAX_HEADER_BYTES = 8 * 2**20
"""The largest JSON header read (8 MiB), checked on the 8-byte length field before reading it.

The safetensors library allows 100 MB; parsed JSON takes up to about 30 times
its text in memory, so that would let one file claim gigabytes.
"""

MAX_JSON_VALUES = 1_000_000
"""The most JSON values in the header, and again in the architecture it holds.

Counted before parsing, from the brackets, commas and colons of the text (an
upper bound on the number of values it can describe), so that a header of tiny
objects is refused before the parser builds them: at about 65 bytes per value
at worst, the parse stays under 70 MB.
"""

MAX_LAYERS = 10_000
"""The most layers an architecture may list."""

MAX_NESTING_DEPTH = 64
"""The deepest nesting of containers in containers, and of values in a layer's config."""

MAX_PARAMETERS = 2**32
"""The most values (about 4.3 billion) all the tensors a header declares may hold together."""

MAX_SHAPE_CHECKS = 150_000
"""The most child shapes the containers' constructors may look up while one file's layers are built.

Containers check that their children's shapes fit as they are built. Each
``(layer, input shape)`` is inferred once per load and then looked up, so the
lookups are the work of the checks; this bounds them, and with them the
distinct shapes a crafted nest of graphs could make the checks meet. A file
is also allowed no more than two lookups per JSON value of its architecture,
which keeps the checks linear in its size: a real model needs fewer than one.
"""
