"""Balance readings by USSD: the one owner of their SQL.

Every check is recorded, whatever its outcome (``ok``, ``no-match``, ``timeout``, ``error``),
with the reply as safe to show (numbers masked before it gets here). An ``ok`` reading also
writes a ``reading`` row to the history in the same transaction: that row is what the ledger
hands the pure core (the balance projection starts from the newest), what ``history`` lists
(its ``source`` is ``ussd``) and what ``undo`` removes (with the reading it came from).

A number's next check is a row of ``balance_checks``; :meth:`Readings.claim_balance_check`
moves it on with one conditional statement, so of two processes asking at once one runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from simkeeper.state.database import Database
from simkeeper.state.rows import stamp

SOURCE = "ussd"  # the history's ``source`` of a reading (``carrier-sms``: a carrier's text)


@dataclass(frozen=True)
class ReadingRow:
    """One row of ``balance_readings``; stamps as stored (UTC)."""

    id: int
    number: str
    name: str
    gateway: str
    code: str
    outcome: str
    amount: str | None
    currency: str | None
    until: str | None
    reply: str | None
    error: str | None
    day: str
    read_at: str
    history_id: int | None


@dataclass(frozen=True)
class NewReading:
    """What one check found, to be recorded (``reply`` already masked)."""

    number: str
    name: str
    gateway: str
    code: str
    outcome: str
    day: date
    amount: Decimal | None = None
    currency: str = ""  # the number's ISO code, for the history row
    until: str = ""
    reply: str = ""
    error: str = ""


_COLUMNS = (
    "id, number, name, gateway, code, outcome, amount, currency, until, reply, error, day,"
    " read_at, history_id"
)


class Readings(Database):
    """The balance-reading half of the store."""

    def claim_balance_check(
        self, number: str, now: datetime, next_at: datetime, *, force: bool = False
    ) -> bool:
        """Claim ``number``'s check when it is due at ``now`` (never claimed before, or its
        next time has come), moving its next time to ``next_at``; False when it is not due or
        another process claimed it first. ``force`` (``simkeeper balance NAME``) claims it
        whenever, and the schedule starts again from ``now``."""
        with self.transaction():
            cur = self.db.conn.execute(
                "INSERT INTO balance_checks (number, next_at, claimed_at) VALUES (?, ?, ?)"
                " ON CONFLICT (number) DO UPDATE SET next_at = excluded.next_at,"
                " claimed_at = excluded.claimed_at WHERE ? OR balance_checks.next_at <= ?",
                (number, stamp(next_at), stamp(now), force, stamp(now)),
            )
        return cur.rowcount == 1

    def balance_checks_next(self) -> dict[str, str]:
        """Each number's next check (UTC stamps); a number never checked is not listed."""
        if "balance_checks" not in self.db.table_names():
            return {}  # a read-only database of an older version
        return dict(self.db.conn.execute("SELECT number, next_at FROM balance_checks"))

    def record_reading(self, r: NewReading, now: datetime) -> ReadingRow:
        """Record one check; an ``ok`` one also becomes a ``reading`` in the history (source
        ``ussd``), in the same transaction, and the number's ledger changes."""
        conn = self.db.conn
        with self.transaction():
            cur = conn.execute(
                "INSERT INTO balance_readings (number, name, gateway, code, outcome, amount,"
                " currency, until, reply, error, day, read_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    r.number,
                    r.name,
                    r.gateway,
                    r.code,
                    r.outcome,
                    None if r.amount is None else str(r.amount),
                    r.currency or None,
                    r.until or None,
                    r.reply or None,
                    r.error or None,
                    r.day.isoformat(),
                    stamp(now),
                ),
            )
            reading_id = int(cur.fetchone()[0])
            if r.outcome == "ok" and r.amount is not None:
                note = f"{r.code} via {r.gateway}"
                if r.until:
                    note += f", valid until {r.until}"
                row = conn.execute(
                    "INSERT INTO history (number, name, kind, date, amount, currency, note,"
                    " covers, recorded_at, source)"
                    " VALUES (?, ?, 'reading', ?, ?, ?, ?, NULL, ?, ?) RETURNING id",
                    (
                        r.number,
                        r.name,
                        r.day.isoformat(),
                        str(r.amount),
                        r.currency or None,
                        note,
                        stamp(now),
                        SOURCE,
                    ),
                )
                history_id = int(row.fetchone()[0])
                conn.execute(
                    "UPDATE balance_readings SET history_id = ? WHERE id = ?",
                    (history_id, reading_id),
                )
                self._note_changes([r.number], now)
            made = conn.execute(
                f"SELECT {_COLUMNS} FROM balance_readings WHERE id = ?", (reading_id,)
            ).fetchone()
        return ReadingRow(*made)

    def balance_readings(self, number: str | None = None, limit: int = 200) -> list[ReadingRow]:
        """The readings (of ``number``), newest first."""
        if "balance_readings" not in self.db.table_names():
            return []
        where, args = ("WHERE number = ?", [number]) if number else ("", [])
        rows = self.db.conn.execute(
            f"SELECT {_COLUMNS} FROM balance_readings {where} ORDER BY id DESC LIMIT ?",
            [*args, limit],
        )
        return [ReadingRow(*r) for r in rows]

    def latest_readings(self) -> dict[str, ReadingRow]:
        """Each number's newest reading, whatever its outcome."""
        if "balance_readings" not in self.db.table_names():
            return {}
        rows = self.db.conn.execute(
            f"SELECT {_COLUMNS} FROM balance_readings WHERE id IN"
            " (SELECT MAX(id) FROM balance_readings GROUP BY number)"
        )
        return {r[1]: ReadingRow(*r) for r in rows}

    def reading_counts(self) -> dict[str, int]:
        """How many readings ended in each outcome, all time."""
        if "balance_readings" not in self.db.table_names():
            return {}
        return dict(
            self.db.conn.execute("SELECT outcome, COUNT(*) FROM balance_readings GROUP BY outcome")
        )
