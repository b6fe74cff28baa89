"""The user's history (renewals, top-ups, snoozes), the change log the daemon follows, and
the :class:`~simkeeper.core.model.Ledger` the pure core reads from them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal

from simkeeper.core.errors import StateError
from simkeeper.core.kinds import EntryKind
from simkeeper.core.model import Ledger
from simkeeper.state.database import (
    Database,
)
from simkeeper.state.rows import (
    Entry,
    HistoryEvent,
    SentReminder,
    parse_stamp,
    stamp,
)

KEEP_CHANGES = timedelta(days=7)  # the change log is only read by a running daemon


def _newest_first(e: HistoryEvent) -> tuple[str, str, int]:
    """History order, newest first; within one second, the later row (higher id) first."""
    if isinstance(e, Entry):
        return (e.date[:10], e.recorded_at, e.id)
    return (e.sent_at[:10], e.sent_at, e.id)


class Ledgers(Database):
    """The history half of the store: what the user did, the change log the daemon follows
    and the ledger the pure core reads from them."""

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
        source: str = "",
    ) -> int:
        """Record a renewal or a top-up (``source``: who, when not the user); return its id."""
        with self.transaction():
            cur = self.db.conn.execute(
                "INSERT INTO history (number, name, kind, date, amount, currency, note, covers,"
                " recorded_at, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
                    source or None,
                ),
            )
            made = int(cur.fetchone()[0])
            self._note_changes([number], now)
        return made

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
                if row["kind"] == "reading":  # and the balance check it came from
                    self.db.conn.execute(
                        "DELETE FROM balance_readings WHERE history_id = ?", (row["id"],)
                    )
                self._note_changes([number], parse_stamp(row["recorded_at"]))
        return Entry(**row) if row else None

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
        readings: dict[str, tuple[date, Decimal]] = {}
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
                elif kind == "reading":  # in date order: the newest is kept
                    readings[n] = (day, Decimal(a))
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
            readings=readings,
        )

    def ledger(self, since: date | None = None) -> Ledger:
        """Everything the pure core needs to know about renewals, top-ups and reminders; with
        ``since``, of the deadlines marked done and reminded about only those from that day
        on (a pass needs no more: see :func:`~simkeeper.engine.deadlines.risk_start`)."""
        after = since.isoformat() if since else ""
        renewed = {
            n: date.fromisoformat(d)
            for n, d in self.db.execute(
                "SELECT number, MAX(date) FROM history WHERE kind = 'renewal' GROUP BY number"
            )
        }
        done = frozenset(
            (n, date.fromisoformat(c))
            for n, c in self.db.execute(
                "SELECT number, covers FROM history WHERE covers IS NOT NULL AND covers >= ?",
                (after,),
            )
        )
        reminded = frozenset(
            (n, date.fromisoformat(d))
            for n, d in self.db.execute(
                "SELECT DISTINCT number, deadline FROM reminders WHERE kind = 'renew'"
                " AND deadline >= ?"
                + (
                    " UNION SELECT number, deadline FROM reminded WHERE deadline >= ?"
                    if self.compacted
                    else ""
                ),
                (after, after) if self.compacted else (after,),
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
            readings=self._readings(),
        )

    def _readings(self) -> dict[str, tuple[date, Decimal]]:
        """Each number's newest balance reading: the day and the amount."""
        found: dict[str, tuple[date, Decimal]] = {}
        for n, d, a in self.db.execute(
            "SELECT number, date, amount FROM history WHERE kind = 'reading' ORDER BY date, id"
        ):
            found[n] = (date.fromisoformat(d), Decimal(a))
        return found

    def _snoozes(self, numbers: list[str] | None = None) -> dict[tuple[str, date], datetime]:
        """Every "remind me tomorrow" (of ``numbers`` only, when given): (number, deadline) ->
        until when (none in a database opened read-only before its migration added the
        table)."""
        sql = "SELECT number, deadline, until FROM snoozes"
        if numbers is not None:
            sql += f" WHERE number IN ({','.join('?' * len(numbers))})"
        try:
            rows = self.db.execute(sql, numbers or []).fetchall()
        except (sqlite3.OperationalError, StateError):
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
            row = self.db.execute(
                "SELECT until FROM snoozes WHERE number = ? AND deadline = ?",
                (number, deadline.isoformat()),
            ).fetchone()
            if row and parse_stamp(row[0]) >= until:
                return False
            self.db.execute(
                "INSERT INTO snoozes (number, deadline, until, recorded_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (number, deadline) DO UPDATE SET until = excluded.until,"
                " recorded_at = excluded.recorded_at",
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
