"""A dead or stuck daemon is visible: every pass is recorded, ``status`` shows the last one and
the reminders due but not sent and exits 1 when something needs attention, times are shown in
the configured zone with their offset, and ``settings.heartbeat`` is fetched after each pass
(its failure form after a failed one). Real SQLite files, real receivers on 127.0.0.1, the
daemon as a real subprocess. ``--now`` is local time in Europe/Berlin (UTC+1 in December)."""

from __future__ import annotations

import json
import signal
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import SIMKEEPER, assert_one_line_error, ok, query, sk, write_config
from receivers import HTTPReceiver, wait_for

from simkeeper.config import load as config_mod
from simkeeper.core.redact import Redactor
from simkeeper.send.delivery import run_pass
from simkeeper.state.store import open_store

pytest_plugins = ["receivers"]

# The 3-day reminder falls at 2026-12-12 09:00 Berlin (08:00 UTC).
NUMBER = """
[[numbers]]
name = "UK backup"
number = "+44 7911 123456"
cycle = "monthly"
due = 2026-12-15
"""
SECRET = "f3b2c1d0-5e6f-4a7b-8c9d-0e1f2a3b4c5d"


def make_config(tmp_path: Path, targets: dict[str, str], extra: str = "") -> Path:
    notify = "".join(f'\n[[notify]]\nname = "{n}"\nurl = "{u}"\n' for n, u in targets.items())
    text = f"""
[settings]
timezone = "Europe/Berlin"
remind = ["3d"]
send_timeout = 3
state = "{tmp_path / "state.db"}"
{extra}
{notify}
{NUMBER}
"""
    return write_config(tmp_path / "config.toml", text)


def status(path: Path, env: dict[str, str], now: str) -> tuple[int, str, dict]:
    text = sk(path, env, "status", "--now", now)
    data = sk(path, env, "status", "--now", now, "--format", "json")
    assert text.returncode == data.returncode, (text.stderr, data.stderr)
    assert "Traceback" not in text.stderr + data.stderr
    return text.returncode, text.stdout, json.loads(data.stdout)


def test_a_reminder_due_while_nothing_ran_makes_status_exit_1(tmp_path, env, http_receiver):
    path = make_config(tmp_path, {"hook": http_receiver.json_url()})
    # Before it is due: all well.
    code, text, data = status(path, env, "2026-12-12T08:59")
    assert code == 0 and data["attention"] == [] and data["due_unsent"] == []
    assert "last pass: none recorded" in text
    # Due 5 minutes ago and no pass ran: listed, but within the grace of 10 minutes.
    code, text, data = status(path, env, "2026-12-12T09:05")
    assert code == 0
    assert "due, not sent:" in text and "UK backup: renew reminder for 2026-12-15" in text
    assert "due 2026-12-12T09:00+01:00" in text
    [due] = data["due_unsent"]
    assert (due["name"], due["deadline"], due["due_at"]) == (
        "UK backup",
        "2026-12-15",
        "2026-12-12T09:00:00+01:00",
    )
    # 11 minutes: the daemon is down or stuck, and status says so with exit 1.
    code, text, data = status(path, env, "2026-12-12T09:11")
    assert code == 1
    assert "needs attention:" in text
    assert data["attention"] == [
        "UK backup: renew reminder for 2026-12-15 due and not sent (no pass has run since it fell"
        " due)"
    ]
    # A pass sends it: nothing needs attention, and the pass is shown in local time.
    assert ok(path, env, "send-due", "--now", "2026-12-12T09:20").strip() == "sent: hook"
    code, text, data = status(path, env, "2026-12-12T09:30")
    assert code == 0, text
    assert data["due_unsent"] == [] and data["attention"] == []
    assert "last pass: 2026-12-12T09:20+01:00 by send-due, ok, sent to 1 target(s)" in text
    assert data["last_pass"]["ran_at"] == "2026-12-12T09:20:00+01:00"
    assert data["last_pass"]["outcome"] == "ok"
    # Times of targets and history are local with their offset too, never UTC.
    [row] = [line for line in text.splitlines() if line.startswith("hook")]
    assert "2026-12-12T09:20+01:00" in row
    assert "+00:00" not in text
    history = ok(path, env, "history")
    assert "2026-12-12T09:20+01:00" in history and "+00:00" not in history
    [sent] = json.loads(ok(path, env, "history", "--format", "json"))
    assert sent["when"] == "2026-12-12T09:20:00+01:00"


def test_a_failing_target_and_an_overdue_number_need_attention(tmp_path, env, make_http_receiver):
    bad = make_http_receiver(status=500)
    path = make_config(tmp_path, {"bad": bad.json_url()})
    result = sk(path, env, "send-due", "--now", "2026-12-12T09:00")
    assert result.returncode == 1
    code, text, data = status(path, env, "2026-12-12T09:01")
    assert code == 1
    assert "target bad is failing" in data["attention"]
    assert data["last_pass"]["outcome"] == "failed" and data["last_pass"]["failed"] == 1
    assert "last pass: 2026-12-12T09:00+01:00 by send-due, failed" in text
    assert [t["failing"] for t in data["targets"]] == [True]
    # It recovers: the retry goes out, the target is no longer failing.
    bad.status = 200
    assert ok(path, env, "send-due", "--now", "2026-12-12T09:02").strip() == "sent: bad"
    code, _, data = status(path, env, "2026-12-12T09:03")
    assert code == 0 and data["attention"] == []
    # The deadline passes unrenewed: the number is overdue, status exits 1 until renewed.
    code, _, data = status(path, env, "2026-12-16T08:00")
    assert code == 1
    assert data["attention"] == ["UK backup: OVERDUE, deadline 2026-12-15"]
    ok(path, env, "renewed", "UK backup", "--now", "2026-12-16T08:00")
    code, _, data = status(path, env, "2026-12-16T08:00")
    assert code == 0 and data["attention"] == []


def test_every_pass_is_recorded_with_how_it_ended(tmp_path, env, make_http_receiver):
    hook = make_http_receiver(status=500)
    path = make_config(tmp_path, {"hook": hook.json_url()})
    ok(path, env, "send-due", "--now", "2026-12-01T10:00")
    assert sk(path, env, "send-due", "--now", "2026-12-12T09:00").returncode == 1
    hook.status = 200
    ok(path, env, "send-due", "--now", "2026-12-12T09:05")
    rows = query(tmp_path / "state.db", "SELECT source, ran_at, outcome, sent, failed FROM passes")
    assert rows == [
        ("send-due", "2026-12-01T09:00:00+00:00", "ok", 0, 0),
        ("send-due", "2026-12-12T08:00:00+00:00", "failed", 0, 1),
        ("send-due", "2026-12-12T08:05:00+00:00", "ok", 1, 0),
    ]


# -- the heartbeat ------------------------------------------------------------------------------


def heartbeat_config(tmp_path: Path, target: str, ping: HTTPReceiver, extra: str = "") -> Path:
    url = f"http://127.0.0.1:{ping.port}/ping/{SECRET}"
    return make_config(tmp_path, {"hook": target}, f'heartbeat = "{url}"\n{extra}')


def test_heartbeat_after_each_pass_and_the_fail_form_after_a_failed_one(
    tmp_path, env, make_http_receiver
):
    target = make_http_receiver()
    ping = make_http_receiver()
    path = heartbeat_config(tmp_path, target.json_url(), ping)
    assert ok(path, env, "send-due", "--now", "2026-12-01T10:00").strip() == "nothing to send"
    assert [(r.method, r.path) for r in ping.requests] == [("GET", f"/ping/{SECRET}")]
    target.status = 500
    result = sk(path, env, "send-due", "--now", "2026-12-12T09:00")
    assert result.returncode == 1
    assert [r.path for r in ping.requests][1:] == [f"/ping/{SECRET}/fail"]
    # The failure form is configurable: a full URL (Uptime Kuma's status=down, say).
    down = f"http://127.0.0.1:{ping.port}/api/push/{SECRET}?status=down"
    path = heartbeat_config(tmp_path, target.json_url(), ping, f'heartbeat_fail = "{down}"')
    assert sk(path, env, "send-due", "--now", "2026-12-12T09:02").returncode == 1
    assert ping.requests[-1].path == f"/api/push/{SECRET}?status=down"


def test_a_heartbeat_that_is_not_an_http_url_is_a_config_error(tmp_path, env, http_receiver):
    path = make_config(tmp_path, {"hook": http_receiver.json_url()}, 'heartbeat = "hc-ping.com/x"')
    line = path.read_text().splitlines().index('heartbeat = "hc-ping.com/x"') + 1
    assert_one_line_error(
        sk(path, env, "check"), f"{path}:{line}: settings.heartbeat:", "http:// or https:// URL"
    )


def test_a_failing_heartbeat_is_one_warning_without_the_secret(tmp_path, env, make_http_receiver):
    target = make_http_receiver()
    ping = make_http_receiver(status=500)
    path = heartbeat_config(tmp_path, target.json_url(), ping)
    for args in (["send-due"], ["-v", "send-due"]):
        result = sk(path, env, *args, "--now", "2026-12-12T09:00")
        assert result.returncode == 0, result.stderr
        assert "heartbeat to http://127.0.0.1" in result.stderr and "HTTP 500" in result.stderr
        assert SECRET[:8] not in result.stderr + result.stdout
    dump = "\n".join(map(str, query(tmp_path / "state.db", "SELECT * FROM passes")))
    assert SECRET[:8] not in dump


def test_a_hanging_heartbeat_never_delays_a_reminder(tmp_path, env, make_http_receiver):
    target = make_http_receiver()
    ping = make_http_receiver(hang=12)
    path = heartbeat_config(tmp_path, target.json_url(), ping)
    result = sk(path, env, "send-due", "--now", "2026-12-12T09:00")
    assert result.returncode == 0 and result.stdout.strip() == "sent: hook"
    # The reminder arrived before the heartbeat was even asked for, and the ping was cut off
    # by its own timeout instead of holding the command for the receiver's 12 s.
    [reminder] = target.requests
    [heartbeat] = ping.requests
    assert reminder.at < heartbeat.at
    # "no answer": the ping's own timeout cut it off (waiting out the receiver's 12 s would
    # have got one).
    assert "heartbeat to http://127.0.0.1" in result.stderr and "no answer" in result.stderr


def test_the_daemon_records_its_passes_and_pings_the_heartbeat(tmp_path, env, http_receiver):
    ping = HTTPReceiver().start()
    try:
        path = heartbeat_config(tmp_path, http_receiver.json_url(), ping)
        daemon = subprocess.Popen(
            [SIMKEEPER, "--config", str(path), "run"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert wait_for(lambda: ping.requests, 20)
            daemon.send_signal(signal.SIGTERM)
            _, stderr = daemon.communicate(timeout=20)
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.communicate()
    finally:
        ping.stop()
    assert daemon.returncode == 0, stderr
    assert ping.requests[0].path == f"/ping/{SECRET}"
    assert SECRET[:8] not in stderr
    rows = query(tmp_path / "state.db", "SELECT source, outcome FROM passes")
    assert rows and rows[0] == ("daemon", "ok")


def test_a_pass_that_breaks_sends_the_failure_ping_and_still_raises(tmp_path, env, http_receiver):
    """In process, with a real store opened read-only so the pass cannot write: the error
    propagates to the caller (the daemon logs it and goes on), and the monitor hears /fail."""
    ping = HTTPReceiver().start()
    try:
        path = heartbeat_config(tmp_path, http_receiver.json_url(), ping)
        ok(path, env, "send-due", "--now", "2026-12-01T10:00")  # creates the database
        config = config_mod.load(path)
        store = open_store(tmp_path / "state.db", readonly=True)
        assert store is not None
        with store, pytest.raises(Exception, match="readonly"):
            run_pass(config, store, datetime(2026, 12, 12, 8, 0, tzinfo=UTC), Redactor())
        assert wait_for(lambda: len(ping.requests) == 2, 10)
    finally:
        ping.stop()
    assert [r.path for r in ping.requests] == [f"/ping/{SECRET}", f"/ping/{SECRET}/fail"]
    assert http_receiver.requests == []
