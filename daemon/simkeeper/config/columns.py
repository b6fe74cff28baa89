"""The numbers of a config cache entry as columns: one per ``Number`` field, each the field's
distinct values once and, per number, the index of its value (an ``array`` of 1, 2 or 4 bytes
each).

A million numbers were a million pickled dataclasses: 28% of a warm ``upcoming`` went to
unpickling them, and every number came back with its own dates, cycles and tuples. As columns,
a field most numbers share (a cycle, a time zone, a lead-time tuple, a carrier, a day) is one
object for all of them, read once; the numbers are then filled a field at a time by the slots'
own setters, in C. The columns follow ``dataclasses.fields(Number)``, so a field added to the
model is a column with no change here.

A value is taken as another's only when it is the same to the last digit: by value in a
column of only strings, integers or booleans (never both: ``1 == True``), None and dates, else
by type and ``repr`` (``Decimal("3.0")`` equals ``Decimal("3.00")`` but is not shown the same),
once per distinct object. Every loop over a column's values runs in C; the Python loops run
over distinct values only.
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import fields
from datetime import date
from operator import attrgetter
from typing import Any

from simkeeper.core.model import Number

FIELDS = tuple(f.name for f in fields(Number))
_EXACT = (str, int, bool, type(None), date)  # equal means the same, for these types
_EXACT_TYPES = frozenset(_EXACT)
Column = tuple[str, list[Any], str, bytes]  # field name, distinct values, array code, indexes


def encode(numbers: Sequence[Number]) -> Iterator[Column]:
    """The columns of ``numbers``, one field at a time."""
    for name in FIELDS:
        values, indexes = _distinct(list(map(attrgetter(name), numbers)))
        code = _typecode(len(values))
        yield name, values, code, array(code, indexes).tobytes()


def decode(count: int, columns: Callable[[], Column]) -> tuple[Number, ...] | None:
    """``count`` numbers from the columns ``columns()`` gives, one call per field, in
    :data:`FIELDS` order; None when they do not fit (another layout)."""
    numbers = [object.__new__(Number) for _ in range(count)]
    for name in FIELDS:
        got, values, code, blob = columns()
        indexes = array(code)
        indexes.frombytes(blob)
        if got != name or len(indexes) != count or (count and max(indexes) >= len(values)):
            return None
        setter = Number.__dict__[name].__set__  # the slot's own setter: frozen is for users
        deque(map(setter, numbers, map(values.__getitem__, indexes)), maxlen=0)
    return tuple(numbers)


def _distinct(values: list[Any]) -> tuple[list[Any], list[int]]:
    """The distinct values in order of first use, and each value's index among them. The
    loops run in C (``dict.fromkeys``, ``map``) but for the distinct objects of a column."""
    types = set(map(type, values))
    if types <= _EXACT_TYPES and not {int, bool} <= types:  # by value (1 is True: kept apart)
        table = list(dict.fromkeys(values))
        at = {value: i for i, value in enumerate(table)}
        return table, list(map(at.__getitem__, values))
    ids = list(map(id, values))  # the objects stay alive in ``values`` meanwhile
    by_key: dict[tuple[type, Any], int] = {}
    by_id: dict[int, int] = {}
    table = []
    for value in dict(zip(ids, values, strict=True)).values():  # each object once
        key = (type(value), value if _exact(value) else repr(value))
        if key not in by_key:
            by_key[key] = len(table)
            table.append(value)
        by_id[id(value)] = by_key[key]
    return table, list(map(by_id.__getitem__, ids))


def _exact(value: Any) -> bool:
    """Whether ``==`` on ``value`` means the same value, shown the same."""
    if isinstance(value, tuple):
        return all(type(v) is str for v in value)
    return type(value) in _EXACT


def _typecode(size: int) -> str:
    """The smallest unsigned array type holding indexes below ``size``."""
    return "B" if size <= 1 << 8 else "H" if size <= 1 << 16 else "I"
