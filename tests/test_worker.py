"""The daemon sends from a short-lived worker process (issue 14, part 4): Apprise never loads in
the daemon itself, and sending stays as safe as before. Real daemon subprocesses, a real
NOTIFY_SOCKET, real signals, a real receiver on 127.0.0.1 that holds its answer as long as a
test needs the message to stay in flight.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import SIMKEEPER, write_config
from receivers import MAX_HANG, HTTPReceiver, wait_for
from test_daemon import NotifySocket

# A sitecustomize that writes, when the process exits normally, every module it has loaded (the
# worker leaves through os._exit and writes nothing): the daemon's own sys.modules, read from
# the daemon itself after it has sent a reminder.
MODULES_AT_EXIT = """
import atexit, os, sys

def _write():
    with open(os.path.join(os.environ["SK_MODULES_DIR"], f"{os.getpid()}.txt"), "w") as f:
        f.write("\\n".join(sorted(sys.modules)))

atexit.register(_write)
"""


def config_due_now(tmp_path: Path, receiver: HTTPReceiver) -> Path:
    """One number whose 3-day reminder is already due: the first pass sends it."""
    deadline = datetime.now(UTC).date() + timedelta(days=2)
    return write_config(
        tmp_path / "config.toml",
        f"""
[settings]
timezone = "UTC"
remind_at = "00:00"
send_timeout = {MAX_HANG * 2:g}
state = "{tmp_path / "state.db"}"

[[notify]]
name = "hook"
url = "{receiver.json_url()}"

[[numbers]]
name = "giffgaff"
number = "+447911123456"
due = {deadline.isoformat()}
remind = ["3d"]
""",
    )


def start(config: Path, env: dict[str, str], log: Path, **extra: str) -> subprocess.Popen[bytes]:
    with open(log, "w") as stderr:
        return subprocess.Popen(
            [SIMKEEPER, "--config", str(config), "run"],
            env={**env, **extra},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def states(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT state FROM deliveries ORDER BY id")]


def stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def module_dump(tmp_path: Path, env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """Where processes started with the returned extra environment write their modules."""
    hooks = tmp_path / "site"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(MODULES_AT_EXIT)
    found = tmp_path / "modules"
    found.mkdir()
    path = os.pathsep.join(p for p in (str(hooks), env.get("PYTHONPATH", "")) if p)
    return found, {"PYTHONPATH": path, "SK_MODULES_DIR": str(found)}


def test_the_daemon_sends_without_ever_importing_apprise(tmp_path, env):
    found, extra = module_dump(tmp_path, env)
    notify = NotifySocket()
    log = tmp_path / "daemon.log"
    with HTTPReceiver() as http:
        daemon = start(config_due_now(tmp_path, http), env, log, **extra, NOTIFY_SOCKET=notify.path)
        try:
            assert wait_for(lambda: len(http.requests) == 1, 30), log.read_text()
            assert wait_for(lambda: notify.pass_ends(), 30), log.read_text()
            # The daemon is idle now; a reload checks the notify URL with Apprise again.
            daemon.send_signal(signal.SIGHUP)
            assert wait_for(lambda: "config reloaded" in log.read_text(), 30), log.read_text()
            assert wait_for(lambda: len(notify.pass_ends()) >= 2, 30), log.read_text()
        finally:
            code = stop(daemon)
            notify.close()
    assert code == 0, log.read_text()
    assert "giffgaff" in http.requests[0].json()["message"]
    assert states(tmp_path / "state.db") == ["sent"]
    modules = (found / f"{daemon.pid}.txt").read_text().split()
    assert "simkeeper.service.loop" in modules and "simkeeper.service.worker" in modules
    assert [m for m in modules if m == "apprise" or m.startswith("apprise.")] == []
    # Nor what only other commands use (issue 14: a light idle daemon).
    assert [m for m in modules if m.split(".")[0] in ("jinja2", "waitress", "icalendar")] == []
    assert {"simkeeper.present.report", "simkeeper.web", "simkeeper.web.handlers"}.isdisjoint(
        modules
    )


def idle_config(tmp_path: Path) -> Path:
    """One number whose reminders are months away, and a target nothing listens on."""
    deadline = datetime.now(UTC).date() + timedelta(days=150)
    return write_config(
        tmp_path / "config.toml",
        f"""
[settings]
timezone = "UTC"
state = "{tmp_path / "state.db"}"

[[notify]]
name = "hook"
url = "json://127.0.0.1:9/x"

[[numbers]]
name = "giffgaff"
number = "+447911123456"
due = {deadline.isoformat()}
""",
    )


def test_an_idle_daemon_has_its_numbers_validated_in_a_worker(tmp_path, env):
    """Issue 14: a worker validates the numbers (and fills the config cache), the daemon takes
    them from the cache, on start and on reload: it never imports phonenumbers while idle."""
    found, extra = module_dump(tmp_path, env)
    notify = NotifySocket()
    log = tmp_path / "daemon.log"
    daemon = start(idle_config(tmp_path), env, log, **extra, NOTIFY_SOCKET=notify.path)
    try:
        assert wait_for(lambda: notify.pass_ends(), 30), log.read_text()
        daemon.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "config reloaded: 1 number(s)" in log.read_text(), 30)
        assert wait_for(lambda: len(notify.pass_ends()) >= 2, 30), log.read_text()
    finally:
        code = stop(daemon)
        notify.close()
    assert code == 0, log.read_text()
    assert "simkeeper started: 1 number(s)" in log.read_text()
    assert list((Path(env["HOME"]) / ".cache" / "simkeeper").glob("config-*.pickle"))
    modules = (found / f"{daemon.pid}.txt").read_text().split()
    assert "simkeeper.service.loop" in modules
    assert [m for m in modules if m.split(".")[0] in ("phonenumbers", "apprise")] == []
    assert "importlib.metadata" not in modules  # no scan of the installed packages' plugins


def test_a_daemon_without_a_writable_cache_validates_its_numbers_itself(tmp_path, env):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    notify = NotifySocket()
    log = tmp_path / "daemon.log"
    daemon = start(
        idle_config(tmp_path),
        env,
        log,
        CACHE_DIRECTORY=str(blocker / "cache"),
        NOTIFY_SOCKET=notify.path,
    )
    try:
        assert wait_for(lambda: notify.pass_ends(), 30), log.read_text()
    finally:
        code = stop(daemon)
        notify.close()
    assert code == 0, log.read_text()
    assert "simkeeper started: 1 number(s)" in log.read_text()


def test_a_worker_killed_mid_send_hands_its_delivery_back_and_the_daemon_goes_on(tmp_path, env):
    notify = NotifySocket()
    log = tmp_path / "daemon.log"
    db = tmp_path / "state.db"
    with HTTPReceiver(hang=MAX_HANG) as http:  # holds the first message on the wire
        daemon = start(config_due_now(tmp_path, http), env, log, NOTIFY_SOCKET=notify.path)
        try:
            assert wait_for(lambda: len(http.requests) == 1, 30), log.read_text()
            workers = children(daemon.pid)
            assert len(workers) == 1
            assert states(db) == ["sending"]
            os.kill(workers[0], signal.SIGKILL)
            assert wait_for(lambda: "handed back" in log.read_text(), 30), log.read_text()
            text = log.read_text()
            assert f"the sending worker (pid {workers[0]}) was killed by SIGKILL" in text
            assert "1 delivery(ies) handed back to be sent again" in text
            assert states(db) == ["pending"]
            assert daemon.poll() is None
            # The next pass (a reload runs one at once) sends it.
            http.hang = 0.0
            http.closing.set()  # the dead worker's request is answered (to nobody) now
            daemon.send_signal(signal.SIGHUP)
            assert wait_for(lambda: len(http.requests) == 2, 30), log.read_text()
            assert wait_for(lambda: states(db) == ["sent"], 30), log.read_text()
        finally:
            code = stop(daemon)
            notify.close()
    assert code == 0, log.read_text()
    assert "giffgaff" in http.requests[1].json()["message"]
    with sqlite3.connect(db) as conn:
        outcomes = [r[0] for r in conn.execute("SELECT outcome FROM passes ORDER BY id")]
    assert outcomes[0] == "error" and outcomes[-1] == "ok"


def test_sigterm_while_the_worker_sends_finishes_the_send_and_exits_0(tmp_path, env):
    notify = NotifySocket()
    log = tmp_path / "daemon.log"
    db = tmp_path / "state.db"
    with HTTPReceiver(hang=MAX_HANG) as http:
        daemon = start(config_due_now(tmp_path, http), env, log, NOTIFY_SOCKET=notify.path)
        try:
            assert wait_for(lambda: len(http.requests) == 1, 30), log.read_text()
            workers = children(daemon.pid)
            assert len(workers) == 1
            # As systemd stops a unit: SIGTERM to every process of it, the message on the wire.
            daemon.send_signal(signal.SIGTERM)
            os.kill(workers[0], signal.SIGTERM)
            assert states(db) == ["sending"]
            http.closing.set()  # now the receiver answers
            code = daemon.wait(timeout=30)
        finally:
            stop(daemon)
            notify.close()
    assert code == 0, log.read_text()
    assert notify.count("STOPPING=1") == 1
    assert len(http.requests) == 1
    assert states(db) == ["sent"]
    assert "sent 1 reminder(s) to hook" in log.read_text()


def test_a_worker_past_its_time_limit_is_killed_and_reported_dead(tmp_path, monkeypatch):
    """A send that hangs past every timeout would hold the daemon forever: the worker gets a
    time limit (the claim's staleness), then SIGKILL. Here the limit is 0 and the job blocks."""
    from simkeeper.core.redact import Redactor
    from simkeeper.service.loop import Service
    from simkeeper.service.worker import Worker, WorkerDied

    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    hold, never = os.pipe()

    def job(stopping: object) -> dict[str, object]:
        os.read(hold, 1)  # nobody writes: blocks until killed
        return {}

    try:
        child = Worker(job, Redactor(), limit=0.0)
        Service(tmp_path / "config.toml").wait_for(child)
        with pytest.raises(WorkerDied, match=r"was killed by SIGKILL"):
            child.reap()
    finally:
        os.close(hold)
        os.close(never)


def test_the_daemon_reports_url_problems_with_the_other_config_problems(tmp_path, env):
    """The URLs are checked in a worker, yet a config with other problems still gets every
    problem said at once, as `check` says them."""
    config = write_config(
        tmp_path / "config.toml",
        f"""
[settings]
timezone = "Nowhere/Land"
state = "{tmp_path / "state.db"}"

[[notify]]
name = "x"
url = "nosuch://host/path"
""",
    )
    done = subprocess.run(
        [SIMKEEPER, "--config", str(config), "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "Nowhere/Land" in done.stderr
    assert 'unknown notification scheme "nosuch://"' in done.stderr
