"""The daemon loop on an injected clock (issue 13): when it wakes and what it sends, without
waiting for the wall clock.

``Service(clock=...)`` reads the time only through its clock; here the clock is a counter the
test moves, and each sleep the loop asks for moves it on at once (the real-process daemon, its
signals and sd_notify are tested in test_daemon.py). The config, SQLite store, Apprise and the
HTTP receiver are the real ones.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import write_config
from receivers import HTTPReceiver

from simkeeper.service.loop import Service

START = datetime(2026, 12, 1, 8, 50, tzinfo=UTC)
DUE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class SimulatedTime:
    """A clock that stands still until the loop sleeps; a sleep moves it on by that long and
    stops the service once ``until`` is reached."""

    def __init__(self, start: datetime, until: datetime) -> None:
        self.at = start
        self.until = until
        self.sleeps: list[tuple[datetime, float]] = []
        self.service: Service | None = None
        self.receiver: HTTPReceiver | None = None
        self.received: list[int] = []  # requests the receiver had at each sleep

    def now(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        assert self.service is not None
        self.sleeps.append((self.at, seconds))
        self.received.append(len(self.receiver.requests) if self.receiver else 0)
        self.at += timedelta(seconds=seconds)
        if self.at >= self.until or len(self.sleeps) > 10_000:
            self.service.stopping = True


@pytest.fixture
def process_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Service.run installs signal handlers and a wake-up fd for the whole process: put the
    test process's own back afterwards; no systemd socket; the config cache in tmp_path."""
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    monkeypatch.setenv("CACHE_DIRECTORY", str(tmp_path / "cache"))
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        yield
    finally:
        signal.set_wakeup_fd(-1)
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def run_service(config: Path, clock: SimulatedTime) -> int:
    service = Service(config, clock=clock.now)
    clock.service = service
    service.sleep = clock.sleep  # type: ignore[method-assign]
    return service.run()


def config_for(tmp_path: Path, receiver: HTTPReceiver) -> Path:
    return write_config(
        tmp_path / "config.toml",
        f"""
        [settings]
        timezone = "UTC"
        remind_at = "09:00"
        state = "{tmp_path / "state.db"}"

        [[notify]]
        name = "hook"
        url = "{receiver.json_url()}"

        [[numbers]]
        name = "giffgaff"
        number = "+447911123456"
        due = {DUE.date().isoformat()}
        remind = ["0d"]
        """,
    )


def test_the_loop_sleeps_until_the_reminder_and_sends_it_once(tmp_path, process_state):
    clock = SimulatedTime(START, until=DUE + timedelta(hours=2))
    with HTTPReceiver() as http:
        assert run_service(config_for(tmp_path, http), clock) == 0
        assert len(http.requests) == 1
        assert "giffgaff" in http.requests[0].json()["message"]
    # It woke exactly at the due time (never a minute late), and never slept past it.
    assert any(at + timedelta(seconds=s) == DUE for at, s in clock.sleeps)
    assert all(s <= 60 for _, s in clock.sleeps)


def test_a_reminder_already_due_at_start_goes_out_in_the_first_pass(tmp_path, process_state):
    clock = SimulatedTime(DUE + timedelta(minutes=5), until=DUE + timedelta(minutes=30))
    with HTTPReceiver() as http:
        clock.receiver = http
        assert run_service(config_for(tmp_path, http), clock) == 0
        assert len(http.requests) == 1
    # Sent before the loop's first sleep (the start-up pass), and only once.
    assert clock.received and set(clock.received) == {1}


def test_the_daemon_keeps_its_validated_config_in_the_cache_folder(tmp_path, process_state):
    """``simkeeper run`` loads through the validated-config cache ($CACHE_DIRECTORY, which the
    unit's CacheDirectory= sets): a restart on an unchanged file takes the numbers from there,
    and sends exactly what a start without the cache sends."""
    cache = tmp_path / "cache"
    clock = SimulatedTime(DUE + timedelta(minutes=5), until=DUE + timedelta(minutes=30))
    with HTTPReceiver() as http:
        config = config_for(tmp_path, http)
        assert run_service(config, clock) == 0
        assert [p.name.startswith("config-") for p in cache.iterdir()] == [True]
        entry = next(cache.iterdir())
        written = entry.stat().st_mtime_ns
        (tmp_path / "state.db").unlink()  # start afresh: the reminder is due again
        clock = SimulatedTime(DUE + timedelta(minutes=5), until=DUE + timedelta(minutes=30))
        assert run_service(config, clock) == 0
        assert entry.stat().st_mtime_ns == written, "a hit: the entry was read, not rewritten"
        assert len(http.requests) == 2
        assert http.requests[0].json() == http.requests[1].json()


def test_a_cache_folder_that_cannot_be_written_is_skipped(tmp_path, process_state, monkeypatch):
    clock = SimulatedTime(DUE + timedelta(minutes=5), until=DUE + timedelta(minutes=30))
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("CACHE_DIRECTORY", str(blocker / "cache"))
    with HTTPReceiver() as http:
        assert run_service(config_for(tmp_path, http), clock) == 0
        assert len(http.requests) == 1
