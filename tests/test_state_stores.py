"""Both state stores (SQLite, PostgreSQL) keep one set of promises to several processes
sharing them (issue 25): planning is idempotent, a claim has a lease that another process
takes over only once it runs out, a late settle by the one that lost it changes nothing.

Each test runs on both stores (the ``store_url`` fixture), each store opened twice as two
daemons would open it.
"""

from __future__ import annotations

import select
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from simkeeper.state.outbox import STALE_CLAIM, process_token
from simkeeper.state.store import Store, open_store

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ELSEWHERE = "db-standby:4242:1"  # a token of a process on another host: never asked if alive


@dataclass(frozen=True)
class Slot:
    key: tuple[str, str, str, int]
    due_at: datetime
    expires_at: datetime


def items(count: int, targets: list[str]) -> list:
    return [
        (
            Slot((f"+1{i:04d}", "2026-12-05", "renew", 4), NOW, NOW + timedelta(days=4)),
            {"name": f"n{i}"},
            targets,
        )
        for i in range(count)
    ]


@pytest.fixture
def two(store_url: str):
    a, b = open_store(store_url), open_store(store_url)
    assert a and b
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def test_planning_the_same_reminders_on_two_daemons_records_them_once(two) -> None:
    a, b = two
    assert a.record(items(30, ["t1", "t2"]), NOW) == 30
    assert b.record(items(30, ["t1", "t2"]), NOW) == 0  # the other daemon's pass: nothing new
    assert a.counts() == {"pending": 60}


def in_threads(store_url: str, work, names=("a", "b")) -> None:
    """``work(name, store)`` in a thread per name, each on a store of its own (an SQLite
    connection stays in its thread), started together."""
    start = threading.Barrier(len(names))

    def run(name: str) -> None:
        store = open_store(store_url)
        assert store
        try:
            start.wait(timeout=10)
            work(name, store)
        finally:
            store.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)


def test_planning_at_once_on_two_daemons_records_each_reminder_once(two, store_url) -> None:
    a, _ = two
    made: list[int] = []
    in_threads(store_url, lambda name, store: made.append(store.record(items(200, ["t1"]), NOW)))
    assert sorted(made) == [0, 200]
    assert a.counts() == {"pending": 200}


def test_a_claim_is_taken_over_only_once_its_lease_ran_out(two) -> None:
    a, b = two
    a.record(items(3, ["t1"]), NOW)
    assert len(a.claim("t1", NOW, ELSEWHERE)) == 3
    assert b.claim("t1", NOW + timedelta(minutes=1), process_token()) == []
    # Another host's process cannot be asked whether it lives: only its lease says.
    assert b.release_stale(NOW + STALE_CLAIM - timedelta(seconds=1)) == 0
    later = NOW + STALE_CLAIM + timedelta(seconds=1)
    taken = b.claim("t1", later, process_token())
    assert len(taken) == 3
    # The first claimant comes back late: its settle no longer holds the claim.
    a.settle(taken, ELSEWHERE, later, None)
    assert a.counts() == {"sending": 3}
    b.settle(taken, process_token(), later, None)
    assert a.counts() == {"sent": 3}


def test_a_dead_process_of_this_host_is_released_at_once(two) -> None:
    a, b = two
    a.record(items(2, ["t1"]), NOW)
    import socket

    dead = f"{socket.gethostname()}:999999:1"  # no such pid
    assert len(a.claim("t1", NOW, dead)) == 2
    assert b.release_stale(NOW) == 2
    assert len(b.claim("t1", NOW, process_token())) == 2


def test_two_daemons_claiming_at_once_never_share_a_delivery(two, store_url) -> None:
    a, _ = two
    targets = [f"t{k}" for k in range(8)]
    a.record(items(40, targets), NOW)
    got: dict[str, list[int]] = {"a": [], "b": []}

    def claim(name: str, store: Store) -> None:
        for target in targets:
            got[name] += [c.id for c in store.claim(target, NOW, f"{name}-host:1:1")]

    in_threads(store_url, claim)
    assert not set(got["a"]) & set(got["b"])
    assert len(got["a"]) + len(got["b"]) == 40 * 8


def test_a_change_from_another_process_is_heard_on_postgresql(pg_cluster) -> None:
    url = pg_cluster.new_database()
    with open_store(url) as daemon, open_store(url) as web:
        listener = daemon.change_listener()
        assert listener is not None
        try:
            assert not listener.heard()
            web.snooze("+10001", NOW.date(), NOW + timedelta(days=1), NOW)
            ready, _, _ = select.select([listener], [], [], 30)  # bounded: it comes at commit
            assert ready and listener.heard()
            assert not listener.heard()  # read once
        finally:
            listener.close()


def test_sqlite_has_no_listener_the_change_log_is_polled(tmp_path) -> None:
    with open_store(tmp_path / "s.db") as store:
        assert store.change_listener() is None
