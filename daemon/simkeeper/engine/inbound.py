"""The pure rules of the carrier's own texts: which number a received text belongs to, whether
it comes from the carrier, and whether it says a top-up arrived or the plan renewed.

No I/O: the caller (:mod:`simkeeper.app.inbound`) hands the numbers and the text in and
records what these say.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from simkeeper.core.model import Number

MatchKind = Literal["topup", "renewal"]
MAX_TEXT = 2000  # characters looked at: a long text (many parts) is never a carrier's notice


@dataclass(frozen=True)
class Match:
    """What a carrier's text says: a top-up or a renewal, with its amount when it has one."""

    kind: MatchKind
    amount: Decimal | None = None


def owner(numbers: Iterable[Number], gateway: str, sim: int | None) -> Number | None:
    """The number a text received on ``gateway`` (SIM slot ``sim``, when the gateway says)
    belongs to: the one naming that gateway and slot, else the one naming the gateway without
    a slot. None when no number, or more than one, claims it (an ambiguous text is kept, never
    acted on)."""
    on = [n for n in numbers if n.inbound and n.inbound.via == gateway]
    exact = [n for n in on if n.inbound and sim is not None and n.inbound.sim == sim]
    if exact:
        return exact[0] if len(exact) == 1 else None
    loose = [n for n in on if n.inbound and n.inbound.sim is None]
    return loose[0] if len(loose) == 1 else None


def _plain(sender: str) -> str:
    """A sender id compared without case, spaces, dashes or a leading +."""
    return re.sub(r"[\s\-+]", "", sender).casefold()


def from_carrier(number: Number, sender: str) -> bool:
    """Whether ``sender`` is one of the number's carrier sender ids (``sms_from``)."""
    if not number.inbound:
        return False
    return _plain(sender) in {_plain(s) for s in number.inbound.senders}


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def match(number: Number, sender: str, text: str) -> Match | None:
    """What the text says, when it is from the carrier and matches ``renewed_sms`` (looked at
    first: a renewal text often names the top-up that paid for it) or ``topup_sms``."""
    if not number.inbound or not from_carrier(number, sender):
        return None
    text = text[:MAX_TEXT]
    kinds: tuple[tuple[MatchKind, str], ...] = (
        ("renewal", number.inbound.renewed),
        ("topup", number.inbound.topup),
    )
    for kind, pattern in kinds:
        if not pattern:
            continue
        found = _compiled(pattern).search(text)
        if found is None:
            continue
        amount = _amount(found)
        if kind == "topup" and amount is None:
            continue  # a top-up without its amount cannot move a balance: kept unmatched
        return Match(kind, amount)
    return None


def _amount(found: re.Match[str]) -> Decimal | None:
    """The ``amount`` group as an amount above 0 (``1,000.50`` and ``10,50`` read), if any."""
    raw = found.groupdict().get("amount")
    if not raw:
        return None
    raw = raw.strip().replace(" ", "")
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", raw):
        raw = raw.replace(",", "")
    elif re.fullmatch(r"\d+,\d{1,2}", raw):
        raw = raw.replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    if not value.is_finite() or value <= 0 or value >= Decimal(10) ** 9:
        return None
    return value
