"""The autopilot's attempts: the one owner of their SQL.

A row is claimed (state ``sending``) inside one BEGIN IMMEDIATE transaction that also sums what
the budget's window has spent, so two passes (the daemon and ``send-due``, or a restart) can
never both claim, nor claim past the cap. The row, with the message id handed to the gateway,
exists before the gateway is called: after a crash its outcome is asked of the gateway by that
id, never found out by sending again. ``UNIQUE (number, deadline)`` makes one text per deadline.

States: ``sending`` (claimed; the call may have reached the network), ``accepted`` (the gateway
has it), then one of ``proved`` (delivered, or sent where no report comes: a renewal is
recorded in the same transaction), ``failed``, ``expired`` (no proof in time), ``unknown`` (the
gateway cannot say) or ``refused`` (over budget: never sent, costs nothing).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from simkeeper.state.database import Database
from simkeeper.state.rows import parse_stamp, stamp

OPEN = ("sending", "accepted")
UNFINISHED = ("failed", "expired", "unknown", "refused")  # the owner gets the reminder


@dataclass(frozen=True)
class Attempt:
    """One row of ``keepalive_attempts``."""

    id: int
    number: str
    name: str
    deadline: str
    gateway: str
    sim: int | None
    msg_id: str
    ref: str | None
    cost: Decimal
    currency: str
    state: str
    reason: str | None
    claimed_at: str
    settled_at: str | None

    @property
    def claimed(self) -> datetime:
        """When it was claimed (UTC)."""
        return parse_stamp(self.claimed_at)


@dataclass(frozen=True)
class Claim:
    """What :meth:`Keepalives.claim_keepalive` did: ``claimed`` (``attempt`` is the new row),
    ``exists`` (an attempt for that deadline was made before) or ``budget`` (refused)."""

    outcome: str
    attempt: Attempt | None
    spent: Decimal


_COLUMNS = (
    "id, number, name, deadline, gateway, sim, msg_id, ref, cost, currency, state, reason,"
    " claimed_at, settled_at"
)


def _attempt(row: tuple[object, ...]) -> Attempt:
    values = list(row)
    values[8] = Decimal(str(values[8]))
    return Attempt(*values)  # type: ignore[arg-type]


class Keepalives(Database):
    """The autopilot half of the store."""

    def _spent(self, currency: str, since: datetime) -> Decimal:
        rows = self.db.conn.execute(
            "SELECT cost FROM keepalive_attempts WHERE currency = ? AND claimed_at > ?"
            " AND state != 'refused'",
            (currency, stamp(since)),
        ).fetchall()
        return sum((Decimal(r[0]) for r in rows), Decimal(0))

    def claim_keepalive(
        self,
        *,
        number: str,
        name: str,
        deadline: date,
        gateway: str,
        sim: int | None,
        msg_id: str,
        cost: Decimal,
        currency: str,
        cap: Decimal | None,
        since: datetime,
        now: datetime,
        again: bool = False,
    ) -> Claim:
        """Claim the attempt for ``number``'s ``deadline`` if the budget (``cap`` over the
        window from ``since``) allows ``cost`` more; else record it refused. A refused attempt
        may be claimed again; with ``again`` (the owner's own ``keepalive NAME``) so may one
        that ended unfinished without having been sent (``failed`` before the network)."""
        conn = self.db.conn
        with self.transaction():
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM keepalive_attempts WHERE number = ? AND deadline = ?",
                (number, deadline.isoformat()),
            ).fetchone()
            before = _attempt(row) if row else None
            spent = self._spent(currency, since)
            if before and not (before.state == "refused" or (again and before.ref == "never")):
                return Claim("exists", before, spent)
            if before:
                conn.execute("DELETE FROM keepalive_attempts WHERE id = ?", (before.id,))
            fits = cap is not None and spent + cost <= cap
            cur = conn.execute(
                "INSERT INTO keepalive_attempts (number, name, deadline, gateway, sim, msg_id,"
                " cost, currency, state, reason, claimed_at, settled_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    number,
                    name,
                    deadline.isoformat(),
                    gateway,
                    sim,
                    msg_id,
                    str(cost),
                    currency,
                    "sending" if fits else "refused",
                    None if fits else "budget",
                    stamp(now),
                    None if fits else stamp(now),
                ),
            )
            made = conn.execute(
                f"SELECT {_COLUMNS} FROM keepalive_attempts WHERE id = ?", (cur.fetchone()[0],)
            ).fetchone()
        return Claim("claimed" if fits else "budget", _attempt(made), spent)

    def keepalive_accepted(self, attempt_id: int, ref: str) -> None:
        """The gateway has the message (``ref``: its own handle, e.g. a D-Bus object path)."""
        with self.transaction():
            self.db.conn.execute(
                "UPDATE keepalive_attempts SET state = 'accepted', ref = ? WHERE id = ?"
                " AND state IN ('sending', 'accepted')",
                (ref, attempt_id),
            )

    def keepalive_ref(self, attempt_id: int, ref: str) -> None:
        """Keep the gateway's handle of a message still ``sending``."""
        with self.transaction():
            self.db.conn.execute(
                "UPDATE keepalive_attempts SET ref = ? WHERE id = ? AND state = 'sending'",
                (ref, attempt_id),
            )

    def keepalive_ended(self, attempt_id: int, state: str, reason: str, now: datetime) -> bool:
        """End an open attempt as ``failed``, ``expired`` or ``unknown``; whether it was open."""
        with self.transaction():
            cur = self.db.conn.execute(
                "UPDATE keepalive_attempts SET state = ?, reason = ?, settled_at = ?"
                " WHERE id = ? AND state IN ('sending', 'accepted')",
                (state, reason, stamp(now), attempt_id),
            )
        return cur.rowcount == 1

    def keepalive_proved(
        self, attempt: Attempt, on: date, now: datetime, note: str, covers: date | None
    ) -> bool:
        """The carrier confirmed: in one transaction the attempt becomes ``proved`` and its
        renewal is written to the history (source auto: the gateway and message id in its
        note, the cost as its amount). False (nothing written) when the attempt was no longer
        open: a renewal is never recorded twice, nor without an open attempt's proof."""
        conn = self.db.conn
        with self.transaction():
            cur = conn.execute(
                "UPDATE keepalive_attempts SET state = 'proved', settled_at = ? WHERE id = ?"
                " AND state IN ('sending', 'accepted')",
                (stamp(now), attempt.id),
            )
            if cur.rowcount != 1:
                return False
            # The renewal step: swap for the store's atomic renewal-recording step when it
            # lands (one BEGIN IMMEDIATE that checks and writes); this is already one.
            row = conn.execute(
                "INSERT INTO history (number, name, kind, date, amount, currency, note, covers,"
                " recorded_at) VALUES (?, ?, 'renewal', ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    attempt.number,
                    attempt.name,
                    on.isoformat(),
                    str(attempt.cost),
                    attempt.currency,
                    note,
                    covers.isoformat() if covers else None,
                    stamp(now),
                ),
            )
            conn.execute(
                "UPDATE keepalive_attempts SET history_id = ? WHERE id = ?",
                (row.fetchone()[0], attempt.id),
            )
            self._note_changes([attempt.number], now)
        return True

    def keepalive_attempts(self, states: Iterable[str] | None = None) -> list[Attempt]:
        """Every attempt (in ``states``), oldest first."""
        chosen = tuple(states) if states is not None else None
        sql = f"SELECT {_COLUMNS} FROM keepalive_attempts"
        args: tuple[str, ...] = ()
        if chosen is not None:
            sql += f" WHERE state IN ({', '.join('?' * len(chosen))})"
            args = chosen
        if "keepalive_attempts" not in self.db.table_names():
            return []  # a read-only database of an older version
        return [_attempt(r) for r in self.db.conn.execute(sql + " ORDER BY id", args)]

    def keepalive_spent(self, since: datetime) -> dict[str, Decimal]:
        """What the attempts since ``since`` cost, per currency (refused ones cost nothing)."""
        spent: dict[str, Decimal] = {}
        for a in self.keepalive_attempts():
            if a.state != "refused" and a.claimed > since:
                spent[a.currency] = spent.get(a.currency, Decimal(0)) + a.cost
        return spent
