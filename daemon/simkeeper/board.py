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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from .balances import Projection
from .deadlines import (
    Deadline,
    deadlines_for,
    local_today,
    occurrences,
    projection,
    rolling_deadline,
    stage_on,
)
from .model import Ledger, Number

if TYPE_CHECKING:
    from .report import StatusReport

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

    @property
    def order(self) -> tuple[int, date, int]:
        """Most urgent first: what needs action, then by date, then by config order."""
        d = self.deadline
        return (0 if self.needs_action else 1, d.date if d else date.max, self.position)


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
        runway = projection(number, today, ledger) if number.balance is not None else None
    except Exception as e:  # the row says why; the board goes on
        return Row(number, position, today, None, "", None, False, str(e) or type(e).__name__)
    lead = max(number.remind, default=0)
    needs = d is not None and (d.overdue or d.days_left <= lead)
    return Row(number, position, today, d, stage, runway, needs)


@dataclass(frozen=True)
class Page:
    """One page of the board: its rows, how many rows match in all, and where it starts."""

    rows: tuple[Row, ...]
    total: int
    start: int
    size: int
    needing: int  # rows (of all that match) that need action


class Board:
    """A row per number of one config, most urgent first (thread-safe)."""

    def __init__(self, numbers: Sequence[Number]):
        self.numbers = tuple(numbers)
        self._position = {n.number: i for i, n in enumerate(self.numbers)}
        self._zones: tuple[tzinfo, ...] = tuple({n.timezone: None for n in self.numbers})
        self._rows: dict[str, Row] = {}
        self._sorted: list[Row] | None = None
        self._focus: tuple[Number, ...] | None = None
        self.days: tuple[date, ...] = ()  # each zone's date when the rows were built
        self.seq = -1  # the change log's position the rows reflect
        self.report: tuple[tuple[int, datetime], StatusReport] | None = None  # app.board_status
        self.lock = threading.Lock()

    def days_at(self, now: datetime) -> tuple[date, ...]:
        """Each zone's date at ``now`` (the board is rebuilt when one of them moves)."""
        return tuple(now.astimezone(z).date() for z in self._zones)

    def rebuild(self, ledger: Ledger, now: datetime, seq: int) -> None:
        """Every row anew, from the whole ledger."""
        self._rows = {n.number: row_for(n, i, now, ledger) for i, n in enumerate(self.numbers)}
        self._sorted = self._focus = None
        self.days, self.seq = self.days_at(now), seq

    def update(self, changed: Iterable[str], ledger: Ledger, now: datetime, seq: int) -> None:
        """The rows of the ``changed`` numbers anew (``ledger`` holds at least theirs)."""
        for key in changed:
            i = self._position.get(key)
            if i is not None:
                self._rows[key] = row_for(self.numbers[i], i, now, ledger)
                self._sorted = self._focus = None
        self.seq = seq

    def row(self, e164: str) -> Row | None:
        """The row of one number."""
        return self._rows.get(e164)

    def ordered(self) -> list[Row]:
        """Every row, most urgent first."""
        if self._sorted is None:
            self._sorted = sorted(self._rows.values(), key=lambda r: r.order)
        return self._sorted

    def focus(self) -> tuple[Number, ...]:
        """The numbers that can need a person now, in config order: those that need action
        or cannot be worked out, and those whose reminders start soonest of the rest (a day's
        slack for the zones). Every due, unsent or next reminder is one of theirs, so the
        status report of these alone says what the report of all would."""
        if self._focus is not None:
            return self._focus
        rows = self.ordered()
        chosen = [r for r in rows if r.needs_action or r.broken]
        rest = [(_lead_start(r), r) for r in rows if r.deadline and not r.needs_action]
        if rest:
            first = min(day for day, _ in rest) + timedelta(days=1)
            chosen += [r for day, r in rest if day <= first]
        self._focus = tuple(r.number for r in sorted(chosen, key=lambda r: r.position))
        return self._focus

    def page(self, query: str = "", start: int = 0, size: int = PAGE_SIZE) -> Page:
        """The rows whose name holds ``query`` (any case), ``size`` of them from ``start``."""
        rows = self.ordered()
        q = query.strip().casefold()
        if q:
            rows = [r for r in rows if q in r.number.name.casefold()]
        start = max(0, min(start, max(len(rows) - 1, 0) // size * size))
        needing = sum(1 for r in rows if r.needs_action)
        return Page(tuple(rows[start : start + size]), len(rows), start, size, needing)


def _lead_start(row: Row) -> date:
    """The day a row's first reminder goes out."""
    assert row.deadline is not None
    return row.deadline.date - timedelta(days=max(row.number.remind, default=0))


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
    lead = max(number.remind, default=0)
    spans: list[Span] = []
    for day in dates:
        offset = (day - today).days
        if lead:
            spans.append(Span(max(offset - lead, 0), max(offset, 0), "lead", day=day))
        if offset < 0:  # overdue: the stages it passes through, from today on
            stages = number.after_deadline
            for i, st in enumerate(stages):
                st_start = offset + st.after
                st_end = offset + stages[i + 1].after if i + 1 < len(stages) else days
                if st_end > 0 and st_start < days:
                    spans.append(Span(max(st_start, 0), min(st_end, days), "stage", st.state, day))
            spans.append(Span(0, 1, "deadline", day=day))
        elif offset < days:
            spans.append(Span(offset, offset + 1, "deadline", day=day))
    return tuple(spans)
