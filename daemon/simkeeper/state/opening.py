"""Opening the state database's file: a fresh one set up under a lock on a separate file,
never by opening and closing the database itself (that drops SQLite's locks)."""

from __future__ import annotations

import errno
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from simkeeper.state.diskfull import (
    disk_full,
    is_disk_full,
)
from simkeeper.state.migrations import (
    AUTO_VACUUM_INCREMENTAL,
    migrations,
)
from simkeeper.state.problems import (
    cannot_create,
    state_error,
)


@contextmanager
def _setup_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on ``<state>-lock`` while the database is opened and migrated.

    A folder this user cannot write holds a database it cannot create either: it is then
    opened unlocked, and SQLite says what is wrong.
    """
    try:
        fd = os.open(f"{path}-lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:
        if is_disk_full(e, path):
            raise disk_full(path) from None
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the flock


def _create_empty(path: Path) -> bool:
    """Create ``path`` owner-only if it is missing; True when the database is still empty."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Opened by SQLite alone from here on (see :func:`open_store`); an empty file is one
        # a crash left between creating and setting up.
        if not os.access(path, os.R_OK | os.W_OK, effective_ids=True):
            raise cannot_create(
                path, PermissionError(errno.EACCES, os.strerror(errno.EACCES))
            ) from None
        return path.stat().st_size == 0
    except OSError as e:
        if is_disk_full(e, path):
            raise disk_full(path) from None
        raise cannot_create(path, e) from None
    os.close(fd)  # nobody else can hold locks on a file this call just made
    return True


def _set_up(path: Path, new: bool) -> sqlite_utils.Database:
    """Connect to the database at ``path`` in WAL mode and migrate it (under the caller's
    flock)."""
    try:
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 30000")
        if new:  # incremental auto-vacuum (later it takes a VACUUM; on an old file it writes)
            conn.execute(f"PRAGMA auto_vacuum = {AUTO_VACUUM_INCREMENTAL}")
        # No sqlite-utils plugins on simkeeper's database: finding them reads the metadata
        # of every installed package (1.3 MiB more in the idle daemon).
        db = sqlite_utils.Database(conn, execute_plugins=False)
        db.enable_wal()
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        migrations.apply(db)
    except sqlite3.Error as e:
        raise state_error(path, e) from None
    return db


def _wal_size(path: Path) -> int:
    """The size of the database's write-ahead log (0 when there is none)."""
    try:
        return Path(f"{path}-wal").stat().st_size
    except OSError:
        return 0


def _connect_ro(uri: str) -> sqlite3.Connection:
    conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.Error:
        conn.close()
        raise
    return conn
