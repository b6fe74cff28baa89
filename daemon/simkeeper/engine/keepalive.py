"""The autopilot's pure rules: when a keep-alive text is due, and what the budget allows.

No clock, database or gateway here: every function takes ``now`` (or ``today``) and what was
spent, so the same rules serve the daemon, ``send-due``, ``keepalive --dry-run`` and the tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from simkeeper.core.model import Budget, Keepalive, Ledger, Number
from simkeeper.engine.deadlines import local_today, rolling_deadline


@dataclass(frozen=True)
class Due:
    """A keep-alive text that is due: for which number and which deadline."""

    number: Number
    keepalive: Keepalive
    deadline: date


def due_on(keepalive: Keepalive, deadline: date) -> date:
    """The first day the text for ``deadline`` may go out: deadline − lead."""
    return deadline - timedelta(days=keepalive.lead)


def keepalive_due(number: Number, now: datetime, ledger: Ledger) -> Due | None:
    """The keep-alive text of ``number`` due at ``now``, if any: from deadline − lead up to the
    deadline itself (a text after it would come too late to count)."""
    ka = number.keepalive
    if ka is None:
        return None
    deadline = rolling_deadline(number, ledger)
    if deadline is None:
        return None
    today = local_today(number, now)
    if due_on(ka, deadline) <= today <= deadline:
        return Due(number, ka, deadline)
    return None


def window_start(budget: Budget, now: datetime) -> datetime:
    """Where the budget's rolling window begins at ``now``."""
    return now - timedelta(days=budget.per_days)


def spent(
    attempts: Iterable[tuple[datetime, str, Decimal]], currency: str, since: datetime
) -> Decimal:
    """What the attempts ``(when, currency, cost)`` in ``currency`` since ``since`` cost."""
    return sum((c for at, cur, c in attempts if cur == currency and at > since), Decimal(0))


def allows(budget: Budget | None, currency: str, spent_so_far: Decimal, cost: Decimal) -> bool:
    """Whether one more text of ``cost`` stays within the budget (no budget: never)."""
    if budget is None:
        return False
    cap = budget.cap(currency)
    return cap is not None and spent_so_far + cost <= cap


def left(budget: Budget | None, currency: str, spent_so_far: Decimal) -> Decimal:
    """What the budget has left in ``currency`` (0 without one)."""
    cap = budget.cap(currency) if budget else None
    return max(Decimal(0), cap - spent_so_far) if cap is not None else Decimal(0)
