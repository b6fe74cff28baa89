"""The frozen rows the store returns and the UTC stamps it writes: no SQL and no sqlite-utils,
so views and reports can import them at the top."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from simkeeper.core.kinds import EntryKind, OutboxKind


def stamp(moment: datetime) -> str:
    """A UTC timestamp as stored: ISO 8601 to the second, so strings sort as times."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def parse_stamp(text: str) -> datetime:
    """The inverse of :func:`stamp`."""
    return datetime.fromisoformat(text)


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
    source: str | None = None  # who recorded it: None the user, else e.g. "carrier-sms"


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


@dataclass(frozen=True)
class DaemonRecord:
    """A daemon sharing the state: its host, pid, start and last pass (UTC stamps)."""

    host: str
    pid: int
    started_at: str
    last_pass: str | None
