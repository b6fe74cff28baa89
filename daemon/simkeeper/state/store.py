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

import errno
import fcntl
import json
import os
import pwd
import shutil
import sqlite3
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import sqlite_utils
from sqlite_utils.migrations import Migrations

from simkeeper.core.errors import DiskFullError, StateError
from simkeeper.core.kinds import EntryKind, OutboxKind
from simkeeper.core.model import Ledger

BACKOFF = (60, 300, 1800, 7200)  # seconds: 1 min, 5 min, 30 min, then every 2 h
STALE_CLAIM = timedelta(minutes=15)  # a claim older than this is released even if its pid lives
RESERVE_BYTES = 1 << 20  # room kept free for settling a pass: ~250 WAL frames of 4 KiB pages
_SQLITE_FULL = 13
AUTO_VACUUM_INCREMENTAL = 2  # PRAGMA auto_vacuum: 0 none, 1 full, 2 incremental
_SQLITE_IOERR = 10

migrations = Migrations("simkeeper")


@migrations()
def m001_outbox(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE reminders (
            id INTEGER PRIMARY KEY,
            number TEXT NOT NULL,
            deadline TEXT NOT NULL,
            kind TEXT NOT NULL,
            offset INTEGER NOT NULL,
            name TEXT NOT NULL,
            due_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            payload TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (number, deadline, kind, offset)
        )"""
    )
    db.execute(
        """
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            reminder_id INTEGER NOT NULL REFERENCES reminders(id) ON DELETE CASCADE,
            target TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            last_error TEXT,
            claimed_by TEXT,
            claimed_at TEXT,
            sent_at TEXT,
            UNIQUE (reminder_id, target)
        )"""
    )
    db.execute("CREATE INDEX deliveries_due ON deliveries (state, target, next_attempt_at)")
    db.execute(
        """
        CREATE TABLE targets (
            name TEXT PRIMARY KEY,
            last_success_at TEXT,
            last_error TEXT,
            last_error_at TEXT
        )"""
    )


@migrations()
def m002_history(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE history (
            id INTEGER PRIMARY KEY,
            number TEXT NOT NULL,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            date TEXT NOT NULL,
            amount TEXT,
            currency TEXT,
            note TEXT,
            covers TEXT,
            recorded_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX history_number ON history (number, date)")


@migrations()
def m003_passes(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE passes (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            ran_at TEXT NOT NULL,
            seconds REAL NOT NULL,
            outcome TEXT NOT NULL,
            sent INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            error TEXT
        )"""
    )


@migrations()
def m004_changes(db: sqlite_utils.Database) -> None:
    # Which numbers' ledger changed, in order: the daemon reads the rows after the last one it
    # saw on each tick and works those numbers out again (renewals and top-ups come from other
    # processes). Written in the same transaction as the change itself.
    db.execute(
        """
        CREATE TABLE changes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            number TEXT NOT NULL,
            at TEXT NOT NULL
        )"""
    )


@migrations()
def m005_web_snoozes(db: sqlite_utils.Database) -> None:
    # "Remind me tomorrow" from the web face: a deadline's reminders held until ``until``.
    db.execute(
        """
        CREATE TABLE snoozes (
            number TEXT NOT NULL,
            deadline TEXT NOT NULL,
            until TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (number, deadline)
        )"""
    )


@migrations()
def m006_retention(db: sqlite_utils.Database) -> None:
    """The compact form settled outbox entries are folded into (see :meth:`Store.compact`)."""
    db.execute(
        """
        CREATE TABLE settled (
            number TEXT NOT NULL,
            deadline TEXT NOT NULL,
            kind TEXT NOT NULL,
            offset INTEGER NOT NULL,
            target TEXT NOT NULL,
            id INTEGER NOT NULL,
            name TEXT NOT NULL,
            at TEXT NOT NULL,
            until TEXT NOT NULL,
            sent INTEGER NOT NULL,
            PRIMARY KEY (number, deadline, kind, offset, target)
        ) WITHOUT ROWID"""
    )
    db.execute(
        """
        CREATE TABLE reminded (
            number TEXT NOT NULL,
            deadline TEXT NOT NULL,
            PRIMARY KEY (number, deadline)
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE TABLE tallies (state TEXT PRIMARY KEY, count INTEGER NOT NULL)")
    db.execute("CREATE TABLE compactions (id INTEGER PRIMARY KEY CHECK (id = 1), ran_at TEXT)")


# What ``json.dumps(payload, ensure_ascii=False)`` writes, without a new encoder per reminder.
_PAYLOAD_JSON = json.JSONEncoder(ensure_ascii=False)
KEEP_CHANGES = timedelta(days=7)  # the change log is only read by a running daemon
KEEP_PASSES = 200  # the passes table keeps only the latest ones
FOLD_AFTER = timedelta(days=2)  # a settled entry this long past its expiry is folded
COMPACT_EVERY = timedelta(days=1)  # compaction runs at most this often


def stamp(moment: datetime) -> str:
    """A UTC timestamp as stored: ISO 8601 to the second, so strings sort as times."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def parse_stamp(text: str) -> datetime:
    """The inverse of :func:`stamp`."""
    return datetime.fromisoformat(text)


def process_token() -> str:
    """Who holds a claim: pid and the process start time, so a reused pid is not mistaken."""
    return f"{os.getpid()}:{_start_time(os.getpid())}"


def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "?"


def _alive(token: str) -> bool:
    pid_text, _, started = token.partition(":")
    try:
        pid = int(pid_text)
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return started in ("?", _start_time(pid))


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


class Slot(Protocol):
    """What the outbox records: a reminder, the weekly digest, or a broken number's alert."""

    @property
    def key(self) -> tuple[str, str, str, int]:
        """The outbox identity: (number, deadline, kind, offset)."""
        ...

    @property
    def due_at(self) -> datetime:
        """When it is due (UTC)."""
        ...

    @property
    def expires_at(self) -> datetime:
        """When a delivery of it still failing is given up (UTC)."""
        ...


OutboxItem = tuple[Slot, dict[str, Any], list[str]]  # a slot, its payload, its target names


@dataclass(frozen=True)
class Claimed:
    """A delivery claimed for sending, with the reminder it carries."""

    id: int
    target: str
    kind: OutboxKind
    payload: dict[str, Any]
    attempts: int
    last_error: str | None = None  # why the try before failed (a timeout: it may have arrived)


@dataclass(frozen=True)
class Entry:
    """A renewal or top-up the user recorded (a ``history`` row); dates and stamps as stored."""

    id: int
    number: str
    name: str
    kind: EntryKind
    date: str
    amount: str | None
    currency: str | None
    note: str | None
    covers: str | None
    recorded_at: str


@dataclass(frozen=True)
class SentReminder:
    """A reminder delivered to a target (for ``history``); ``sent_at`` is a UTC stamp."""

    id: int
    number: str
    name: str
    deadline: str
    kind: OutboxKind
    offset: int
    target: str
    sent_at: str


HistoryEvent = Entry | SentReminder


def _newest_first(e: HistoryEvent) -> tuple[str, str, int]:
    """History order, newest first; within one second, the later row (higher id) first."""
    if isinstance(e, Entry):
        return (e.date[:10], e.recorded_at, e.id)
    return (e.sent_at[:10], e.sent_at, e.id)


@dataclass(frozen=True)
class PassRecord:
    """One send pass as recorded: who ran it, when (a UTC stamp) and how it ended."""

    id: int
    source: str
    ran_at: str
    seconds: float
    outcome: str  # ok | failed | error
    sent: int
    failed: int
    error: str | None


@dataclass(frozen=True)
class UnsentReminder:
    """A reminder due and not sent to every target; ``recorded`` once it is in the outbox."""

    name: str
    number: str
    deadline: str
    kind: str
    due_at: str
    targets: str  # comma-separated target names
    recorded: bool = True


@dataclass(frozen=True)
class OpenDelivery:
    """A delivery not yet sent: pending, sending, interrupted (its sender died) or failed."""

    id: int
    target: str
    state: str
    attempts: int
    next_attempt_at: str
    last_error: str | None
    name: str
    number: str
    deadline: str
    kind: str
    offset: int


@dataclass(frozen=True)
class Compaction:
    """What :meth:`Store.compact` did: outbox entries folded, folded rows past the retention
    window dropped, ``reminded`` deadlines forgotten."""

    folded: int
    dropped: int
    forgotten: int


@dataclass(frozen=True)
class TargetState:
    """A target's last success and last error (UTC stamps), as remembered for ``status``."""

    name: str
    last_success_at: str | None
    last_error: str | None
    last_error_at: str | None


class Store:
    """An open state database. Use :func:`open_store`; close with :meth:`close`."""

    def __init__(self, db: sqlite_utils.Database, path: Path):
        self.db = db
        self.path = path
        self.reserve_used = False  # the reserve was given up to record a pass's outcomes
        self._compacted: bool | None = None
        self._depth = 0  # how deep in :meth:`transaction` (0: none open)

    @property
    def reserve_path(self) -> Path:
        """The reserve file next to the database."""
        return self.path.with_name(self.path.name + "-reserve")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back if the block raises.

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
            conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
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
        when there is no room for it, so that nothing is sent that could not be recorded."""
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
        try:
            self.reserve_path.unlink()
        except FileNotFoundError:
            return False
        self.reserve_used = True
        return True

    def close(self) -> None:
        """Checkpoint and close the database."""
        with suppress(sqlite3.Error):
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- recording reminders ------------------------------------------------------------------

    def record(self, items: Iterable[OutboxItem], now: datetime) -> int:
        """Write reminders and their deliveries in one transaction; return how many were new.

        ``items`` are ``(reminder, payload, target names)``; a reminder already recorded (same
        number, deadline, kind and offset) is left alone, so recording twice is harmless.
        """
        created = 0
        changed: set[str] = set()
        conn = self.db.conn
        at = stamp(now)
        stamps: dict[datetime, str] = {}  # many reminders share their instants
        deliveries: list[tuple[int | None, str, str, str]] = []
        insert = (
            "INSERT OR IGNORE INTO reminders (number, deadline, kind, offset, name, due_at,"
            " expires_at, payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        with self.transaction():
            for reminder, payload, targets in items:
                if self._folded(reminder.key):
                    continue  # sent (or given up) and compacted: it stays done
                due, expires = reminder.due_at, reminder.expires_at
                due_s = stamps.get(due) or stamps.setdefault(due, stamp(due))
                expires_s = stamps.get(expires) or stamps.setdefault(expires, stamp(expires))
                key = reminder.key
                cur = conn.execute(
                    insert,
                    (
                        *key,
                        payload.get("name", ""),
                        due_s,
                        expires_s,
                        _PAYLOAD_JSON.encode(payload),
                        at,
                    ),
                )
                if cur.rowcount != 1:
                    continue
                created += 1
                if key[2] == "renew":  # the ledger knows which deadlines were reminded
                    changed.add(key[0])
                rowid = cur.lastrowid
                deliveries += [(rowid, t, at, expires_s) for t in targets]
            conn.executemany(
                "INSERT INTO deliveries (reminder_id, target, next_attempt_at, expires_at)"
                " VALUES (?, ?, ?, ?)",
                deliveries,
            )
            self._note_changes(sorted(changed - {""}), now)
        return created

    # -- claiming and settling deliveries -----------------------------------------------------

    def release_stale(self, now: datetime) -> int:
        """Hand back deliveries claimed by a process that died (or hung: a claim older than
        :data:`STALE_CLAIM` at ``now``) mid-send."""
        released = 0
        old = stamp(now - STALE_CLAIM)
        rows = self.db.execute(
            "SELECT DISTINCT claimed_by, MIN(claimed_at) FROM deliveries WHERE state = 'sending'"
            " GROUP BY claimed_by"
        ).fetchall()
        with self.transaction():
            for token, claimed_at in rows:
                if _alive(token) and claimed_at > old:
                    continue
                released += self.db.conn.execute(
                    "UPDATE deliveries SET state = 'pending', claimed_by = NULL"
                    " WHERE state = 'sending' AND claimed_by = ?",
                    (token,),
                ).rowcount
        return released

    def expire(self, now: datetime) -> int:
        """Give up deliveries whose reminder is no longer useful (its deadline has passed)."""
        with self.transaction():
            return self.db.conn.execute(
                "UPDATE deliveries SET state = 'expired'"
                " WHERE state IN ('pending', 'failed') AND expires_at <= ?",
                (stamp(now),),
            ).rowcount

    def due_targets(self, now: datetime) -> list[str]:
        """Targets with a delivery ready to send at ``now``."""
        rows = self.db.execute(
            "SELECT DISTINCT target FROM deliveries WHERE state IN ('pending', 'failed')"
            " AND next_attempt_at <= ? AND expires_at > ? ORDER BY target",
            (stamp(now), stamp(now)),
        ).fetchall()
        return [r[0] for r in rows]

    def claim(self, target: str, now: datetime, token: str) -> list[Claimed]:
        """Atomically take every delivery ready for ``target`` at ``now`` (also the claim's
        time); another process gets none."""
        with self.transaction():
            self.db.conn.execute(
                "UPDATE deliveries SET state = 'sending', claimed_by = ?, claimed_at = ?"
                " WHERE target = ? AND state IN ('pending', 'failed')"
                " AND next_attempt_at <= ? AND expires_at > ?",
                (token, stamp(now), target, stamp(now), stamp(now)),
            )
        rows = self.db.execute(
            "SELECT d.id, d.target, r.kind, r.payload, d.attempts, d.last_error FROM deliveries d"
            " JOIN reminders r ON r.id = d.reminder_id"
            " WHERE d.state = 'sending' AND d.claimed_by = ? AND d.target = ? ORDER BY d.id",
            (token, target),
        ).fetchall()
        return [Claimed(i, t, k, json.loads(p), a, e) for i, t, k, p, a, e in rows]

    def settle(self, claimed: list[Claimed], token: str, now: datetime, error: str | None) -> None:
        """Record the outcome of sending ``claimed``: sent, or failed with a retry time.

        When the disk is full, the reserve is given up and the outcome recorded in the room it
        frees: a message that went out is never sent again for lack of space to say so.
        """
        try:
            self._settle(claimed, token, now, error)
        except DiskFullError:
            if not self.release_reserve():
                raise
            self._settle(claimed, token, now, error)

    def _settle(self, claimed: list[Claimed], token: str, now: datetime, error: str | None) -> None:
        ids = [c.id for c in claimed]
        if not ids:
            return
        marks = ",".join("?" * len(ids))
        with self.transaction():
            if error is None:
                self.db.conn.execute(
                    f"UPDATE deliveries SET state = 'sent', sent_at = ?, attempts = attempts + 1,"
                    f" last_error = NULL, claimed_by = NULL"
                    f" WHERE claimed_by = ? AND state = 'sending' AND id IN ({marks})",
                    (stamp(now), token, *ids),
                )
            else:
                for c in claimed:
                    wait = BACKOFF[min(c.attempts, len(BACKOFF) - 1)]
                    self.db.conn.execute(
                        "UPDATE deliveries SET state = 'failed', attempts = attempts + 1,"
                        " last_error = ?, next_attempt_at = ?, claimed_by = NULL"
                        " WHERE claimed_by = ? AND state = 'sending' AND id = ?",
                        (error, stamp(now + timedelta(seconds=wait)), token, c.id),
                    )
            self.note_target(claimed[0].target, now, error)

    def note_target(self, target: str, now: datetime, error: str | None) -> None:
        """Remember a target's last success or last error, for ``status``."""
        self.db.conn.execute(
            "INSERT INTO targets (name) VALUES (?) ON CONFLICT(name) DO NOTHING", (target,)
        )
        if error is None:
            self.db.conn.execute(
                "UPDATE targets SET last_success_at = ? WHERE name = ?", (stamp(now), target)
            )
        else:
            self.db.conn.execute(
                "UPDATE targets SET last_error = ?, last_error_at = ? WHERE name = ?",
                (error, stamp(now), target),
            )

    def next_retry_at(self, now: datetime) -> datetime | None:
        """When the earliest waiting delivery becomes ready (None when nothing waits)."""
        row = self.db.execute(
            "SELECT MIN(next_attempt_at) FROM deliveries WHERE state IN ('pending', 'failed')"
            " AND expires_at > ?",
            (stamp(now),),
        ).fetchone()
        return parse_stamp(row[0]) if row and row[0] else None

    # -- what the user did --------------------------------------------------------------------

    def add_history(
        self,
        number: str,
        name: str,
        kind: str,
        day: date,
        now: datetime,
        amount: Decimal | None = None,
        currency: str = "",
        note: str = "",
        covers: date | None = None,
    ) -> int:
        """Record a renewal or a top-up; return its id."""
        with self.transaction():
            cur = self.db.conn.execute(
                "INSERT INTO history (number, name, kind, date, amount, currency, note, covers,"
                " recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    number,
                    name,
                    kind,
                    day.isoformat(),
                    None if amount is None else str(amount),
                    currency or None,
                    note or None,
                    covers.isoformat() if covers else None,
                    stamp(now),
                ),
            )
            self._note_changes([number], now)
        return cur.lastrowid or 0

    def entries(self, number: str, kind: EntryKind | None = None) -> list[Entry]:
        """The renewals and top-ups recorded for ``number`` (only ``kind`` if given), oldest
        recorded first."""
        where, args = ("AND kind = ?", [number, kind]) if kind else ("", [number])
        rows = self.db.query(f"SELECT * FROM history WHERE number = ? {where} ORDER BY id", args)
        return [Entry(**row) for row in rows]

    def remove_last_entry(self, number: str) -> Entry | None:
        """Delete the renewal or top-up recorded last for ``number``; return it (None if none)."""
        with self.transaction():
            row = next(
                self.db.query(
                    "SELECT * FROM history WHERE number = ? ORDER BY id DESC LIMIT 1", [number]
                ),
                None,
            )
            if row:
                self.db.conn.execute("DELETE FROM history WHERE id = ?", (row["id"],))
                self._note_changes([number], parse_stamp(row["recorded_at"]))
        return Entry(**row) if row else None

    # -- the change log ------------------------------------------------------------------------

    def _note_changes(self, numbers: Iterable[str], now: datetime) -> None:
        """Log that these numbers' ledger changed (inside the caller's transaction)."""
        self.db.conn.executemany(
            "INSERT INTO changes (number, at) VALUES (?, ?)", [(n, stamp(now)) for n in numbers]
        )

    def last_change(self) -> int:
        """The sequence number of the newest change logged (0 when none)."""
        row = self.db.execute("SELECT MAX(seq) FROM changes").fetchone()
        return int(row[0] or 0) if row else 0

    def changed_since(self, seq: int) -> tuple[int, set[str]]:
        """The numbers whose ledger changed after change ``seq``, and the newest seq seen."""
        rows = self.db.execute(
            "SELECT seq, number FROM changes WHERE seq > ? ORDER BY seq", (seq,)
        ).fetchall()
        return (rows[-1][0] if rows else seq), {n for _, n in rows}

    def prune_changes(self, now: datetime, seen: int) -> int:
        """Forget changes up to ``seen`` (already read) logged over :data:`KEEP_CHANGES` before
        ``now``."""
        with self.transaction():
            return self.db.conn.execute(
                "DELETE FROM changes WHERE seq <= ? AND at < ?", (seen, stamp(now - KEEP_CHANGES))
            ).rowcount

    def ledger_for(self, numbers: Iterable[str]) -> Ledger:
        """:meth:`ledger` for just these numbers (what the pure core needs to work them out)."""
        wanted = sorted(set(numbers))
        renewed: dict[str, date] = {}
        done: set[tuple[str, date]] = set()
        reminded: set[tuple[str, date]] = set()
        topups: dict[str, list[tuple[date, Decimal]]] = {}
        renewals: dict[str, list[tuple[date, Decimal | None]]] = {}
        snoozed: dict[tuple[str, date], datetime] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for n, kind, d, a, c in self.db.execute(
                "SELECT number, kind, date, amount, covers FROM history"
                f" WHERE number IN ({marks}) ORDER BY date, id",
                chunk,
            ):
                day = date.fromisoformat(d)
                if kind == "renewal":
                    renewed[n] = max(renewed.get(n, day), day)
                    renewals.setdefault(n, []).append((day, None if a is None else Decimal(a)))
                elif kind == "topup":
                    topups.setdefault(n, []).append((day, Decimal(a)))
                if c is not None:
                    done.add((n, date.fromisoformat(c)))
            reminded.update(
                (n, date.fromisoformat(d))
                for n, d in self.db.execute(
                    "SELECT DISTINCT number, deadline FROM reminders"
                    f" WHERE kind = 'renew' AND number IN ({marks})"
                    + (
                        f" UNION SELECT number, deadline FROM reminded WHERE number IN ({marks})"
                        if self.compacted
                        else ""
                    ),
                    chunk * 2 if self.compacted else chunk,
                )
            )
            snoozed.update(self._snoozes(chunk))
        return Ledger(
            renewed,
            frozenset(done),
            frozenset(reminded),
            {n: tuple(v) for n, v in topups.items()},
            {n: tuple(v) for n, v in renewals.items()},
            snoozed=snoozed,
        )

    def ledger(self) -> Ledger:
        """Everything the pure core needs to know about renewals, top-ups and reminders."""
        renewed = {
            n: date.fromisoformat(d)
            for n, d in self.db.execute(
                "SELECT number, MAX(date) FROM history WHERE kind = 'renewal' GROUP BY number"
            )
        }
        done = frozenset(
            (n, date.fromisoformat(c))
            for n, c in self.db.execute(
                "SELECT number, covers FROM history WHERE covers IS NOT NULL"
            )
        )
        reminded = frozenset(
            (n, date.fromisoformat(d))
            for n, d in self.db.execute(
                "SELECT DISTINCT number, deadline FROM reminders WHERE kind = 'renew'"
                + (" UNION SELECT number, deadline FROM reminded" if self.compacted else "")
            )
        )
        topups: dict[str, list[tuple[date, Decimal]]] = {}
        for n, d, a in self.db.execute(
            "SELECT number, date, amount FROM history WHERE kind = 'topup' ORDER BY date"
        ):
            topups.setdefault(n, []).append((date.fromisoformat(d), Decimal(a)))
        return Ledger(
            renewed,
            done,
            reminded,
            {n: tuple(v) for n, v in topups.items()},
            self._renewals(),
            snoozed=self._snoozes(),
        )

    def _snoozes(self, numbers: list[str] | None = None) -> dict[tuple[str, date], datetime]:
        """Every "remind me tomorrow" (of ``numbers`` only, when given): (number, deadline) ->
        until when (none in a database opened read-only before its migration added the
        table)."""
        sql = "SELECT number, deadline, until FROM snoozes"
        if numbers is not None:
            sql += f" WHERE number IN ({','.join('?' * len(numbers))})"
        try:
            rows = self.db.execute(sql, numbers or []).fetchall()
        except sqlite3.OperationalError:
            return {}
        return {(n, date.fromisoformat(d)): parse_stamp(u) for n, d, u in rows}

    def last_modified(self) -> datetime | None:
        """When the user last recorded something (a renewal, a top-up, a snooze), if ever:
        what the web face's calendar feed sends as Last-Modified, with the day it shows."""
        found = [
            parse_stamp(row[0])
            for row in self.db.execute(
                "SELECT MAX(recorded_at) FROM history UNION ALL SELECT MAX(recorded_at) FROM "
                "snoozes UNION ALL SELECT MAX(created_at) FROM reminders"
            )
            if row[0]
        ]
        return max(found, default=None)

    def snooze(self, number: str, deadline: date, until: datetime, now: datetime) -> bool:
        """Hold ``deadline``'s reminders of ``number`` until ``until`` (one goes out then).
        False, and nothing written, when it is already held until then or later."""
        with self.transaction():
            row = next(
                self.db.execute(
                    "SELECT until FROM snoozes WHERE number = ? AND deadline = ?",
                    (number, deadline.isoformat()),
                ),
                None,
            )
            if row and parse_stamp(row[0]) >= until:
                return False
            self.db.execute(
                "INSERT OR REPLACE INTO snoozes (number, deadline, until, recorded_at) "
                "VALUES (?, ?, ?, ?)",
                (number, deadline.isoformat(), stamp(until), stamp(now)),
            )
            self._note_changes([number], now)
            return True

    def _renewals(self) -> dict[str, tuple[tuple[date, Decimal | None], ...]]:
        """Every recorded renewal per number, oldest first, with its amount when given."""
        found: dict[str, list[tuple[date, Decimal | None]]] = {}
        for n, d, a in self.db.execute(
            "SELECT number, date, amount FROM history WHERE kind = 'renewal' ORDER BY date, id"
        ):
            found.setdefault(n, []).append(
                (date.fromisoformat(d), None if a is None else Decimal(a))
            )
        return {n: tuple(v) for n, v in found.items()}

    def history(self, number: str | None = None, limit: int = 200) -> list[HistoryEvent]:
        """Renewals, top-ups and reminders sent, newest first."""
        where, args = ("WHERE number = ?", [number]) if number else ("", [])
        events: list[HistoryEvent] = [
            Entry(**r) for r in self.db.query(f"SELECT * FROM history {where}", args)
        ]
        sent_where = "AND r.number = ?" if number else ""
        for r in self.db.query(
            "SELECT d.id, r.number, r.name, r.deadline, r.kind, r.offset, d.target, d.sent_at"
            " FROM deliveries d JOIN reminders r ON r.id = d.reminder_id"
            f" WHERE d.state = 'sent' {sent_where}",
            args,
        ):
            events.append(SentReminder(**r))
        if self.compacted:
            for r in self.db.query(
                "SELECT id, number, name, deadline, kind, offset, target, at AS sent_at"
                f" FROM settled r WHERE sent = 1 {sent_where}",
                args,
            ):
                events.append(SentReminder(**r))
        events.sort(key=_newest_first, reverse=True)
        return events[:limit]

    # -- passes -------------------------------------------------------------------------------

    def record_pass(
        self,
        source: str,
        ran_at: datetime,
        seconds: float,
        outcome: str,
        sent: int = 0,
        failed: int = 0,
        error: str | None = None,
    ) -> None:
        """Remember that a pass ran and how it ended (``ok``, ``failed`` or ``error``)."""
        with self.transaction():
            self.db.conn.execute(
                "INSERT INTO passes (source, ran_at, seconds, outcome, sent, failed, error)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (source, stamp(ran_at), round(seconds, 3), outcome, sent, failed, error),
            )
            self.db.conn.execute(
                "DELETE FROM passes WHERE id <= (SELECT MAX(id) FROM passes) - ?", (KEEP_PASSES,)
            )

    def last_pass(self) -> PassRecord | None:
        """The pass recorded last, or None (also for a database from before passes were kept,
        opened read-only)."""
        if "passes" not in self.db.table_names():
            return None
        rows = list(self.db.query("SELECT * FROM passes ORDER BY id DESC LIMIT 1"))
        return PassRecord(**rows[0]) if rows else None

    def recorded(self, keys: Iterable[tuple[str, str, str, int]]) -> set[tuple[str, str, str, int]]:
        """Which reminder keys (number, deadline, kind, offset) are in the outbox, those folded
        into their compact form (see :meth:`compact`) included."""
        found = set()
        for key in keys:
            row = self.db.execute(
                "SELECT 1 FROM reminders WHERE number = ? AND deadline = ? AND kind = ?"
                " AND offset = ?",
                key,
            ).fetchone()
            if row or (self.compacted and self._folded(key)):
                found.add(key)
        return found

    def unsent_due(self, now: datetime) -> list[UnsentReminder]:
        """Reminders in the outbox due by ``now`` with a delivery not sent yet, oldest first."""
        return [
            UnsentReminder(**row)
            for row in self.db.query(
                "SELECT r.name, r.number, r.deadline, r.kind, r.due_at,"
                " GROUP_CONCAT(d.target, ', ') AS targets FROM reminders r"
                " JOIN deliveries d ON d.reminder_id = r.id"
                " WHERE d.state IN ('pending', 'sending', 'failed') AND r.due_at <= ?"
                " GROUP BY r.id ORDER BY r.due_at, r.id",
                [stamp(now)],
            )
        ]

    # -- status -------------------------------------------------------------------------------

    def open_deliveries(self) -> list[OpenDelivery]:
        """Deliveries not yet sent (pending, sending or failed), oldest first.

        A claim whose process is gone shows as ``interrupted``: the next pass sends it again.
        """
        rows = list(
            self.db.query(
                "SELECT d.id, d.target, d.state, d.attempts, d.next_attempt_at, d.last_error,"
                " d.claimed_by, r.name, r.number, r.deadline, r.kind, r.offset FROM deliveries d"
                " JOIN reminders r ON r.id = d.reminder_id"
                " WHERE d.state IN ('pending', 'sending', 'failed') ORDER BY d.id"
            )
        )
        for row in rows:
            claimed_by = row.pop("claimed_by")
            if row["state"] == "sending" and not _alive(claimed_by or ""):
                row["state"] = "interrupted"
        return [OpenDelivery(**row) for row in rows]

    def target_status(self) -> dict[str, TargetState]:
        """Each target's last success and last error, by name."""
        return {r["name"]: TargetState(**r) for r in self.db.query("SELECT * FROM targets")}

    def counts(self) -> dict[str, int]:
        """Deliveries per state, those compacted (see :meth:`compact`) included."""
        found = dict(self.db.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state"))
        if self.compacted:
            for state, count in self.db.execute(
                "SELECT CASE WHEN sent THEN 'sent' ELSE 'expired' END, COUNT(*) FROM settled"
                " WHERE target != '' GROUP BY 1 UNION ALL SELECT state, count FROM tallies"
            ):
                found[state] = found.get(state, 0) + count
        return found

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

    def last_compaction(self) -> datetime | None:
        """When :meth:`compact` last ran (None: never)."""
        row = self.db.execute("SELECT ran_at FROM compactions WHERE id = 1").fetchone()
        return parse_stamp(row[0]) if row and row[0] else None

    def compact(self, now: datetime, retention: timedelta, reminded_since: date) -> Compaction:
        """Keep the database small, in one transaction (a crash leaves it as it was).

        An outbox entry settled (every delivery sent or given up) and :data:`FOLD_AFTER` past
        its expiry, when no pass can make it due again, is folded into one ``settled`` row per
        target: its key (so it is never recorded again), name, target and when it was sent,
        for ``history``; a renew reminder's deadline also goes into ``reminded`` (the ledger's
        "reminded about", which overdue alerts need). Folded rows whose slot expired more
        than ``retention`` before ``now`` are dropped (no pass at a later ``now`` can make
        them due), counted in ``tallies`` (``status`` counts every delivery ever), and
        ``reminded`` deadlines before ``reminded_since``, past any overdue window, go too.
        Problem alerts (one per number, ever) are never folded. Renewals and top-ups are
        never removed.
        """
        conn = self.db.conn
        with self.transaction():
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT r.id FROM reminders r WHERE r.kind != 'problem' AND r.expires_at <= ?"
                    " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.reminder_id = r.id"
                    " AND d.state IN ('pending', 'sending', 'failed'))"
                    # The newest row stays, so that SQLite never hands out its id (nor its
                    # deliveries') again: folded rows keep theirs, in history and its JSON.
                    " AND r.id < (SELECT MAX(id) FROM reminders)",
                    (stamp(now - FOLD_AFTER),),
                )
            ]
            for start in range(0, len(ids), 500):
                self._fold(ids[start : start + 500])
            cutoff = stamp(now - retention)
            dropped = dict(
                conn.execute(
                    "SELECT CASE WHEN sent THEN 'sent' ELSE 'expired' END, COUNT(*) FROM settled"
                    " WHERE until < ? AND target != '' GROUP BY 1",
                    (cutoff,),
                ).fetchall()
            )
            conn.executemany(
                "INSERT INTO tallies (state, count) VALUES (?, ?)"
                " ON CONFLICT(state) DO UPDATE SET count = count + excluded.count",
                dropped.items(),
            )
            gone = conn.execute("DELETE FROM settled WHERE until < ?", (cutoff,)).rowcount
            forgotten = conn.execute(
                "DELETE FROM reminded WHERE deadline < ?", (reminded_since.isoformat(),)
            ).rowcount
            conn.execute(
                "INSERT INTO compactions (id, ran_at) VALUES (1, ?)"
                " ON CONFLICT(id) DO UPDATE SET ran_at = excluded.ran_at",
                (stamp(now),),
            )
        return Compaction(len(ids), gone, forgotten)

    def _fold(self, ids: list[int]) -> None:
        """Fold the outbox entries ``ids`` (inside :meth:`compact`'s transaction)."""
        marks = ",".join("?" * len(ids))
        conn = self.db.conn
        conn.execute(
            "INSERT OR IGNORE INTO settled (number, deadline, kind, offset, target, id, name, at,"
            " until, sent) SELECT r.number, r.deadline, r.kind, r.offset, COALESCE(d.target, ''),"
            " COALESCE(d.id, 0), r.name, COALESCE(d.sent_at, r.expires_at), r.expires_at,"
            " COALESCE(d.state = 'sent', 0) FROM reminders r"
            f" LEFT JOIN deliveries d ON d.reminder_id = r.id WHERE r.id IN ({marks})",
            ids,
        )
        conn.execute(
            "INSERT OR IGNORE INTO reminded (number, deadline) SELECT number, deadline"
            f" FROM reminders WHERE kind = 'renew' AND id IN ({marks})",
            ids,
        )
        conn.execute(f"DELETE FROM deliveries WHERE reminder_id IN ({marks})", ids)
        conn.execute(f"DELETE FROM reminders WHERE id IN ({marks})", ids)

    def shrink(self) -> bool:
        """Give the pages compaction freed back to the filesystem; False when it could not.

        A database made by this version is in incremental auto-vacuum mode, so that is cheap;
        an older one is switched to it once with a VACUUM (after compaction, so it copies only
        what is left). Both are atomic: a crash leaves the file as it was.
        """
        try:
            if self.db.execute("PRAGMA auto_vacuum").fetchone()[0] == AUTO_VACUUM_INCREMENTAL:
                # sqlite3's execute() steps a statement once: one page. A script runs it out.
                self.db.conn.executescript("PRAGMA incremental_vacuum;")
            else:
                self.db.execute(f"PRAGMA auto_vacuum = {AUTO_VACUUM_INCREMENTAL}")
                self.db.execute("VACUUM")
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.Error:
            return False
        return True

    def counts_by_target(self) -> dict[tuple[str, str], int]:
        """Deliveries per (target, state), for ``/metrics``."""
        rows = self.db.execute(
            "SELECT target, state, COUNT(*) FROM deliveries GROUP BY target, state"
        )
        return {(target, state): n for target, state, n in rows}


def open_store(path: Path, *, create: bool = True, readonly: bool = False) -> Store | None:
    """Open (and create or migrate) the state database at ``path``.

    With ``create=False`` a missing file gives None instead, for read-only commands. With
    ``readonly`` the file is opened read-only and never migrated or written, so a user who may
    read it but not write it (nor its folder) can still look; a file that is not yet a
    simkeeper database then gives None too.
    Raises :class:`StateError` when the folder or file cannot be used, saying why: which path,
    which user and what mode it needs, or (only for real damage) how to set it aside.
    """
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


DAMAGE = ("file is not a database", "malformed", "corrupt")


def state_error(path: Path, error: sqlite3.Error, writing: bool = True) -> StateError:
    """The one line to say about an SQLite error on the state database.

    Only real damage suggests moving the file aside (and says how to keep it); a permission
    problem names the path, the user and the mode needed; anything else is said as it is.
    """
    if is_disk_full(error, path):  # reading too: a full disk is never damage or permissions
        return disk_full(path)
    text = str(error)
    if any(word in text.lower() for word in DAMAGE):
        return StateError(
            f"the state database {path} is damaged ({text}); keep it and start afresh with "
            f"'mv {path} {path}.damaged' (your numbers are in the config; the renewals, top-ups "
            f"and sent reminders recorded in it stay in that file, and 'sqlite3 {path}.damaged "
            f".recover' may get them back)"
        )
    if writing and ("readonly" in text or "unable to open" in text or "disk I/O" in text):
        problem = permission_problem(path)
        if problem:
            return StateError(problem)
    return StateError(f"cannot {'open' if writing else 'read'} the state database {path}: {text}")


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _mode(path: Path) -> str:
    st = path.stat()
    return f"mode {stat.S_IMODE(st.st_mode):04o} owned by {_user(st.st_uid)}"


def cannot_create(path: Path, e: OSError) -> StateError:
    """The error for a state database (or its folder) that cannot be created at ``path``."""
    if isinstance(e, PermissionError):
        why = permission_problem(path) or f"cannot create the state database {path}: {e.strerror}"
        return StateError(why)
    return StateError(
        f"cannot create the state database {path}: {e.strerror} (make the folder writable "
        f"by this user, or set settings.state to a writable path)"
    )


def permission_problem(path: Path) -> str:
    """Why this user cannot write the state database at ``path``: the path, the user, and the
    mode it needs. Empty when no permission is missing."""
    me = _user(os.geteuid())
    who = f"user {me} (uid {os.geteuid()})"
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return (
            f"cannot write the state database {path}: it is {_mode(path)}, and {who} needs to "
            f"read and write it (mode 0600, owned by {me}: {_fix(path, '600', me)})"
        )
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        return (
            f"cannot write the state database {path}: its folder {folder} is {_mode(folder)}, "
            f"and {who} needs to write in it for SQLite's journal files (mode 0700, owned by "
            f"{me}: {_fix(folder, '700', me)}, or set settings.state to a folder that user owns)"
        )
    return ""


def _fix(path: Path, mode: str, me: str) -> str:
    owner = _user(path.stat().st_uid)
    if owner == me:
        return f"chmod {mode} {path}"
    return f"run simkeeper as {owner}, or chown {me} {path}"
