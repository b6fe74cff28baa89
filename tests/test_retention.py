"""A database that stays small (issue 14): settled outbox entries are folded into a compact
form and dropped after ``settings.retention``, once a day, inside a pass; what later passes
depend on (which deadlines were reminded, which slots were sent) survives; renewals and top-ups
are never removed; the file shrinks.

Passes run in this process at given ``now``s (time is a parameter), on real SQLite files, sending
through Apprise to a json receiver on 127.0.0.1.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import ok, query, sk, unmeasured, write_config

from simkeeper import app
from simkeeper.core.model import Config
from simkeeper.core.redact import Redactor
from simkeeper.send.delivery import PassSteps, deliver, record_due, run_pass
from simkeeper.state.retention import compact_if_due
from simkeeper.state.rows import Compaction, Entry, SentReminder, stamp
from simkeeper.state.store import Store, open_store
from simkeeper.state.upkeep import FOLD_AFTER

pytest_plugins = ["receivers"]

START = date(2026, 12, 1)


def numbers(count: int, due: date = START) -> str:
    """``count`` monthly numbers never renewed: each deadline goes overdue, alerted daily."""
    return "".join(
        f'\n[[numbers]]\nname = "line {i:02d}"\nnumber = "+44 7400 {i:06d}"\n'
        f'cycle = "monthly"\ndue = {(due + timedelta(days=i % 28)).isoformat()}\n'
        for i in range(count)
    )


def make_config(
    tmp_path: Path, url: str, body: str, retention: str = "30d", state: str | None = None
) -> Config:
    text = f"""
[settings]
timezone = "UTC"
remind_at = "09:00"
remind = ["14d", "3d", "1d"]
overdue_every = "1d"
overdue_for = "30d"
retention = "{retention}"
send_timeout = 5
state = "{state or tmp_path / "state.db"}"

[[notify]]
name = "hook"
url = "{url}"
"""
    path = write_config(tmp_path / "config.toml", text + body)
    return app.load(path, lambda _w: None)


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def passes(config: Config, store: Store, first: date, days: int) -> list[int]:
    """A pass a day at 09:00 from ``first``; how many reminders each recorded."""
    redact = Redactor(config.secrets)
    return [
        run_pass(config, store, at(first + timedelta(days=k)), redact).recorded for k in range(days)
    ]


def uncompacted(config: Config, store: Store, first: date, days: int) -> None:
    """Passes as before compaction existed: record and deliver, a day at a time."""
    redact = Redactor(config.secrets)
    for k in range(days):
        now = at(first + timedelta(days=k))
        record_due(config, store, now)
        deliver(config, store, now, redact)


def rows(store: Store) -> dict[str, int]:
    tables = ("reminders", "deliveries", "settled", "reminded", "passes", "history", "changes")
    return {t: store.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}


def sent_keys(store: Store) -> set[tuple[str, str, str, int]]:
    live = store.db.execute(
        "SELECT r.number, r.deadline, r.kind, r.offset FROM reminders r"
        " JOIN deliveries d ON d.reminder_id = r.id WHERE d.state = 'sent'"
    ).fetchall()
    folded = store.db.execute(
        "SELECT number, deadline, kind, offset FROM settled WHERE sent = 1"
    ).fetchall()
    return set(live) | set(folded)


def test_the_database_stays_bounded_over_many_passes(tmp_path, store_url, http_receiver):
    config = make_config(tmp_path, http_receiver.json_url(), numbers(6), state=store_url)
    with open_store(store_url) as store:
        recorded = passes(config, store, START, 100)
        after_100 = rows(store)
        recorded += passes(config, store, START + timedelta(days=100), 100)
        after_200 = rows(store)
        assert store.counts() == {"sent": sum(recorded)}  # every delivery ever, counted
    assert sum(recorded) > 6 * 200  # more than one reminder a number a day
    # Every day brings new reminders (overdue alerts), yet nothing grows with the days run:
    # the outbox holds only the last few days, the compact rows only the retention window.
    for counts in (after_100, after_200):
        assert counts["reminders"] <= 6 * 8 and counts["deliveries"] <= 6 * 8
        assert counts["settled"] <= 6 * 40
        assert counts["reminded"] <= 6 * 3
        assert counts["changes"] <= 6 * 4  # the daemon's change log, trimmed with send-due too
    assert after_200["settled"] <= after_100["settled"] + 6
    assert after_200["reminders"] <= after_100["reminders"] + 6


def test_folded_slots_are_never_recorded_again_and_overdue_alerts_go_on(
    tmp_path, store_url, http_receiver
):
    config = make_config(
        tmp_path, http_receiver.json_url(), numbers(1, date(2026, 12, 20)), state=store_url
    )
    with open_store(store_url) as store:
        passes(config, store, START, 40)  # 3 renew reminders, then daily overdue alerts
        before = sent_keys(store)
        assert store.db.execute("SELECT COUNT(*) FROM settled").fetchone()[0] > 15
        # The renew reminders are folded away, yet the deadline still counts as reminded about.
        assert store.db.execute("SELECT * FROM reminded").fetchall() == [
            ("+447400000000", "2026-12-20")
        ]
        ledger = store.ledger()
        assert ("+447400000000", date(2026, 12, 20)) in ledger.reminded
        # The daemon's per-number ledger and its "already recorded?" see the compact form too.
        assert ("+447400000000", date(2026, 12, 20)) in store.ledger_for(["+447400000000"]).reminded
        folded = tuple(
            store.db.execute("SELECT number, deadline, kind, offset FROM settled").fetchone()
        )
        assert store.recorded([folded]) == {folded}
        # A pass again at any instant since the retention window (Dec 10 09:00) records nothing
        # already sent...
        redact = Redactor(config.secrets)
        for k in range(10, 40):
            for hour in (9, 15, 23):
                now = at(START + timedelta(days=k), hour)
                assert run_pass(config, store, now, redact).recorded == 0
        assert sent_keys(store) == before
        # ...and a pass after the window keeps alerting the still-overdue Jan 20 deadline.
        assert passes(config, store, START + timedelta(days=40), 5) == [1] * 5
        overdue = store.db.execute(
            "SELECT deadline, offset FROM reminders WHERE kind = 'overdue' ORDER BY due_at DESC"
        ).fetchone()
        assert overdue == ("2026-12-20", -25)  # on Jan 14


def test_a_pass_after_pruning_sends_nothing_already_sent(tmp_path, store_url, http_receiver):
    config = make_config(tmp_path, http_receiver.json_url(), numbers(3), state=store_url)
    with open_store(store_url) as store:
        passes(config, store, START, 60)
        sent = len(http_receiver.requests)
        dropped = store.db.execute("SELECT COUNT(*) FROM settled").fetchone()[0]
        assert dropped and store.db.execute("SELECT SUM(count) FROM tallies").fetchone()[0]
        # The same instants again: every slot of them is settled, compacted or dropped.
        redact = Redactor(config.secrets)
        for k in range(30, 60):
            report = run_pass(config, store, at(START + timedelta(days=k), 10), redact)
            assert report.recorded == 0 and not report.sent
        assert len(http_receiver.requests) == sent


def test_history_and_status_count_what_was_compacted(tmp_path, store_url, env, http_receiver):
    config = make_config(
        tmp_path, http_receiver.json_url(), numbers(2), retention="10d", state=store_url
    )
    with open_store(store_url) as store:
        store.add_history("+447400000001", "line 01", "topup", START, at(START), Decimal(5))
        recorded = sum(passes(config, store, START, 50))
        assert store.counts() == {"sent": recorded}
        events = store.history()
        # Sent reminders whose slot ended within the retention window (a 14-day reminder's slot
        # lasts 15 days) only; the top-up is never removed.
        sent_at = sorted(e.sent_at for e in events if isinstance(e, SentReminder))
        assert sent_at[0] >= stamp(at(START + timedelta(days=49)) - timedelta(days=10 + 15))
        assert len(sent_at) >= 2 * 10
        assert [e.kind for e in events if isinstance(e, Entry)] == ["topup"]
    listing = ok(config.path, env, "history", "--limit", "500")
    assert listing.count("line 00") >= 10 and "topup 5" in listing
    status = sk(config.path, env, "status", "--now", "2027-01-20T10:00").stdout  # 1: overdue
    assert f"sent {recorded}" in status


def test_compaction_runs_at_most_once_a_day(tmp_path, store_url, http_receiver):
    config = make_config(tmp_path, http_receiver.json_url(), numbers(2), state=store_url)
    with open_store(store_url) as store:
        passes(config, store, START, 20)
        ran = store.last_compaction()
        assert ran == at(START + timedelta(days=19))
        assert compact_if_due(config, store, ran + timedelta(hours=23)) is None
        assert store.last_compaction() == ran
        assert compact_if_due(config, store, ran + timedelta(days=1)) is not None


def test_compaction_is_one_transaction(tmp_path, http_receiver):
    config = make_config(tmp_path, http_receiver.json_url(), numbers(4))
    with open_store(tmp_path / "state.db") as store:
        uncompacted(config, store, START, 40)
        assert store.db.execute("SELECT COUNT(*) FROM settled").fetchone()[0] == 0
        before = {t: list(store.db.execute(f"SELECT * FROM {t} ORDER BY 1")) for t in TABLES}
        # The last step of a compaction fails: everything before it is rolled back.
        store.db.execute(
            "CREATE TEMP TRIGGER boom BEFORE INSERT ON compactions BEGIN"
            " SELECT RAISE(ABORT, 'killed mid-compaction'); END"
        )
        with pytest.raises(sqlite3.IntegrityError, match="killed mid-compaction"):
            store.compact(at(START + timedelta(days=40)), timedelta(days=30), START)
        after = {t: list(store.db.execute(f"SELECT * FROM {t} ORDER BY 1")) for t in TABLES}
        assert after == before
        store.db.execute("DROP TRIGGER boom")
        done = store.compact(at(START + timedelta(days=40)), timedelta(days=30), START)
        assert done.folded > 50 and done.dropped > 5
        assert store.db.execute("SELECT COUNT(*) FROM settled").fetchone()[0] > 50


def test_a_failed_compaction_does_not_fail_the_pass(tmp_path, http_receiver, caplog):
    config = make_config(tmp_path, http_receiver.json_url(), numbers(1, date(2026, 12, 20)))
    with open_store(tmp_path / "state.db") as store:
        store.db.execute(
            "CREATE TEMP TRIGGER boom BEFORE INSERT ON compactions BEGIN"
            " SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
        report = run_pass(config, store, at(START + timedelta(days=5)), Redactor(config.secrets))
        assert report.sent == ["hook"] and store.last_pass().outcome == "ok"
        assert store.last_compaction() is None
        assert "not compacted (database or disk is full)" in caplog.text
        store.db.execute("DROP TRIGGER boom")
        run_pass(config, store, at(START + timedelta(days=5), 10), Redactor(config.secrets))
        assert store.last_compaction() == at(START + timedelta(days=5), 10)


TABLES = ("reminders", "deliveries", "settled", "reminded", "tallies", "history", "compactions")


def test_the_file_shrinks(tmp_path, http_receiver):
    config = make_config(tmp_path, http_receiver.json_url(), numbers(20))
    db = tmp_path / "state.db"
    with open_store(db) as store:
        assert store.db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
        uncompacted(config, store, START, 60)
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        grown = db.stat().st_size
        done = store.compact(at(START + timedelta(days=200)), timedelta(days=30), START)
        assert done.folded > 500 and done.dropped > 500
        assert store.shrink()
        assert db.stat().st_size < grown / 3


def test_an_older_database_switches_to_incremental_vacuum_once(tmp_path, http_receiver):
    db = tmp_path / "state.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE filler (x TEXT)")  # a file made before: auto_vacuum stays off
    conn.close()
    config = make_config(tmp_path, http_receiver.json_url(), numbers(2))
    with open_store(db) as store:
        assert store.db.execute("PRAGMA auto_vacuum").fetchone()[0] == 0
        passes(config, store, START, 3)  # the first pass compacts, and switches the mode
        assert store.db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2


def test_settled_slots_are_folded_only_when_no_pass_can_make_them_due(
    tmp_path, store_url, http_receiver
):
    config = make_config(
        tmp_path, http_receiver.json_url(), numbers(1, date(2026, 12, 20)), state=store_url
    )
    with open_store(store_url) as store:
        passes(config, store, START, 17)  # the 14d reminder (Dec 6) is sent, then the 3d one
        store.compact(at(date(2026, 12, 21)), timedelta(days=30), START)
        # The 14d and 3d slots expire at the end of Dec 20, the deadline day: still live.
        assert store.db.execute("SELECT COUNT(*) FROM settled").fetchone()[0] == 0
        store.compact(at(date(2026, 12, 21)) + FOLD_AFTER, timedelta(days=30), START)
        # The 14d one is folded; the newest row (the 3d one) stays, so its id is never reused.
        assert store.db.execute("SELECT offset FROM settled").fetchall() == [(14,)]


@dataclass(frozen=True)
class Slot:
    """An outbox slot made up for filling a database fast."""

    key: tuple[str, str, str, int]
    due_at: datetime
    expires_at: datetime


COMPACT_CHILD = """
import sys
from datetime import date, datetime, timedelta
from simkeeper.state.store import open_store
store = open_store(sys.argv[1])
print("ready", flush=True)
store.compact(datetime.fromisoformat(sys.argv[2]), timedelta(days=3650), date(2000, 1, 1))
store.shrink()
store.close()
"""


def everything(db: Path) -> tuple[set[tuple], set[tuple], str]:
    """Every outbox key (live or folded), every sent delivery, and the integrity check."""
    with open_store(db) as store:
        keys = set(store.db.execute("SELECT number, deadline, kind, offset FROM reminders"))
        keys |= set(store.db.execute("SELECT number, deadline, kind, offset FROM settled"))
        sent = {
            (e.number, e.deadline, e.kind, e.offset, e.target, e.sent_at)
            for e in store.history(limit=10**6)
            if isinstance(e, SentReminder)
        }
        check = store.db.execute("PRAGMA integrity_check").fetchone()[0]
    return keys, sent, check


def test_sigkill_mid_compaction_loses_nothing(tmp_path, env):
    rng = random.Random(SEED)
    pristine = tmp_path / "pristine.db"
    conn = sqlite3.connect(pristine)
    conn.execute("CREATE TABLE filler (x TEXT)")  # made before 0.3: compaction VACUUMs it too
    conn.close()
    now = at(START)
    with open_store(pristine) as store:
        items = [
            (Slot((f"+4474{i:08d}", "2026-10-01", "overdue", -k), now, now), {"name": "x"}, ["a"])
            for i in range(400)
            for k in range(1, 31)
        ]
        store.record(items, now - timedelta(days=60))
        store.db.execute("UPDATE deliveries SET state = 'sent', sent_at = '2026-10-02T09:00:00'")
    expected = everything(pristine)
    assert len(expected[0]) == 12000 and expected[2] == "ok"
    folded_all = 12000 - 1  # the newest row stays (its id is never handed out again)
    db = tmp_path / "state.db"
    outcomes = Counter()
    for _ in range(KILL_ROUNDS):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        shutil.copy(pristine, db)
        child = subprocess.Popen(
            [sys.executable, "-c", COMPACT_CHILD, str(db), (now + timedelta(days=30)).isoformat()],
            env=unmeasured(env),  # a SIGKILLed process never writes its coverage data
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout and child.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0, 0.4))
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)
            child.communicate(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
                child.communicate()
        assert everything(db) == expected
        folded = query(db, "SELECT COUNT(*) FROM settled")[0][0]
        assert folded in (0, folded_all)  # all or nothing
        outcomes[(child.returncode, folded)] += 1
    # Kills landed before, during and after the compaction.
    assert any(code == -signal.SIGKILL for code, _ in outcomes), outcomes


SEED = 20261125
KILL_ROUNDS = 8


def test_a_daemon_asked_to_stop_leaves_compaction_to_the_next_pass(
    tmp_path, store_url, http_receiver
):
    config = make_config(tmp_path, http_receiver.json_url(), numbers(2), state=store_url)
    with open_store(store_url) as store:
        redact = Redactor(config.secrets)
        run_pass(config, store, at(START), redact, stop=lambda: True)
        assert store.last_compaction() is None
        run_pass(config, store, at(START), redact)
        assert store.last_compaction() == at(START)


def test_folded_rows_keep_ids_no_new_row_gets(tmp_path, store_url, http_receiver):
    config = make_config(tmp_path, http_receiver.json_url(), numbers(3), state=store_url)
    with open_store(store_url) as store:
        passes(config, store, START, 45)
        folded = [r[0] for r in store.db.execute("SELECT id FROM settled")]
        live = [r[0] for r in store.db.execute("SELECT id FROM deliveries")]
        assert folded and live and max(folded) < min(live)
        ids = [e.id for e in store.history(limit=10**6) if isinstance(e, SentReminder)]
        assert len(ids) == len(set(ids)) == len(folded) + len(live)


def test_the_daemons_index_passes_agree_with_full_passes_across_compactions(
    tmp_path, http_receiver
):
    """Two stores, one run by full passes (``send-due``), one by the daemon's index: the same
    reminders recorded every day for 70 days, compactions and the retention window included."""
    from simkeeper.service.duework import DueWork

    config = make_config(tmp_path, http_receiver.json_url(), numbers(4, date(2026, 12, 10)))
    redact = Redactor(config.secrets)
    work = DueWork()
    work.use(config)
    with open_store(tmp_path / "full.db") as full, open_store(tmp_path / "index.db") as index:
        for k in range(70):
            for hour in (9, 21):
                now = at(START + timedelta(days=k), hour)
                a = run_pass(config, full, now, redact).recorded
                b = run_pass(config, index, now, redact, PassSteps(record=work.record)).recorded
                assert a == b, (now, a, b)
        assert sent_keys(full) == sent_keys(index)
        assert full.db.execute("SELECT COUNT(*) FROM settled").fetchone()[0] > 0


def test_the_daily_compaction_reads_settled_and_reminded_by_index(tmp_path, http_receiver):
    """Compaction counts and drops the folded rows past retention and the reminded deadlines
    past the overdue window by index (m012): a scan of tables that grow for the whole
    retention period made a pass on day 120 1.6 times slower than one on day 1 (issue 23)."""
    config = make_config(tmp_path, http_receiver.json_url(), numbers(4))
    with open_store(tmp_path / "state.db") as store:
        uncompacted(config, store, START, 40)
        store.compact(at(START + timedelta(days=40)), timedelta(days=30), START)
        assert store.db.execute("SELECT COUNT(*) FROM settled").fetchone()[0] > 0
        seen: list[str] = []
        store.db.conn.set_trace_callback(seen.append)
        try:
            store.compact(at(START + timedelta(days=80)), timedelta(days=30), START)
        finally:
            store.db.conn.set_trace_callback(None)
        touching = [
            s for s in seen if " WHERE " in s and ("FROM settled" in s or "FROM reminded" in s)
        ]
        assert len(touching) >= 3  # the count, and both deletes
        for statement in touching:
            plan = [r[-1] for r in store.db.execute(f"EXPLAIN QUERY PLAN {statement}")]
            assert not any(p.startswith(("SCAN settled", "SCAN reminded")) for p in plan), (
                statement,
                plan,
            )


def test_a_pass_settles_more_deliveries_than_sqlite_takes_variables(tmp_path, http_receiver):
    """A first pass on a million numbers settles ~369,000 deliveries sent in one message:
    one UPDATE with an id each went past SQLite's limit on variables, and the daemon's pass
    failed every minute, never marking them sent (issue 23's 1M bench). Here the limit is
    lowered to SQLite's smallest default (999) and a pass delivers over 1,000 reminders."""
    config = make_config(tmp_path, http_receiver.json_url(), numbers(2400))
    with open_store(tmp_path / "state.db") as store:
        store.db.conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
        report = run_pass(config, store, at(START - timedelta(days=1)), Redactor(config.secrets))
        assert report.recorded > 1000
        states = dict(store.db.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY 1"))
        assert states == {"sent": report.recorded}


def _day_of_compaction(store: Store, numbers: int) -> tuple[int, Compaction]:
    """The write-ahead log frames (pages written) of a day's compaction in a steady year:
    ``settled`` holds 40 deadlines of ``numbers`` numbers with an overdue alert a day for 10
    days after each, expired from day 14 to day 39. On day 59 (retention 45 days) it folds
    the alerts expiring on day 40 and drops those that expired on day 14. Each is a diagonal
    slice: the alert ``k`` days after each of 10 deadlines, one row a number."""
    conn = store.db.conn
    names = [f"+4474000{i:05d}" for i in range(numbers)]

    def day(d: int) -> str:
        return (START + timedelta(days=d)).isoformat()

    held = [(d, k) for d in range(40) for k in range(1, 11) if 14 <= d + k <= 39]
    with store.transaction():
        conn.executemany(
            "INSERT INTO settled (number, deadline, kind, offset, target, id, name, at,"
            " until, sent) VALUES (?, ?, 'overdue', ?, 'hook', 0, 'x', 't', ?, 1)",
            [(n, day(d), -k, day(d + k)) for d, k in held for n in names],
        )
        conn.executemany(
            "INSERT INTO reminders (number, deadline, kind, offset, name, due_at,"
            " expires_at, payload, created_at) VALUES (?, ?, 'overdue', ?, 'x', ?, ?, '{}', ?)",
            [(n, day(40 - k), -k, day(39), day(40), day(39)) for k in range(1, 11) for n in names],
        )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    done = store.compact(at(START + timedelta(days=59)), timedelta(days=45), START)
    return conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1], done


def test_a_days_fold_and_drop_write_the_pages_they_change_not_the_whole_table(tmp_path):
    """A day's compaction folds the reminders that expired that day and drops the folded rows
    that expired retention ago: each a diagonal slice, one (deadline, kind, offset) after
    another. Keyed by number within a deadline (m006, and m013 as first written), each row of
    a slice went to another page, so the pages a day's compaction wrote grew with the numbers
    times the alerts a deadline has: the day-120 pass, which also drops, took 1.2-1.4 times
    the day-33 pass at 10,000 numbers (issue 23). Keyed (deadline, kind, offset, number), a
    slice is a few runs of pages."""
    with open_store(tmp_path / "state.db") as store:
        frames, done = _day_of_compaction(store, 400)
    assert (done.folded, done.dropped) == (3999, 4000)  # the newest reminder's row stays
    assert frames < 500, frames  # keyed by number within a deadline: 909; now 385


def test_a_pass_reads_only_the_deadlines_that_can_still_be_at_risk(tmp_path, http_receiver):
    """After 80 days, the ledger a pass works from holds the deadlines reminded about and
    marked done from its risk window on (the longest overdue span, 30 days, and two), not every
    one since the first day: that grew with the history (issue 23, the day-120 pass). What the
    pass records is what a pass on the whole ledger records (the daemon's index, which reads
    the whole ledger at its start, agrees with it: see the test above)."""
    config = make_config(tmp_path, http_receiver.json_url(), numbers(6), retention="365d")
    with open_store(tmp_path / "state.db") as store:
        passes(config, store, START, 80)
        read: list[object] = []
        real = store.ledger

        def kept(since=None):
            read.append(real(since))
            return read[-1]

        whole = real()
        store.ledger = kept  # type: ignore[method-assign]
        now = at(START + timedelta(days=80))
        record_due(config, store, now)
    (ledger,) = read
    first = now.date() - timedelta(days=32)
    assert min(day for _, day in whole.reminded) < first  # there is older history
    assert ledger.reminded == {(n, d) for n, d in whole.reminded if d >= first}
    assert ledger.done == {(n, d) for n, d in whole.done if d >= first}
