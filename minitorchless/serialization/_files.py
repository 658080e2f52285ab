"""The safetensors container: a checked reader that reads only what the header declares.

A safetensors file is an 8-byte little-endian header length N, N bytes of JSON
mapping tensor names to ``{"dtype", "shape", "data_offsets"}`` (plus an optional
string-to-string ``"__metadata__"``), then the raw little-endian tensor data.

The reader refuses anything but a regular file before it reads a byte (a FIFO
would block, ``/dev/zero`` would never end), tells a truncated file from a
corrupted one and from a file of another format, checks the header within the
limits of :mod:`~minitorchless.serialization.limits`, and only then reads the
data, exactly as many bytes as the header declares, into one buffer that the
arrays view without a copy. The writer is in ``_atomic``.
"""

from __future__ import annotations

import math
import os
import stat
from types import TracebackType
from typing import Any, BinaryIO, NamedTuple

import numpy as np
from numpy.typing import NDArray

from minitorchless.errors import (
    CorruptFileError,
    FileLimitError,
    NotAModelFileError,
    NotARegularFileError,
    TruncatedFileError,
)
from minitorchless.layers.shapes import MAX_RANK
from minitorchless.serialization import limits
from minitorchless.serialization._atomic import PathLike, write_atomic
from minitorchless.serialization._json import parse_json
from minitorchless.serialization._sniff import describe_foreign, file_kind, looks_like_safetensors

__all__ = [
    "Header",
    "PathLike",
    "SafetensorsFile",
    "TensorEntry",
    "parse_json",
    "read_safetensors",
    "write_atomic",
]

# the numeric dtypes a model's parameters and buffers have; anything else (BF16,
# BOOL, F8...) means the file is not one of ours, and is refused rather than cast
_DTYPES: dict[str, np.dtype[Any]] = {
    name: np.dtype(code).newbyteorder("<")
    for name, code in {
        "F16": "f2",
        "F32": "f4",
        "F64": "f8",
        "I8": "i1",
        "I16": "i2",
        "I32": "i4",
        "I64": "i8",
        "U8": "u1",
        "U16": "u2",
        "U32": "u4",
        "U64": "u8",
    }.items()
}

# no array has more axes than NumPy 1 takes, nor more bytes than an intp counts:
# the product of the axes, leaving out zeros, times 8 bytes an item at most
_MAX_ITEMS = (2**63 - 1) // 8

_SNIFF_BYTES = 64  # enough of the start of a file to tell what format it is


class TensorEntry(NamedTuple):
    """One tensor's header entry, checked: its dtype, shape and byte span in the data."""

    dtype: np.dtype[Any]
    shape: tuple[int, ...]
    begin: int
    end: int


class Header(NamedTuple):
    """A checked header: the metadata, the tensors by name, and what they add up to."""

    metadata: dict[str, str]
    tensors: dict[str, TensorEntry]
    values: int  # the number of values all the tensors hold together
    data_size: int  # the bytes of tensor data that follow the header


def _natural(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_entry(name: str, entry: Any, source: str) -> TensorEntry:
    """Validate one tensor's header entry."""
    label = f"{source}: header entry {name[:80]!r}"
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise CorruptFileError(
            f"{label} must be an object with exactly 'dtype', 'shape' and 'data_offsets'"
        )
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(dtype, str) or dtype not in _DTYPES:
        raise CorruptFileError(
            f"{label} has dtype {str(dtype)[:20]!r}; minitorchless reads floating and integer "
            f"tensors only: {sorted(_DTYPES)}"
        )
    if not isinstance(shape, list) or not all(_natural(size) for size in shape):
        raise CorruptFileError(f"{label} has shape {str(shape)[:80]}; expected a list of sizes")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_natural, offsets))):
        raise CorruptFileError(
            f"{label} has data_offsets {str(offsets)[:80]}; expected [begin, end]"
        )
    if len(shape) > MAX_RANK or math.prod(max(size, 1) for size in shape) > _MAX_ITEMS:
        raise CorruptFileError(
            f"{label} has shape {str(shape)[:80]}: more than {MAX_RANK} axes, or more values "
            f"than any array can hold (even with a zero-length axis, NumPy refuses it)"
        )
    begin, end = offsets
    # Python integers cannot overflow, so a hostile shape cannot wrap this product around
    expected = math.prod(shape) * _DTYPES[dtype].itemsize
    if end - begin != expected:
        raise CorruptFileError(
            f"{label}: a {dtype} tensor of shape {tuple(shape)} takes {expected} bytes, "
            f"but its data_offsets [{begin}, {end}] span {end - begin}"
        )
    return TensorEntry(_DTYPES[dtype], tuple(shape), begin, end)


def _check_tiling(tensors: dict[str, TensorEntry], source: str) -> int:
    """Check that the tensors tile the data without gaps or overlaps; return its length."""
    position = 0
    for begin, end, name in sorted(
        (entry.begin, entry.end, name) for name, entry in tensors.items()
    ):
        if begin != position:
            raise CorruptFileError(
                f"{source}: tensor {name[:80]!r} starts at byte {begin} of the data, "
                f"expected {position}: tensors must tile the data without gaps or overlaps"
            )
        position = end
    return position


def _parse_header(raw: bytes, source: str) -> Header:
    header = parse_json(raw, "safetensors header", source)
    if not isinstance(header, dict):
        raise CorruptFileError(f"{source}: the safetensors header must be a JSON object")
    metadata = header.pop("__metadata__", None)
    if metadata is None:  # optional in the format; every file minitorchless writes has it
        metadata = {}
    if not isinstance(metadata, dict) or not all(
        isinstance(value, str) for value in metadata.values()
    ):
        raise CorruptFileError(f"{source}: '__metadata__' must map strings to strings")
    tensors = {name: _check_entry(name, entry, source) for name, entry in header.items()}
    values = sum(math.prod(entry.shape) for entry in tensors.values())
    if values > limits.MAX_PARAMETERS:
        raise FileLimitError(
            f"{source}: the header declares tensors of {values:,} values in all, more than "
            f"MAX_PARAMETERS = {limits.MAX_PARAMETERS:,}",
            "MAX_PARAMETERS",
            values,
            limits.MAX_PARAMETERS,
        )
    return Header(metadata, tensors, values, _check_tiling(tensors, source))


def _open_regular(path: PathLike, source: str) -> tuple[BinaryIO, int]:
    """Open ``path`` for reading if it is a regular file; return it and its size.

    ``O_NONBLOCK`` makes opening a FIFO return at once instead of waiting for a
    writer; the type is then checked on the open file itself, so no swap of the
    path between a check and the open can slip a device past it.
    """
    flags = os.O_RDONLY
    for extra in ("O_NONBLOCK", "O_NOCTTY", "O_CLOEXEC", "O_BINARY"):
        flags |= getattr(os, extra, 0)
    descriptor = os.open(path, flags)
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise NotARegularFileError(
                f"{source}: is {file_kind(info.st_mode)}, not a regular file; model files "
                f"are only read from regular files (a pipe or a device may block or never end)"
            )
        return os.fdopen(descriptor, "rb", buffering=0), info.st_size
    except BaseException:
        os.close(descriptor)
        raise


class SafetensorsFile:
    """An open, checked safetensors file: the header is read at once, the tensors on demand.

    Use it as a context manager::

        with SafetensorsFile(path) as file:
            file.header.metadata   # checked before any tensor data is read
            arrays = file.tensors()

    Raises:
        OSError: The file cannot be opened (``FileNotFoundError`` and friends).
        NotARegularFileError: The path names a directory, a FIFO, a device...
        NotAModelFileError: The file is of another format (NumPy, ONNX, text...).
        TruncatedFileError: The file ends before its header or data do.
        FileLimitError: The header is over a limit of ``serialization.limits``.
        CorruptFileError: Anything else is wrong with it.
    """

    def __init__(self, path: PathLike) -> None:
        self.source = str(path)
        self._file, self.size = _open_regular(path, self.source)
        try:
            self.header = self._read_header()
        except BaseException:
            self._file.close()
            raise

    def __enter__(self) -> SafetensorsFile:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._file.close()

    def _read(self, offset: int, count: int) -> bytearray:
        """Exactly ``count`` bytes from ``offset``, into a buffer of that size."""
        self._file.seek(offset)
        buffer = bytearray(count)
        view = memoryview(buffer)
        filled = 0
        while filled < count:
            got = self._file.readinto(view[filled:])  # type: ignore[attr-defined]
            if not got:
                raise TruncatedFileError(
                    f"{self.source}: the file ended at byte {offset + filled} while reading "
                    f"{count} bytes from byte {offset} (was it cut short while being read?)"
                )
            filled += got
        return buffer

    def _read_header(self) -> Header:
        source, size = self.source, self.size
        head = bytes(self._read(0, min(size, _SNIFF_BYTES)))
        if size == 0:
            raise TruncatedFileError(f"{source}: the file is empty (0 bytes)")
        if not looks_like_safetensors(head, size, limits.MAX_HEADER_BYTES):
            raise NotAModelFileError(
                f"{source}: not a minitorchless model file, nor a safetensors file of any "
                f"kind: it looks like {describe_foreign(head)}"
            )
        if size < 8:
            raise TruncatedFileError(
                f"{source}: {size} bytes is too short for a safetensors file "
                f"(the header length alone takes 8)"
            )
        header_size = int.from_bytes(head[:8], "little")
        if header_size > limits.MAX_HEADER_BYTES:
            raise FileLimitError(
                f"{source}: the header claims {header_size:,} bytes, more than "
                f"MAX_HEADER_BYTES = {limits.MAX_HEADER_BYTES:,}",
                "MAX_HEADER_BYTES",
                header_size,
                limits.MAX_HEADER_BYTES,
            )
        if 8 + header_size > size:
            raise TruncatedFileError(
                f"{source}: the header claims {header_size} bytes but only "
                f"{size - 8} follow the length field"
            )
        header = _parse_header(bytes(self._read(8, header_size)), source)
        available = size - 8 - header_size
        if header.data_size > available:
            raise TruncatedFileError(
                f"{source}: the tensors need {header.data_size} bytes of data but the file "
                f"holds {available}"
            )
        if header.data_size < available:
            raise CorruptFileError(
                f"{source}: {available - header.data_size} stray bytes follow the last tensor"
            )
        return header

    def tensors(self) -> dict[str, NDArray[Any]]:
        """Read the data the header declares; return the tensors, viewing one buffer."""
        data = self._read(self.size - self.header.data_size, self.header.data_size)
        return {
            name: np.frombuffer(
                data, dtype=entry.dtype, count=math.prod(entry.shape), offset=entry.begin
            ).reshape(entry.shape)
            for name, entry in self.header.tensors.items()
        }


def read_safetensors(path: PathLike) -> tuple[dict[str, str], dict[str, NDArray[Any]]]:
    """Read and check a safetensors file; return its metadata and its tensors.

    Raises:
        OSError: The file cannot be read.
        SerializationError: Whatever :class:`SafetensorsFile` refuses.
    """
    with SafetensorsFile(path) as file:
        return file.header.metadata, file.tensors()
