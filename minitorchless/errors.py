"""Exception types raised by minitorchless.

Every error about bad user input subclasses ``ValueError`` or ``TypeError`` so
that ordinary ``except ValueError`` handlers keep working; the subclasses exist
so that callers can tell the cases apart when they care.
"""

from __future__ import annotations

__all__ = [
    "CorruptFileError",
    "FileLimitError",
    "KeyMismatchError",
    "NonFiniteTensorError",
    "NotAModelFileError",
    "NotARegularFileError",
    "SerializationError",
    "ShapeError",
    "ShapeMismatchError",
    "StateDictError",
    "TruncatedFileError",
    "UnknownLayerError",
    "UnsafeCastError",
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


class NotAModelFileError(CorruptFileError):
    """The file is not a minitorchless model: another format, or another tool's safetensors.

    The message says what the file looks like (a NumPy ``.npy`` file, an ONNX
    model, a pickle, text...), judged from its first bytes.
    """


class NotARegularFileError(SerializationError):
    """The path names a directory, a FIFO, a device or a socket: only regular files are read.

    Checked on the opened file before a byte is read, so ``/dev/zero`` or a FIFO
    (or a symbolic link to one) can neither be read without end nor block.
    """


class FileLimitError(SerializationError):
    """The file asks for more than a documented limit allows (``serialization.limits``).

    Attributes:
        limit: The name of the limit, e.g. ``"MAX_HEADER_BYTES"``.
        value: What the file asks for.
        maximum: The limit's value when the file was refused.
    """

    def __init__(self, message: str, limit: str, value: int, maximum: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.value = value
        self.maximum = maximum


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


class NonFiniteTensorError(SerializationError, StateDictError):
    """A tensor offered to a model holds NaN or infinity, which would poison every prediction.

    Refused unless the loader is called with ``allow_nonfinite=True``.

    Attributes:
        key: The tensor's name.
        count: How many of its values are NaN or infinite.
    """

    def __init__(self, message: str, key: str, count: int) -> None:
        super().__init__(message)
        self.key = key
        self.count = count


class UnsafeCastError(SerializationError, StateDictError):
    """A tensor's values would change, not just round, in its parameter's or buffer's dtype.

    A finite float64 value beyond float32's range would become infinite, a value
    outside an integer buffer's range would wrap, and a fraction would be cut.
    Always refused: cast the values yourself if that is what you mean.

    Attributes:
        key: The tensor's name.
        count: How many of its values cannot be cast.
    """

    def __init__(self, message: str, key: str, count: int) -> None:
        super().__init__(message)
        self.key = key
        self.count = count
