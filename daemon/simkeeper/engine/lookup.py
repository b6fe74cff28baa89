"""Which configured number a command means: exact name, E.164 number, or a name prefix."""

from __future__ import annotations

from collections.abc import Sequence

from simkeeper.core.errors import UsageError
from simkeeper.core.model import Number


def _looks_like_number(text: str) -> bool:
    """E.164 with its ``+``, or its digits alone (``447911123456``), in any spacing."""
    if text.startswith("+"):
        return True
    digits = sum(c.isdigit() for c in text)
    return digits >= 6 and all(c.isdigit() or c in " ()-." for c in text)


def _exact(numbers: Sequence[Number], q: str) -> Number | None:
    """The number named ``q`` exactly, or whose E.164 number it is."""
    digits = "+" + "".join(c for c in q if c.isdigit()) if _looks_like_number(q) else None
    for n in numbers:
        if n.name == q or (digits and n.number == digits):
            return n
    return None


def find_number(numbers: Sequence[Number], query: str) -> Number:
    """The number a command means: exact name, E.164 number (with or without its ``+``), or an
    unambiguous name prefix.

    Raises :class:`~simkeeper.core.errors.UsageError` when nothing or several numbers match.
    """
    q = query.strip()
    exact = _exact(numbers, q)
    if exact:
        return exact
    matches = [n for n in numbers if n.name.casefold().startswith(q.casefold())] if q else []
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(f'"{n.name}"' for n in (matches or list(numbers[:8]))[:8])
    if matches:
        raise UsageError(f'"{query}" matches several numbers: {names}', "give more of the name")
    raise UsageError(f'no number is called "{query}"', f"known: {names}" if names else None)
