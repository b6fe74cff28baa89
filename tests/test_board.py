"""The status board (simkeeper.board): each number's next deadline found without expanding ten
years of them, the same as the full expansion says; most urgent first; pages and search; the
numbers it focuses the status report on hold every due reminder; and it follows the change
log of a real state database (simkeeper.app.refresh_board)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from conftest import ok, write_config
from hypothesis import given, settings
from hypothesis import strategies as st

from simkeeper import app
from simkeeper.core.model import Ledger, Number, Settings, Stage
from simkeeper.core.periods import parse_cycle
from simkeeper.engine.reminders import due_reminders
from simkeeper.engine.upcoming import upcoming
from simkeeper.present.board import Board, next_deadline, row_for

UTC_ZONE = ZoneInfo("UTC")
SETTINGS = Settings(timezone=UTC_ZONE, timezone_name="UTC", remind_at=time(9, 0))
NOW = datetime(2026, 12, 12, 9, 0, tzinfo=UTC)


def number(i: int = 0, **kw) -> Number:
    base = dict(
        name=f"line {i}",
        number=f"+4479111{i:05d}",
        timezone=UTC_ZONE,
        timezone_name="UTC",
        remind=(7, 1),
        cycle=parse_cycle("monthly"),
        due=date(2026, 12, 15),
    )
    base.update(kw)
    return Number(**base)


cycles = st.sampled_from(["weekly", "monthly", "yearly", "every 180 days", "every 2 years"])


@settings(max_examples=150, deadline=None)
@given(
    cycle=cycles,
    due=st.dates(min_value=date(2020, 1, 1), max_value=date(2034, 12, 31)),
    rolling=st.booleans(),
    reminded=st.booleans(),
)
def test_the_next_deadline_is_the_first_of_the_full_expansion(cycle, due, rolling, reminded):
    kw = {"rolling": True, "last_renewed": due} if rolling else {"due": due}
    n = number(cycle=parse_cycle(cycle), **kw)
    ledger = Ledger(reminded=frozenset({(n.number, due)})) if reminded else Ledger()
    full = upcoming([n], NOW, 3660, ledger)
    found = next_deadline(n, NOW, ledger)
    assert found == (min(full, key=lambda d: (d.date, d.kind)) if full else None)


def test_most_urgent_first_then_pages_and_search():
    numbers = [number(i, due=date(2026, 12, 1) + timedelta(days=(i * 7) % 28)) for i in range(120)]
    numbers.append(number(500, name="overdue one", due=date(2026, 12, 10)))
    board = Board(numbers)
    reminded = frozenset({("+447911100500", date(2026, 12, 10))})
    ledger = Ledger(reminded=reminded)
    board.rebuild(ledger, NOW, 0)
    first = board.page()
    assert len(first.positions) == 50 and first.total == 121 and first.start == 0
    rows = board.rows(first, NOW, ledger)
    assert rows[0].number.name == "overdue one" and rows[0].deadline.overdue
    needs = [r.needs_action for r in rows]
    assert needs == sorted(needs, reverse=True) and first.needing == sum(needs) > 0
    keys = [(not r.needs_action, r.deadline.date, r.position) for r in rows]
    assert keys == sorted(keys)  # then by date, then in config order
    last = board.page(start=100)
    assert len(last.positions) == 21 and last.positions[-1] == board.ordered()[-1]
    assert board.page(start=10**6).start == 100  # past the end: the last page
    found = board.page("LINE 11")
    names = {numbers[i].name for i in found.positions}
    assert names == {"line 11", *(f"line {i}" for i in range(110, 120))}
    assert found.total == 11
    assert board.overdue() == 1


def test_the_focus_holds_every_due_reminder():
    """The status report is built on the focus only: every reminder due at any hour of a
    month is for a number in it."""
    numbers = [
        number(i, due=date(2026, 12, 1) + timedelta(days=i % 40), remind=(7, 3, 1))
        for i in range(80)
    ]
    numbers += [
        number(
            200,
            cycle=parse_cycle("every 30 days"),
            rolling=True,
            due=None,
            last_renewed=date(2026, 11, 15),
        ),
        number(201, after_deadline=(Stage(0, "grace"), Stage(20, "lost")), due=date(2026, 12, 2)),
    ]
    ledger = Ledger(reminded=frozenset({(numbers[-1].number, date(2026, 12, 2))}))
    for hours in range(0, 24 * 30, 7):
        now = NOW + timedelta(hours=hours)
        board = Board(numbers)
        board.rebuild(ledger, now, 0)
        focus = {n.number for n in board.focus()}
        due = due_reminders(numbers, SETTINGS, now, ledger)
        assert {r.number.number for r in due} <= focus, now
        assert len(focus) < len(numbers)


def test_a_number_with_no_deadline_ahead_has_a_quiet_row_last():
    past = number(1, cycle=None, due=date(2026, 1, 1))  # a one-off date long gone
    row = row_for(past, 1, NOW, Ledger())
    assert row.deadline is None and not row.needs_action and not row.broken
    board = Board([past, number(2)])
    board.rebuild(Ledger(), NOW, 0)
    assert board.ordered() == [1, 0] and board.deadline_of(past.number) is None


def test_the_board_follows_the_change_log(tmp_path: Path, env):
    """Renewals recorded by the real command move the number's row on the next refresh;
    a new day rebuilds every row."""
    config_path = write_config(
        tmp_path / "config.toml",
        f"""
[settings]
timezone = "Europe/Berlin"
remind = ["3d"]
state = "{tmp_path / "state.db"}"

[[notify]]
name = "mail"
url = "json://127.0.0.1:9/x"

[[numbers]]
name = "UK backup"
number = "+44 7911 123456"
cycle = "monthly"
due = 2026-12-15

[[numbers]]
name = "Travel"
number = "+44 7911 123457"
cycle = "monthly"
due = 2026-12-20
""",
    )
    config = app.load(config_path, lambda w: None, for_sending=False)
    board = Board(config.numbers)
    app.refresh_board(config, board, NOW)
    assert board.deadline_of("+447911123456") == date(2026, 12, 15)
    assert board.ordered() == [0, 1]
    ok(config_path, env, "renewed", "UK backup", "--now", "2026-12-12T10:00")
    app.refresh_board(config, board, NOW)
    assert board.deadline_of("+447911123456") == date(2027, 1, 15)
    assert board.ordered() == [1, 0]
    seq = board.seq
    app.refresh_board(config, board, NOW + timedelta(days=1))  # a new day: rebuilt
    assert board.days != () and board.seq == seq
    assert board.deadline_of("+447911123457") == date(2026, 12, 20)


def test_the_web_face_asks_glibc_for_one_malloc_arena():
    """Debian's glibc takes M_ARENA_MAX (the web face's threads then share one heap)."""
    from simkeeper.host.malloc import one_arena

    assert one_arena() is True
