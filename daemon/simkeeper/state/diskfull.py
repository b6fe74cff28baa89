"""Telling a full disk from other failures, and the reserve of room kept for recording a
pass's outcomes."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from simkeeper.core.errors import DiskFullError

RESERVE_BYTES = 1 << 20  # room kept free for settling a pass: ~250 WAL frames of 4 KiB pages
_SQLITE_FULL = 13
_SQLITE_IOERR = 10


def free_bytes(path: Path) -> int:
    """Free space, in bytes, on the filesystem holding ``path`` (0 when it cannot be told)."""
    try:
        return shutil.disk_usage(path.parent).free
    except OSError:
        return 0


def is_disk_full(error: BaseException, path: Path) -> bool:
    """Whether an SQLite or OS error means the filesystem holding ``path`` is full.

    SQLite says SQLITE_FULL when it cannot grow a file, but a write cut short by a full disk
    can also come back as a plain I/O error: that counts when the free space is that low.
    """
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:
        text = str(error)
        code = _SQLITE_FULL if "full" in text else _SQLITE_IOERR if "I/O" in text else 0
    if code & 0xFF == _SQLITE_FULL:
        return True
    return code & 0xFF == _SQLITE_IOERR and free_bytes(path) < RESERVE_BYTES


def disk_full(path: Path) -> DiskFullError:
    """The error for a full disk under ``path``, with the free space now."""
    return DiskFullError(str(path), free_bytes(path))
