"""A cold load validates a ``[[numbers]]`` table key by key once per distinct table but for its
name and number (issue 23: the schema walk of every table was a third of a cold load).

A table like one validated before, without a problem, is the same number under another name:
only its name and number are read. Whatever the tables (alike, a problem in some, a bad name
or number, names and numbers listed twice, values that compare equal but are not the same:
``1`` and ``true``), the load gives what validating every table whole gives: the same numbers,
or the same problems with the same lines.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from conftest import write_config
from hypothesis import given, settings
from hypothesis import strategies as st

from simkeeper.config import load as config_mod
from simkeeper.config import numbers as numbers_mod
from simkeeper.core.errors import ConfigError

HEAD = '[settings]\ntimezone = "Europe/London"\n[[notify]]\nname = "c"\nurl = "console://"\n'
PLANS = (
    'cycle = "monthly"\ndue = 2026-12-15\n',
    'cycle = "monthly"\ndue = 2026-12-15\ncost = 3\ncurrency = "GBP"\n',
    'cycle = "monthly"\ndue = 2026-12-15\ncost = 3.0\ncurrency = "GBP"\n',  # shown as 3.0
    'cycle = "monthly"\ndue = 2026-12-15\ncost = true\ncurrency = "GBP"\n',  # a problem
    'rolling = true\ncycle = "every 180 days"\nlast_renewed = 2026-06-01\n',
    'plan = "giffgaff"\nlast_renewed = 2026-06-01\n',
    'cycle = "30 days"\ndue = 2026-12-15\n',  # a problem
    'cycle = "yearly"\ndue = 2027-03-01\nafter_deadline = [{ after = "0d", state = "grace" }]\n',
)
NAMES = ('"n{i}"', '"n{i}"', '"n{i}"', '"dup"', '""', "7")  # a name twice, empty, not a string
NUMBERS = ('"+44 7911 {n}"', '"+44 7911 {n}"', '"+44 7911 123000"', '"12"', "447911")


def text(tables: list[tuple[int, int, int]]) -> str:
    parts = [HEAD]
    for i, (plan, name, number) in enumerate(tables):
        parts.append(
            f"[[numbers]]\nname = {NAMES[name].format(i=i)}\n"
            f"number = {NUMBERS[number].format(n=123001 + i)}\n{PLANS[plan]}"
        )
    return "".join(parts)


def outcome(path: Path) -> object:
    """The numbers as shown (``repr``: ``Decimal("3.0")`` equals ``Decimal("3")``, but is
    not shown alike), or the problems' lines."""
    try:
        config = config_mod.load(path, env={"HOME": str(path.parent)})
    except ConfigError as e:
        return e.lines()
    return repr(list(config.numbers)), config.warnings


TABLES = st.lists(
    st.tuples(
        st.sampled_from((0, 0, 0, 1, 1, 2, 2, 3, 4, 4, 5, 6, 7)),
        st.integers(0, len(NAMES) - 1),
        st.integers(0, len(NUMBERS) - 1),
    ),
    max_size=14,
)


@settings(max_examples=80, deadline=None)
@given(tables=TABLES)
def test_tables_alike_load_as_each_validated_whole(tables):
    with tempfile.TemporaryDirectory() as folder:
        path = write_config(Path(folder) / "c.toml", text(tables))
        alike = outcome(path)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(numbers_mod._Alike, "find", lambda self, entry: None)
            whole = outcome(path)
    assert alike == whole


def test_a_table_alike_is_not_walked_again(tmp_path, monkeypatch):
    """300 numbers of 3 plans: 3 schema walks (0.7 walked 300)."""
    walks = []
    real = numbers_mod.NumberChecks.number

    def counted(self, e, p, *args):
        walks.append(p)
        return real(self, e, p, *args)

    monkeypatch.setattr(numbers_mod.NumberChecks, "number", counted)
    path = write_config(tmp_path / "c.toml", text([(i % 3, 0, 0) for i in range(300)]))
    config = config_mod.load(path, env={"HOME": str(tmp_path)})
    assert walks == ["numbers[1]", "numbers[2]", "numbers[3]"]
    assert [n.name for n in config.numbers] == [f"n{i}" for i in range(300)]
    assert config.numbers[299].number == "+447911123300"
    assert config.numbers[299].cycle == config.numbers[2].cycle


def test_nothing_alike_stops_looking(tmp_path):
    """Every table its own: after the first tables the load stops looking for a twin."""
    alike = numbers_mod._Alike()
    for i in range(alike.TRIAL + 10):
        entry = {"name": f"n{i}", "number": "+44 7911 123456", "due": i}
        assert alike.find(entry) is None
        alike.learn(entry, object())  # type: ignore[arg-type]
    assert alike.looked == alike.TRIAL
    assert len(alike.seen) == alike.TRIAL - 1 and not alike.searching
