"""The safetensors container: a checked reader and an atomic writer.

A safetensors file is an 8-byte little-endian header length N, N bytes of JSON
mapping tensor names to ``{"dtype", "shape", "data_offsets"}`` (plus an optional
string-to-string ``"__metadata__"``), then the raw little-endian tensor data.

The safetensors library checks all of this too, but reports every problem as one
exception type. The reader here checks the header first, so that a truncated
file and a corrupted one are told apart and named precisely; only then does it
hand the bytes to safetensors.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.numpy
from numpy.typing import NDArray

from minitorchless.errors import CorruptFileError, TruncatedFileError

__all__ = ["PathLike", "parse_json", "read_safetensors", "write_atomic"]

PathLike = str | os.PathLike[str]

# the same ceiling as the safetensors library: no real header comes near it,
# and a bigger claimed size means a corrupted length field
MAX_HEADER_BYTES = 100_000_000

# minitorchless parameters are floating point; any other dtype means the file
# is not one of ours (or is damaged) and is refused rather than cast
_DTYPES: dict[str, np.dtype[Any]] = {
    "F16": np.dtype(np.float16),
    "F32": np.dtype(np.float32),
    "F64": np.dtype(np.float64),
    "I64": np.dtype(np.int64),  # integer buffers: counters such as num_batches_tracked
}


def write_atomic(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new, never half.

    The bytes go to a fresh temporary file in the same directory (a rename is only
    atomic within one file system), are flushed to disk, and the temporary file is
    then renamed over ``path``. On any failure, including ``KeyboardInterrupt``,
    the temporary file is removed and ``path`` is left as it was.
    """
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    # os.open with mode 0o666 lets the umask decide the permissions, as a plain
    # open() would; O_EXCL refuses to follow a planted file or symlink
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())  # the data is on disk before the rename publishes it
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_directory(target.parent)


def _sync_directory(directory: Path) -> None:
    # make the rename itself durable; directories cannot be opened on Windows
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key[:80]!r}")
        result[key] = value
    return result


def parse_json(text: str | bytes, what: str, source: str) -> Any:
    """Parse untrusted JSON, turning every failure into ``CorruptFileError``.

    Duplicate keys are refused (JSON parsers disagree on which one wins), and
    absurd nesting, which makes the parser recurse too deep, counts as corrupt too.
    """
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return json.loads(text, object_pairs_hook=_unique_keys)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise CorruptFileError(f"{source}: the {what} is not valid JSON: {err}") from err


def _natural(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_entry(name: str, entry: Any, source: str) -> tuple[int, int]:
    """Validate one tensor's header entry; return its ``(begin, end)`` byte offsets."""
    label = f"{source}: header entry {name[:80]!r}"
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise CorruptFileError(
            f"{label} must be an object with exactly 'dtype', 'shape' and 'data_offsets'"
        )
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in _DTYPES:
        raise CorruptFileError(
            f"{label} has dtype {str(dtype)[:20]!r}; minitorchless reads floating "
            f"tensors and int64 counters only: {sorted(_DTYPES)}"
        )
    if not isinstance(shape, list) or not all(_natural(size) for size in shape):
        raise CorruptFileError(f"{label} has shape {str(shape)[:80]}; expected a list of sizes")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_natural, offsets))):
        raise CorruptFileError(
            f"{label} has data_offsets {str(offsets)[:80]}; expected [begin, end]"
        )
    begin, end = offsets
    # Python integers cannot overflow, so a hostile shape cannot wrap this product around
    expected = math.prod(shape) * _DTYPES[dtype].itemsize
    if end - begin != expected:
        raise CorruptFileError(
            f"{label}: a {dtype} tensor of shape {tuple(shape)} takes {expected} bytes, "
            f"but its data_offsets [{begin}, {end}] span {end - begin}"
        )
    return begin, end


def read_safetensors(path: PathLike) -> tuple[dict[str, str], dict[str, NDArray[Any]]]:
    """Read and check a safetensors file; return its metadata and its tensors.

    Raises:
        OSError: The file cannot be read.
        TruncatedFileError: The file ends before its header or data do.
        CorruptFileError: Anything else is wrong with it.
    """
    source = str(path)
    data = Path(path).read_bytes()
    if len(data) < 8:
        raise TruncatedFileError(
            f"{source}: {len(data)} bytes is too short for a safetensors file "
            f"(the header length alone takes 8)"
        )
    header_size = int.from_bytes(data[:8], "little")
    if header_size > MAX_HEADER_BYTES:
        raise CorruptFileError(
            f"{source}: the header claims {header_size} bytes, more than the "
            f"{MAX_HEADER_BYTES} any safetensors file may have"
        )
    if 8 + header_size > len(data):
        raise TruncatedFileError(
            f"{source}: the header claims {header_size} bytes but only "
            f"{len(data) - 8} follow the length field"
        )
    header = parse_json(data[8 : 8 + header_size], "safetensors header", source)
    if not isinstance(header, dict):
        raise CorruptFileError(f"{source}: the safetensors header must be a JSON object")
    metadata = header.pop("__metadata__", None)
    if metadata is None:  # optional in the format; every file minitorchless writes has it
        metadata = {}
    if not isinstance(metadata, dict) or not all(
        isinstance(value, str) for value in metadata.values()
    ):
        raise CorruptFileError(f"{source}: '__metadata__' must map strings to strings")

    spans = sorted((*_check_entry(name, entry, source), name) for name, entry in header.items())
    position = 0
    for begin, end, name in spans:
        if begin != position:
            raise CorruptFileError(
                f"{source}: tensor {name[:80]!r} starts at byte {begin} of the data, "
                f"expected {position}: tensors must tile the data without gaps or overlaps"
            )
        position = end
    available = len(data) - 8 - header_size
    if position > available:
        raise TruncatedFileError(
            f"{source}: the tensors need {position} bytes of data but the file holds {available}"
        )
    if position < available:
        raise CorruptFileError(
            f"{source}: {available - position} stray bytes follow the last tensor"
        )
    try:
        arrays = safetensors.numpy.load(data)
    except Exception as err:  # the file is untrusted: whatever the library objects to is corruption
        raise CorruptFileError(f"{source}: safetensors refused the file: {err}") from err
    return metadata, arrays
