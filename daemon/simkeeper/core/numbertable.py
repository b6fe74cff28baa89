"""Numbers held as columns: a :class:`NumberTable` is a sequence of :class:`Number` that keeps
each field's distinct values once and, per number, the index of its value.

A ``Number`` object costs about 370 bytes with its strings; a daemon watching a million
numbers held a million of them (issue 23). A table holds a field most numbers share (a cycle,
a zone, a lead-time tuple, a carrier) as one value and a byte per number, and a field of
mostly distinct strings (the name, the E.164 number) packed in one string with an offset per
number: about 60 bytes a number. A ``Number`` is built when it is asked for (``table[i]``, or
a chunk at a time when iterated) and let go by whoever asked; the table never changes.

The columns follow ``dataclasses.fields(Number)``, so a field added to the model is a column
with no change here. The config cache (:mod:`simkeeper.config.cache`) stores the same columns.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import fields
from datetime import date
from itertools import accumulate, chain, islice, repeat
from operator import add, attrgetter, index, mul
from typing import Any, overload

from simkeeper.core.model import Number

FIELDS = tuple(f.name for f in fields(Number))
Column = tuple[str, list[Any], str, bytes]  # field name, distinct values, array code, indexes
CHUNK = 4096  # numbers built at a time while iterating
_EXACT = (str, int, bool, type(None), date)  # equal means the same, for these types
_EXACT_TYPES = frozenset(_EXACT)
_SETTERS = tuple(Number.__dict__[name].__set__ for name in FIELDS)  # frozen is for users
_new_number = Number.__new__


def encode(numbers: Sequence[Number]) -> Iterator[Column]:
    """The columns of ``numbers``, one field at a time."""
    if isinstance(numbers, NumberTable):
        yield from numbers.columns()
        return
    for name in FIELDS:
        values, indexes = distinct(list(map(attrgetter(name), numbers)))
        code = typecode(len(values))
        yield name, values, code, array(code, indexes).tobytes()


def having(numbers: Sequence[Number], name: str) -> list[Number]:
    """The numbers whose field ``name`` is set, in order (see :meth:`NumberTable.having`)."""
    if isinstance(numbers, NumberTable):
        return numbers.having(name)
    return [n for n in numbers if getattr(n, name)]


def distinct(values: list[Any]) -> tuple[list[Any], list[int]]:
    """The distinct values in order of first use, and each value's index among them. A value
    is taken as another's only when it is the same to the last digit: by value in a column of
    only strings, integers or booleans (never both: ``1 == True``), None and dates, else by
    type and ``repr`` (``Decimal("3.0")`` equals ``Decimal("3.00")`` but is not shown the
    same), once per distinct object. The loops run in C but for the distinct objects."""
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


def typecode(size: int) -> str:
    """The smallest unsigned array type holding indexes below ``size``."""
    return "B" if size <= 1 << 8 else "H" if size <= 1 << 16 else "I"


Rows = slice | Sequence[int]  # a run of positions (start and stop given), or any positions


def _chosen(indexes: array[int], rows: Rows) -> Iterable[int]:
    """The value indexes of ``rows``."""
    return indexes[rows] if isinstance(rows, slice) else map(indexes.__getitem__, rows)


class _Shared:
    """A column of values kept once each, and an index per number."""

    __slots__ = ("indexes", "values")

    def __init__(self, values: list[Any], indexes: array[int]) -> None:
        self.values = values
        self.indexes = indexes

    def at(self, i: int) -> Any:
        return self.values[self.indexes[i]]

    def take(self, rows: Rows) -> Iterator[Any]:
        return map(self.values.__getitem__, _chosen(self.indexes, rows))

    def distinct(self) -> list[Any]:
        return self.values

    def size(self) -> int:
        return len(self.values)


class _Packed:
    """A column of strings, mostly distinct: its distinct strings end to end in one string,
    where each begins, and an index per number (none when every number has its own)."""

    __slots__ = ("indexes", "starts", "text")

    def __init__(self, values: list[str], indexes: array[int] | None) -> None:
        self.text = "".join(values)
        code = "I" if len(self.text) < 1 << 32 else "Q"
        self.starts = array(code, chain((0,), accumulate(map(len, values))))
        self.indexes = indexes

    def at(self, i: int) -> str:
        j = self.indexes[i] if self.indexes is not None else i
        return self.text[self.starts[j] : self.starts[j + 1]]

    def take(self, rows: Rows) -> Iterator[str]:
        text, starts = self.text, self.starts
        if self.indexes is not None:
            picked: Sequence[int] = list(_chosen(self.indexes, rows))
        elif isinstance(rows, slice):  # a run of numbers: their strings lie end to end
            at = starts[rows.start : rows.stop + 1]
            return map(text.__getitem__, map(slice, at, islice(at, 1, None)))
        else:
            picked = rows
        begins = map(starts.__getitem__, picked)  # where each string begins and ends
        ends = map(starts.__getitem__, map((1).__add__, picked))
        return map(text.__getitem__, map(slice, begins, ends))

    def distinct(self) -> list[str]:
        starts = self.starts
        return [self.text[starts[j] : starts[j + 1]] for j in range(len(starts) - 1)]

    def size(self) -> int:
        return len(self.starts) - 1


class NumberTable(Sequence[Number]):
    """An unchanging sequence of numbers, held as columns (see the module's docstring)."""

    __slots__ = ("_columns", "_count", "_having", "_keys")

    def __init__(self, count: int, columns: Sequence[_Shared | _Packed]) -> None:
        self._count = count
        self._columns = tuple(columns)
        self._keys: tuple[array[int], array[int]] | None = None  # see position()
        self._having: dict[str, array[int]] = {}  # see having()

    @classmethod
    def of(cls, numbers: Iterable[Number]) -> NumberTable:
        """A table of ``numbers``, in their order."""
        if isinstance(numbers, NumberTable):
            return numbers
        held = numbers if isinstance(numbers, Sequence) else tuple(numbers)
        table = cls.from_columns(len(held), encode(held).__next__)
        assert table is not None  # encode() gives every field, in order
        return table

    @classmethod
    def alike(
        cls, shapes: Sequence[Number], which: Sequence[int], names: list[str], e164s: list[str]
    ) -> NumberTable:
        """A table of numbers each like one of ``shapes`` (number ``i`` like
        ``shapes[which[i]]``) but for its name and E.164 number (``names[i]``, ``e164s[i]``):
        built column by column, without a ``Number`` per number."""
        columns = []
        for name in FIELDS:
            if name in ("name", "number"):
                values, indexes = distinct(names if name == "name" else e164s)
            else:
                values, at = distinct(list(map(attrgetter(name), shapes)))
                indexes = list(map(at.__getitem__, which))
            columns.append(_column(values, array(typecode(len(values)), indexes)))
        return cls(len(which), columns)

    @classmethod
    def from_columns(cls, count: int, column: Any) -> NumberTable | None:
        """A table of ``count`` numbers from the columns ``column()`` gives, one call per field
        in :data:`FIELDS` order; None when they do not fit (another layout)."""
        held: list[_Shared | _Packed] = []
        for name in FIELDS:
            got, values, code, blob = column()
            indexes = array(code)
            indexes.frombytes(blob)
            if got != name or len(indexes) != count or (count and max(indexes) >= len(values)):
                return None
            held.append(_column(values, indexes))
        return cls(count, held)

    def columns(self) -> Iterator[Column]:
        """The table's columns, as :func:`encode` gives them."""
        for name, column in zip(FIELDS, self._columns, strict=True):
            values = column.distinct()
            code = typecode(len(values))
            indexes = range(len(values)) if column.indexes is None else column.indexes
            yield name, values, code, array(code, indexes).tobytes()

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, i: int) -> Number: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[Number, ...]: ...
    def __getitem__(self, i: int | slice) -> Number | tuple[Number, ...]:
        if isinstance(i, slice):
            return tuple(self.take(range(self._count)[i]))
        at = index(i)
        if at < 0:
            at += self._count
        if not 0 <= at < self._count:
            raise IndexError("number index out of range")
        number = _new_number(Number)
        for setter, column in zip(_SETTERS, self._columns, strict=True):
            setter(number, column.at(at))
        return number

    def __iter__(self) -> Iterator[Number]:
        for start in range(0, self._count, CHUNK):
            yield from self._build(slice(start, min(start + CHUNK, self._count)))

    def take(self, positions: Sequence[int]) -> list[Number]:
        """The numbers at ``positions`` (any order), built together."""
        got: list[Number] = []
        for start in range(0, len(positions), CHUNK):
            got.extend(self._build(positions[start : start + CHUNK]))
        return got

    def _build(self, rows: Rows) -> list[Number]:
        size = len(range(self._count)[rows]) if isinstance(rows, slice) else len(rows)
        numbers = [_new_number(Number) for _ in range(size)]
        for setter, column in zip(_SETTERS, self._columns, strict=True):
            deque(map(setter, numbers, column.take(rows)), maxlen=0)
        return numbers

    def distinct(self, name: str) -> list[Any]:
        """The distinct values of the field ``name`` (a time zone: the zones in use)."""
        return list(self._columns[FIELDS.index(name)].distinct())

    def values(self, name: str, rows: Rows) -> Iterator[Any]:
        """The field ``name`` of the numbers at ``rows``, without building them."""
        return self._columns[FIELDS.index(name)].take(rows)

    def names(self) -> set[str]:
        """Every number's name (see :class:`~simkeeper.core.model.Named`)."""
        return set(self.values("name", slice(0, self._count)))

    def groups(self, alike: Iterable[str]) -> tuple[int, list[int]]:
        """The numbers alike in every field but those in ``alike`` (which may differ): how
        many such groups there are, and each number's group (numbered in order of first
        use). Worked out from the columns' indexes, in C but for the distinct values."""
        apart = set(alike)
        key: Iterator[int] = repeat(0, self._count)
        for name, column in zip(FIELDS, self._columns, strict=True):
            size = column.size()
            if name in apart or size < 2:
                continue  # a field every number shares tells no two apart
            indexes = column.indexes if column.indexes is not None else range(self._count)
            key = map(add, map(mul, key, repeat(size)), indexes)  # mixed radix: one int
        keys = list(key)
        group = {k: g for g, k in enumerate(dict.fromkeys(keys))}
        return len(group), list(map(group.__getitem__, keys))

    def having(self, name: str) -> list[Number]:
        """The numbers whose field ``name`` is set (a ``keepalive``, a ``balance_check``):
        where they are is found once, so the daemon asking on every pass builds only them."""
        places = self._having.get(name)
        if places is None:
            column = self._columns[FIELDS.index(name)]
            chosen = {j for j, value in enumerate(column.distinct()) if value}
            indexes = column.indexes if column.indexes is not None else range(self._count)
            places = array("I", (i for i, j in enumerate(indexes) if j in chosen) if chosen else ())
            self._having[name] = places
        return self.take(places)

    def position(self, key: str) -> int | None:
        """Where the number whose E.164 number is ``key`` is (the first such), or None.

        Looked up among the numbers' string hashes, sorted (12 bytes a number, built at the
        first call): a dict of a million keys would cost more than the table itself."""
        column = self._columns[_NUMBER]
        if self._keys is None:
            hashes = list(map(hash, column.take(slice(0, self._count))))
            order = sorted(range(self._count), key=hashes.__getitem__)
            self._keys = (array("q", map(hashes.__getitem__, order)), array("I", order))
        hashes_sorted, order_arr = self._keys
        wanted = hash(key)
        at = bisect_left(hashes_sorted, wanted)
        found = None
        while at < len(hashes_sorted) and hashes_sorted[at] == wanted:
            i = order_arr[at]
            if column.at(i) == key and (found is None or i < found):
                found = i
            at += 1
        return found

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"NumberTable({self._count} numbers)"


_NUMBER = FIELDS.index("number")


def _column(values: list[Any], indexes: array[int]) -> _Shared | _Packed:
    """A column's best form: strings mostly distinct are packed, the rest kept once each."""
    count = len(indexes)
    if count >= 64 and len(values) * 2 > count and all(type(v) is str for v in values):
        identity = len(values) == count and indexes == array(indexes.typecode, range(count))
        return _Packed(values, None if identity else indexes)
    return _Shared(values, indexes)
