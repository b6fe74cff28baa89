"""The outbox: reminders recorded before anything is sent, one delivery row per target,
claimed with a conditional UPDATE and settled with the outcome (retried with backoff)."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable
from datetime import datetime, timedelta

from simkeeper.core.errors import DiskFullError, StateError
from simkeeper.state.database import (
    Database,
)
from simkeeper.state.rows import (
    Claimed,
    OpenDelivery,
    OutboxItem,
    PassRecord,
    TargetState,
    UnsentReminder,
    parse_stamp,
    stamp,
)
from simkeeper.state.upkeep import (
    KEEP_PASSES,
)

BACKOFF = (60, 300, 1800, 7200)  # seconds: 1 min, 5 min, 30 min, then every 2 h
STALE_CLAIM = timedelta(minutes=15)  # a claim's lease: past it, another process takes it over

SETTLE_CHUNK = 500  # delivery ids per UPDATE (SQLite allows 999 variables at the least)


# What ``json.dumps(payload, ensure_ascii=False)`` writes, without a new encoder per reminder.
_PAYLOAD_JSON = json.JSONEncoder(ensure_ascii=False)


def process_token() -> str:
    """Who holds a claim: host, pid and the process start time, so a reused pid is not
    mistaken, nor a process of another host sharing a PostgreSQL state."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid())}"


def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "?"


def _alive(token: str) -> bool:
    """Whether the claim's process may still be sending. A process of another host cannot be
    asked: its claim lives until its lease runs out."""
    parts = token.split(":")
    if len(parts) == 3:  # host:pid:start (a token from before hosts were named has two)
        if parts[0] != socket.gethostname():
            return True
        parts = parts[1:]
    pid_text, started = parts[0], parts[-1]
    try:
        pid = int(pid_text)
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return started in ("?", _start_time(pid))


class Outbox(Database):
    """The outbox half of the store: reminders recorded before anything is sent, their
    deliveries claimed, settled and retried, and the passes that did it."""

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
        # Idempotent on every daemon: a slot recorded by another is left alone (its unique key
        # is number, deadline, kind and lead; a delivery's adds the target).
        insert = (
            "INSERT INTO reminders (number, deadline, kind, offset, name, due_at,"
            " expires_at, payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING RETURNING id"
        )
        with self.transaction():
            for reminder, payload, targets in items:
                if self._folded(reminder.key):
                    continue  # sent (or given up) and compacted: it stays done
                due, expires = reminder.due_at, reminder.expires_at
                due_s = stamps.get(due) or stamps.setdefault(due, stamp(due))
                expires_s = stamps.get(expires) or stamps.setdefault(expires, stamp(expires))
                key = reminder.key
                row = conn.execute(
                    insert,
                    (
                        *key,
                        payload.get("name", ""),
                        due_s,
                        expires_s,
                        _PAYLOAD_JSON.encode(payload),
                        at,
                    ),
                ).fetchone()
                if row is None:
                    continue
                created += 1
                if key[2] == "renew":  # the ledger knows which deadlines were reminded
                    changed.add(key[0])
                rowid = row[0]
                deliveries += [(rowid, t, at, expires_s) for t in targets]
            conn.executemany(
                "INSERT INTO deliveries (reminder_id, target, next_attempt_at, expires_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                deliveries,
            )
            self._note_changes(sorted(changed - {""}), now)
        return created

    # -- claiming and settling deliveries -----------------------------------------------------

    def release_stale(self, now: datetime) -> int:
        """Hand back deliveries claimed by a process of this host that died mid-send, and
        those whose lease ran out by ``now`` (a process that hung, or died on another host)."""
        released = 0
        rows = self.db.execute(
            "SELECT claimed_by, MIN(COALESCE(lease_until, claimed_at)) FROM deliveries"
            " WHERE state = 'sending' GROUP BY claimed_by"
        ).fetchall()
        with self.transaction():
            for token, lease_until in rows:
                if _alive(token) and lease_until > stamp(now):
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
        time), and any whose claim's lease ran out, with a lease of :data:`STALE_CLAIM`;
        another process gets none.

        One UPDATE on both engines; on PostgreSQL its rows are picked ``FOR UPDATE SKIP
        LOCKED``, so daemons claiming at once each take others and none waits for another.
        """
        at, lease = stamp(now), stamp(now + STALE_CLAIM)
        lock = " FOR UPDATE SKIP LOCKED" if self.dialect.postgresql else ""
        with self.transaction(shared=True):
            self.db.conn.execute(
                "UPDATE deliveries SET state = 'sending', claimed_by = ?, claimed_at = ?,"
                " lease_until = ? WHERE id IN (SELECT id FROM deliveries WHERE target = ?"
                " AND ((state IN ('pending', 'failed') AND next_attempt_at <= ?)"
                " OR (state = 'sending' AND lease_until <= ?)) AND expires_at > ?"
                f" ORDER BY id{lock})",
                (token, at, lease, target, at, at, at),
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
        except StateError:
            if not self.url:
                raise
            # PostgreSQL went away mid-settle (a restart, a failover): the transaction was
            # rolled back, or committed with its answer lost. Settling is conditional on the
            # claim, so doing it again on a new connection is safe, and spares a resend.
            self._settle(claimed, token, now, error)

    def _settle(self, claimed: list[Claimed], token: str, now: datetime, error: str | None) -> None:
        ids = [c.id for c in claimed]
        if not ids:
            return
        with self.transaction():
            if error is None:
                # A chunk of ids a statement: a pass may settle more deliveries than SQLite
                # takes variables in one (a first pass on a million numbers: 369,000).
                for start in range(0, len(ids), SETTLE_CHUNK):
                    chunk = ids[start : start + SETTLE_CHUNK]
                    marks = ",".join("?" * len(chunk))
                    self.db.conn.execute(
                        "UPDATE deliveries SET state = 'sent', sent_at = ?,"
                        " attempts = attempts + 1, last_error = NULL, claimed_by = NULL"
                        f" WHERE claimed_by = ? AND state = 'sending' AND id IN ({marks})",
                        (stamp(now), token, *chunk),
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
        rows = list(
            self.db.query(
                "SELECT id, source, ran_at, seconds, outcome, sent, failed, error FROM passes"
                " ORDER BY id DESC LIMIT 1"
            )
        )
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
                "SELECT CASE WHEN sent = 1 THEN 'sent' ELSE 'expired' END, COUNT(*) FROM settled"
                " WHERE target != '' GROUP BY 1 UNION ALL SELECT state, count FROM tallies"
            ):
                found[state] = found.get(state, 0) + count
        return found

    def counts_by_target(self) -> dict[tuple[str, str], int]:
        """Deliveries per (target, state), for ``/metrics``."""
        rows = self.db.execute(
            "SELECT target, state, COUNT(*) FROM deliveries GROUP BY target, state"
        )
        return {(target, state): n for target, state, n in rows}
