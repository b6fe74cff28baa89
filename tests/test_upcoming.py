"""``upcoming`` works out the deadlines of numbers alike once (issue 23): what it lists is what
working out every number on its own lists, in the same order, whatever the ledger knows.

The numbers come from a config of every plan kind (``test_output_identity.mixed_config``),
picked, repeated and renamed by hypothesis (repeated names test the order of ties), with a
ledger of renewals, top-ups, readings, done and reminded deadlines for some of them, and a
broken number (a deadline past year 9999) among them.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import cache, partial
from operator import attrgetter
from pathlib import Path

from conftest import write_config
from hypothesis import given, settings
from hypothesis import strategies as st
from test_output_identity import mixed_config

from simkeeper.config import load as config_mod
from simkeeper.core.model import Ledger, Number
from simkeeper.core.numbertable import NumberTable
from simkeeper.core.periods import parse_cycle
from simkeeper.engine import upcoming as upcoming_mod
from simkeeper.engine.deadlines import Deadline, Failure, deadlines_between, isolated, local_today
from simkeeper.engine.upcoming import NOT_READ, find_upcoming, upcoming

MONTHLY = parse_cycle("monthly")
SOONEST = attrgetter("date", "number.name", "kind")  # the order ``upcoming`` promises


@cache
def numbers() -> tuple[Number, ...]:
    """The 48 numbers of every plan kind (each kind four times, in four zones)."""
    with tempfile.TemporaryDirectory() as folder:
        path = write_config(Path(folder) / "c.toml", mixed_config(48))
        return tuple(config_mod.load(path, env={}).numbers)


def one_by_one(
    chosen: list[Number], now: datetime, days: int, ledger: Ledger, failures: list[Failure]
) -> list[Deadline]:
    """Every number worked out on its own, sorted by a stable sort: what 0.7 did."""
    found = []
    for n in chosen:
        today = local_today(n, now)
        end = today + timedelta(days=days)
        found += isolated(n, failures, partial(deadlines_between, n, today, end, ledger))
    found.sort(key=SOONEST)
    return found


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[Number], Ledger, datetime, int]:
    pool = numbers()
    picked = draw(st.lists(st.integers(0, len(pool) - 1), min_size=0, max_size=60))
    names = draw(st.lists(st.sampled_from(["a", "b", "上海", None]), min_size=len(picked)))
    chosen = []
    for at, name in zip(picked, names + [None] * len(picked), strict=False):
        n = pool[at]
        if name:  # the same name for several numbers: ties in the order
            n = replace(n, name=name)
        if draw(st.booleans()):  # alike but another number: the ledger may know one of them
            n = replace(n, number=f"+447400{draw(st.integers(0, 9)):06d}")
        if draw(st.integers(0, 20)) == 0:  # broken: its deadline is past year 9999
            n = replace(n, rolling=True, cycle=MONTHLY, due=None, last_renewed=date(9999, 12, 9))
        chosen.append(n)
    keys = [n.number for n in chosen] or ["+447400000000"]
    key = st.sampled_from(keys)
    day = st.dates(date(2026, 6, 1), date(2027, 6, 1))
    amount = st.decimals(1, 30, places=2)
    ledger = Ledger(
        renewed_on=draw(st.dictionaries(key, day, max_size=4)),
        done=frozenset(draw(st.lists(st.tuples(key, day), max_size=6))),
        reminded=frozenset(draw(st.lists(st.tuples(key, day), max_size=10))),
        topups=draw(st.dictionaries(key, st.lists(st.tuples(day, amount)).map(tuple), max_size=3)),
        readings=draw(st.dictionaries(key, st.tuples(day, amount), max_size=3)),
    )
    now = datetime(2026, 11, 23, 8, tzinfo=UTC) + timedelta(hours=draw(st.integers(-900, 900)))
    return chosen, ledger, now, draw(st.integers(0, 400))


@settings(max_examples=150, deadline=None)
@given(case=cases())
def test_upcoming_lists_what_each_number_on_its_own_lists(case):
    chosen, ledger, now, days = case
    expected_failures: list[Failure] = []
    expected = one_by_one(chosen, now, days, ledger, expected_failures)
    for given_as in (chosen, NumberTable.of(chosen)):
        failures: list[Failure] = []
        assert upcoming(given_as, now, days, ledger, failures) == expected
        assert failures == expected_failures  # each broken number, in the numbers' order


def test_numbers_alike_are_worked_out_once(monkeypatch):
    """2,400 numbers of 48 plans: the engine runs once per plan, not once per number (0.7 ran
    it 2,400 times), and the deadlines hold no number until one is asked for."""
    pool = numbers()
    many = NumberTable.of(
        [replace(pool[i % 48], name=f"n {i}", number=f"+4474{i:08d}") for i in range(2400)]
    )
    calls = []
    real = upcoming_mod.deadlines_between

    def counted(n: Number, *args: object) -> list[Deadline]:
        calls.append(n.name)
        return real(n, *args)

    monkeypatch.setattr(upcoming_mod, "deadlines_between", counted)
    now = datetime(2026, 11, 23, 8, tzinfo=UTC)
    found = find_upcoming(many, now, 120)
    assert len(calls) == 48
    assert len(found) == 50 * len(found.templates)  # each deadline of a plan: 50 numbers
    monkeypatch.setattr(upcoming_mod, "deadlines_between", real)
    assert list(found) == one_by_one(list(many), now, 120, Ledger(), [])


def test_a_number_the_ledger_knows_is_worked_out_on_its_own():
    """A renewal recorded for one of two numbers alike moves only its deadline."""
    pool = numbers()
    rolling = next(n for n in pool if n.rolling and n.plan == "")
    twins = [replace(rolling, name="x", number="+447400000001"), replace(rolling, name="y")]
    now = datetime(2026, 11, 23, 8, tzinfo=UTC)
    ledger = Ledger(renewed_on={"+447400000001": date(2026, 11, 20)})
    found = {d.number.name: d.date for d in upcoming(twins, now, 400, ledger)}
    assert found["x"] == date(2026, 11, 20) + timedelta(days=180)
    assert found["y"] != found["x"]


def test_the_fields_left_out_of_groups_are_never_read_by_the_engine():
    """Every field in NOT_READ set to nonsense changes no deadline (a field the engine reads
    would make it fail or differ)."""
    nonsense = {
        "name": "?",
        "number": "+10000000000",
        "timezone_name": "Nowhere/Nothing",
        "carrier": "?",
        "note": "?",
        "notify": ("?",),
        "escalate": ("?",),
        "renew_url": "?",
        "plan": "?",
        "keepalive": object(),
        "balance_check": object(),
        "inbound": object(),
    }
    assert set(nonsense) == NOT_READ
    today, end = date(2026, 11, 23), date(2027, 11, 23)
    for n in numbers():
        mine = deadlines_between(n, today, end, Ledger())
        theirs = deadlines_between(replace(n, **nonsense), today, end, Ledger())
        assert [replace(d, number=n) for d in theirs] == mine, n.name
