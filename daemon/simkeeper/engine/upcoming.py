"""Every deadline of many numbers in a window, soonest first (``upcoming``, the feed, the
digest): numbers alike are worked out once, and their deadlines held as places (issue 23).

A million numbers share a few hundred plans. Two numbers that differ only in fields the
deadline engine never reads (:data:`NOT_READ`: names, E.164 numbers, where reminders go) and
that the ledger knows nothing about have the same deadlines, so the engine runs once per
group of such numbers (:meth:`~simkeeper.core.numbertable.NumberTable.groups`), on its first
number. The result, :class:`Upcoming`, holds each deadline as the place of its number in the
table and the deadline worked out for the group (its *template*): a ``Number`` is built only
when a deadline is asked for, and a million deadlines cost 8 bytes each.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta, tzinfo
from functools import partial
from itertools import accumulate, compress, count, islice, repeat
from operator import add, mod, ne
from typing import get_args, overload

from simkeeper.core.kinds import DeadlineKind
from simkeeper.core.model import EMPTY_LEDGER, Ledger, Number
from simkeeper.core.numbertable import CHUNK, NumberTable
from simkeeper.engine.deadlines import Deadline, Failure, deadlines_between, isolated, local_today

# The fields of a Number that the deadline engine (deadlines.deadlines_between) never reads.
# The E.164 number is read only as the ledger's key: for a number the ledger does not know,
# every lookup misses whatever it is. A field left out of this set only makes groups smaller.
NOT_READ = frozenset(
    {
        "name",
        "number",
        "timezone_name",  # the zone itself (``timezone``) is read
        "carrier",
        "note",
        "notify",
        "escalate",
        "renew_url",
        "plan",
        "keepalive",
        "balance_check",
        "inbound",
    }
)


class Upcoming(Sequence[Deadline]):
    """Deadlines in the order :func:`find_upcoming` lists them, each the place of its number
    in ``table`` and a template (``templates[which[i]]``, a deadline of a number alike)."""

    __slots__ = ("places", "table", "templates", "which")

    def __init__(
        self,
        table: NumberTable,
        templates: Sequence[Deadline],
        places: array[int],
        which: array[int],
    ) -> None:
        self.table = table
        self.templates = templates
        self.places = places
        self.which = which

    @classmethod
    def of(cls, found: Iterable[Deadline]) -> Upcoming:
        """Deadlines already worked out, in their order, held the same way."""
        if isinstance(found, Upcoming):
            return found
        held = list(found)
        table = NumberTable.of([d.number for d in held])
        every = array("I", range(len(held)))
        return cls(table, held, every, every)

    def __len__(self) -> int:
        return len(self.places)

    @overload
    def __getitem__(self, i: int) -> Deadline: ...
    @overload
    def __getitem__(self, i: slice) -> list[Deadline]: ...
    def __getitem__(self, i: int | slice) -> Deadline | list[Deadline]:
        if isinstance(i, slice):
            return list(self._built(range(len(self))[i]))
        return _as(self.templates[self.which[i]], self.table[self.places[i]])

    def __iter__(self) -> Iterator[Deadline]:
        for start in range(0, len(self), CHUNK):
            yield from self._built(range(start, min(start + CHUNK, len(self))))

    def _built(self, rows: range) -> Iterator[Deadline]:
        numbers = self.table.take(self.places[rows.start : rows.stop : rows.step])
        templates = map(self.templates.__getitem__, self.which[rows.start : rows.stop : rows.step])
        return map(_as, templates, numbers)

    def __repr__(self) -> str:
        return f"Upcoming({len(self)} deadlines of {len(self.table)} numbers)"


def _as(template: Deadline, number: Number) -> Deadline:
    """``template``, for ``number``."""
    if template.number is number:
        return template
    t = template
    return Deadline(number, t.date, t.days_left, t.kind, t.projection, t.paid_from_balance)


def upcoming(
    numbers: Iterable[Number],
    now: datetime,
    days: int = 60,
    ledger: Ledger = EMPTY_LEDGER,
    failures: list[Failure] | None = None,
) -> list[Deadline]:
    """Every deadline of every number within ``days`` (and those at risk), soonest first:
    :func:`find_upcoming` as a list."""
    return list(find_upcoming(numbers, now, days, ledger, failures))


def find_upcoming(
    numbers: Iterable[Number],
    now: datetime,
    days: int = 60,
    ledger: Ledger = EMPTY_LEDGER,
    failures: list[Failure] | None = None,
) -> Upcoming:
    """Every deadline of every number within ``days`` (and those at risk, see
    :func:`~simkeeper.engine.deadlines.deadlines_for`), soonest first: by date, then name, then
    kind, numbers of the same name in their order.

    With a ``failures`` list, a number whose deadlines cannot be worked out is recorded there
    (in the numbers' order) and left out (see :func:`isolated`); without, the error is raised.
    """
    table = NumberTable.of(numbers)
    spans: dict[tzinfo, tuple[date, date]] = {}  # today and the window's end, once per zone

    def span(n: Number) -> tuple[date, date]:
        got = spans.get(n.timezone)
        if got is None:
            today = local_today(n, now)
            got = spans[n.timezone] = (today, today + timedelta(days=days))
        return got

    named, members = _members(table, ledger)
    templates: list[Deadline] = []
    places, which = array("I"), array("I")
    alone = members.pop()  # the numbers the ledger knows: each worked out on its own
    for group in members:
        if not group:
            continue
        first = table[group[0]]
        try:
            found = deadlines_between(first, *span(first), ledger)
        except Exception:
            if failures is None:
                raise
            alone.extend(group)  # each again, to record each failing number
            continue
        for d in found:
            places.extend(group)
            which.extend(repeat(len(templates), len(group)))
            templates.append(d)
    for place in sorted(alone):
        n = table[place]
        for d in isolated(n, failures, partial(deadlines_between, n, *span(n), ledger)):
            places.append(place)
            which.append(len(templates))
            templates.append(d)
    order = _soonest(templates, places, which, named)
    return Upcoming(table, templates, _picked(places, order), _picked(which, order))


def _members(table: NumberTable, ledger: Ledger) -> tuple[list[int], list[array[int]]]:
    """Each number's place in the order of names (:func:`_by_name`), and the places of each
    group of numbers alike (:data:`NOT_READ`), each group in name order; the last group holds
    the numbers the ledger knows (``Ledger.known``), whatever their group."""
    size = len(table)
    by_name, named = _by_name(table)
    groups, group = table.groups(NOT_READ)
    if ledger.known:
        known = map(ledger.known.__contains__, table.values("number", slice(0, size)))
        for place in compress(count(), known):
            group[place] = groups
    members = [array("I") for _ in range(groups + 1)]
    joins = [m.append for m in members]
    for place in by_name:
        joins[group[place]](place)
    return named, members


def _by_name(table: NumberTable) -> tuple[list[int], list[int]]:
    """The places in name order (namesakes in their order), and each number's key among
    them: the rank of its name among the distinct names, times the kinds and the numbers
    (:data:`KINDS`: ``upcoming`` lists namesakes' deadlines of a day by kind, then by place),
    plus its own rank."""
    size = len(table)
    names = list(table.values("name", slice(0, size)))
    by_name = sorted(range(size), key=names.__getitem__)  # stable: ties keep their places
    ordered = list(map(names.__getitem__, by_name))
    del names
    distinct = accumulate(map(ne, ordered, islice(ordered, 1, None)), initial=0)
    named = [0] * size
    step = len(KINDS) * size
    for rank, place, name_rank in zip(count(), by_name, distinct):
        named[place] = name_rank * step + rank
    return by_name, named


KINDS = {kind: i for i, kind in enumerate(sorted(get_args(DeadlineKind)))}  # in name order


def _soonest(
    templates: list[Deadline], places: array[int], which: array[int], named: list[int]
) -> list[int]:
    """The order of the rows (place, template) soonest first: one integer key per row, with
    the date, the name's rank, the kind, the number's place among namesakes and the row
    itself in its digits, sorted once. A group's rows are in name order already: the sort
    merges runs."""
    rows, size = len(places), len(named)
    base = min((t.date.toordinal() for t in templates), default=0)
    day = len(KINDS) * size * size  # a day's keys: every name, kind and namesake
    lead = [((t.date.toordinal() - base) * day + KINDS[t.kind] * size) * rows for t in templates]
    mine = [key * rows for key in named]
    keys = list(
        map(add, map(add, map(lead.__getitem__, which), map(mine.__getitem__, places)), range(rows))
    )
    keys.sort()
    return list(map(mod, keys, repeat(rows))) if rows else []


def _picked(values: array[int], order: list[int]) -> array[int]:
    return array(values.typecode, map(values.__getitem__, order))
