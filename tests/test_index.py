"""The daemon's incremental passes (issue 14): the index of each number's next wake, the store's
change log and the per-number ledger give exactly what the full recomputation gives.

The property test drives both paths over one random sequence of passes, renewals, top-ups,
undos and config reloads on an injected clock, each on its own real SQLite store: the full path
is ``delivery.record_due`` (what ``send-due`` does: ``due_reminders`` over every number) and
``next_due_at`` from scratch; the incremental one is the daemon's ``DueWork``. After every pass
both outboxes hold the same rows and both name the same next reminder.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simkeeper import app
from simkeeper.core.errors import UsageError
from simkeeper.core.model import Config
from simkeeper.engine.reminders import Outlook, next_due_at
from simkeeper.send.delivery import ProblemSlot, record_due
from simkeeper.service.dueindex import DueIndex
from simkeeper.service.duework import DueWork
from simkeeper.service.loop import Service, file_digest
from simkeeper.state.store import Store, open_store

START = datetime(2026, 11, 20, 7, 30, tzinfo=UTC)
ZONES = ["UTC", "Asia/Tokyo", "America/New_York", "Pacific/Apia", "Europe/London"]
REMINDS = ['["7d", "1d"]', '["0d"]', '["14d", "3d", "1d", "0d"]', '["2d"]']

plans = st.one_of(
    st.builds(lambda d: f'cycle = "monthly"\ndue = 2026-12-{d:02d}', st.integers(1, 28)),
    st.builds(lambda d: f'cycle = "yearly"\ndue = 2027-01-{d:02d}', st.integers(1, 28)),
    st.builds(
        lambda n, d: f'cycle = "every {n} days"\nrolling = true\nlast_renewed = 2026-11-{d:02d}',
        st.integers(3, 40),
        st.integers(1, 28),
    ),
    st.builds(
        lambda d, b: (
            f'cycle = "monthly"\ndue = 2026-11-{d:02d}\ncost = 3\ncurrency = "GBP"\nbalance = {b}\n'
            "balance_date = 2026-11-01"
        ),
        st.integers(1, 28),
        st.integers(0, 10),
    ),
    st.builds(
        lambda d: (
            f'cycle = "every 10 days"\ndue = 2026-11-{d:02d}\n'
            'after_deadline = [{ after = "0d", state = "grace" }, { after = "9d", state = "lost" }]'
        ),
        st.integers(1, 28),
    ),
)
numbers = st.lists(
    st.tuples(plans, st.sampled_from(ZONES), st.sampled_from(REMINDS)), min_size=1, max_size=4
)
frames = st.tuples(
    st.sampled_from(["09:00", "00:00", "23:30"]),
    st.sampled_from(["1d", "2d", "3d"]),
    st.sampled_from(["0d", "5d", "30d"]),
    st.booleans(),
)
events = st.lists(
    st.one_of(
        *[st.tuples(st.just("tick"), st.sampled_from([1, 7, 60, 300, 720, 1440, 4000, 12000]))] * 4,
        st.tuples(st.just("renew"), st.integers(0, 3)),
        st.tuples(st.just("topup"), st.integers(0, 3)),
        st.tuples(st.just("undo"), st.integers(0, 3)),
        st.tuples(st.just("snooze"), st.integers(0, 3)),
        st.tuples(st.just("reload"), st.integers(0, 2)),
    ),
    min_size=1,
    max_size=40,
)


def config_text(state: Path, frame: tuple[str, str, str, bool], lines: list) -> str:
    remind_at, every, span, digest = frame
    parts = [
        f'[settings]\ntimezone = "Europe/London"\nremind_at = "{remind_at}"\n'
        f'overdue_every = "{every}"\noverdue_for = "{span}"\nstate = "{state}"\n'
        + ('digest = "mon 09:00"\n' if digest else "")
        + '\n[[notify]]\nname = "hook"\nurl = "json://127.0.0.1:9/"\n'
    ]
    for i, (plan, zone, remind) in enumerate(lines):
        parts.append(
            f'[[numbers]]\nname = "line {i}"\nnumber = "+44 7400 00000{i}"\n{plan}\n'
            f'timezone = "{zone}"\nremind = {remind}\n'
        )
    return "\n".join(parts)


def load(folder: Path, name: str, text: str) -> Config:
    path = folder / name
    path.write_text(text)
    return app.load(path, lambda line: None)


def outbox(store: Store) -> list[tuple]:
    rows = store.db.execute(
        "SELECT number, deadline, kind, offset, name, due_at, expires_at, payload, created_at"
        " FROM reminders ORDER BY id"
    ).fetchall()
    # Deliveries by their reminder's key, not its id: PostgreSQL's sequence moves on for an
    # insert that conflicts (a reminder already recorded), SQLite's rowid does not.
    sent = store.db.execute(
        "SELECT r.number, r.deadline, r.kind, r.offset, d.target, d.next_attempt_at,"
        " d.expires_at FROM deliveries d JOIN reminders r ON r.id = d.reminder_id ORDER BY d.id"
    ).fetchall()
    return [*rows, *sent]


def act(store: Store, config: Config, event: tuple[str, int], now: datetime) -> None:
    """A renewal, top-up or undo, as ``simkeeper renewed/topup/undo`` records it, or a "remind
    me tomorrow" on the deadline last reminded about, as the web face records it."""
    kind, i = event
    number = config.numbers[i % len(config.numbers)]
    today = now.date()
    if kind == "renew":
        with contextlib.suppress(UsageError):
            app.record_renewal(store, number, today, now, Decimal(3))
    elif kind == "topup":
        app.record_topup(store, number, today, now, Decimal(5))
    elif kind == "snooze":
        row = store.db.execute(
            "SELECT deadline FROM reminders WHERE number = ? AND kind IN ('renew', 'overdue')"
            " ORDER BY id DESC LIMIT 1",
            [number.number],
        ).fetchone()
        if row:
            until = app.snooze_until(config, number, now)
            store.snooze(number.number, date.fromisoformat(row[0]), until, now)
    else:
        store.remove_last_entry(number.number)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(numbers, frames, frames, events, st.integers(0, 3))
def test_the_incremental_passes_record_what_the_full_pass_records(
    lines: list, frame: tuple, other_frame: tuple, steps: list, changed: int
) -> None:
    incremental_against_full(lines, frame, other_frame, steps, changed)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(numbers, frames, frames, events, st.integers(0, 3))
def test_the_incremental_passes_on_postgresql_record_what_the_full_pass_on_sqlite_records(
    pg_cluster, lines: list, frame: tuple, other_frame: tuple, steps: list, changed: int
) -> None:
    """The same property with the daemon's store in PostgreSQL: both engines, one outbox,
    row for row (ids, stamps and payloads included)."""
    incremental_against_full(lines, frame, other_frame, steps, changed, pg_cluster.new_database())


def incremental_against_full(
    lines: list,
    frame: tuple,
    other_frame: tuple,
    steps: list,
    changed: int,
    index_url: str | None = None,
) -> None:
    """Drive the full path and the daemon's path over one sequence; compare after each pass."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        full_db, index_db = folder / "full.db", folder / "index.db"
        variants = [
            config_text(full_db, frame, lines),
            # one number's plan moved or dropped
            config_text(full_db, frame, [*lines[:changed], *lines[changed + 1 :]] or lines),
            config_text(full_db, other_frame, lines),  # other settings
        ]
        configs = [load(folder, f"c{i}.toml", text) for i, text in enumerate(variants)]
        config = configs[0]
        full = open_store(full_db)
        index = open_store(index_url or index_db)
        assert full and index
        work = DueWork()
        work.use(config)
        now = START
        try:
            for step in [("tick", 0), *steps]:
                kind, arg = step
                if kind == "tick":
                    now += timedelta(minutes=arg)
                    record_due(config, full, now, [])
                    work.record(config, index, now, [])
                    assert outbox(index) == outbox(full)
                    ahead = next_due_at(config.numbers, config.settings, now, full.ledger(), [])
                    mine = work.next_reminder()
                    assert ahead == ((mine.due_at, mine) if mine else None)
                elif kind == "reload":
                    config = configs[arg]
                    work.use(config, unchanged_file=arg == 0 and config is configs[0])
                else:
                    act(full, config, step, now)
                    act(index, config, step, now)
        finally:
            full.close()
            index.close()


def test_a_reload_of_the_same_file_looks_at_no_number_again(tmp_path: Path) -> None:
    text = config_text(
        tmp_path / "s.db",
        ("09:00", "1d", "5d", False),
        [('cycle = "monthly"\ndue = 2026-12-05', "UTC", '["1d"]')],
    )
    config = load(tmp_path, "a.toml", text)
    again = load(tmp_path, "b.toml", text)
    store = open_store(tmp_path / "s.db")
    assert store
    work = DueWork()
    work.record(config, store, START, [])
    work.use(again, unchanged_file=True)
    assert work.pending == set()
    work.use(load(tmp_path, "c.toml", text.replace("due = 2026-12-05", "due = 2026-12-06")))
    assert work.pending == {0}  # the number's place in the config
    store.close()


def test_the_change_log_names_the_numbers_a_renewal_top_up_undo_or_reminder_touched(
    tmp_path: Path,
) -> None:
    store = open_store(tmp_path / "s.db")
    assert store
    seq = store.last_change()
    assert store.changed_since(seq) == (seq, set())
    store.add_history("+1", "one", "renewal", date(2026, 11, 1), START)
    store.add_history("+2", "two", "topup", date(2026, 11, 1), START, Decimal(5))
    seq2, changed = store.changed_since(seq)
    assert changed == {"+1", "+2"} and seq2 > seq
    store.remove_last_entry("+1")
    assert store.changed_since(seq2)[1] == {"+1"}
    assert store.ledger_for(["+2"]).topups == {"+2": ((date(2026, 11, 1), Decimal(5)),)}
    assert store.ledger_for(["+1"]) == store.ledger_for([])
    seq3 = store.last_change()
    problem = ProblemSlot("+3", START, START + timedelta(days=1))
    store.record([(problem, {"name": "three"}, [])], START)  # a broken number's alert
    assert store.changed_since(seq3) == (seq3, set())  # moves no ledger: not logged
    reminded = Slot(("+3", "2026-12-01", "renew", 1), START, START + timedelta(days=1))
    store.record([(reminded, {"name": "three"}, ["hook"])], START)
    assert store.changed_since(seq3)[1] == {"+3"}  # the deadline now counts as reminded
    assert store.ledger_for(["+3"]).reminded == {("+3", date(2026, 12, 1))}
    last = store.last_change()
    assert store.prune_changes(START + timedelta(days=30), last) == 4
    assert store.changed_since(0) == (0, set())
    store.close()


@dataclass(frozen=True)
class Slot:
    key: tuple[str, str, str, int]
    due_at: datetime
    expires_at: datetime


def test_the_index_drops_stale_entries_and_orders_ties_by_config_position() -> None:
    index = DueIndex()
    at = START + timedelta(hours=1)
    assert index.next_wake() is None and index.next_reminder(()) is None
    index.put(1, Outlook((), None, at))
    index.put(0, Outlook((), None, at + timedelta(hours=1)))
    index.wake_at(0, START)
    assert index.next_wake() == START
    assert index.pop_due(START) == [0]
    index.drop(1)
    assert index.next_wake() is None and len(index) == 0


def test_the_daemon_rewrites_its_calendar_when_another_process_records_a_renewal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The calendar feed is left alone on idle ticks and follows the change log: a renewal
    recorded by ``simkeeper renewed`` (another store connection) moves it on the next tick."""
    feed = tmp_path / "feed.ics"
    text = config_text(
        tmp_path / "s.db",
        ("09:00", "1d", "5d", False),
        [('cycle = "monthly"\ndue = 2026-12-10', "UTC", '["1d"]')],
    ).replace("[settings]\n", f'[settings]\ncalendar = "{feed}"\ncalendar_days = 60\n')
    path = tmp_path / "c.toml"
    path.write_text(text)
    monkeypatch.setenv("CACHE_DIRECTORY", str(tmp_path / "cache"))  # the daemon's config cache
    at = [START]
    service = Service(path, clock=lambda: at[0])
    service.config_digest = file_digest(service.config_path)
    service.config = service.load()
    service.store = open_store(app.state_path(service.config))
    try:
        service.send_pass()
        assert b"20261210" in feed.read_bytes()
        written = feed.stat().st_mtime_ns
        at[0] += timedelta(minutes=1)
        service.send_pass()  # idle: nothing changed, the same day
        assert feed.stat().st_mtime_ns == written
        other = open_store(app.state_path(service.config))
        assert other
        app.record_renewal(other, service.config.numbers[0], START.date(), START, None)
        other.close()
        at[0] += timedelta(minutes=1)
        service.send_pass()
        assert b"20261210" not in feed.read_bytes() and b"20270110" in feed.read_bytes()
        config, ledger = service.config, service.store.ledger()
        assert service.next_reminder == next_due_at(config.numbers, config.settings, at[0], ledger)
    finally:
        service.store.close()


def test_a_snooze_from_another_process_holds_the_daemons_next_reminder(tmp_path: Path) -> None:
    """ "Remind me tomorrow" pressed before today's reminder time holds today's reminder: the
    daemon's index learns it from the change log and sends nothing until tomorrow's."""
    text = config_text(
        tmp_path / "s.db",
        ("09:00", "1d", "0d", False),
        [('cycle = "monthly"\ndue = 2026-12-10', "UTC", '["3d", "2d", "1d"]')],
    )
    config = load(tmp_path, "c.toml", text)
    store, web = open_store(tmp_path / "s.db"), open_store(tmp_path / "s.db")
    assert store and web
    work = DueWork()
    work.use(config)
    at = datetime(2026, 12, 7, 9, 1, tzinfo=UTC)
    assert work.record(config, store, at, []) == 1  # the "3 days left" reminder
    number = config.numbers[0]
    pressed = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)
    until = app.snooze_until(config, number, pressed)
    assert until == datetime(2026, 12, 9, 9, 0, tzinfo=UTC)
    assert web.snooze(number.number, date(2026, 12, 10), until, pressed)
    assert work.record(config, store, datetime(2026, 12, 8, 9, 1, tzinfo=UTC), []) == 0
    assert record_due(config, store, datetime(2026, 12, 8, 9, 1, tzinfo=UTC), []) == 0
    assert work.record(config, store, until + timedelta(minutes=1), []) == 1
    offsets = [row[3] for row in outbox(store) if len(row) == 9]  # reminders, not deliveries
    assert offsets == [3, 1]
    store.close()
    web.close()


def test_the_daemon_holds_a_digest_of_its_config_file_not_its_text(tmp_path: Path) -> None:
    """What tells a reload from the same bytes is 32 bytes, not the file (1.3 MB at 10k
    numbers, issue 14); an unreadable file has none, so its reload looks at every number."""
    path = tmp_path / "c.toml"
    path.write_text(config_text(tmp_path / "s.db", ("09:00", "1d", "5d", False), []))
    service = Service(path)
    assert file_digest(service.config_path) == hashlib.sha256(path.read_bytes()).digest()
    path.unlink()
    assert file_digest(service.config_path) is None
