"""The status report: everything ``simkeeper status`` shows, built once as frozen data.

:func:`build_status` gathers it from the config, the state database (if there is one) and the
pure core; :mod:`simkeeper.present.views` renders it as text or JSON. A report says what needs a
person (``needs``): a due reminder unsent for more than :data:`UNSENT_GRACE`, a failing target, an
overdue number, a number that cannot be worked out. The views word them, in the user's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TypeAlias

from simkeeper.core.model import EMPTY_LEDGER, Config, Ledger, Number
from simkeeper.core.numbertable import having
from simkeeper.core.redact import Redactor, display_url
from simkeeper.engine.balances import Projection
from simkeeper.engine.deadlines import (
    Deadline,
    Failure,
    isolated,
    local_today,
    projection,
    unique_failures,
)
from simkeeper.engine.reminders import Reminder
from simkeeper.engine.upcoming import upcoming
from simkeeper.state.diskfull import free_bytes
from simkeeper.state.rows import (
    DaemonRecord,
    OpenDelivery,
    PassRecord,
    TargetState,
    UnsentReminder,
    parse_stamp,
    stamp,
)
from simkeeper.state.store import Store

UNSENT_GRACE = timedelta(minutes=10)  # a due reminder unsent for longer needs attention


@dataclass(frozen=True)
class NextReminder:
    """The reminder that goes out next, and when (UTC)."""

    at: datetime
    reminder: Reminder


@dataclass(frozen=True)
class TargetHealth:
    """A configured target, its URL as safe to show, and what the database remembers of it."""

    name: str
    url: str
    seen: TargetState | None
    failing: bool  # its last error is newer than its last success


@dataclass(frozen=True)
class BrokenNumber:
    """A number whose deadlines cannot be worked out, with the reason (secrets masked)."""

    name: str
    error: str


@dataclass(frozen=True)
class BalanceLine:
    """A number's projected balance today."""

    number: Number
    projection: Projection


@dataclass(frozen=True)
class FailedReading:
    """A number's newest balance check by USSD did not give a balance: its reply did not
    match (``no-match``), no answer came (``timeout``) or the gateway failed (``error``). The
    reply is kept (numbers masked) so the owner can fix the pattern."""

    name: str
    outcome: str
    code: str
    reply: str
    error: str
    read_at: str


@dataclass(frozen=True)
class DiskFull:
    """The disk holding the state database is (all but) full: nothing new can be recorded."""

    path: Path
    free: int


# Less room than this and SQLite cannot grow the database or its WAL by a page group.
FULL_BELOW = 64 * 1024

Attention: TypeAlias = (
    DiskFull | UnsentReminder | TargetHealth | Deadline | BrokenNumber | FailedReading
)
"""One thing that needs a person: a due reminder long unsent, a failing target, an overdue
deadline, a number whose deadlines cannot be worked out, or a balance check that failed."""


# A pass recorded later than the clock by more than this was run with a later --now (or the
# clock was set back): it shows nothing about a daemon running now.
CLOCK_SLACK = timedelta(minutes=1)


def from_the_future(ran_at: str, now: datetime) -> bool:
    """Whether a pass stamped ``ran_at`` is later than ``now`` (beyond :data:`CLOCK_SLACK`)."""
    return parse_stamp(ran_at) - now > CLOCK_SLACK


@dataclass(frozen=True)
class StatusReport:
    """What ``status`` shows; ``found`` is False when there is no state database yet."""

    state: Path
    found: bool
    last_pass: PassRecord | None
    next_reminder: NextReminder | None
    counts: Mapping[str, int]
    due_unsent: tuple[UnsentReminder, ...]
    targets: tuple[TargetHealth, ...]
    waiting: tuple[OpenDelivery, ...]
    broken: tuple[BrokenNumber, ...]
    at_risk: tuple[Deadline, ...]
    balances: tuple[BalanceLine, ...]
    needs: tuple[Attention, ...]
    # The last pass is stamped later than the clock: a --now pass, not a sign of a daemon.
    last_pass_later: bool = False
    location: str = ""  # the state as shown, when not the file ``state`` (a PostgreSQL URL)
    daemons: tuple[DaemonRecord, ...] = ()  # the daemons sharing the state, latest pass first

    @property
    def ok(self) -> bool:
        """Nothing needs a person."""
        return not self.needs


@dataclass(frozen=True)
class _Stored:
    """What the state database says, read once (all empty when there is none)."""

    ledger: Ledger = EMPTY_LEDGER
    seen: Mapping[str, TargetState] = field(default_factory=dict)
    last_pass: PassRecord | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    waiting: tuple[OpenDelivery, ...] = ()
    daemons: tuple[DaemonRecord, ...] = ()


def _stored(store: Store | None) -> _Stored:
    if store is None:
        return _Stored()
    return _Stored(
        store.ledger(),
        store.target_status(),
        store.last_pass(),
        store.counts(),
        tuple(store.open_deliveries()),
        tuple(store.daemons()),
    )


def build_status(
    config: Config, store: Store | None, path: Path, now: datetime, location: str = ""
) -> StatusReport:
    """The status at ``now``, from the config and the (read-only) store if there is one;
    ``location`` names a state that is not the file ``path`` (PostgreSQL)."""
    from simkeeper.engine.reminders import next_due_at

    stored = _stored(store)
    ledger = stored.ledger
    broken: list[Failure] = []
    due_unsent = _due_unsent(config, store, now, ledger, broken)
    nxt = next_due_at(config.numbers, config.settings, now, ledger, broken)
    at_risk = [d for d in upcoming(config.numbers, now, 0, ledger, broken) if d.overdue]
    targets = tuple(_target_health(config, stored.seen))
    balances = _balances(config, now, ledger, broken)
    redact = Redactor(config.secrets)
    broken_numbers = tuple(
        BrokenNumber(f.number.name, redact(f.error)) for f in unique_failures(broken)
    )
    late = stamp(now - UNSENT_GRACE)
    # First: nothing else can be recorded meanwhile (a PostgreSQL state: the server's disk).
    needs: list[Attention] = [] if location else _disk_full(path)
    needs += [r for r in due_unsent if r.due_at <= late]
    needs += [t for t in targets if t.failing]
    needs += at_risk
    needs += broken_numbers
    needs += _failed_readings(config, store)
    return StatusReport(
        state=path,
        found=store is not None,
        last_pass=stored.last_pass,
        last_pass_later=bool(stored.last_pass and from_the_future(stored.last_pass.ran_at, now)),
        next_reminder=NextReminder(*nxt) if nxt else None,
        counts=stored.counts,
        due_unsent=tuple(due_unsent),
        targets=targets,
        waiting=stored.waiting,
        broken=broken_numbers,
        at_risk=tuple(at_risk),
        balances=balances,
        needs=tuple(needs),
        location=location,
        daemons=stored.daemons,
    )


def _failed_readings(config: Config, store: Store | None) -> list[Attention]:
    """The numbers (with a ``balance_check``) whose newest reading gave no balance."""
    checked = {n.number for n in having(config.numbers, "balance_check")}
    if store is None or not checked:
        return []
    latest = store.latest_readings()
    return [
        FailedReading(r.name, r.outcome, r.code, r.reply or "", r.error or "", r.read_at)
        for n, r in sorted(latest.items())
        if n in checked and r.outcome != "ok"
    ]


def _disk_full(path: Path) -> list[Attention]:
    """The full disk under an existing state database, as an attention line (else none)."""
    if not path.exists():
        return []
    free = free_bytes(path)
    return [DiskFull(path, free)] if free < FULL_BELOW else []


def _target_health(config: Config, seen: Mapping[str, TargetState]) -> list[TargetHealth]:
    out = []
    for t in config.targets:
        info = seen.get(t.name)
        failing = bool(
            info and info.last_error_at and (info.last_success_at or "") < info.last_error_at
        )
        out.append(TargetHealth(t.name, display_url(t.url), info, failing))
    return out


def _balances(
    config: Config, now: datetime, ledger: Ledger, broken: list[Failure]
) -> tuple[BalanceLine, ...]:
    lines = []
    for n in config.numbers:
        for proj in isolated(n, broken, partial(_projection, n, now, ledger)):
            if proj:
                lines.append(BalanceLine(n, proj))
    return tuple(lines)


def _projection(number: Number, now: datetime, ledger: Ledger) -> list[Projection | None]:
    return [projection(number, local_today(number, now), ledger)]


def _due_unsent(
    config: Config, store: Store | None, now: datetime, ledger: Ledger, broken: list[Failure]
) -> list[UnsentReminder]:
    """Reminders due by ``now`` and not sent: in the outbox with a delivery open, or due by
    the schedule and not even recorded (no pass ran since they fell due). A number that cannot
    be worked out goes to ``broken`` instead."""
    from simkeeper.engine.reminders import due_reminders
    from simkeeper.send.delivery import targets_for

    due = due_reminders(config.numbers, config.settings, now, ledger, broken)
    known = store.recorded(r.key for r in due) if store else set()
    rows = [
        UnsentReminder(
            name=r.number.name,
            number=r.number.number,
            deadline=r.deadline.isoformat(),
            kind=r.kind,
            due_at=stamp(r.due_at),
            targets=", ".join(targets_for(config, r)),
            recorded=False,
        )
        for r in due
        if r.key not in known
    ]
    if store:
        rows += store.unsent_due(now)
    rows.sort(key=lambda r: r.due_at)
    return rows
