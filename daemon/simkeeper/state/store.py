"""The state database: the durable outbox of reminders and deliveries, and the user's history.

SQLite through sqlite-utils, in WAL mode with foreign keys and a busy timeout; the file is
created with mode 0600. A reminder row is written before anything is sent, with one delivery row
per target. Deliveries are claimed with a conditional UPDATE, so two processes never send the
same one, and a claim left by a process that died is released for the next pass: a crash at any
instant loses nothing, and at most the delivery in flight is sent again.

A full disk must not make simkeeper resend what went out: a reserve file of
:data:`RESERVE_BYTES` lies next to the database, nothing is sent unless it is in place, and
when recording an outcome fails for lack of space the reserve is deleted and the write retried
in the room it frees. The pass then stops with :class:`~simkeeper.core.errors.DiskFullError`.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

import sqlite_utils

from simkeeper.state.daemons import Daemons
from simkeeper.state.dialect import is_url
from simkeeper.state.diskfull import (
    disk_full,
    is_disk_full,
)
from simkeeper.state.inbound import InboundTexts
from simkeeper.state.keepalive import Keepalives
from simkeeper.state.ledgers import (
    Ledgers,
)
from simkeeper.state.opening import (
    _connect_ro,
    _create_empty,
    _set_up,
    _setup_lock,
    _wal_size,
)
from simkeeper.state.outbox import (
    Outbox,
)
from simkeeper.state.problems import (
    cannot_create,
    state_error,
)
from simkeeper.state.readings import Readings
from simkeeper.state.upkeep import (
    Upkeep,
)


class Store(Outbox, Ledgers, Upkeep, Keepalives, Daemons, Readings, InboundTexts):
    """An open state database. Use :func:`open_store`; close with :meth:`close`."""


def open_store(path: Path | str, *, create: bool = True, readonly: bool = False) -> Store | None:
    """Open (and create or migrate) the state database at ``path``: an SQLite file, or a
    ``postgresql://`` URL (see :mod:`.postgres`; ``create`` and ``readonly`` then change
    nothing: the database is the server's, and its schema is brought up to date).

    With ``create=False`` a missing file gives None instead, for read-only commands. With
    ``readonly`` the file is opened read-only and never migrated or written, so a user who may
    read it but not write it (nor its folder) can still look; a file that is not yet a
    simkeeper database then gives None too.
    Raises :class:`StateError` when the folder or file cannot be used, saying why: which path,
    which user and what mode it needs, or (only for real damage) how to set it aside.
    """
    if isinstance(path, str) and is_url(path):
        return _open_postgresql(path)
    path = Path(path)
    if not path.exists() and not create:
        return None
    if readonly:
        return _open_readonly(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as e:
        if is_disk_full(e, path):
            raise disk_full(path) from None
        raise cannot_create(path, e) from None
    # Creating and migrating is not one SQLite transaction (sqlite-utils commits each step):
    # an exclusive flock lets one process at a time set it up, so two commands starting on a
    # fresh machine never both create it. The lock is a file of its own, never the database:
    # POSIX record locks belong to the process, and closing any descriptor of the database
    # would drop the locks SQLite holds there for this process's other connections (the
    # next command to close would then think itself the last and remove the log under them).
    with _setup_lock(path):
        return Store(_set_up(path, _create_empty(path)), path)


def _open_readonly(path: Path) -> Store | None:
    """Open ``path`` read-only; None when it holds no simkeeper tables yet.

    SQLite reads a WAL database read-only when its ``-shm`` file exists (a writer has it open)
    or can be created. When neither (no writer, and a folder this user cannot write), nothing
    can change the file under us, so it is read as immutable.
    """
    uri = "file:" + quote(str(path.absolute())) + "?mode=ro"
    try:
        try:
            conn = _connect_ro(uri)
        except sqlite3.OperationalError:
            # An empty WAL holds nothing to miss: that is also what a read-only open leaves
            # behind when it cannot make the -shm file (a full disk).
            if _wal_size(path) > 0:
                raise
            conn = _connect_ro(uri + "&immutable=1")
        db = sqlite_utils.Database(conn, execute_plugins=False)
        if "reminders" not in db.table_names():
            conn.close()
            return None
    except sqlite3.Error as e:
        raise state_error(path, e, writing=False) from None
    return Store(db, path)


def _open_postgresql(url: str) -> Store:
    """Connect to the PostgreSQL state at ``url`` and migrate it (psycopg imported here)."""
    from simkeeper.state.postgres import open_handle

    return Store(open_handle(url), Path(os.devnull), url)
