"""``simkeeper reload PID`` (the units' ExecReload=): synchronous, with the daemon's answer; and
the daemon tells systemd READY=1 again whatever the pass after a reload does. The daemon runs as
a real process with a real NOTIFY_SOCKET; the answer goes through a real runtime folder."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
from conftest import run, write_config
from receivers import HTTPReceiver, wait_for
from test_daemon import Daemon, NotifySocket, daemon_config, number_due_at, soon


@pytest.fixture
def notify():
    s = NotifySocket()
    yield s
    s.close()


@pytest.fixture
def renv(env, tmp_path):
    """The environment of a daemon under systemd's RuntimeDirectory=."""
    return {**env, "RUNTIME_DIRECTORY": str(tmp_path / "run")}


def reload(pid: int, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return run(["reload", *extra, str(pid)], env)


MARKER = """
[[numbers]]
name = "marker"
number = "+447911123457"
due = 2099-01-01
"""


def test_reload_returns_once_the_new_config_is_in_use(tmp_path, renv, notify):
    far = soon(3600 * 24 * 20)
    with HTTPReceiver() as http:
        config = daemon_config(tmp_path, http, far, number_due_at("old", "+447911123456", far))
        daemon = Daemon(config, {**renv, "NOTIFY_SOCKET": notify.path}, tmp_path)
        try:
            assert wait_for(lambda: notify.count("READY=1") >= 1, 15), daemon.text()
            config.write_text(config.read_text() + MARKER)
            done = reload(daemon.proc.pid, renv)
            assert done.returncode == 0, done.stderr
            # Read at once, no waiting: the daemon said so before the command returned.
            assert "config reloaded: 2 number(s)" in daemon.text()
            assert f"simkeeper (pid {daemon.proc.pid}): new config in use" in done.stdout
            # A second reload waits for its own answer, not the first one's.
            config.write_text(config.read_text().replace('"marker"', '"marker2"'))
            again = reload(daemon.proc.pid, renv)
            assert again.returncode == 0, again.stderr
            assert daemon.text().count("config reloaded: 2 number(s)") == 2
            assert wait_for(lambda: notify.count("READY=1") >= 3, 5)
        finally:
            code = daemon.stop()
    assert code == 0
    assert not list((tmp_path / "run").glob("reload-*.json"))  # the answer left with the daemon


def test_a_rejected_reload_exits_2_with_the_reason(tmp_path, renv, notify):
    far = soon(3600 * 24 * 20)
    with HTTPReceiver() as http:
        config = daemon_config(tmp_path, http, far, number_due_at("old", "+447911123456", far))
        daemon = Daemon(config, {**renv, "NOTIFY_SOCKET": notify.path}, tmp_path)
        try:
            assert wait_for(lambda: notify.count("READY=1") >= 1, 15), daemon.text()
            config.write_text(config.read_text() + MARKER + 'cycel = "30d"\n')
            done = reload(daemon.proc.pid, renv)
            assert done.returncode == 2
            assert "reload rejected, still running on the previous config" in done.stderr
            assert "numbers[2].cycel" in done.stderr and "config.toml:" in done.stderr
            assert "Traceback" not in done.stderr
            assert daemon.proc.poll() is None
            assert wait_for(lambda: notify.count("READY=1") >= 2, 5)
        finally:
            code = daemon.stop()
    assert code == 0


def test_reload_without_a_daemon_or_an_answer_fails_with_the_reason(tmp_path, renv):
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        # Not simkeeper: it dies of SIGHUP and never answers.
        gone = reload(sleeper.pid, renv, "--timeout", "5")
        assert gone.returncode == 1
        assert "no answer" in gone.stderr or "exited during the reload" in gone.stderr
    finally:
        sleeper.kill()
        sleeper.wait()
    missing = reload(sleeper.pid, renv)
    assert missing.returncode == 1
    assert f"no process {sleeper.pid}: is simkeeper running?" in missing.stderr


def test_a_failing_pass_after_reload_still_tells_systemd_ready(tmp_path, renv, notify):
    """A calendar the daemon cannot write (its folder is a file: unwritable even for root):
    READY=1 after each reload, reminders still go out, and the reason is said once, not on
    every pass."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the calendar's folder should be")
    feed = blocker / "feed.ics"
    at = soon(3)
    with HTTPReceiver() as http:
        config = daemon_config(tmp_path, http, at, number_due_at("due", "+447911123456", at))
        daemon = Daemon(config, {**renv, "NOTIFY_SOCKET": notify.path}, tmp_path)
        try:
            assert wait_for(lambda: notify.count("READY=1") >= 1, 15), daemon.text()
            text = config.read_text().replace("[settings]\n", f'[settings]\ncalendar = "{feed}"\n')
            config.write_text(text)
            daemon.proc.send_signal(signal.SIGHUP)
            assert wait_for(lambda: notify.count("READY=1") >= 2, 10), daemon.text()
            assert wait_for(lambda: len(http.requests) == 1, 20), daemon.text()
            assert reload(daemon.proc.pid, renv).returncode == 0  # not stuck in "reloading"
            assert wait_for(lambda: notify.count("READY=1") >= 3, 5)
        finally:
            code = daemon.stop()
    assert code == 0
    log = daemon.text()
    lines = [line for line in log.splitlines() if "calendar feed not updated" in line]
    assert len(lines) == 2, log  # once per reload (which forgets it), not once per pass
    assert f"{blocker} is not a folder, so {feed} cannot be created" in lines[0]
    assert "send_pass failed" not in log


def test_relative_state_and_calendar_are_inside_the_state_folder(tmp_path, env):
    (tmp_path / "conf").mkdir()
    config = write_config(
        tmp_path / "conf" / "config.toml",
        """
        [settings]
        timezone = "UTC"
        state = "mine.db"
        calendar = "renewals.ics"

        [[numbers]]
        name = "a"
        number = "+44 7911 123456"
        due = 2027-01-01
        """,
    )
    sent = run(["--config", str(config), "send-due", "--now", "2026-06-01T10:00"], env)
    assert sent.returncode == 0, sent.stderr
    state = Path(env["STATE_DIRECTORY"])
    assert (state / "mine.db").is_file() and (state / "renewals.ics").is_file()
    assert not (tmp_path / "conf" / "renewals.ics").exists()


def test_check_rejects_an_unwritable_calendar_or_state(tmp_path, env):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    folder = tmp_path / "a-folder.db"
    folder.mkdir()
    config = write_config(
        tmp_path / "config.toml",
        f"""
        [settings]
        timezone = "UTC"
        calendar = "{blocker / "feed.ics"}"
        state = "{folder}"

        [[numbers]]
        name = "a"
        number = "+44 7911 123456"
        due = 2027-01-01
        """,
    )
    bad = run(["--config", str(config), "check"], env)
    assert bad.returncode == 2, bad.stdout + bad.stderr
    assert (
        f"{config}:3: settings.calendar: {blocker} is not a folder, so {blocker / 'feed.ics'} "
        "cannot be created (fix the folder's owner or mode, or use a relative path: it is taken "
        f"inside the state folder {env['STATE_DIRECTORY']})"
    ) in bad.stderr
    assert f"{config}:4: settings.state: {folder} is a folder, not a file" in bad.stderr
    assert "OK" not in bad.stdout


@pytest.mark.parametrize(
    ("language", "title", "line"),
    [
        (
            "en",
            "simkeeper has stopped: simkeeper.service failed",
            "failure alert for simkeeper.service to hook: sent",
        ),
        ("zh-CN", "simkeeper 已停止", "simkeeper.service 的故障警报发往 hook：已发送"),
    ],
)
def test_notify_failure_alerts_even_from_a_config_with_errors(tmp_path, env, language, title, line):
    """What simkeeper-failure@.service runs: the config error that stopped the daemon must not
    stop the alert too."""
    with HTTPReceiver() as http:
        config = write_config(
            tmp_path / "config.toml",
            f"""
            [settings]
            language = "{language}"

            [[notify]]
            name = "hook"
            url = "{http.json_url()}"

            [[numbers]]
            name = "a"
            number = "+44 7911 123456"
            due = 2027-01-01
            cycel = "30d"
            """,
        )
        assert run(["--config", str(config), "check"], env).returncode == 2
        sent = run(["--config", str(config), "notify-failure", "simkeeper.service"], env)
        assert sent.returncode == 0, sent.stderr
        assert "numbers[1].cycel" in sent.stderr
        assert line in sent.stdout
        [request] = http.requests
    body = request.json()
    assert body["title"].startswith(title)
    assert "journalctl -u simkeeper.service" in body["message"]


def test_notify_failure_without_a_usable_target_exits_1(tmp_path, env):
    config = write_config(tmp_path / "config.toml", "[settings]\n")
    failed = run(["--config", str(config), "notify-failure", "simkeeper.service"], env)
    assert failed.returncode == 1
    assert "simkeeper.service failed, and no notify target can be used" in failed.stderr


def test_send_due_with_an_unwritable_calendar_sends_and_says_why_in_one_line(tmp_path, env):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the calendar's folder should be")
    with HTTPReceiver() as http:
        config = write_config(
            tmp_path / "config.toml",
            f"""
            [settings]
            timezone = "UTC"
            calendar = "{blocker / "feed.ics"}"

            [[notify]]
            name = "hook"
            url = "{http.json_url()}"

            [[numbers]]
            name = "a"
            number = "+44 7911 123456"
            due = 2026-06-01
            """,
        )
        done = run(["--config", str(config), "send-due", "--now", "2026-06-01T10:00"], env)
        assert len(http.requests) == 1
    assert done.returncode == 1
    assert "sent: hook" in done.stdout
    assert [line for line in done.stderr.splitlines() if "calendar" in line or "error" in line] == [
        f"error: calendar feed not updated: {blocker} is not a folder, so "
        f"{blocker / 'feed.ics'} cannot be created"
    ]
