"""Atomic writes that change nothing but the file's contents.

``write_atomic`` writes to a temporary file next to the target and renames it
over the target, so that readers see the old file or the new one, never half
of one, and two processes saving to the same path leave one complete file
(the last rename wins). The rename replaces the directory entry, so the new
file would otherwise get fresh permissions: the old file's mode (and, where
the process may set them, its owner and group) are copied onto it first, so
saving over a private ``0600`` model keeps it private.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from typing import NoReturn

from minitorchless.serialization._sniff import file_kind

__all__ = ["PathLike", "write_atomic"]

PathLike = str | os.PathLike[str]

_DEFAULT_NAME_MAX = 255  # bytes per file name on every common file system


def _name_max(directory: bytes) -> int:
    try:
        return int(os.pathconf(directory, "PC_NAME_MAX"))
    except (AttributeError, OSError, ValueError):  # no pathconf (Windows), or no answer
        return _DEFAULT_NAME_MAX


def _temporary_name(directory: bytes, name: bytes) -> bytes:
    """``.<name>.<random>.tmp`` in ``directory``, the name cut so that it fits ``NAME_MAX``.

    The random part makes it unique (two processes saving at once each write
    their own); the name is only there so that a stray one can be recognised.
    """
    suffix = f".{secrets.token_hex(6)}.tmp".encode()
    room = max(0, _name_max(directory) - 1 - len(suffix))
    stem = name[:room]
    if stem != name:
        with contextlib.suppress(UnicodeDecodeError):
            name.decode("utf-8")  # a UTF-8 name is never cut inside a character
            stem = stem.decode("utf-8", "ignore").encode("utf-8")
    return os.path.join(directory, b"." + stem + suffix)


def _existing(target: bytes) -> os.stat_result | None:
    """The file now at ``target``, refusing to replace anything but a file or a link."""
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return None
    if stat.S_ISREG(info.st_mode):
        return info
    if stat.S_ISLNK(info.st_mode):
        return None  # the link is replaced, as mv replaces it; the file it names is untouched
    error = IsADirectoryError if stat.S_ISDIR(info.st_mode) else FileExistsError
    raise error(
        errno.EISDIR if stat.S_ISDIR(info.st_mode) else errno.EEXIST,
        f"cannot save to {os.fsdecode(target)}: it is {file_kind(info.st_mode)}, which a "
        f"save must not replace with a file",
        os.fsdecode(target),
    )


def _refuse_directory(err: OSError, target: bytes, directory: bytes) -> NoReturn:
    """Restate a failure to create the temporary file in terms of the directory."""
    where = os.fsdecode(directory)
    reason = {
        FileNotFoundError: f"the directory {where} does not exist",
        NotADirectoryError: f"{where} is not a directory",
        PermissionError: (
            f"no permission to create a file in {where} (a save writes a temporary "
            f"file there, then renames it over the target)"
        ),
    }.get(type(err))
    if reason is None:
        raise err
    raise type(err)(err.errno, f"cannot save to {os.fsdecode(target)}: {reason}", where) from None


def _keep_owner_and_mode(descriptor: int, old: os.stat_result) -> None:
    """Give the new file the old one's owner and group (where allowed), then its mode."""
    if hasattr(os, "fchown"):
        for uid, gid in ((old.st_uid, old.st_gid), (-1, old.st_gid)):
            try:  # only root may give a file away; a member of the group may keep the group
                os.fchown(descriptor, uid, gid)
                break
            except OSError:
                continue
    if hasattr(os, "fchmod"):  # after fchown, which may clear the set-id bits
        os.fchmod(descriptor, stat.S_IMODE(old.st_mode))


def write_atomic(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new, never half.

    The bytes go to a fresh temporary file in the same directory (a rename is only
    atomic within one file system), are flushed to disk, and the temporary file is
    then renamed over ``path``. On any failure, including ``KeyboardInterrupt``,
    the temporary file is removed and ``path`` is left as it was.

    An existing file's mode, and its owner and group where the process may set
    them, carry over to the new file; a new file gets the permissions a plain
    ``open`` would give it (``0o666`` less the umask). A symbolic link at
    ``path`` is replaced by the file, as ``mv`` would replace it.

    Raises:
        FileNotFoundError: The directory does not exist (the message names it).
        PermissionError: The directory does not let the process create the temporary file.
        IsADirectoryError: ``path`` is a directory.
        FileExistsError: ``path`` is a FIFO, a device or a socket, which is never replaced.
    """
    target = os.fsencode(os.fspath(path))
    directory, name = os.path.split(target)
    directory = directory or os.curdir.encode()
    try:
        old = _existing(target)
    except (NotADirectoryError, PermissionError) as err:  # a path through a file, or no access
        _refuse_directory(err, target, directory)
    temporary = _temporary_name(directory, name)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    # a private mode while the data is written; O_EXCL refuses a planted file or link
    try:
        descriptor = os.open(
            temporary, flags | getattr(os, "O_CLOEXEC", 0), 0o600 if old else 0o666
        )
    except OSError as err:
        _refuse_directory(err, target, directory)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            if old is not None:
                _keep_owner_and_mode(handle.fileno(), old)
            os.fsync(handle.fileno())  # the data is on disk before the rename publishes it
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_directory(directory)


def _sync_directory(directory: bytes) -> None:
    # make the rename itself durable; directories cannot be opened on Windows
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
