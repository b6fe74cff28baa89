"""Numbers held as columns (``core.numbertable``) and the daemon's index by place
(``service.dueindex``): both stand in for what was a tuple of ``Number`` objects and heaps of
tuples keyed by E.164 strings, so each must give back exactly what those gave.
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import write_config
from test_output_identity import mixed_config

from simkeeper.config import load as config_mod
from simkeeper.core import numbertable
from simkeeper.core.model import Number
from simkeeper.core.numbertable import NumberTable
from simkeeper.engine.reminders import Outlook, Reminder
from simkeeper.service.dueindex import DueIndex

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def many(tmp_path: Path, count: int) -> tuple[Number, ...]:
    path = write_config(tmp_path / "config.toml", mixed_config(count))
    numbers = config_mod.load(path, env={"HOME": str(tmp_path)}).numbers
    return tuple(numbers)


def same_fields(a: Number, b: Number) -> bool:
    """Equal and shown the same: every field's type and repr (Decimal 3.0 is not 3.00)."""
    return all(
        type(getattr(a, f.name)) is type(getattr(b, f.name))
        and repr(getattr(a, f.name)) == repr(getattr(b, f.name))
        for f in fields(Number)
    )


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_a_table_gives_back_every_number_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(numbertable, "CHUNK", chunk)
    numbers = list(many(tmp_path, 150))  # past 64 rows: names and numbers are packed
    numbers[3] = replace(numbers[3], cost=Decimal("3.0"), note="ünïcödé 号码")
    numbers[4] = replace(numbers[4], cost=Decimal("3.00"), name="二号")
    table = NumberTable.of(numbers)
    assert len(table) == len(numbers)
    assert all(same_fields(a, b) for a, b in zip(table, numbers, strict=True))
    assert all(same_fields(table[i], numbers[i]) for i in range(len(numbers)))
    assert table == tuple(numbers) and tuple(numbers) == table
    assert table[-1] == numbers[-1] and table[5:9] == tuple(numbers[5:9])
    picked = [120, 3, 3, 77, 0]
    assert table.take(picked) == [numbers[i] for i in picked]
    with pytest.raises(IndexError):
        table[len(numbers)]
    assert table[4].name == "二号"
    zones = {n.timezone for n in numbers}
    assert set(table.distinct("timezone")) == zones


def test_a_table_finds_a_number_by_its_e164_key(tmp_path: Path) -> None:
    numbers = many(tmp_path, 100)
    table = NumberTable.of(numbers)
    for i in (0, 1, 57, 99):
        assert table.position(numbers[i].number) == i
    assert table.position("+1") is None
    twice = NumberTable.of((*numbers, numbers[10]))  # the first of two is the one found
    assert twice.position(numbers[10].number) == 10


def test_a_table_written_as_columns_reads_back_the_same(tmp_path: Path) -> None:
    numbers = many(tmp_path, 90)
    table = NumberTable.of(numbers)
    columns = iter(list(numbertable.encode(table)))
    back = NumberTable.from_columns(len(numbers), columns.__next__)
    assert back is not None and back == numbers
    assert list(numbertable.encode(numbers)) == list(numbertable.encode(table))


def test_columns_of_another_layout_are_refused(tmp_path: Path) -> None:
    numbers = many(tmp_path, 10)
    columns = list(numbertable.encode(numbers))
    short = iter(columns).__next__
    assert NumberTable.from_columns(11, short) is None
    renamed = iter([("other", *columns[0][1:]), *columns[1:]]).__next__
    assert NumberTable.from_columns(10, renamed) is None


def reminder(number: Number, at: datetime, days: int) -> Reminder:
    return Reminder(
        number, date(2026, 12, 1) + timedelta(days=days), "renew", days, at, at + timedelta(hours=6)
    )


def test_the_index_names_the_earliest_reminder_and_the_first_number_on_a_tie(
    tmp_path: Path,
) -> None:
    numbers = NumberTable.of(many(tmp_path, 5))
    index = DueIndex()
    late, early = START + timedelta(days=2), START + timedelta(days=1)
    index.put(3, Outlook((), reminder(numbers[3], early, 3), early))
    index.put(1, Outlook((), reminder(numbers[1], early, 1), early))
    index.put(0, Outlook((), reminder(numbers[0], late, 0), late))
    got = index.next_reminder(numbers)
    assert got == reminder(numbers[1], early, 1)
    index.put(1, Outlook((), reminder(numbers[1], late, 1), late))  # moved on: 3 is next
    assert index.next_reminder(numbers) == reminder(numbers[3], early, 3)
    index.put(4, Outlook((), reminder(numbers[4], START, 4), START))  # an earlier one
    assert index.next_reminder(numbers) == reminder(numbers[4], START, 4)
    index.drop(4)
    index.drop(3)
    assert index.next_reminder(numbers) == reminder(numbers[0], late, 0)  # 0 before 1
    assert index.pop_due(late) == [0, 1] and len(index) == 0


def test_the_index_follows_the_numbers_to_their_new_places(tmp_path: Path) -> None:
    numbers = NumberTable.of(many(tmp_path, 4))
    index = DueIndex()
    for place in range(4):
        at = START + timedelta(hours=place)
        index.put(place, Outlook((), reminder(numbers[place], at, place), at))
    # the reloaded config: the old 2, a new number, the old 0; 1 and 3 are gone
    index.moved([2, -1, 0])
    moved = NumberTable.of([numbers[2], numbers[1], numbers[0]])
    assert index.next_reminder(moved) == reminder(numbers[0], START, 0)
    assert sorted(index.pop_due(START + timedelta(days=1))) == [0, 2]
    assert index.next_wake() is None


def test_the_index_keeps_its_groups_small_when_numbers_move_on_again_and_again() -> None:
    index = DueIndex()
    for step in range(20_000):  # one number moved on and on: the dead entries are regrouped
        at = START + timedelta(minutes=step)
        index.put(0, Outlook((), None, at))
    assert index._wake._held < 5_000
    assert index.next_wake() == START + timedelta(minutes=19_999)
    assert index.pop_due(START + timedelta(days=30)) == [0]
