"""Exception types raised by minitorchless.

Every error about bad user input subclasses ``ValueError`` or ``TypeError`` so
that ordinary ``except ValueError`` handlers keep working; the subclasses exist
so that callers can tell the cases apart when they care.
"""

from __future__ import annotations

__all__ = [
    "CorruptFileError",
    "KeyMismatchError",
    "SerializationError",
    "ShapeError",
    "ShapeMismatchError",
    "StateDictError",
    "TruncatedFileError",
    "UnknownLayerError",
    "UnsupportedFormatVersionError",
]


class ShapeError(ValueError):
    """An array has the wrong number of dimensions or the wrong size.

    The message names the layer (or loss) and the expected and received shapes.
    """


class StateDictError(ValueError):
    """A state dict does not match the model: missing, extra or misshapen keys."""


# ------------------------------------------------------------- model files
# Everything ``load`` and ``load_weights`` raise about a file's contents
# subclasses ``SerializationError``, so ``except mtl.SerializationError`` is the
# one handler a program needs for untrusted files.


class SerializationError(ValueError):
    """A model or weights file cannot be read: the base of the file errors below."""


class TruncatedFileError(SerializationError):
    """The file ends before the header or the tensor data it announces."""


class CorruptFileError(SerializationError):
    """The header, the metadata or the architecture is malformed or inconsistent."""


class UnsupportedFormatVersionError(SerializationError):
    """The file was written in a format version this minitorchless cannot read."""


class UnknownLayerError(SerializationError):
    """The architecture names a layer type that is neither built in nor registered.

    The message names the type and how to register it: ``@mtl.register_layer`` on
    the class, or ``load(path, custom_layers=[MyLayer])``.
    """


class KeyMismatchError(SerializationError, StateDictError):
    """The tensors offered (a file's, or a state dict's) and the model's parameters differ in names.

    Attributes:
        missing: Names the model's parameters have and the tensors lack.
        unexpected: Names among the tensors that the model has no parameter for.
    """

    def __init__(self, message: str, missing: list[str], unexpected: list[str]) -> None:
        super().__init__(message)
        self.missing = missing
        self.unexpected = unexpected


class ShapeMismatchError(SerializationError, StateDictError):
    """A tensor (in a file or a state dict) has another shape than its parameter needs.

    Attributes:
        key: The tensor's name.
        expected: The shape the model needs under that name.
        received: The tensor's shape.
    """

    def __init__(
        self, message: str, key: str, expected: tuple[int, ...], received: tuple[int, ...]
    ) -> None:
        super().__init__(message)
        self.key = key
        self.expected = expected
        self.received = received
