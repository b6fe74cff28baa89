"""Parsing plan cycles (``every 180 days``) and lead times (``14d``), and stepping dates by them.

Month and year steps are always taken from the anchor date itself, never from the previous
occurrence, so a cycle due on Jan 31 falls on Feb 28/29 and then on Mar 31 again (no drift).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

NAMED_CYCLES = {
    "daily": (1, "days"),
    "weekly": (7, "days"),
    "fortnightly": (14, "days"),
    "monthly": (1, "months"),
    "quarterly": (3, "months"),
    "yearly": (12, "months"),
    "annually": (12, "months"),
}
_UNIT_FACTORS = {
    "day": (1, "days"),
    "week": (7, "days"),
    "month": (1, "months"),
    "year": (12, "months"),
}
_EVERY = re.compile(r"^every\s+(\d+)\s+(day|week|month|year)s?$")
_LEAD = re.compile(r"^(\d+)\s*([dw])$")
MAX_CYCLE_MONTHS = 120  # ten years: no real plan has a longer cycle
MAX_CYCLE_DAYS = 3653


@dataclass(frozen=True)
class Cycle:
    """A plan cycle: ``count`` days or ``count`` months, with the text it was written as."""

    count: int
    unit: str  # "days" or "months"
    text: str

    def step(self, anchor: date, k: int) -> date:
        """The date ``k`` cycles from ``anchor`` (``k`` may be negative), clamped at month ends."""
        if self.unit == "days":
            return anchor + timedelta(days=self.count * k)
        return add_months(anchor, self.count * k)

    def approx_days(self) -> float:
        """The cycle's average length in days, for estimates only."""
        return self.count if self.unit == "days" else self.count * 30.436875

    def first_index_on_or_after(self, anchor: date, day: date) -> int:
        """The smallest ``k`` with ``step(anchor, k) >= day``."""
        if self.unit == "days":
            return -((anchor - day).days // self.count)
        months = (day.year - anchor.year) * 12 + (day.month - anchor.month)
        k = -(-months // self.count)  # the first step landing in day's month or later
        if k * self.count == months and self.step(anchor, k) < day:
            k += 1  # it lands in day's month, but before day
        return k


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def add_months(day: date, n: int) -> date:
    """``day`` moved ``n`` months (``n`` may be negative), clamped to the end of a shorter
    month: what ``day + relativedelta(months=n)`` gives, without building an object per step.

    Out of range it raises the same :class:`ValueError` (``year 10000 is out of range``).
    """
    months = day.month - 1 + n
    year, month = day.year + months // 12, months % 12 + 1
    last = _MONTH_DAYS[month - 1]
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        last = 29
    return date(year, month, min(day.day, last))


class PeriodError(ValueError):
    """A cycle or lead time that cannot be parsed; the message says what is expected."""


@lru_cache(maxsize=1024)
def parse_cycle(text: str) -> Cycle:
    """Parse ``monthly``, ``every 180 days``, ``every 1 year`` and the like.

    The same text gives the same (immutable) object: 100,000 numbers share a few cycles."""
    norm = " ".join(text.strip().lower().split())
    if norm in NAMED_CYCLES:
        count, unit = NAMED_CYCLES[norm]
        return Cycle(count, unit, norm)
    match = _EVERY.match(norm)
    if not match:
        raise PeriodError(f'unknown cycle "{text}"')
    n = int(match.group(1))
    if n < 1:
        raise PeriodError(f'cycle "{text}" must be at least 1 {match.group(2)}')
    factor, unit = _UNIT_FACTORS[match.group(2)]
    if n * factor > (MAX_CYCLE_DAYS if unit == "days" else MAX_CYCLE_MONTHS):
        raise PeriodError(f'cycle "{text}" is longer than 10 years')
    return Cycle(n * factor, unit, norm)


def parse_days(text: str) -> int:
    """Parse a lead time or interval such as ``14d``, ``2w`` or ``0d`` into whole days."""
    match = _LEAD.match(text.strip().lower())
    if not match:
        raise PeriodError(f'"{text}" is not a duration like "14d" or "2w"')
    n = int(match.group(1))
    return n * 7 if match.group(2) == "w" else n
