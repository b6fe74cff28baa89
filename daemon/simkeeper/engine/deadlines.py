"""The deadline engine: every date by which a number must be renewed, topped up or used.

Pure: no I/O and no clock. ``now`` is always a parameter, and what the user did (renewals,
top-ups) comes in as a :class:`~simkeeper.core.model.Ledger`. A deadline is a local date in the
number's own time zone, and "today" is the date of ``now`` in that zone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from functools import lru_cache
from typing import TypeVar

from simkeeper.core.kinds import DeadlineKind, ReminderKind, reminder_kind
from simkeeper.core.model import EMPTY_LEDGER, Ledger, Number, Stage
from simkeeper.core.numbertable import NumberTable
from simkeeper.core.periods import Cycle
from simkeeper.engine.balances import Projection, project

Renewal = tuple[date, Decimal | None]  # a renewal's date and amount (None: not given)

T = TypeVar("T")


@dataclass(frozen=True)
class Failure:
    """A number whose deadlines or reminders could not be worked out, and why."""

    number: Number
    error: str  # "OverflowError: date value out of range"


def isolated(
    number: Number, failures: list[Failure] | None, compute: Callable[[], list[T]]
) -> list[T]:
    """``compute()`` for one number. When ``failures`` is a list, any error is recorded there
    and the number gives nothing, so one broken number never stops the others; when it is
    None, the error propagates (for callers that want it)."""
    if failures is None:
        return compute()
    try:
        return compute()
    except Exception as e:  # the second wall behind check: any error, one number
        failures.append(Failure(number, f"{type(e).__name__}: {e}"))
        return []


def unique_failures(failures: Iterable[Failure]) -> list[Failure]:
    """Each failing number once, in the order first seen."""
    seen: dict[str, Failure] = {}
    for f in failures:
        seen.setdefault(f.number.number or f.number.name, f)
    return list(seen.values())


@dataclass(frozen=True, slots=True)  # slots: upcoming on 100,000 numbers makes 120,000
class Deadline:
    """One date by which something must happen for a number.

    ``kind`` is ``renew`` (the plan's own deadline) or ``topup`` (the day the balance can no
    longer cover the charge). ``days_left`` is negative when the deadline has passed.
    """

    number: Number
    date: date
    days_left: int
    kind: DeadlineKind = "renew"
    projection: Projection | None = None
    paid_from_balance: bool = False  # a pay-as-you-go charge the balance covers

    @property
    def overdue(self) -> bool:
        """Whether the deadline has passed without a renewal."""
        return self.days_left < 0

    @property
    def reminder_kind(self) -> ReminderKind:
        """What a reminder about it is: ``topup``, ``overdue`` (passed) or ``renew``."""
        return reminder_kind(self.kind, self.overdue)


def local_today(number: Number, now: datetime) -> date:
    """The date of ``now`` in the number's time zone."""
    return _local_date(now, number.timezone)


@lru_cache(maxsize=1024)  # a pass asks it for every number, at one ``now`` and a few zones
def _local_date(now: datetime, zone: tzinfo) -> date:
    return now.astimezone(zone).date()


def occurrences(number: Number, start: date, end: date) -> Iterator[date]:
    """The fixed-schedule due dates in ``[start, end]``, each stepped from ``due`` itself."""
    if number.rolling or number.due is None:
        return
    if number.cycle is None:
        if start <= number.due <= end:
            yield number.due
        return
    k = number.cycle.first_index_on_or_after(number.due, start)
    while (day := number.cycle.step(number.due, k)) <= end:
        yield day
        k += 1


def fixed_dates(number: Number, start: date, end: date) -> tuple[date, ...]:
    """:func:`occurrences` in a window, as a tuple: worked out once per plan and window
    (numbers share their plans: a million numbers of ``upcoming`` have a few hundred)."""
    if number.rolling or number.due is None:
        return ()
    return _fixed_dates(number.due, number.cycle, start, end)


@lru_cache(maxsize=16384)
def _fixed_dates(due: date, cycle: Cycle | None, start: date, end: date) -> tuple[date, ...]:
    if cycle is None:
        return (due,) if start <= due <= end else ()
    found = []
    k = cycle.first_index_on_or_after(due, start)
    while (day := cycle.step(due, k)) <= end:
        found.append(day)
        k += 1
    return tuple(found)


def next_occurrence_after(number: Number, day: date) -> date | None:
    """The first fixed-schedule due date strictly after ``day``."""
    if number.rolling or number.due is None:
        return None
    if number.cycle is None:
        return number.due if number.due > day else None
    k = number.cycle.first_index_on_or_after(number.due, day + timedelta(days=1))
    return number.cycle.step(number.due, k)


def latest_renewal(number: Number, ledger: Ledger = EMPTY_LEDGER) -> date | None:
    """The later of ``last_renewed`` in the config and the newest renewal recorded."""
    dates = [d for d in (number.last_renewed, ledger.renewed_on.get(number.number)) if d]
    return max(dates) if dates else None


def renewal_events(number: Number, ledger: Ledger = EMPTY_LEDGER) -> list[Renewal]:
    """A rolling number's renewals, oldest first: ``last_renewed`` (no amount), every renewal
    recorded and, since a top-up keeps a keep-alive line going too, every top-up."""
    recorded = ledger.renewals.get(number.number)
    if recorded is None:  # a ledger that only knows the latest renewal
        latest = ledger.renewed_on.get(number.number)
        recorded = ((latest, None),) if latest else ()
    events: list[Renewal] = list(recorded)
    events += ledger.topups.get(number.number, ())
    if number.last_renewed:
        events.append((number.last_renewed, None))
    events.sort(key=lambda e: (e[0], e[1] is not None, e[1] or 0))
    return events


def counts(number: Number, amount: Decimal | None) -> bool:
    """Whether a renewal of ``amount`` moves the deadline: not below ``min_amount``.

    A renewal recorded without an amount counts, as it always did.
    """
    return number.min_amount is None or amount is None or amount >= number.min_amount


def validity_of(number: Number, amount: Decimal | None) -> Cycle | None:
    """What a renewal of ``amount`` buys: the tier with the largest ``from`` not above it,
    else the number's ``cycle``."""
    bought = number.cycle
    if amount is not None:
        for tier in number.validity:  # smallest minimum first
            if tier.minimum <= amount:
                bought = tier.cycle
    return bought


def apply_renewal(number: Number, previous: date | None, day: date, bought: Cycle) -> date:
    """The deadline after a renewal on ``day`` buying ``bought``, given the one before it.

    ``reset``: the renewal date plus the validity. ``extend``: unexpired validity stacks, so
    the later of the old deadline and the renewal date, plus the validity. ``later``: whichever
    of the old deadline and the reset one is later. ``max_ahead`` caps the result.
    """
    reset = bought.step(day, 1)
    if previous is None or number.on_renewal == "reset":
        result = reset
    elif number.on_renewal == "extend":
        result = bought.step(max(previous, day), 1)
    else:
        result = max(previous, reset)
    if number.max_ahead is not None:
        result = min(result, day + timedelta(days=number.max_ahead))
    return result


def rolling_deadline(number: Number, ledger: Ledger = EMPTY_LEDGER) -> date | None:
    """A keep-alive number's one deadline: its renewals applied in date order by the number's
    rules (``on_renewal``, ``min_amount``, ``validity``, ``max_ahead``).

    With none of those set this is the latest renewal plus the cycle, as it always was.
    """
    if not number.rolling or number.cycle is None:
        return None
    deadline: date | None = None
    for day, amount in renewal_events(number, ledger):
        bought = validity_of(number, amount)
        if bought is not None and counts(number, amount):
            deadline = apply_renewal(number, deadline, day, bought)
    return deadline


def overdue_span(number: Number) -> int:
    """How many days after a missed deadline it stays at risk and gets overdue alerts: until
    the last ``after_deadline`` stage when the number has stages, else ``overdue_for``."""
    lost = number.lost_after
    return number.overdue_for if lost is None else lost


def longest_overdue_span(numbers: Sequence[Number]) -> int:
    """At least the longest :func:`overdue_span` of ``numbers`` (of a table: from its columns'
    distinct values, without building a number)."""
    if isinstance(numbers, NumberTable):
        spans = [*numbers.distinct("overdue_for")]
        spans += [stages[-1].after for stages in numbers.distinct("after_deadline") if stages]
        return max(spans, default=0)
    return max(map(overdue_span, numbers), default=0)


def risk_start(numbers: Sequence[Number], now: datetime) -> date:
    """The first day a deadline of ``numbers`` can still be at risk at ``now``: what the
    ledger says of earlier deadlines (marked done, reminded about) changes nothing a pass at
    ``now`` works out. Two days early: a number's today is within a day of ``now``'s date."""
    return now.date() - timedelta(days=longest_overdue_span(numbers) + 2)


def lost_on(number: Number, deadline: date) -> date | None:
    """The day the number is lost if ``deadline`` is missed: its last stage, if it has stages."""
    lost = number.lost_after
    return None if lost is None else deadline + timedelta(days=lost)


def stage_on(number: Number, deadline: date, today: date) -> Stage | None:
    """The stage a number is in on ``today`` after missing ``deadline`` (None before it)."""
    if today <= deadline:
        return None
    current = None
    for stage in number.after_deadline:
        if deadline + timedelta(days=stage.after) <= today:
            current = stage
    return current


def is_tracked_overdue(number: Number, day: date, ledger: Ledger) -> bool:
    """Whether a passed deadline counts as overdue: not renewed, and reminded about.

    Requiring a reminder means a fresh install does not raise alarms for deadlines from before
    simkeeper knew about the number.
    """
    return (number.number, day) not in ledger.done and (number.number, day) in ledger.reminded


def renew_deadlines(number: Number, start: date, end: date, ledger: Ledger) -> Iterator[date]:
    """The renew deadlines in ``[start, end]`` not yet marked done."""
    if number.rolling:
        day = rolling_deadline(number, ledger)
        if day and start <= day <= end:
            yield day
        return
    for day in occurrences(number, start, end):
        if (number.number, day) not in ledger.done:
            yield day


def balance_start(number: Number, ledger: Ledger) -> tuple[Decimal, date] | None:
    """The balance a projection starts from, and the day it was read: the newest balance
    reading (by USSD) when it is as new as the configured ``balance_date`` or newer, else the
    configured ``balance``; None when there is neither."""
    reading = ledger.readings.get(number.number) if ledger.readings else None
    configured = None
    if number.balance is not None and number.balance_date is not None:
        configured = (number.balance, number.balance_date)
    if reading and (configured is None or reading[0] >= configured[1]):
        return reading[1], reading[0]
    return configured


def tracks_balance(number: Number, ledger: Ledger) -> bool:
    """Whether ``number`` may have a balance projection (cheap: asked of every number)."""
    return number.balance is not None or number.number in ledger.readings


def projection(number: Number, today: date, ledger: Ledger) -> Projection | None:
    """The balance projection for a pay-as-you-go number, if it tracks a balance (a fixed
    cycle with a cost, and a configured balance or a balance reading)."""
    start = balance_start(number, ledger)
    if start is None or number.cost is None or number.rolling or number.cycle is None:
        return None
    balance, since = start
    topups = ledger.topups.get(number.number, ())
    charges = occurrences(number, since + timedelta(days=1), date.max)
    return project(balance, since, number.cost, charges, topups, today)


def paid_from_balance(number: Number, proj: Projection | None, day: date) -> bool:
    """Whether a pay-as-you-go charge on ``day`` is covered by the projected balance.

    Such a charge takes care of itself, so it gets no renew reminder and no overdue alert; the
    first charge the balance cannot cover gets both, beside its "top up before" reminder.
    """
    if proj is None or proj.since is None or day <= proj.since:
        return False
    return proj.runs_out is None or day < proj.runs_out


def deadlines_for(number: Number, now: datetime, days: int, ledger: Ledger) -> list[Deadline]:
    """The number's deadlines from today to today + ``days``, plus those at risk.

    At risk: a rolling deadline already passed, or a fixed occurrence passed within
    :func:`overdue_span` that was reminded about and not renewed.
    """
    today = local_today(number, now)
    return deadlines_between(number, today, today + timedelta(days=days), ledger)


def deadlines_between(number: Number, today: date, end: date, ledger: Ledger) -> list[Deadline]:
    """:func:`deadlines_for` with the number's ``today`` and the window's ``end`` worked out."""
    found: list[Deadline] = []
    proj = projection(number, today, ledger) if tracks_balance(number, ledger) else None
    risk_from = today - timedelta(days=overdue_span(number))
    if number.rolling:
        day = rolling_deadline(number, ledger)
        if day and day <= end:
            found.append(Deadline(number, day, (day - today).days))
    else:
        done = ledger.done
        for day in fixed_dates(number, risk_from, end):
            if done and (number.number, day) in done:
                continue  # as renew_deadlines() leaves it out
            paid = paid_from_balance(number, proj, day) if proj else False
            if day >= today or (not paid and is_tracked_overdue(number, day, ledger)):
                found.append(Deadline(number, day, (day - today).days, "renew", proj, paid))
    if proj and proj.runs_out and risk_from <= proj.runs_out <= end:
        found.append(Deadline(number, proj.runs_out, (proj.runs_out - today).days, "topup", proj))
    return found


def occurrence_to_mark(number: Number, on: date, ledger: Ledger) -> date | None:
    """Which fixed occurrence a renewal on ``on`` completes: the overdue one, else the next."""
    if number.rolling:
        return None
    start = on - timedelta(days=overdue_span(number))
    for day in renew_deadlines(number, start, on + timedelta(days=3660), ledger):
        if day >= on or is_tracked_overdue(number, day, ledger):
            return day
    return None


def yearly_cost(numbers: Iterable[Number], today: date) -> dict[str, Decimal]:
    """Per currency, what the plans with a ``cost`` charge in the 12 months from ``today``."""
    totals: dict[str, Decimal] = {}
    for n in numbers:
        if n.cost is None:
            continue
        # A renewal must reach min_amount to count; what it pays for buys its validity tier.
        charge = n.cost if n.min_amount is None else max(n.cost, n.min_amount)
        bought = validity_of(n, charge)
        if n.rolling and bought:
            days = bought.approx_days()
            if n.max_ahead is not None:
                days = min(days, n.max_ahead)
            count = round(365 / days)  # int() made monthly 11, yearly 0
        else:
            count = sum(1 for _ in occurrences(n, today, today + timedelta(days=364)))
        totals[n.currency] = totals.get(n.currency, Decimal(0)) + charge * count
    return dict(sorted(totals.items()))
