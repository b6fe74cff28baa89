"""Compaction and retention's half of the store: settled outbox entries folded, old rows
dropped, the file shrunk."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta

from simkeeper.state.database import (
    Database,
)
from simkeeper.state.migrations import (
    AUTO_VACUUM_INCREMENTAL,
)
from simkeeper.state.rows import (
    Compaction,
    parse_stamp,
    stamp,
)

KEEP_PASSES = 200  # the passes table keeps only the latest ones
FOLD_AFTER = timedelta(days=2)  # a settled entry this long past its expiry is folded
COMPACT_EVERY = timedelta(days=1)  # compaction runs at most this often


class Upkeep(Database):
    """Keeping the database small: folding settled outbox entries, dropping what is past the
    retention window, shrinking the file."""

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
                    "SELECT CASE WHEN sent = 1 THEN 'sent' ELSE 'expired' END, COUNT(*)"
                    " FROM settled WHERE until < ? AND target != '' GROUP BY 1",
                    (cutoff,),
                ).fetchall()
            )
            conn.executemany(
                "INSERT INTO tallies (state, count) VALUES (?, ?)"
                " ON CONFLICT(state) DO UPDATE SET count = tallies.count + excluded.count",
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
            "INSERT INTO settled (number, deadline, kind, offset, target, id, name, at,"
            " until, sent) SELECT r.number, r.deadline, r.kind, r.offset, COALESCE(d.target, ''),"
            " COALESCE(d.id, 0), r.name, COALESCE(d.sent_at, r.expires_at), r.expires_at,"
            " CASE WHEN d.state = 'sent' THEN 1 ELSE 0 END FROM reminders r"
            f" LEFT JOIN deliveries d ON d.reminder_id = r.id WHERE r.id IN ({marks})"
            " ON CONFLICT DO NOTHING",
            ids,
        )
        conn.execute(
            "INSERT INTO reminded (number, deadline) SELECT number, deadline"
            f" FROM reminders WHERE kind = 'renew' AND id IN ({marks}) ON CONFLICT DO NOTHING",
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
        if self.url:
            return True  # PostgreSQL's autovacuum gives freed space back to its tables
        try:
            if self.db.execute("PRAGMA auto_vacuum").fetchone()[0] == AUTO_VACUUM_INCREMENTAL:
                # sqlite3's execute() steps a statement once: one page. A script runs it out.
                self.db.conn.executescript("PRAGMA incremental_vacuum;")  # type: ignore[union-attr]
            else:
                self.db.execute(f"PRAGMA auto_vacuum = {AUTO_VACUUM_INCREMENTAL}")
                self.db.execute("VACUUM")
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.Error:
            return False
        return True
