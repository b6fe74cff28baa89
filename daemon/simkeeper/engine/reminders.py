"""Which reminders are due: pure rules over deadlines, lead times and ``now``.

A reminder is due at ``remind_at`` local time on (deadline - lead) in the number's zone. When
several lead times of one deadline passed while nothing ran, only the latest of them is due
(one catch-up, never a burst). Renew reminders stop once the deadline day is over; overdue
alerts then follow every ``overdue_every`` days for ``overdue_for`` days, until renewed. A
number with ``after_deadline`` stages gets them until its last stage instead, daily in the
final week before the number is lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache, partial

from simkeeper.core.kinds import ReminderKind
from simkeeper.core.model import EMPTY_LEDGER, FINAL_WEEK, Ledger, Number, Settings
from simkeeper.core.periods import Cycle
from simkeeper.engine.balances import Projection
from simkeeper.engine.deadlines import (
    Failure,
    is_tracked_overdue,
    isolated,
    local_today,
    next_occurrence_after,
    overdue_span,
    paid_from_balance,
    projection,
    renew_deadlines,
    rolling_deadline,
)


@dataclass(frozen=True, slots=True)
class Reminder:
    """One reminder slot: a number, a deadline, what kind, and how many days before it.

    ``offset`` is the lead time in days, negative for overdue alerts (days after). ``due_at`` and
    ``expires_at`` are UTC; a delivery still failing at ``expires_at`` is given up.
    """

    number: Number
    deadline: date
    kind: ReminderKind
    offset: int
    due_at: datetime
    expires_at: datetime

    @property
    def key(self) -> tuple[str, str, str, int]:
        """The identity the outbox stores it under: (number, deadline, kind, offset)."""
        return (self.number.number, self.deadline.isoformat(), self.kind, self.offset)


@lru_cache(maxsize=8192)  # many numbers share a zone and a deadline day
def local_instant(day: date, at: time, zone: tzinfo) -> datetime:
    """The UTC instant of wall time ``at`` on ``day`` in ``zone``.

    A wall time skipped by a DST gap maps to the first instant after the gap; an ambiguous one
    (clocks going back) to its first occurrence.
    """
    wall = datetime.combine(day, at).replace(tzinfo=zone, fold=0)
    instant = wall.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return instant
    # In a gap: the transition lies between the two readings of the wall time.
    lo = wall.replace(fold=1).astimezone(UTC)
    hi = instant
    lo, hi = min(lo, hi), max(lo, hi)
    before = lo.astimezone(zone).utcoffset()
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(zone).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi.replace(microsecond=0) if hi.microsecond else hi


def _slots(number: Number, settings: Settings, today: date, ledger: Ledger) -> Iterator[Reminder]:
    """Every reminder slot of the deadlines near ``today`` (past, current and the next one)."""
    days, proj, _ = _near(number, today, ledger)
    return _slots_of(number, settings, today, ledger, days, proj)


def _window_end(number: Number, today: date) -> date:
    """The last day of the renew deadlines :func:`_slots` looks at around ``today``."""
    return today + timedelta(days=max(number.remind, default=0) + 1)


def _near(
    number: Number, today: date, ledger: Ledger
) -> tuple[list[date], Projection | None, date | None]:
    """The renew deadlines :func:`_slots` looks at around ``today``, the balance projection,
    and the first fixed occurrence after the window (looked at unless marked done)."""
    start = today - timedelta(days=overdue_span(number) + 1)
    end = _window_end(number, today)
    following: date | None = None  # a rolling plan has no fixed occurrences
    if number.rolling:  # one deadline only
        days = list(renew_deadlines(number, start, end, ledger))
    else:
        # A deadline before yesterday matters only if it is tracked overdue: look those up
        # rather than walk every occurrence of the overdue window, so a pass costs the same
        # for any overdue_for.
        recent = today - timedelta(days=1)
        days = [*_tracked_before(number, start, recent, ledger)]
        near, following = _fixed_near(number, recent, end, ledger)
        days += near
    if following and (number.number, following) not in ledger.done:
        days.append(following)
    return days, projection(number, today, ledger), following


def _fixed_near(
    number: Number, start: date, end: date, ledger: Ledger
) -> tuple[list[date], date | None]:
    """A fixed plan's renew deadlines in ``[start, end]`` not marked done (what
    :func:`renew_deadlines` gives), and its first occurrence after ``end``."""
    if number.due is None or number.cycle is None:
        return list(renew_deadlines(number, start, end, ledger)), next_occurrence_after(number, end)
    near, following = _plan_near(number.due, number.cycle, start, end)
    done, key = ledger.done, number.number
    return [day for day in near if (key, day) not in done], following


@lru_cache(maxsize=16384)  # numbers share plans: one computation per plan and window
def _plan_near(due: date, cycle: Cycle, start: date, end: date) -> tuple[tuple[date, ...], date]:
    """The occurrences of the plan (``due`` stepped by ``cycle``) in ``[start, end]``, as
    :func:`~simkeeper.engine.deadlines.occurrences` steps them, and the first one after ``end``."""
    days: list[date] = []
    k = cycle.first_index_on_or_after(due, start)
    while (day := cycle.step(due, k)) <= end:
        days.append(day)
        k += 1
    following = cycle.step(due, cycle.first_index_on_or_after(due, end + timedelta(days=1)))
    return tuple(days), following


Slot = tuple[date, ReminderKind, int, datetime, datetime]
"""A reminder slot without its number: (deadline, kind, offset, due_at, expires_at)."""


def _slots_of(
    number: Number,
    settings: Settings,
    today: date,
    ledger: Ledger,
    days: list[date],
    proj: Projection | None,
) -> Iterator[Reminder]:
    for slot in _slot_times(number, settings, today, ledger, days, proj):
        yield Reminder(number, *slot)


def _slot_times(
    number: Number,
    settings: Settings,
    today: date,
    ledger: Ledger,
    days: list[date],
    proj: Projection | None,
) -> Iterator[Slot]:
    """The slots of :func:`_slots_of` as plain tuples: a :class:`Reminder` is built only for
    the few a caller keeps."""
    at, zone = settings.remind_at, number.timezone
    for day in days:
        if paid_from_balance(number, proj, day):
            continue
        yield from _before_times(number.remind, day, "renew", at, zone)
        if day <= today and is_tracked_overdue(number, day, ledger):
            for r in _overdue(number, day, at, zone, today):
                yield (r.deadline, r.kind, r.offset, r.due_at, r.expires_at)
        for r in _snoozed(number, day, ledger):
            yield (r.deadline, r.kind, r.offset, r.due_at, r.expires_at)
    if proj and proj.runs_out and proj.runs_out >= today:
        yield from _before_times(number.remind, proj.runs_out, "topup", at, zone)


def _snoozed(number: Number, day: date, ledger: Ledger) -> Iterator[Reminder]:
    """The one reminder a "remind me tomorrow" asked for: at the time it holds the deadline's
    reminders until, a renew reminder (an overdue alert once the deadline has passed)."""
    until = ledger.snoozed.get((number.number, day))
    if until is None:
        return
    zone = number.timezone
    local = until.astimezone(zone).date()
    if local <= day:
        expires = local_instant(day + timedelta(days=1), time(0), zone)
        yield Reminder(number, day, "renew", (day - local).days, until, expires)
    elif is_tracked_overdue(number, day, ledger):
        end = local_instant(day + timedelta(days=overdue_span(number) + 1), time(0), zone)
        expires = min(local_instant(local + timedelta(days=1), time(0), zone), end)
        yield Reminder(number, day, "overdue", -(local - day).days, until, expires)


def _held(ledger: Ledger, number: str, deadline: date, kind: ReminderKind, now: datetime) -> bool:
    """Whether a "remind me tomorrow" holds ``number``'s renew reminder or overdue alert for
    ``deadline`` at ``now``."""
    until = ledger.snoozed.get((number, deadline))
    return until is not None and now < until and kind != "topup"


def _tracked_before(number: Number, start: date, end: date, ledger: Ledger) -> Iterator[date]:
    """The fixed occurrences in ``[start, end)`` reminded about and not renewed."""
    for day in ledger.reminded_by_number.get(number.number, ()):
        tracked = start <= day < end and (number.number, day) not in ledger.done
        # ...and still an occurrence of the plan (the config may have moved it since)
        if tracked and next_occurrence_after(number, day - timedelta(days=1)) == day:
            yield day


@lru_cache(maxsize=16384)  # numbers share lead times, zones and deadline days
def _before_times(
    remind: tuple[int, ...], day: date, kind: ReminderKind, at: time, zone: tzinfo
) -> tuple[Slot, ...]:
    """The slots ``remind`` days before ``day`` (its reminders before the deadline)."""
    expires = local_instant(day + timedelta(days=1), time(0), zone)
    slots: list[Slot] = []
    for lead in remind:
        due = local_instant(day - timedelta(days=lead), at, zone)
        if due >= expires:
            # The deadline's own day does not exist there (Pacific/Apia skipped 2011-12-30):
            # its reminder goes out at the first instant of the next day that does, and may
            # until that day is over.
            nxt = due.astimezone(zone).date() + timedelta(days=1)
            slots.append((day, kind, lead, due, local_instant(nxt, time(0), zone)))
            continue
        slots.append((day, kind, lead, due, expires))
    return tuple(slots)


def overdue_days(number: Number) -> list[int]:
    """The days after a missed deadline that get an overdue alert: every ``overdue_every``
    within :func:`overdue_span`, and with stages every day of the final week as well."""
    every, span = number.overdue_every, overdue_span(number)
    days = set(range(every, span + 1, every))
    if number.after_deadline:
        days |= set(range(max(1, span - FINAL_WEEK + 1), span + 1))
    return sorted(days)


def _next_alert_day(number: Number, after: int) -> int | None:
    """The first day of :func:`overdue_days` later than ``after``, worked out in O(1)."""
    every, span = number.overdue_every, overdue_span(number)
    options = []
    step = (after // every + 1) * every
    if step <= span:
        options.append(step)
    if number.after_deadline:
        daily = max(after + 1, max(1, span - FINAL_WEEK + 1))
        if daily <= span:
            options.append(daily)
    return min(options) if options else None


def _alert_days_near(number: Number, elapsed: int) -> list[int]:
    """The alert days around day ``elapsed`` after the deadline: the last one before it and the
    next two, whatever the window's length (a pass costs the same for a window of
    ``"1096d"`` as for ``"30d"``)."""
    days: list[int] = []
    day = _next_alert_day(number, max(0, elapsed - number.overdue_every - 1))
    while day is not None:
        days.append(day)
        if sum(d >= elapsed for d in days) >= 2:
            break
        day = _next_alert_day(number, day)
    earlier = sum(d < elapsed for d in days)
    return days[max(0, earlier - 1) :]


def _overdue(number: Number, day: date, at: time, zone: tzinfo, today: date) -> Iterator[Reminder]:
    """The overdue alerts around ``today`` (see :func:`_alert_days_near`)."""
    end = local_instant(day + timedelta(days=overdue_span(number) + 1), time(0), zone)
    for after in _alert_days_near(number, (today - day).days):
        due = local_instant(day + timedelta(days=after), at, zone)
        step = _next_alert_day(number, after) or after + number.overdue_every
        nxt = local_instant(day + timedelta(days=step), at, zone)
        yield Reminder(number, day, "overdue", -after, due, min(nxt, end))


def due_reminders(
    numbers: Iterable[Number],
    settings: Settings,
    now: datetime,
    ledger: Ledger = EMPTY_LEDGER,
    failures: list[Failure] | None = None,
) -> list[Reminder]:
    """The reminders due at ``now``: per deadline and kind, only the latest slot passed.

    Slots whose time to be useful is over (``expires_at``) are never due, so a deadline that
    already passed gets no "N days left" message. With a ``failures`` list, a number that
    cannot be worked out is recorded there and the others go on.
    """
    due: list[Reminder] = []
    for number in numbers:
        due.extend(isolated(number, failures, partial(_due_for, number, settings, now, ledger)))
    due.sort(key=lambda r: (r.due_at, r.number.name, r.deadline, r.kind))
    return due


def _due_for(number: Number, settings: Settings, now: datetime, ledger: Ledger) -> list[Reminder]:
    today = local_today(number, now)
    latest: dict[tuple[date, ReminderKind], Reminder] = {}
    for slot in _slots(number, settings, today, ledger):
        if slot.due_at <= now < slot.expires_at and not _held(
            ledger, number.number, slot.deadline, slot.kind, now
        ):
            key = (slot.deadline, slot.kind)
            if key not in latest or slot.due_at > latest[key].due_at:
                latest[key] = slot
    return list(latest.values())


def next_due_at(
    numbers: Iterable[Number],
    settings: Settings,
    now: datetime,
    ledger: Ledger = EMPTY_LEDGER,
    failures: list[Failure] | None = None,
) -> tuple[datetime, Reminder] | None:
    """The earliest reminder slot after ``now``, with its time; None when nothing is ahead."""
    best: tuple[datetime, Reminder] | None = None
    for number in numbers:
        for slot in isolated(number, failures, partial(_ahead, number, settings, now, ledger)):
            if best is None or slot.due_at < best[0]:
                best = (slot.due_at, slot)
    return best


def _ahead(number: Number, settings: Settings, now: datetime, ledger: Ledger) -> list[Reminder]:
    today = local_today(number, now)
    return [s for s in _slots(number, settings, today, ledger) if now < s.due_at < s.expires_at]


def digest_due_at(settings: Settings, now: datetime) -> datetime | None:
    """The latest weekly digest instant at or before ``now`` (None if digests are off)."""
    if settings.digest is None:
        return None
    weekday, at = settings.digest
    today = now.astimezone(settings.timezone).date()
    day = today - timedelta(days=(today.weekday() - weekday) % 7)
    instant = local_instant(day, at, settings.timezone)
    if instant > now:
        instant = local_instant(day - timedelta(days=7), at, settings.timezone)
    return instant


def next_digest_at(settings: Settings, now: datetime) -> datetime | None:
    """The first weekly digest instant after ``now``."""
    last = digest_due_at(settings, now)
    if last is None or settings.digest is None:
        return None
    local = last.astimezone(settings.timezone)
    return local_instant(local.date() + timedelta(days=7), settings.digest[1], settings.timezone)


@dataclass(frozen=True, slots=True)
class Outlook:
    """One number's reminders at ``now``, worked out once for the daemon's index.

    ``due`` is what :func:`due_reminders` gives for the number alone, ``ahead`` its earliest
    slot after ``now`` (what :func:`next_due_at` gives for it alone), and ``wake`` the earliest
    instant after which that may change while the config and the ledger stay as they are: the
    next slot becoming due, a due slot expiring, a deadline entering the window the slots are
    taken from, or a tracked deadline's day beginning (its overdue alerts start). None: never.
    """

    due: tuple[Reminder, ...]
    ahead: Reminder | None
    wake: datetime | None


def outlook(number: Number, settings: Settings, now: datetime, ledger: Ledger) -> Outlook:
    """The number's :class:`Outlook` at ``now``: its slots are worked out once."""
    today = local_today(number, now)
    days, proj, following = _near(number, today, ledger)
    latest: dict[tuple[date, ReminderKind], Slot] = {}
    ahead: Slot | None = None
    wakes: list[datetime] = []
    for slot in _slot_times(number, settings, today, ledger, days, proj):
        day, kind, _, due, expires = slot
        if due <= now < expires:
            if not _held(ledger, number.number, day, kind, now):
                key = (day, kind)
                if key not in latest or due > latest[key][3]:
                    latest[key] = slot
            wakes.append(expires)
        elif now < due < expires and (ahead is None or due < ahead[3]):
            ahead = slot
    if ahead is not None:
        wakes.append(ahead[3])
    wakes += _horizons(number, today, ledger, days, proj, following)
    due_now = tuple(Reminder(number, *slot) for slot in latest.values())
    soon = Reminder(number, *ahead) if ahead is not None else None
    return Outlook(due_now, soon, min(wakes, default=None))


def _horizons(
    number: Number,
    today: date,
    ledger: Ledger,
    days: list[date],
    proj: Projection | None,
    following: date | None,
) -> Iterator[datetime]:
    """Local midnights after which :func:`_slots` may give slots it does not give ``today``."""
    zone = number.timezone
    for day in days:  # a tracked deadline still ahead: its overdue alerts begin on its day
        tracked = day > today and is_tracked_overdue(number, day, ledger)
        if tracked and not paid_from_balance(number, proj, day):
            yield local_instant(day, time(0), zone)
    entering = _entering_after(number, today, ledger, following)
    if entering is not None:  # the day the window reaches it
        lead = max(number.remind, default=0)
        yield local_instant(entering - timedelta(days=lead + 1), time(0), zone)


def _entering_after(
    number: Number, today: date, ledger: Ledger, following: date | None
) -> date | None:
    """The day whose arrival at the window's end brings in a deadline :func:`_near` does not
    look at yet. Fixed plans: ``following`` (the first occurrence after the window) is looked
    at already; once the window reaches it, the next one becomes ``following``. Rolling: the
    one deadline, when it lies beyond the window.
    """
    if not number.rolling:
        return following
    day = rolling_deadline(number, ledger)
    return day if day is not None and day > _window_end(number, today) else None
