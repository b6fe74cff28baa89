"""The carrier's texts as received (issue 26): the one owner of their SQL.

A text is kept once, by the gateway's own id (``ref``, unique): a webhook retried or a poll
repeated finds it there and records nothing. Its row and what it caused (a top-up or renewal in
the history, linked by ``history_id``) are written in one transaction with its tally, so a
crash never leaves a text acted on twice or counted without its row.

Outcomes: ``matched-topup``, ``matched-renewal``, ``unmatched`` (kept, never acted on),
``ignored`` (not from the carrier: its words are not kept), ``refused`` (it matched, but
recording it was refused: a second renewal for one deadline);
``rejected`` is only tallied (a webhook refused before its text was read: no row).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from simkeeper.state.database import Database
from simkeeper.state.rows import stamp

OUTCOMES = ("matched-topup", "matched-renewal", "unmatched", "ignored", "refused", "rejected")


@dataclass(frozen=True)
class InboundText:
    """One row of ``inbound_texts``; ``at`` is the text's own time (UTC stamp)."""

    id: int
    gateway: str
    ref: str
    sim: int | None
    sender: str
    text: str
    at: str
    number: str | None
    name: str | None
    outcome: str
    history_id: int | None
    recorded_at: str
    undone: bool = False  # what it recorded was taken back (``undo``)


@dataclass(frozen=True)
class Poll:
    """When a polled gateway was last asked, last answered, and its last error."""

    gateway: str
    polled_at: str
    ok_at: str | None
    error: str | None


def _text(row: tuple[object, ...]) -> InboundText:
    values = list(row)
    values[-1] = bool(values[-1])  # the LEFT JOIN's "its history row is gone"
    return InboundText(*values)  # type: ignore[arg-type]


class InboundTexts(Database):
    """The inbound half of the store."""

    def keep_inbound(
        self,
        gateway: str,
        ref: str,
        sim: int | None,
        sender: str,
        text: str,
        at: datetime,
        now: datetime,
    ) -> int | None:
        """Keep a received text (outcome ``unmatched`` until :meth:`settle_inbound`); its row
        id, or None when a text with this ``ref`` is kept already."""
        with self.transaction():
            made = self.db.conn.execute(
                "INSERT INTO inbound_texts (gateway, ref, sim, sender, text, at, outcome,"
                " recorded_at) VALUES (?, ?, ?, ?, ?, ?, 'unmatched', ?)"
                " ON CONFLICT (ref) DO NOTHING RETURNING id",
                (gateway, ref, sim, sender, text, stamp(at), stamp(now)),
            ).fetchone()
            return None if made is None else int(made[0])

    def settle_inbound(
        self,
        row: int,
        number: str | None,
        name: str | None,
        outcome: str,
        history_id: int | None = None,
    ) -> None:
        """What a kept text came to, and its tally (in the caller's transaction, if open)."""
        with self.transaction():
            self.db.conn.execute(
                "UPDATE inbound_texts SET number = ?, name = ?, outcome = ?, history_id = ?"
                " WHERE id = ?",
                (number, name, outcome, history_id, row),
            )
            self.tally_inbound(outcome)

    def tally_inbound(self, outcome: str) -> None:
        """Count one text (or refused webhook) under ``outcome``."""
        with self.transaction():
            self.db.conn.execute(
                "INSERT INTO inbound_tallies (outcome, count) VALUES (?, 1)"
                " ON CONFLICT (outcome) DO UPDATE SET count = inbound_tallies.count + 1",
                (outcome,),
            )

    def inbound_counts(self) -> dict[str, int]:
        """Texts by outcome, all time (none before the migration: a read-only old file)."""
        if "inbound_tallies" not in self.db.table_names():
            return {}
        return {str(o): int(c) for o, c in self.db.execute("SELECT * FROM inbound_tallies")}

    def last_history_id(self) -> int:
        """The id of the history row written last (0: none)."""
        row = self.db.execute("SELECT MAX(id) FROM history").fetchone()
        return int(row[0] or 0) if row else 0

    def inbound_texts(self, number: str | None = None, limit: int = 200) -> list[InboundText]:
        """The texts kept, newest first (only ``number``'s, when given, with the unclaimed)."""
        if "inbound_texts" not in self.db.table_names():
            return []
        where, args = ("WHERE t.number = ? OR t.number IS NULL", [number]) if number else ("", [])
        rows = self.db.execute(
            "SELECT t.*, (t.history_id IS NOT NULL AND h.id IS NULL) FROM inbound_texts t"
            f" LEFT JOIN history h ON h.id = t.history_id {where}"
            " ORDER BY t.at DESC, t.id DESC LIMIT ?",
            [*args, limit],
        ).fetchall()
        return [_text(r) for r in rows]

    def polls(self) -> dict[str, Poll]:
        """Every polled gateway's last poll, by name (none before the migration)."""
        if "inbound_polls" not in self.db.table_names():
            return {}
        return {r[0]: Poll(*r) for r in self.db.execute("SELECT * FROM inbound_polls").fetchall()}

    def note_poll(self, gateway: str, now: datetime, error: str | None) -> None:
        """Record that ``gateway`` was asked at ``now`` (``error``: why it did not answer)."""
        with self.transaction():
            self.db.conn.execute(
                "INSERT INTO inbound_polls (gateway, polled_at, ok_at, error) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (gateway) DO UPDATE SET polled_at = excluded.polled_at,"
                " ok_at = COALESCE(excluded.ok_at, inbound_polls.ok_at), error = excluded.error",
                (gateway, stamp(now), None if error else stamp(now), error),
            )
