"""The state in PostgreSQL: a psycopg 3 connection that looks, to the state modules, like the
sqlite3 one they were written for, and the migrations run in PostgreSQL's dialect.

Imported only when ``settings.state`` is a ``postgresql://`` URL (psycopg is the optional
``postgresql`` extra). The connection is in autocommit mode, so a ``BEGIN`` is where a
transaction starts, as with SQLite's ``isolation_level=None``; a writer's transaction takes
one advisory lock (:data:`WRITE_LOCK`), as ``BEGIN IMMEDIATE`` takes SQLite's write lock, so a
check and the write it allows stay one step for every daemon sharing the database. Claiming
deliveries, the one hot path daemons share, takes row locks instead (``FOR UPDATE SKIP
LOCKED``, see :meth:`~simkeeper.state.outbox.Outbox.claim`).

A connection lost (PostgreSQL restarted, a failover) is opened again when the next statement
starts outside a transaction, for up to :data:`RECONNECT_FOR` seconds; a transaction it cuts
short is rolled back by the server and its step fails like any other, to be done again by a
later pass. The URL's password never reaches a message: errors name the host and database
only (:func:`shown`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from simkeeper.core.errors import StateError
from simkeeper.state.dialect import POSTGRESQL, shown

WRITE_LOCK = 0x53494D4B  # "SIMK": the advisory lock a writer's transaction holds
MIGRATE_LOCK = 0x53494D4D  # "SIMM": held while the schema is brought up to date
RECONNECT_FOR = 60.0  # seconds a lost connection is tried again before the step fails
CONNECT_FOR = 5.0  # the first connection: a command says at once that the server is not there
MIGRATIONS_TABLE = "_simkeeper_migrations"


def _fail(url: str, e: psycopg.Error) -> StateError:
    # psycopg's message may quote the connection string; say the server's words only
    first = (str(e).strip().splitlines() or [type(e).__name__])[0]
    for secret in _secrets(url):
        first = first.replace(secret, "****")
    return StateError(f"PostgreSQL state {shown(url)}: {first}")


def _secrets(url: str) -> list[str]:
    parts = urlsplit(url)
    return [s for s in (parts.password, parts.username) if s and len(s) >= 3]


class Cursor:
    """The rows of one statement, as much of :class:`sqlite3.Cursor` as the state uses."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount
        self.lastrowid: int | None = None  # not known here: the state's SQL says RETURNING id

    def fetchone(self) -> Any:
        """The next row, or None."""
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[Any]:
        """Every row left."""
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class Connection:
    """A psycopg connection speaking the state's SQL (rewritten by :data:`POSTGRESQL`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._open = False  # a BEGIN was sent and no COMMIT or ROLLBACK yet
        self._conn = self._connect(deadline=time.monotonic() + CONNECT_FOR)

    def _connect(self, deadline: float) -> psycopg.Connection[Any]:
        delay = 0.05
        while True:
            try:
                return psycopg.connect(self.url, autocommit=True, connect_timeout=10)
            except psycopg.OperationalError as e:
                if time.monotonic() + delay > deadline:
                    raise _fail(self.url, e) from None
            time.sleep(delay)  # the server is starting up (a restart, a failover): wait for it
            delay = min(delay * 2, 1.0)

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open on this connection."""
        return self._open

    def _usable(self) -> None:
        if self._conn.closed or self._conn.broken:
            if self._open:  # never go on with half a transaction on a new connection
                raise StateError(f"PostgreSQL state {shown(self.url)}: connection lost")
            self._conn = self._connect(deadline=time.monotonic() + RECONNECT_FOR)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement (SQLite's SQL, ``?`` placeholders); its rows are read at once."""
        return self._run(sql, params, dicts=False)

    def query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """Run one statement; its rows as dicts (sqlite-utils' ``db.query``)."""
        yield from self._run(sql, params, dicts=True).fetchall()

    def _run(self, sql: str, params: Sequence[Any], dicts: bool) -> Cursor:
        if sql == "BEGIN IMMEDIATE":
            return self._begin(exclusive=True)
        if sql in ("COMMIT", "ROLLBACK"):
            return self._end(sql)
        for attempt in (1, 2):
            self._usable()
            try:
                with self._conn.cursor(row_factory=dict_row if dicts else _tuples) as cur:
                    cur.execute(POSTGRESQL.sql(sql), tuple(params))
                    rows = cur.fetchall() if cur.description else []
                    return Cursor(list(rows), cur.rowcount)
            except psycopg.OperationalError as e:
                # a read outside any transaction is safe to ask again on a new connection
                if attempt == 2 or not self._conn.broken or sql.lstrip()[:6].upper() != "SELECT":
                    raise _fail(self.url, e) from None
            except psycopg.Error as e:
                raise _fail(self.url, e) from None
        raise AssertionError("unreachable")

    def _begin(self, exclusive: bool) -> Cursor:
        self._usable()
        try:
            self._conn.execute("BEGIN")
            self._open = True
            if exclusive:
                self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
        except psycopg.Error as e:
            self._end("ROLLBACK")
            raise _fail(self.url, e) from None
        return Cursor([], -1)

    def _end(self, how: str) -> Cursor:
        was_open, self._open = self._open, False
        if self._conn.broken or self._conn.closed:
            if how == "ROLLBACK":
                return Cursor([], -1)  # the server rolled it back when the connection went
            raise StateError(f"PostgreSQL state {shown(self.url)}: connection lost")
        try:
            if was_open or self._conn.info.transaction_status != TransactionStatus.IDLE:
                self._conn.execute(how)
        except psycopg.Error as e:
            raise _fail(self.url, e) from None
        return Cursor([], -1)

    def begin_shared(self) -> None:
        """BEGIN without the writers' lock: for steps that lock the rows they change."""
        self._begin(exclusive=False)

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> Cursor:
        """Run one statement for each parameter tuple."""
        rows = [tuple(p) for p in seq]
        if not rows:
            return Cursor([], 0)
        self._usable()
        try:
            with self._conn.cursor() as cur:
                cur.executemany(POSTGRESQL.sql(sql), rows)
                return Cursor([], cur.rowcount)
        except psycopg.Error as e:
            raise _fail(self.url, e) from None

    def notify(self, channel: str) -> None:
        """NOTIFY ``channel`` (delivered at the commit of the transaction it is sent in)."""
        self.execute(f"NOTIFY {channel}")

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


def _tuples(cursor: Any) -> Any:
    """psycopg's default row maker (tuples), named so both branches above read alike."""
    from psycopg.rows import tuple_row

    return tuple_row(cursor)


class Handle:
    """What :class:`~simkeeper.state.database.Database` holds for PostgreSQL: the part of
    sqlite-utils' ``Database`` the state uses."""

    def __init__(self, url: str) -> None:
        self.conn = Connection(url)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement."""
        return self.conn.execute(sql, params)

    def query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """Run one statement; rows as dicts."""
        return self.conn.query(sql, params)

    def table_names(self) -> list[str]:
        """The tables of the schema in use."""
        rows = self.conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() ORDER BY table_name"
        )
        return [r[0] for r in rows]


class _Migrating:
    """What a migration function is handed: ``execute`` in PostgreSQL's DDL."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one DDL statement of a migration, rewritten for PostgreSQL."""
        return self.conn.execute(POSTGRESQL.ddl(sql).replace("%%", "%"), params)


def migrate(handle: Handle) -> list[str]:
    """Bring the schema up to date: each migration not applied yet, in order, in one
    transaction with its record (PostgreSQL's DDL is transactional), under a lock that lets
    one daemon at a time do it. Returns the names applied."""
    from simkeeper.state.migrations import migrations

    conn = handle.conn
    conn.execute("SELECT pg_advisory_lock(?)", (MIGRATE_LOCK,))
    try:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (name TEXT PRIMARY KEY,"
            " applied_at TEXT NOT NULL)"
        )
        done = {r[0] for r in conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE}")}
        applied = []
        for m in migrations._migrations:
            if m.name in done:
                continue
            conn.begin_shared()
            try:
                m.fn(_Migrating(conn))  # type: ignore[arg-type]
                conn.execute(
                    f"INSERT INTO {MIGRATIONS_TABLE} (name, applied_at) VALUES (?, ?)",
                    (m.name, datetime.now(UTC).isoformat()),
                )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            applied.append(m.name)
        return applied
    finally:
        conn.execute("SELECT pg_advisory_unlock(?)", (MIGRATE_LOCK,))


class Listener:
    """A connection of its own LISTENing to the change log's channel: a daemon selects on it
    to hear at once what another process (of any host) recorded; polling stays the fallback."""

    def __init__(self, url: str, channel: str) -> None:
        self.url = url
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
            self._conn.execute(f"LISTEN {channel}")
        except psycopg.Error as e:
            raise _fail(url, e) from None

    def fileno(self) -> int:
        """The socket to select on (StateError once the connection is gone)."""
        try:
            return self._conn.pgconn.socket
        except psycopg.Error as e:
            raise _fail(self.url, e) from None

    def heard(self) -> bool:
        """Whether a notification arrived (read them all); raises StateError when the
        connection is lost (the caller falls back to polling)."""
        pgconn = self._conn.pgconn
        try:
            pgconn.consume_input()
        except psycopg.Error as e:
            raise _fail(self.url, e) from None
        found = False
        while pgconn.notifies() is not None:
            found = True
        return found

    def close(self) -> None:
        """Stop listening."""
        self._conn.close()


def open_handle(url: str) -> Handle:
    """Connect to the state at ``url`` and migrate it."""
    handle = Handle(url)
    migrate(handle)
    return handle
