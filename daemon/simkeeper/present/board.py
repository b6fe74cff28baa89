"""The status board: each number's next deadline, days left, stage and balance runway, most
urgent first, kept up to date cheaply as the state database changes.

:func:`row_for` works one number out (pure: the number, its ledger, ``now``), looking only as
far ahead as it must (a month, then a year, then ten) instead of expanding every deadline.
:class:`Board` holds a row per number, rebuilt in full once a day (when any zone's date moves)
and otherwise only for the numbers the state database's change log names; the web face keeps
one, so a request costs a page of rows, not the whole config. :func:`timeline` gives the
picture of the coming months of one number (deadlines, reminder lead days, overdue stages).
No clock, no I/O.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from simkeeper.core.model import Ledger, Number
from simkeeper.engine.balances import Projection
from simkeeper.engine.deadlines import (
    Deadline,
    deadlines_for,
    local_today,
    occurrences,
    projection,
    rolling_deadline,
    stage_on,
    tracks_balance,
)

if TYPE_CHECKING:
    from simkeeper.present.report import StatusReport

WINDOWS = (62, 400, 3660)  # days looked ahead for the next deadline, widest last
PAGE_SIZE = 50  # rows per page of the status page
TIMELINE_DAYS = 120  # how far the picture of the coming months reaches


@dataclass(frozen=True, slots=True)
class Row:
    """One number on the board: its soonest deadline (an overdue one first), the stage it is
    in, its balance's runway, and whether the owner should act now."""

    number: Number
    position: int  # its place in the config (of two rows on one date, the earlier first)
    today: date
    deadline: Deadline | None
    stage: str
    runway: Projection | None
    needs_action: bool  # overdue, or within the number's reminder lead: the buttons are shown
    broken: str = ""  # why its deadlines cannot be worked out


def next_deadline(number: Number, now: datetime, ledger: Ledger) -> Deadline | None:
    """The number's soonest deadline at ``now`` (overdue ones included), found by widening
    the window only when the nearer one holds none."""
    for days in WINDOWS:
        found = deadlines_for(number, now, days, ledger)
        if found:
            return min(found, key=lambda d: (d.date, d.kind))
    return None


def row_for(number: Number, position: int, now: datetime, ledger: Ledger) -> Row:
    """The board's row of ``number`` at ``now``; a number whose deadlines cannot be worked
    out gets a row that says so (one bad entry never stops the others)."""
    today = local_today(number, now)
    try:
        d = next_deadline(number, now, ledger)
        stage = ""
        if d is not None and d.overdue:
            found = stage_on(number, d.date, today)
            stage = found.state if found else ""
        runway = projection(number, today, ledger) if tracks_balance(number, ledger) else None
    except Exception as e:  # the row says why; the board goes on
        return Row(number, position, today, None, "", None, False, str(e) or type(e).__name__)
    lead = max(number.remind, default=0)
    needs = d is not None and (d.overdue or d.days_left <= lead)
    return Row(number, position, today, d, stage, runway, needs)


@dataclass(frozen=True)
class Page:
    """One page of the board: its numbers' places in the config, how many numbers match in
    all, where it starts, and how many of all that match need action."""

    positions: tuple[int, ...]
    total: int
    start: int
    size: int
    needing: int


NEEDS, OVERDUE, BROKEN = 1, 2, 4  # a number's flags on the board


class Board:
    """Each number's next deadline and whether it needs action, most urgent first
    (thread-safe through ``lock``).

    Compact by design: a day number and a flag byte per number, in arrays by config position
    (about 10 bytes a number, not the hundreds a row of objects takes). The rows a page shows
    are worked out again for just that page (:func:`row_for`)."""

    def __init__(self, numbers: Sequence[Number]):
        self.numbers = tuple(numbers)
        self._zones: tuple[tzinfo, ...] = tuple({n.timezone: None for n in self.numbers})
        self._index = {n.number: i for i, n in reversed(list(enumerate(self.numbers)))}
        self._day = array("l", bytes(8 * len(self.numbers)))  # next deadline's ordinal, or 0
        self._flags = bytearray(len(self.numbers))
        self._sorted: list[int] | None = None
        self._focus: tuple[Number, ...] | None = None
        self.days: tuple[date, ...] = ()  # each zone's date when the rows were built
        self.seq = -1  # the change log's position the rows reflect
        self.report: tuple[tuple[int, datetime], StatusReport] | None = None  # app.board_status
        self.lock = threading.Lock()

    def days_at(self, now: datetime) -> tuple[date, ...]:
        """Each zone's date at ``now`` (the board is rebuilt when one of them moves)."""
        return tuple(now.astimezone(z).date() for z in self._zones)

    def _put(self, i: int, row: Row) -> None:
        d = row.deadline
        self._day[i] = d.date.toordinal() if d else 0
        flags = NEEDS if row.needs_action else 0
        flags |= OVERDUE if d and d.overdue else 0
        self._flags[i] = flags | (BROKEN if row.broken else 0)

    def rebuild(self, ledger: Ledger, now: datetime, seq: int) -> None:
        """Every number anew, from the whole ledger."""
        for i, n in enumerate(self.numbers):
            self._put(i, row_for(n, i, now, ledger))
        self._sorted = self._focus = None
        self.days, self.seq = self.days_at(now), seq

    def update(self, changed: Iterable[str], ledger: Ledger, now: datetime, seq: int) -> None:
        """The ``changed`` numbers anew (``ledger`` holds at least theirs)."""
        for key in changed:
            i = self._index.get(key)
            if i is not None:
                self._put(i, row_for(self.numbers[i], i, now, ledger))
                self._sorted = self._focus = None
        self.seq = seq

    def deadline_of(self, e164: str) -> date | None:
        """A number's next deadline as the board holds it."""
        i = self._index.get(e164)
        return date.fromordinal(self._day[i]) if i is not None and self._day[i] else None

    def deadlines(self) -> Iterator[tuple[Number, date]]:
        """Each number that has a next deadline, with it, in config order."""
        for n, day in zip(self.numbers, self._day, strict=True):
            if day:
                yield n, date.fromordinal(day)

    def overdue(self) -> int:
        """How many numbers' next deadline has passed."""
        return sum(1 for f in self._flags if f & OVERDUE)

    def ordered(self) -> list[int]:
        """Every number's place in the config, most urgent first: what needs action, then by
        date (none last), then in config order."""
        if self._sorted is None:
            # One int a key (flag, day, place in bits): no tuple per number while sorting.
            day, flags, last = self._day, self._flags, date.max.toordinal() + 1
            self._sorted = sorted(
                range(len(self.numbers)),
                key=lambda i: ((0 if flags[i] & NEEDS else 1) << 64) | ((day[i] or last) << 32) | i,
            )
        return self._sorted

    def focus(self) -> tuple[Number, ...]:
        """The numbers that can need a person now, in config order: those that need action
        or cannot be worked out, and those whose reminders start soonest of the rest (a day's
        slack for the zones). Every due, unsent or next reminder is one of theirs, so the
        status report of these alone says what the report of all would."""
        if self._focus is not None:
            return self._focus
        chosen = [i for i, f in enumerate(self._flags) if f & (NEEDS | BROKEN)]
        rest = [
            (day - max(self.numbers[i].remind, default=0), i)
            for i, (day, f) in enumerate(zip(self._day, self._flags, strict=True))
            if day and not f & NEEDS
        ]
        if rest:
            first = min(start for start, _ in rest) + 1
            chosen += [i for start, i in rest if start <= first]
        # A number that reads its balance by USSD may have a failed reading to show (the state
        # says, not the board): such numbers are few, one per SIM in a modem.
        chosen += [i for i, n in enumerate(self.numbers) if n.balance_check]
        self._focus = tuple(self.numbers[i] for i in sorted(set(chosen)))
        return self._focus

    def page(self, query: str = "", start: int = 0, size: int = PAGE_SIZE) -> Page:
        """The numbers whose name holds ``query`` (any case), ``size`` of them from
        ``start``, most urgent first."""
        order = self.ordered()
        q = query.strip().casefold()
        if q:
            order = [i for i in order if q in self.numbers[i].name.casefold()]
        start = max(0, min(start, max(len(order) - 1, 0) // size * size))
        needing = sum(1 for i in order if self._flags[i] & NEEDS)
        return Page(tuple(order[start : start + size]), len(order), start, size, needing)

    def rows(self, page: Page, now: datetime, ledger: Ledger) -> list[Row]:
        """The rows of a page, worked out from their numbers' ledger."""
        return [row_for(self.numbers[i], i, now, ledger) for i in page.positions]


# -- the picture of the coming months ---------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """A stretch of the timeline, in days from today: ``kind`` is ``lead`` (reminders go out),
    ``deadline`` (the day itself), ``stage`` (after a missed deadline; ``label`` says which)."""

    start: int
    end: int  # exclusive
    kind: str
    label: str = ""
    day: date | None = None


def timeline(row: Row, ledger: Ledger, days: int = TIMELINE_DAYS) -> tuple[Span, ...]:
    """The number's coming ``days``: each deadline, the lead days before it in which
    reminders go out, and the stages after an overdue one, as spans from today."""
    number, today = row.number, row.today
    lead = max(number.remind, default=0)
    spans: list[Span] = []
    for day in _timeline_dates(row, ledger, days):
        offset = (day - today).days
        if lead:
            spans.append(Span(max(offset - lead, 0), max(offset, 0), "lead", day=day))
        if offset < 0:  # overdue: the stages it passes through, from today on
            spans.extend(_stage_spans(number, day, offset, days))
            spans.append(Span(0, 1, "deadline", day=day))
        elif offset < days:
            spans.append(Span(offset, offset + 1, "deadline", day=day))
    return tuple(spans)


def _timeline_dates(row: Row, ledger: Ledger, days: int) -> list[date]:
    """The deadlines the timeline shows: those in the coming ``days`` not yet done, and
    first the row's own deadline if it is already past (it is still to be met)."""
    number, today = row.number, row.today
    end = today + timedelta(days=days)
    if number.rolling:
        found = rolling_deadline(number, ledger)
        dates = [found] if found and found <= end else []
    else:
        dates = [
            d for d in occurrences(number, today, end) if (number.number, d) not in ledger.done
        ]
    if row.deadline and row.deadline.date < today and row.deadline.date not in dates:
        dates.insert(0, row.deadline.date)
    return dates


def _stage_spans(number: Number, day: date, offset: int, days: int) -> list[Span]:
    """The stages an overdue deadline (``offset`` days ago, so negative) passes through,
    each cut to the timeline's ``days`` from today; a stage over before today is left out."""
    stages = number.after_deadline
    spans: list[Span] = []
    for i, st in enumerate(stages):
        st_start = offset + st.after
        # A stage lasts until the next begins; the last one, to the timeline's end.
        st_end = offset + stages[i + 1].after if i + 1 < len(stages) else days
        if st_end > 0 and st_start < days:
            spans.append(Span(max(st_start, 0), min(st_end, days), "stage", st.state, day))
    return spans
