"""The state database's connection: its transactions, the reserve file beside it and what
every part of :class:`~simkeeper.state.store.Store` shares."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Self

import sqlite_utils

from simkeeper.core.errors import StateError
from simkeeper.state.dialect import POSTGRESQL, SQLITE, Dialect
from simkeeper.state.diskfull import (
    RESERVE_BYTES,
    disk_full,
    is_disk_full,
)
from simkeeper.state.rows import (
    stamp,
)

if TYPE_CHECKING:
    from simkeeper.state.postgres import Handle, Listener

CHANGES_CHANNEL = "simkeeper_changes"  # PostgreSQL: NOTIFY'd with each change logged


class Database:
    """An open connection to the state database (an SQLite file, or PostgreSQL through
    :mod:`.postgres`), its location, its transactions and the reserve file beside an SQLite
    file: what every part of :class:`Store` shares."""

    def __init__(self, db: sqlite_utils.Database | Handle, path: Path, url: str | None = None):
        self.db = db
        self.path = path  # the SQLite file (for PostgreSQL: where one would be, never used)
        self.url = url  # the PostgreSQL state's URL (None: SQLite)
        self.dialect: Dialect = POSTGRESQL if url else SQLITE
        self.reserve_used = False  # the reserve was given up to record a pass's outcomes
        self._compacted: bool | None = None
        self._depth = 0  # how deep in :meth:`transaction` (0: none open)

    @property
    def reserve_path(self) -> Path:
        """The reserve file next to the database."""
        return self.path.with_name(self.path.name + "-reserve")

    @property
    def location(self) -> str:
        """What :func:`~simkeeper.state.store.open_store` opens again: the path or the URL."""
        return self.url or str(self.path)

    def change_listener(self) -> Listener | None:
        """A :class:`~simkeeper.state.postgres.Listener` on the change log (PostgreSQL), or
        None (SQLite: the daemon reads the change log every pass)."""
        if not self.url:
            return None
        from simkeeper.state.postgres import Listener

        return Listener(self.url, CHANGES_CHANNEL)

    @contextmanager
    def transaction(self, shared: bool = False) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back if the block raises.

        On PostgreSQL the writers' advisory lock stands for SQLite's write lock; a ``shared``
        transaction (a claim, which locks the rows it takes) goes without it. SQLite has one
        write lock: every transaction takes it.

        Nested, it joins the transaction already open: a check and the write it allows (a
        renewal, :func:`simkeeper.app.record_entry`) hold one write lock from the check to the
        commit, so a second process or thread doing the same waits and then sees the first.
        A write that fails because the disk is full raises :class:`DiskFullError`.
        """
        conn = self.db.conn
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        try:
            if shared and self.url:
                conn.begin_shared()  # type: ignore[union-attr]
            else:
                conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with suppress(sqlite3.Error, StateError):
                        conn.execute("ROLLBACK")
                raise
            finally:
                self._depth = 0
        except sqlite3.OperationalError as e:
            if is_disk_full(e, self.path):
                raise disk_full(self.path) from None
            raise

    def ensure_reserve(self) -> None:
        """Put the reserve file in place (a no-op when it is); raise :class:`DiskFullError`
        when there is no room for it, so that nothing is sent that could not be recorded.
        PostgreSQL keeps its own room: the reserve is an SQLite file's."""
        if self.url:
            return
        with suppress(OSError):
            if self.reserve_path.stat().st_size >= RESERVE_BYTES:
                return
        block = b"simkeeper reserve: room to record deliveries when the disk fills up\n" * 64
        try:
            fd = os.open(self.reserve_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with open(fd, "wb") as f:
                for _ in range(0, RESERVE_BYTES, len(block)):
                    f.write(block)  # real bytes: a sparse file would reserve nothing
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            self.reserve_path.unlink(missing_ok=True)
            if is_disk_full(e, self.path):
                raise disk_full(self.path) from None
            raise StateError(f"cannot write {self.reserve_path}: {e.strerror}") from None

    def release_reserve(self) -> bool:
        """Delete the reserve file to make room; False when there was none to give."""
        if self.url:
            return False
        try:
            self.reserve_path.unlink()
        except FileNotFoundError:
            return False
        self.reserve_used = True
        return True

    def close(self) -> None:
        """Checkpoint and close the database."""
        if self.url:
            self.db.conn.close()
            return
        with suppress(sqlite3.Error):
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- compaction ---------------------------------------------------------------------------

    @property
    def compacted(self) -> bool:
        """Whether the database has the compact tables (a read-only one may predate them)."""
        if self._compacted is None:
            self._compacted = "settled" in self.db.table_names()
        return self._compacted

    def _folded(self, key: tuple[str, str, str, int]) -> bool:
        """Whether the outbox entry ``key`` was settled and folded into its compact form."""
        row = self.db.conn.execute(
            "SELECT 1 FROM settled WHERE number = ? AND deadline = ? AND kind = ? AND offset = ?"
            " LIMIT 1",
            key,
        ).fetchone()
        return row is not None

    # -- the change log ------------------------------------------------------------------------

    def _note_changes(self, numbers: Iterable[str], now: datetime) -> None:
        """Log that these numbers' ledger changed (inside the caller's transaction)."""
        rows = [(n, stamp(now)) for n in numbers]
        self.db.conn.executemany("INSERT INTO changes (number, at) VALUES (?, ?)", rows)
        if self.url and rows:  # the other daemons wake at the commit (LISTEN)
            self.db.execute(f"NOTIFY {CHANGES_CHANNEL}")
