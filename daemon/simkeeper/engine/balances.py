"""Projecting a pay-as-you-go balance forward: how many charges it covers and when it runs out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

MAX_CHARGES = 1000  # projecting further than this is guesswork, and keeps the loop bounded


@dataclass(frozen=True)
class Projection:
    """A balance projected from ``balance_date``: the balance today, the charges from today on
    that it still covers, and the first charge date it cannot cover (None if beyond reach)."""

    balance: Decimal
    covered: int
    runs_out: date | None
    since: date | None = None  # the day the balance it started from was read


def project(
    balance: Decimal,
    balance_date: date,
    cost: Decimal,
    charges: Iterable[date],
    topups: Iterable[tuple[date, Decimal]],
    today: date,
) -> Projection:
    """Walk charges and top-ups in date order from ``balance_date``.

    ``charges`` are the plan's due dates after ``balance_date``, ascending; top-ups dated after
    ``balance_date`` raise the balance before a charge on the same day.
    """
    pending = sorted((d, a) for d, a in topups if d > balance_date)
    now_balance: Decimal | None = None
    covered = 0
    for i, charge in enumerate(charges):
        if i >= MAX_CHARGES:
            break
        while pending and pending[0][0] <= charge:
            balance += pending.pop(0)[1]
        if charge >= today and now_balance is None:
            now_balance = balance
        if balance < cost:
            shown = balance if now_balance is None else now_balance
            return Projection(shown, covered, charge, balance_date)
        balance -= cost
        if charge >= today:
            covered += 1
    return Projection(balance if now_balance is None else now_balance, covered, None, balance_date)


def money(amount: Decimal) -> str:
    """An amount as shown and stored in payloads: two decimals (``12.50``)."""
    return f"{amount:.2f}"
