"""What a file that is not a safetensors file looks like, from its first bytes.

When a user hands ``load`` a ``.npy``, an ``.onnx`` or a text file, the most
useful error says what the file is, not what its first 8 bytes would mean as
a safetensors header length. The signatures here are the well-known magic
numbers of the formats a model is likely to be confused with.
"""

from __future__ import annotations

import stat

__all__ = ["describe_foreign", "file_kind", "looks_like_safetensors"]

# (prefix, what a file starting with it is)
_MAGIC: list[tuple[bytes, str]] = [
    (b"\x93NUMPY", "a NumPy array file (.npy, from np.save)"),
    (
        b"PK\x03\x04",
        "a ZIP archive: a NumPy .npz file, a PyTorch checkpoint (torch.save) or a Keras "
        ".keras file",
    ),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file (a Keras .h5 model?)"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"GGUF", "a GGUF model (llama.cpp)"),
    (b"\x7fELF", "an executable (ELF)"),
]

_ONNX_FIELDS = {0x12, 0x1A, 0x22, 0x2A, 0x32, 0x3A, 0x42}  # ModelProto fields 2-8, length-delimited


def _looks_like_onnx(head: bytes) -> bool:
    # an ONNX ModelProto starts with field 1, ir_version, a small varint
    return len(head) >= 3 and head[0] == 0x08 and 1 <= head[1] <= 30 and head[2] in _ONNX_FIELDS


def _looks_like_pickle(head: bytes) -> bool:
    # protocol 2 and later start with PROTO (0x80) and the protocol number
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def _text_start(head: bytes) -> str | None:
    """The start of the file as text, if its first bytes are printable UTF-8."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        try:  # the cut at the end of ``head`` may split a character
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not text or not all(char.isprintable() or char in "\t\n\r" for char in text):
        return None
    return text


def looks_like_safetensors(head: bytes, size: int, max_header: int) -> bool:
    """Whether a file of ``size`` bytes starting with ``head`` can be (part of) a safetensors file.

    A safetensors file is an 8-byte little-endian length, then a JSON object:
    either the length is one a header may have, or byte 8 opens the object
    (a file claiming a huge header is then refused for that). Any other file
    format's magic number reads as an absurd length. A file of 8 bytes or fewer
    is a truncated one if the bytes it has can start an acceptable length.
    """
    length = int.from_bytes(head[: min(size, 8)], "little")
    return length <= max_header or (size > 8 and head[8:9] == b"{")


def describe_foreign(head: bytes) -> str:
    """What the file starting with ``head`` looks like, as the end of a sentence."""
    for magic, description in _MAGIC:
        if head.startswith(magic):
            return description
    if _looks_like_onnx(head):
        return "an ONNX model (minitorchless writes ONNX with export_onnx, but never reads it)"
    if _looks_like_pickle(head):
        return (
            "a Python pickle (an old-style torch.save checkpoint?), which minitorchless never "
            "loads: unpickling can run any code"
        )
    text = _text_start(head)
    if text is not None:
        kind = "a JSON text file" if text.lstrip()[:1] in ("{", "[") else "a text file"
        return f"{kind}, starting {text[:40]!r}"
    return f"unrecognised binary data, starting with the bytes {head[:8].hex(' ')}"


_KINDS = [
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISREG, "a regular file"),
]


def file_kind(mode: int) -> str:
    """What a ``stat`` mode describes: ``"a FIFO (named pipe)"``, ``"a directory"``..."""
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return "a special file"
