"""The state database's schema, one migration per change (sqlite-utils' ``Migrations``).

Each migration is plain ``db.execute`` in the SQL SQLite and PostgreSQL share: on
PostgreSQL the same functions run through :func:`simkeeper.state.postgres.migrate`, which
rewrites their DDL by :mod:`.dialect`'s rules (row ids become identity columns). A migration
that used sqlite-utils' table helpers would run on SQLite only: write it as ``db.execute``.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

AUTO_VACUUM_INCREMENTAL = 2  # PRAGMA auto_vacuum: 0 none, 1 full, 2 incremental

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


@migrations()
def m007_keepalive(db: sqlite_utils.Database) -> None:
    """The autopilot's attempts (see :mod:`.keepalive`): one row per number and deadline,
    written before its gateway is called, so a send is never repeated nor forgotten."""
    db.execute(
        """
        CREATE TABLE keepalive_attempts (
            id INTEGER PRIMARY KEY,
            number TEXT NOT NULL,
            name TEXT NOT NULL,
            deadline TEXT NOT NULL,
            gateway TEXT NOT NULL,
            sim INTEGER,
            msg_id TEXT NOT NULL UNIQUE,
            ref TEXT,
            cost TEXT NOT NULL,
            currency TEXT NOT NULL,
            state TEXT NOT NULL,
            reason TEXT,
            claimed_at TEXT NOT NULL,
            settled_at TEXT,
            history_id INTEGER,
            UNIQUE (number, deadline)
        )"""
    )
    db.execute("CREATE INDEX keepalive_spend ON keepalive_attempts (currency, claimed_at)")


@migrations()
def m008_balance_readings(db: sqlite_utils.Database) -> None:
    """Balance checks by USSD (see :mod:`.readings`): every reading with its outcome (a matched
    one also writes a ``reading`` row to the history, ``history_id``), and each number's next
    check, claimed with a conditional UPDATE so two processes never run the same one."""
    db.execute(
        """
        CREATE TABLE balance_readings (
            id INTEGER PRIMARY KEY,
            number TEXT NOT NULL,
            name TEXT NOT NULL,
            gateway TEXT NOT NULL,
            code TEXT NOT NULL,
            outcome TEXT NOT NULL,
            amount TEXT,
            currency TEXT,
            until TEXT,
            reply TEXT,
            error TEXT,
            day TEXT NOT NULL,
            read_at TEXT NOT NULL,
            history_id INTEGER
        )"""
    )
    db.execute("CREATE INDEX balance_readings_number ON balance_readings (number, id)")
    db.execute(
        """
        CREATE TABLE balance_checks (
            number TEXT PRIMARY KEY,
            next_at TEXT NOT NULL,
            claimed_at TEXT
        )"""
    )


@migrations()
def m009_inbound(db: sqlite_utils.Database) -> None:
    """The texts the carrier sent (see :mod:`.inbound`): one row per text, keyed by the
    gateway's own id so a text delivered twice (a webhook retried, a poll repeated) is kept
    once; the tallies ``/metrics`` counts by outcome; when each polled gateway was last asked.
    A history row gets its ``source`` (``carrier-sms``; none: typed by the user)."""
    db.execute(
        """
        CREATE TABLE inbound_texts (
            id INTEGER PRIMARY KEY,
            gateway TEXT NOT NULL,
            ref TEXT NOT NULL UNIQUE,
            sim INTEGER,
            sender TEXT NOT NULL,
            text TEXT NOT NULL,
            at TEXT NOT NULL,
            number TEXT,
            name TEXT,
            outcome TEXT NOT NULL,
            history_id INTEGER,
            recorded_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX inbound_number ON inbound_texts (number, at)")
    db.execute("CREATE TABLE inbound_tallies (outcome TEXT PRIMARY KEY, count INTEGER NOT NULL)")
    db.execute(
        """
        CREATE TABLE inbound_polls (
            gateway TEXT PRIMARY KEY,
            polled_at TEXT NOT NULL,
            ok_at TEXT,
            error TEXT
        )"""
    )
    db.execute("ALTER TABLE history ADD COLUMN source TEXT")


@migrations()
def m010_leases(db: sqlite_utils.Database) -> None:
    """A claim's lease: when it runs out, another process (of any host) takes it over."""
    db.execute("ALTER TABLE deliveries ADD COLUMN lease_until TEXT")


@migrations()
def m011_daemons(db: sqlite_utils.Database) -> None:
    """The daemons sharing the state, and when each last ran a pass (for ``status``)."""
    db.execute(
        """
        CREATE TABLE daemons (
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            started_at TEXT NOT NULL,
            last_pass TEXT,
            PRIMARY KEY (host, pid)
        )"""
    )


@migrations()
def m012_settled_until(db: sqlite_utils.Database) -> None:
    """Indexes for the daily compaction: it counts and drops the folded rows past retention
    (``settled.until``) and the ``reminded`` deadlines past any overdue window. Without them
    both scanned their whole table, which grows for the retention period: a pass on day 120
    took 1.6 times one on day 1 doing the same work (issue 23)."""
    db.execute("CREATE INDEX settled_until ON settled (until)")
    db.execute("CREATE INDEX reminded_deadline ON reminded (deadline)")


@migrations()
def m013_settled_by_deadline(db: sqlite_utils.Database) -> None:
    """The folded reminders kept by deadline, kind and offset first. A day's compaction folds
    the reminders that expired that day and drops the folded rows that expired retention ago:
    each a slice of one (deadline, kind, offset) after another, a row a number. Keyed by number
    first, each row of a slice went to another part of the table, so the pages it rewrote grew
    with the table (10,000 numbers: the day-120 pass 1.4 times the day-33 pass, the fold, the
    drop and their commit most of it). Keyed this way, a slice is a few runs of pages. Looking
    a number up (``history NAME``) scans the table: bounded by the retention window, and a
    command, not every day's pass."""
    db.execute(
        """
        CREATE TABLE settled_by_deadline (
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
            PRIMARY KEY (deadline, kind, offset, number, target)
        ) WITHOUT ROWID"""
    )
    columns = "number, deadline, kind, offset, target, id, name, at, until, sent"
    db.execute(f"INSERT INTO settled_by_deadline ({columns}) SELECT {columns} FROM settled")
    db.execute("DROP TABLE settled")
    db.execute("ALTER TABLE settled_by_deadline RENAME TO settled")
    db.execute("CREATE INDEX settled_until ON settled (until)")
