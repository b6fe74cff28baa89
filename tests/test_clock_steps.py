"""A real daemon under libfaketime (Debian's ``faketime``) whose wall clock is stepped back two
hours, then forward three, while it runs (issue 24, item 2). Its minute pass, and the
heartbeat that rides on it, keep their rhythm on the monotonic clock (libfaketime leaves that
one alone here), each step is logged once, and a pass runs at once after each step.

The offset is changed through ``FAKETIME_TIMESTAMP_FILE``, read afresh on every clock read
(``FAKETIME_NO_CACHE``). Passes are counted at the heartbeat receiver and in the database."""

from __future__ import annotations

import glob
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import run, write_config
from receivers import HTTPReceiver, wait_for
from test_daemon import Daemon, NotifySocket

from simkeeper.state.rows import parse_stamp

LIBS = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
RHYTHM_WAIT = 90  # the minute pass, with room for a loaded machine


@pytest.fixture
def libfaketime() -> str:
    if not LIBS:
        pytest.fail("libfaketime is needed (apt-get install faketime; .ci/run installs it)")
    return LIBS[0]


def passes(db: Path) -> list[datetime]:
    with sqlite3.connect(db) as conn:
        return [parse_stamp(r[0]) for r in conn.execute("SELECT ran_at FROM passes ORDER BY id")]


def test_a_stepped_clock_keeps_the_minute_pass_and_heartbeat_going_and_is_logged_once(
    tmp_path: Path, env: dict[str, str], libfaketime: str
) -> None:
    offset = tmp_path / "faketime.rc"
    offset.write_text("+0\n")
    notify = NotifySocket()
    with HTTPReceiver() as beat:
        config = write_config(
            tmp_path / "config.toml",
            f"""
[settings]
timezone = "UTC"
state = "{tmp_path / "state.db"}"
heartbeat = "http://127.0.0.1:{beat.port}/ping"
heartbeat_fail = ""

[[notify]]
name = "screen"
url = "console://"

[[numbers]]
name = "far"
number = "+44 7911 123456"
cycle = "yearly"
due = 2099-01-01
""",
        )
        faked = env | {
            "LD_PRELOAD": libfaketime,
            "FAKETIME_TIMESTAMP_FILE": str(offset),
            "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "NOTIFY_SOCKET": notify.path,
            "WATCHDOG_USEC": "2000000",  # the loop wakes every second to ping it
        }
        daemon = Daemon(config, faked, tmp_path)
        try:
            assert wait_for(lambda: len(beat.requests) >= 1, timeout=30), daemon.text()
            offset.write_text("-2h\n")
            # The step is noticed (a pass at once), then the minute's rhythm goes on: two
            # passes under the stepped-back clock. Before, none came for the two hours.
            assert wait_for(lambda: len(beat.requests) >= 3, timeout=RHYTHM_WAIT), daemon.text()
            after_back = len(beat.requests) - 1
            # Read under the same stepped clock, the daemon looks alive: its newest pass is
            # the one after the step, not the one stamped two hours ahead.
            status = run(["--config", str(config), "status"], faked, process=True)
            assert "is the daemon running" not in status.stdout, status.stdout
            assert "later than the clock" not in status.stdout, status.stdout
            offset.write_text("+1h\n")  # three hours forward from there
            assert wait_for(lambda: len(beat.requests) >= 4, timeout=30), daemon.text()
            after_forward = len(beat.requests) - 1 - after_back
        finally:
            code = daemon.stop()
            notify.close()
    assert code == 0, daemon.text()
    log = daemon.text()
    assert log.count("the clock stepped back by 2 h 0 min") == 1, log
    assert log.count("the clock stepped forward by 3 h 0 min") == 1, log
    assert log.count("the clock stepped") == 2, log  # one line per step, no more
    assert after_back >= 2 and after_forward >= 1, (after_back, after_forward)
    ran = passes(tmp_path / "state.db")
    first = ran[0]
    back = [t for t in ran if t < first - timedelta(hours=1)]
    forward = [t for t in ran if t > first + timedelta(minutes=30)]
    assert len(back) >= 2 and len(forward) >= 1, ran  # each pass read the wall clock afresh
    print(f"steps: -2 h, +3 h; passes after each: {len(back)}, {len(forward)}")
