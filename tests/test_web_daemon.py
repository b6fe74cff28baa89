"""The web face and the daemon on one state database at once: a real ``simkeeper run`` delivers
a reminder with its links to a real HTTP receiver, a real ``simkeeper web`` records the renewal
from that link while the daemon keeps running passes (SIGHUP), and status and feed requests go
on all the while. SQLite's WAL and busy timeout keep both sides whole."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import SIMKEEPER, ok, write_config
from receivers import HTTPReceiver, wait_for
from webface import free_port, path_of, request, web_config, web_process

from simkeeper.send.links import page_token


def test_daemon_and_web_face_share_the_state(tmp_path: Path, env: dict[str, str]) -> None:
    at = (datetime.now(UTC) + timedelta(seconds=6)).replace(microsecond=0)
    port = free_port()
    with HTTPReceiver() as http:
        config = write_config(
            tmp_path / "config.toml",
            f"""
[settings]
timezone = "UTC"
remind_at = "{at.strftime("%H:%M:%S")}"
send_timeout = 3
state = "{tmp_path / "state.db"}"

[[notify]]
name = "hook"
url = "{http.json_url()}"

[[numbers]]
name = "due line"
number = "+447911123456"
due = {at.date().isoformat()}
remind = ["0d"]

[[numbers]]
name = "later line"
number = "+12065550100"
cycle = "monthly"
due = {(at + timedelta(days=20)).date().isoformat()}
"""
            + web_config(port),
        )
        log = open(tmp_path / "daemon.log", "w")  # noqa: SIM115 (closed below)
        daemon = subprocess.Popen(
            [SIMKEEPER, "--config", str(config), "run"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            with web_process(config, env, port):
                key = bytes.fromhex((tmp_path / "web.key").read_text().strip())
                assert wait_for(lambda: len(http.requests) == 1, 30), (
                    tmp_path / "daemon.log"
                ).read_text()
                message = http.requests[0].json()["message"]
                renew, _snooze = re.findall(r"https://\S+/r/\S+", message)

                failures: list[object] = []
                stop = threading.Event()

                def browse() -> None:
                    paths = [
                        f"/?token={page_token(key, 'status')}",
                        f"/calendar.ics?token={page_token(key, 'calendar')}",
                    ]
                    i = 0
                    while not stop.is_set() and i < 200:
                        r = request(port, paths[i % 2])
                        if r.status != 200:
                            failures.append((paths[i % 2], r.status, r.text[:200]))
                        i += 1

                browser = threading.Thread(target=browse)
                browser.start()
                try:
                    for _ in range(3):
                        daemon.send_signal(signal.SIGHUP)  # a reload runs a pass
                    shown = request(port, path_of(renew))
                    assert shown.status == 200 and "due line" in shown.text
                    done = request(port, path_of(renew), "POST", b"")
                    assert done.status == 200, done.text
                    assert "Done: due line is recorded as renewed today." in done.text
                    daemon.send_signal(signal.SIGHUP)
                    again = request(port, path_of(renew), "POST", b"")
                    assert "Already done" in again.text
                finally:
                    stop.set()
                    browser.join(timeout=60)
                assert not failures, failures
                assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()
        finally:
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=20)
            log.close()
        assert code == 0, (tmp_path / "daemon.log").read_text()
    with sqlite3.connect(tmp_path / "state.db") as conn:
        rows = conn.execute("SELECT name, covers FROM history WHERE kind = 'renewal'").fetchall()
        assert rows == [("due line", at.date().isoformat())]
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert "due line" in ok(config, env, "history")
    assert "database is locked" not in (tmp_path / "daemon.log").read_text()
    assert "database is locked" not in (tmp_path / "web.log").read_text()
