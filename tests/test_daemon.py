"""The daemon as a real subprocess: sd_notify over a real NOTIFY_SOCKET, real signals, real
deliveries to a local receiver. It runs on the real clock, so configs are written relative to
the current time (in UTC, never the machine's zone)."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import SIMKEEPER, run, write_config
from receivers import HTTPReceiver, wait_for


class NotifySocket:
    """A datagram socket standing in for systemd; keeps every message the daemon sends."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="sk")  # short: AF_UNIX paths are limited
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages: list[str] = []
        self.running = True
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while self.running:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except TimeoutError:
                continue
            except OSError:
                return

    def fields(self) -> list[str]:
        return [f for m in list(self.messages) for f in m.split("\n")]

    def count(self, field: str) -> int:
        return sum(1 for f in self.fields() if f == field)

    def pass_ends(self) -> list[str]:
        """The status the daemon sends alone, after each send pass (its deliveries done)."""
        return [m for m in list(self.messages) if m.startswith("STATUS=") and "\n" not in m]

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()
        os.unlink(self.path)
        os.rmdir(self.dir)


class Daemon:
    """``simkeeper run`` in the background, with its stderr kept in a file."""

    def __init__(self, config: Path, env: dict[str, str], tmp_path: Path):
        self.log = tmp_path / f"daemon-{len(list(tmp_path.glob('daemon-*')))}.log"
        self.stderr = open(self.log, "w")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            [SIMKEEPER, "--config", str(config), "run"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.stderr,
        )

    def text(self) -> str:
        return self.log.read_text()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=5)
            self.stderr.close()


@pytest.fixture
def notify():
    s = NotifySocket()
    yield s
    s.close()


def number_due_at(name: str, phone: str, at: datetime) -> str:
    """A number whose on-the-day (0d) reminder falls at ``at`` (UTC)."""
    return f"""
[[numbers]]
name = "{name}"
number = "{phone}"
due = {at.date().isoformat()}
remind = ["0d"]
"""


def daemon_config(tmp_path: Path, receiver: HTTPReceiver, remind_at: datetime, numbers: str):
    return write_config(
        tmp_path / "config.toml",
        f"""
[settings]
timezone = "UTC"
remind_at = "{remind_at.strftime("%H:%M:%S")}"
send_timeout = 3
state = "{tmp_path / "state.db"}"

[[notify]]
name = "hook"
url = "{receiver.json_url()}"
"""
        + numbers,
    )


def soon(seconds: float) -> datetime:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0)


def test_ready_watchdog_status_and_a_reminder_delivered_while_running(tmp_path, env, notify):
    at = soon(8)  # after the start-up pass even on a busy machine (the loop's own timing is
    # tested on an injected clock in test_daemon_clock.py)
    with HTTPReceiver() as http:
        config = daemon_config(tmp_path, http, at, number_due_at("giffgaff", "+447911123456", at))
        env = {**env, "NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"}
        daemon = Daemon(config, env, tmp_path)
        try:
            assert wait_for(lambda: notify.count("READY=1") >= 1, 15), daemon.text()
            expected = f"STATUS=next reminder {at.strftime('%Y-%m-%d %H:%M')} UTC for giffgaff"
            assert wait_for(lambda: any(f.startswith(expected) for f in notify.fields()), 5), (
                notify.fields()
            )
            assert wait_for(lambda: len(http.requests) == 1, 20), daemon.text()
            assert "giffgaff" in http.requests[0].json()["message"]
            assert wait_for(lambda: notify.count("WATCHDOG=1") >= 3, 10)
            assert daemon.proc.poll() is None
        finally:
            code = daemon.stop()
    assert code == 0
    assert notify.count("STOPPING=1") == 1
    assert len(http.requests) == 1


def test_sighup_rejects_a_broken_config_and_applies_a_good_one(tmp_path, env, notify):
    far = soon(3600 * 24 * 20)
    with HTTPReceiver() as http:
        config = daemon_config(tmp_path, http, far, number_due_at("old", "+447911123456", far))
        good_text = config.read_text()
        daemon = Daemon(config, {**env, "NOTIFY_SOCKET": notify.path}, tmp_path)
        try:
            assert wait_for(lambda: notify.count("READY=1") >= 1, 15), daemon.text()
            config.write_text(good_text.replace('timezone = "UTC"', 'timezone = "Nowhere/Land"'))
            daemon.proc.send_signal(signal.SIGHUP)
            assert wait_for(lambda: "reload rejected" in daemon.text(), 10), daemon.text()
            # The problem lines follow the "rejected" line: wait for them too, not just read.
            assert wait_for(lambda: "Nowhere/Land" in daemon.text(), 10), daemon.text()
            assert wait_for(lambda: notify.count("READY=1") >= 2, 5)
            assert notify.count("RELOADING=1") == 1
            assert daemon.proc.poll() is None
            # A good config with a new number due in a few seconds: its reminder arrives.
            at = soon(4)
            config = daemon_config(tmp_path, http, at, number_due_at("new", "+12065550100", at))
            daemon.proc.send_signal(signal.SIGHUP)
            assert wait_for(lambda: "config reloaded" in daemon.text(), 10), daemon.text()
            assert wait_for(lambda: len(http.requests) == 1, 20), daemon.text()
            assert "new" in http.requests[0].json()["message"]
        finally:
            code = daemon.stop()
    assert code == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_signal_exits_cleanly_with_the_database_intact(tmp_path, env, notify, sig):
    at = soon(2)
    with HTTPReceiver() as http:
        config = daemon_config(tmp_path, http, at, number_due_at("a", "+447911123456", at))
        daemon = Daemon(config, {**env, "NOTIFY_SOCKET": notify.path}, tmp_path)
        assert wait_for(lambda: len(http.requests) == 1, 20), daemon.text()
        # The daemon sleeps up to a minute between passes: exiting 0 within the 10 s stop()
        # allows shows the signal woke it.
        code = daemon.stop(sig, timeout=10)
    assert code == 0
    assert notify.count("STOPPING=1") == 1
    with sqlite3.connect(tmp_path / "state.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT state FROM deliveries").fetchall() == [("sent",)]


def test_a_renewal_recorded_while_running_stops_its_reminder(tmp_path, env, notify):
    at = soon(8)
    numbers = number_due_at("renewed line", "+447911123456", at) + number_due_at(
        "other line", "+12065550100", at
    )
    with HTTPReceiver() as http:
        config = daemon_config(tmp_path, http, at, numbers)
        daemon = Daemon(config, {**env, "NOTIFY_SOCKET": notify.path}, tmp_path)
        try:
            assert wait_for(lambda: notify.count("READY=1") >= 1, 15), daemon.text()
            renewed = run(
                ["--config", str(config), "renewed", "renewed", "--date", at.date().isoformat()],
                env,
            )
            assert renewed.returncode == 0, renewed.stderr
            # The other number, due at the same second, is the proof the pass ran.
            assert wait_for(lambda: len(http.requests) == 1, 25), daemon.text()
            # The pass that sent it has ended when the daemon plans past `at`.
            before = f"STATUS=next reminder {at.strftime('%Y-%m-%d %H:%M')}"
            assert wait_for(
                lambda: any(not s.startswith(before) for s in notify.pass_ends()), 25
            ), notify.messages
        finally:
            assert daemon.stop() == 0
    assert len(http.requests) == 1
    message = http.requests[0].json()["message"]
    assert "other line" in message and "renewed line" not in message


def test_restart_after_downtime_sends_one_catch_up_per_deadline(tmp_path, env):
    """Each start's first pass catches up; once it has ended, a (wrong) second message would
    have been sent."""
    today = datetime.now(UTC).date()
    deadline = today + timedelta(days=2)
    numbers = "".join(
        f"""
[[numbers]]
name = "{name}"
number = "{phone}"
due = {deadline.isoformat()}
remind = ["14d", "7d", "3d"]
"""
        for name, phone in [("one", "+447911123456"), ("two", "+12065550100")]
    )
    with HTTPReceiver() as http:
        config = daemon_config(tmp_path, http, datetime(2000, 1, 1, 9, 0), numbers)
        for _ in range(2):
            notify = NotifySocket()
            daemon = Daemon(config, {**env, "NOTIFY_SOCKET": notify.path}, tmp_path)
            try:
                assert wait_for(lambda d=daemon: "simkeeper started" in d.text(), 15)
                assert wait_for(lambda n=notify: n.pass_ends(), 20), daemon.text()
            finally:
                assert daemon.stop() == 0
                notify.close()
        assert len(http.requests) == 1
        message = http.requests[0].json()["message"]
    assert "one" in message and "two" in message and "2 days left" in message
    with sqlite3.connect(tmp_path / "state.db") as conn:
        assert conn.execute("SELECT DISTINCT offset FROM reminders").fetchall() == [(3,)]


def test_missing_config_is_a_clear_error(tmp_path, env):
    result = subprocess.run(
        [SIMKEEPER, "--config", str(tmp_path / "none.toml"), "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "config file not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_unusable_state_folder_is_a_clear_error(tmp_path, env):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    config = write_config(
        tmp_path / "config.toml",
        f"""
[settings]
timezone = "UTC"
state = "{blocker / "sub" / "state.db"}"
""",
    )
    result = subprocess.run(
        [SIMKEEPER, "--config", str(config), "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "cannot create the state database" in result.stderr
    assert "Traceback" not in result.stderr


def test_journald_lines_have_priorities_and_no_timestamps(tmp_path, env):
    log = tmp_path / "journal.log"
    config = write_config(tmp_path / "config.toml", '[settings]\ntimezone = "UTC"\n')
    with open(log, "w") as stderr:
        st = os.fstat(stderr.fileno())
        proc = subprocess.Popen(
            [SIMKEEPER, "--config", str(config), "run"],
            env={**env, "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"},
            stderr=stderr,
            stdout=subprocess.DEVNULL,
        )
        try:
            assert wait_for(lambda: "simkeeper started" in log.read_text(), 15)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
    lines = log.read_text().splitlines()
    assert lines and all(line.startswith(("<6>", "<4>", "<3>")) for line in lines), lines
    assert not any(line[3:7].isdigit() for line in lines)
