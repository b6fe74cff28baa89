"""``simkeeper state migrate --to``: an SQLite state copied into PostgreSQL and back, every
table row for row; refused while a daemon runs (here, or noted on either side), and into a
database that already holds a state. A PostgreSQL state's password never shows."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from conftest import ok, sk, write_config
from pg import query

from simkeeper.state.backup import state_lock
from simkeeper.state.dialect import TABLES
from simkeeper.state.readings import NewReading
from simkeeper.state.store import open_store

pytest_plugins = ["receivers"]

NOW = "2026-12-10T09:30"
ON = datetime(2026, 12, 10, 9, 30, tzinfo=UTC)
EVIDENCE = (
    "balance_readings",
    "balance_checks",
    "inbound_texts",
    "inbound_tallies",
    "inbound_polls",
)

CONFIG = """
[settings]
timezone = "UTC"
remind_at = "09:00"
remind = ["7d", "3d"]
state = "{state}"

[[notify]]
name = "hook"
url = "{url}"

[[numbers]]
name = "travel"
number = "+44 7911 123456"
cycle = "monthly"
due = 2026-12-15

[[numbers]]
name = "spare"
number = "+44 7911 123457"
cycle = "monthly"
due = 2026-12-12
"""


def dump(location: str | Path) -> dict[str, list[tuple]]:
    """Every table's rows, in a stable order."""
    return {t: sorted(map(repr, query(location, f"SELECT * FROM {t}"))) for t in TABLES}


def add_evidence(location: str | Path, ref: str, at: datetime) -> None:
    """A balance reading (and its history row), a claimed check, a carrier text acted on,
    its tally and a poll: a row in every table of the two evidence features."""
    store = open_store(location)
    assert store
    try:
        store.record_reading(
            NewReading(
                "+447911123456", "travel", "modem", "*100#", "ok", at.date(), Decimal("7.25"), "GBP"
            ),
            at,
        )
        store.claim_balance_check("+447911123456", at, at + timedelta(hours=6), force=True)
        with store.transaction():
            row = store.keep_inbound("phone", ref, 1, "Carrier", "Top-up of 5", at, at)
            assert row is not None
            made = store.add_history(
                "+447911123456",
                "travel",
                "topup",
                at.date(),
                at,
                Decimal(5),
                "GBP",
                source="carrier-sms",
            )
            store.settle_inbound(row, "+447911123456", "travel", "matched-topup", made)
        store.note_poll("phone", at, None)
    finally:
        store.close()


def config_at(tmp_path: Path, name: str, state: str | Path, url: str) -> Path:
    return write_config(tmp_path / name, CONFIG.format(state=state, url=url))


def test_an_sqlite_state_goes_to_postgresql_and_back_row_for_row(
    tmp_path, env, pg_cluster, http_receiver
):
    db = tmp_path / "state.db"
    config = config_at(tmp_path, "sqlite.toml", db, http_receiver.json_url())
    ok(config, env, "send-due", "--now", NOW)  # reminders recorded and sent
    ok(config, env, "renewed", "spare", "--now", NOW)
    ok(config, env, "topup", "travel", "5", "--now", NOW)
    add_evidence(db, "ref-1", datetime(2026, 12, 10, 9, 31, tzinfo=UTC))
    before = dump(db)
    assert before["reminders"] and before["history"] and before["deliveries"]
    assert all(before[t] for t in EVIDENCE)

    url = pg_cluster.new_database()
    moved = ok(config, env, "state", "migrate", "--to", url, "--now", NOW)
    assert "copied the state" in moved and "reminders: 2" in moved
    assert "postgres@" not in moved  # the URL is shown without its user (nor a password)
    on_pg = dump(url)
    # The same rows, ids kept (a float may print differently: compare the passes by count).
    assert {t: rows for t, rows in on_pg.items() if t != "passes"} == {
        t: rows for t, rows in before.items() if t != "passes"
    }
    assert len(on_pg["passes"]) == len(before["passes"])

    # The PostgreSQL state works like the file: status, history, new rows after the copied ids.
    pg_config = config_at(tmp_path, "pg.toml", url, http_receiver.json_url())
    status = sk(pg_config, env, "status", "--now", NOW).stdout
    assert "state: postgresql://" in status and "postgres@" not in status
    assert "topup 5" in ok(pg_config, env, "history")
    # A dry run reads the PostgreSQL state (into a private copy) and writes nothing to it.
    assert "nothing" in ok(pg_config, env, "send-due", "--dry-run", "--now", NOW)
    ahead = ok(pg_config, env, "send-due", "--dry-run", "--now", "2026-12-12T09:30")
    assert "travel" in ahead and "hook" in ahead
    assert query(url, "SELECT COUNT(*) FROM reminders") == [(2,)]
    ok(pg_config, env, "renewed", "travel", "--now", NOW)
    ids = [r[0] for r in query(url, "SELECT id FROM history ORDER BY id")]
    assert ids == sorted(set(ids)) and len(ids) == 5
    # The evidence tables' ids go on past the copied ones too; a text copied is kept once.
    add_evidence(url, "ref-2", datetime(2026, 12, 10, 9, 40, tzinfo=UTC))
    for table in ("balance_readings", "inbound_texts", "history"):
        ids = [r[0] for r in query(url, f"SELECT id FROM {table} ORDER BY id")]
        assert ids == sorted(set(ids)) and len(ids) > len(before[table])
    store = open_store(url)
    assert store
    try:
        assert store.keep_inbound("phone", "ref-1", 1, "Carrier", "x", ON, ON) is None
    finally:
        store.close()

    back = tmp_path / "back.db"
    ok(pg_config, env, "state", "migrate", "--to", str(back), "--now", NOW)
    assert dump(back)["history"] == dump(url)["history"]
    assert dump(back)["reminders"] == before["reminders"]


def test_migrate_refuses_while_a_daemon_runs_or_into_a_state(tmp_path, env, pg_cluster):
    db = tmp_path / "state.db"
    config = config_at(tmp_path, "c.toml", db, "json://127.0.0.1:9/hook")
    ok(config, env, "renewed", "spare", "--now", NOW)
    url = pg_cluster.new_database()

    # A daemon of this host holds the state folder's lock for its life.
    with state_lock(db, exclusive=False):
        held = sk(config, env, "state", "migrate", "--to", url, "--now", NOW)
    assert held.returncode != 0 and "a simkeeper daemon runs on this host" in held.stderr

    # A daemon of another host noted a pass a minute ago.
    query(
        db,
        "INSERT INTO daemons (host, pid, started_at, last_pass) VALUES (?, ?, ?, ?)",
        ("standby", 77, "2026-12-10T08:00:00+00:00", "2026-12-10T09:29:00+00:00"),
    )
    elsewhere = sk(config, env, "state", "migrate", "--to", url, "--now", NOW)
    assert elsewhere.returncode != 0 and "standby (pid 77" in elsewhere.stderr
    assert query(url, "SELECT COUNT(*) FROM history") == [(0,)]  # nothing copied
    # Ten minutes on, it is not running any more.
    ok(config, env, "state", "migrate", "--to", url, "--now", "2026-12-10T09:40")
    again = sk(config, env, "state", "migrate", "--to", url, "--now", "2026-12-10T09:40")
    assert again.returncode != 0 and "already holds a state" in again.stderr
    assert socket.gethostname()  # (the daemons table names hosts as gethostname says)
