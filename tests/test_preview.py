"""Previewing never uses up a real reminder: ``send-due --dry-run`` shows exactly what a pass
would send at any instant and records nothing; and a pass recorded later than the clock (run
with a later ``--now``) never makes ``status``, ``/healthz`` or the calendar feed claim a
running daemon. Real commands as processes, a real receiver, a real web process on the real
clock (the "future" pass is in year 8999, later than any clock this suite runs on)."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from conftest import SIMKEEPER, snapshot, write_config
from receivers import free_port
from webface import request, web_config, web_process

from simkeeper.send.links import page_token

pytest_plugins = ["receivers"]

NOW = "2026-12-12T09:00"  # Berlin: the 3-day reminder of the 15th falls now
FUTURE = "8999-06-12T09:00"


def make_config(tmp_path: Path, hook: str, port: int | None = None) -> Path:
    text = f"""
[settings]
timezone = "Europe/Berlin"
remind = ["3d"]
state = "{tmp_path / "state" / "state.db"}"
calendar = "{tmp_path / "feed.ics"}"

[[notify]]
name = "hook"
url = "{hook}"

[[numbers]]
name = "UK backup"
number = "+44 7911 123456"
cycle = "monthly"
due = 2026-12-15
"""
    return write_config(tmp_path / "config.toml", text + (web_config(port) if port else ""))


def simkeeper(config: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SIMKEEPER, "--config", str(config), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_dry_run_records_nothing_not_even_the_state_folder(tmp_path, env, http_receiver):
    config = make_config(tmp_path, http_receiver.json_url())
    shown = simkeeper(config, env, "send-due", "--dry-run", "--now", NOW)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        "would send to hook:",
        "  simkeeper reminder: UK backup",
        "  UK backup (+44 79** ***456): renew by 2026-12-15 (Tue), 3 days left.",
        "(dry run: nothing was sent or recorded)",
    ]
    assert "sent " not in shown.stderr  # no log line claims a send
    assert http_receiver.requests == []
    assert not (tmp_path / "state").exists() and not (tmp_path / "feed.ics").exists()


def test_a_dry_run_shows_exactly_what_the_pass_then_sends(tmp_path, env, http_receiver):
    config = make_config(tmp_path, http_receiver.json_url())
    assert simkeeper(config, env, "send-due", "--now", "2026-12-01T09:00").returncode == 0
    db = tmp_path / "state" / "state.db"
    before, feed = snapshot(db), (tmp_path / "feed.ics").read_bytes()
    for _ in range(2):  # previewing twice changes nothing either
        shown = simkeeper(config, env, "send-due", "--dry-run", "--now", NOW)
        assert shown.returncode == 0, shown.stderr
    assert snapshot(db)[1:] == before[1:]  # no outbox row, no pass record
    assert (tmp_path / "feed.ics").read_bytes() == feed
    assert http_receiver.requests == []
    lines = shown.stdout.splitlines()
    assert lines[0] == "would send to hook:"
    sent = simkeeper(config, env, "send-due", "--now", NOW)
    assert sent.stdout.strip() == "sent: hook"
    [got] = http_receiver.requests
    assert lines[1] == "  " + got.title
    assert lines[2:-1] == ["  " + line if line else "" for line in got.message.splitlines()]
    again = simkeeper(config, env, "send-due", "--dry-run", "--now", "2026-12-12T09:05")
    assert again.stdout.splitlines() == [
        "nothing would be sent",
        "(dry run: nothing was sent or recorded)",
    ]


def test_a_pass_later_than_the_clock_is_no_heartbeat(tmp_path, env, http_receiver):
    port = free_port()
    config = make_config(tmp_path, http_receiver.json_url(), port)
    assert simkeeper(config, env, "send-due", "--now", FUTURE).returncode == 0
    status = simkeeper(config, env, "status")
    line = next(x for x in status.stdout.splitlines() if x.startswith("last pass: "))
    assert line.startswith("last pass: 8999-06-12T09:00+02:00 by send-due, ok")
    assert line.endswith("(later than the clock, so run with --now: no sign of a running daemon)")
    data = json.loads(simkeeper(config, env, "status", "--format", "json").stdout)
    assert data["last_pass"]["later_than_clock"] is True
    with web_process(config, env, port):  # the real clock
        health = request(port, "/healthz")
        assert health.status == 503, health.text
        assert "later than the clock" in health.text
        key = bytes.fromhex((tmp_path / "state" / "web.key").read_text().strip())
        feed = request(port, "/calendar.ics?token=" + page_token(key, "calendar"))
        assert feed.status == 200
        modified = parsedate_to_datetime(feed.headers["last-modified"])
        assert modified <= parsedate_to_datetime(feed.headers["date"])
        assert modified <= datetime.now(UTC)
    # A pass on the real clock afterwards is the heartbeat again.
    assert simkeeper(config, env, "send-due").returncode == 0
    assert "later than the clock" not in simkeeper(config, env, "status").stdout
