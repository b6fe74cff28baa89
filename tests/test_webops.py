"""The web face in operation: `simkeeper web` socket-activated the way systemd starts it (the
socket as fd 3, $LISTEN_FDS and $LISTEN_PID, READY=1 on $NOTIFY_SOCKET) and leaving when idle;
/healthz and /metrics over real HTTP; and the daemon never importing the web's libraries.
Real processes, real sockets on 127.0.0.1, real SQLite."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
from pathlib import Path

from conftest import SIMKEEPER, ok, write_config
from receivers import HOST, HTTPReceiver, free_port, wait_for
from test_daemon import NotifySocket
from webface import request, web_config, web_process

from simkeeper.send.links import page_token

pytest_plugins = ["receivers"]

NOW = "2026-12-12T09:00"  # Berlin: the 3-day reminder of the 15th falls now (08:00 UTC)
NUMBERS = """
[[numbers]]
name = "UK backup"
number = "+44 7911 123456"
cycle = "monthly"
due = 2026-12-15
"""


def make_config(tmp_path: Path, port: int, hook: str) -> Path:
    text = f"""
[settings]
timezone = "Europe/Berlin"
remind = ["3d"]
state = "{tmp_path / "state.db"}"

[[notify]]
name = "hook"
url = "{hook}"
{NUMBERS}
{web_config(port)}
"""
    return write_config(tmp_path / "config.toml", text)


def test_healthz_and_metrics_over_http(tmp_path, env, http_receiver):
    port = free_port()
    config = make_config(tmp_path, port, http_receiver.json_url())
    with web_process(config, env, port, "2026-12-12T09:01"):
        # No pass yet: 503 saying why, with the headers of every page.
        sick = request(port, "/healthz")
        assert sick.status == 503
        assert sick.text == "no send pass is recorded yet: is the daemon running?\n"
        assert sick.headers["x-frame-options"] == "DENY"
        assert sick.headers["content-type"].startswith("text/plain")
        # In the browser's language.
        zh = request(port, "/healthz", headers={"Accept-Language": "zh-CN"})
        assert zh.status == 503 and "守护进程" in zh.text
        ok(config, env, "send-due", "--now", NOW)
        well = request(port, "/healthz")
        assert (well.status, well.text) == (200, "ok\n")
        assert request(port, "/healthz", "POST", b"").status == 405
        assert request(port, "/metrics", "POST", b"").status == 405
        head = request(port, "/healthz", "HEAD")
        assert head.status == 200 and head.body == b""
        metrics = request(port, "/metrics")
        assert metrics.status == 200
        assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
        text = metrics.text
        assert "simkeeper_numbers 1\n" in text
        assert 'simkeeper_reminders_sent{target="hook"} 1\n' in text
        assert 'simkeeper_next_deadline_timestamp_seconds{name="UK backup"} ' in text
        assert "simkeeper_last_pass_timestamp_seconds " in text
        assert "7911" not in re.sub(r"\D", "", text) and "json://" not in text
        assert str(http_receiver.port) not in text


def activated(config: Path, env: dict[str, str], sock: socket.socket, *args: str):
    """`simkeeper web` started as systemd starts a socket-activated service: ``sock`` is its
    fd 3 and $LISTEN_PID its own pid (sh execs it, keeping the pid)."""
    fd = sock.fileno()
    script = 'LISTEN_PID=$$ exec "$0" "$@"'
    return subprocess.Popen(
        ["sh", "-c", script, SIMKEEPER, "--config", str(config), "web", *args],
        env={**env, "LISTEN_FDS": "1", "LISTEN_FDNAMES": "simkeeper-web.socket"},
        pass_fds=(3,),
        preexec_fn=None if fd == 3 else (lambda: os.dup2(fd, 3)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_socket_activated_it_serves_the_passed_socket_and_exits_when_idle(tmp_path, env):
    """The config's `listen` port stays free: the requests reach it through the socket it was
    given. READY=1 goes to $NOTIFY_SOCKET; after --idle-exit seconds without a request it exits
    0 (systemd keeps the socket and starts it again on the next connection)."""
    listen_port = free_port()
    config = make_config(tmp_path, listen_port, "json://127.0.0.1:9/x")
    sock = socket.socket()
    sock.bind((HOST, 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    notify = NotifySocket()
    try:
        proc = activated(config, {**env, "NOTIFY_SOCKET": notify.path}, sock, "--idle-exit", "1")
        try:
            # A connection made before it is even ready waits in the socket's queue.
            assert request(port, "/healthz").status == 503
            assert wait_for(lambda: notify.count("READY=1") == 1, 30)
            assert request(port, "/metrics").status == 200
            with socket.socket() as probe:
                assert probe.connect_ex((HOST, listen_port)) != 0  # it never bound `listen`
            _, err = proc.communicate(timeout=60)  # no request: it leaves by itself
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert f"serving the web face on 127.0.0.1:{port} (socket from systemd" in err
        assert "no request for 1 s: exiting until the next connection" in err
        assert notify.count("STOPPING=1") == 1
        # The socket still listens (here in this test, as systemd's would): a second start
        # serves the connection that is waiting.
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        conn.request("GET", "/healthz")
        again = activated(config, env, sock, "--idle-exit", "1")
        assert conn.getresponse().status == 503
        conn.close()
        again.communicate(timeout=60)
        assert again.returncode == 0
    finally:
        notify.close()
        sock.close()


def test_not_socket_activated_it_binds_listen_and_stays(tmp_path, env):
    """Run by hand, --idle-exit does nothing: it serves until stopped, and SIGTERM ends it
    with exit 0."""
    port = free_port()
    config = make_config(tmp_path, port, "json://127.0.0.1:9/x")
    args = [SIMKEEPER, "--config", str(config), "web", "--idle-exit", "1"]
    proc = subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: _answers(port), 30)
        key = bytes.fromhex((tmp_path / "web.key").read_text().strip())
        status = request(port, f"/?token={page_token(key, 'status')}")
        assert status.status == 200 and "UK backup" in status.text
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert f"serving the web face on 127.0.0.1:{port} (public address" in err
    assert "no request for" not in err


def _answers(port: int) -> bool:
    try:
        return request(port, "/healthz").status in (200, 503)
    except OSError:
        return False


def test_the_daemon_never_imports_the_web_libraries(tmp_path, env):
    """`simkeeper run` with a [web] table sends its reminders (with their links) without
    importing waitress or jinja2: the daemon's idle memory does not grow with the web face.
    Python's import log (-X importtime, through the environment) lists every module."""
    with HTTPReceiver() as hook:
        config = make_config(tmp_path, free_port(), hook.json_url())
        # due now by the real clock: a pass that delivers, so the sending code is imported
        text = config.read_text().replace("due = 2026-12-15", "due = 2020-01-15")
        config.write_text(text.replace('remind = ["3d"]', 'remind = ["0d"]'))
        notify = NotifySocket()
        log = tmp_path / "imports.log"
        try:
            with log.open("w") as err:
                proc = subprocess.Popen(
                    [SIMKEEPER, "--config", str(config), "run"],
                    env={**env, "PYTHONPROFILEIMPORTTIME": "1", "NOTIFY_SOCKET": notify.path},
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                )
                try:
                    assert wait_for(lambda: notify.count("READY=1") >= 1, 30), log.read_text()
                    assert wait_for(lambda: len(notify.pass_ends()) >= 1, 30), log.read_text()
                finally:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(timeout=30)
        finally:
            notify.close()
    imported = log.read_text()
    assert "simkeeper.service.loop" in imported and "simkeeper.send.delivery" in imported
    for module in ("waitress", "jinja2", "simkeeper.web", "simkeeper.web.serve"):
        assert not re.search(rf"\| +{re.escape(module)}(\.|$)", imported, re.M), module


def test_behind_a_local_proxy_each_client_is_limited_alone(tmp_path, env):
    """The proxy on 127.0.0.1 forwards every client: the limit on bad tokens counts the
    address in its X-Forwarded-For, so one client sending forged links is refused (429) and
    another, through the same proxy, is not."""
    port = free_port()
    config = make_config(tmp_path, port, "json://127.0.0.1:9/x")
    attacker = {"X-Forwarded-For": "203.0.113.9"}
    with web_process(config, env, port, NOW):
        statuses = [request(port, f"/r/bad{i}.token", headers=attacker).status for i in range(10)]
        assert statuses == [403] * 10
        assert request(port, "/r/bad.token", headers=attacker).status == 429
        other = request(port, "/r/bad.token", headers={"X-Forwarded-For": "198.51.100.7"})
        assert other.status == 403


def test_every_proxy_snippet_in_the_readme_passes_the_client_address():
    """Each nginx snippet that proxies to the web face sets X-Forwarded-For (the header
    webserve.py trusts from 127.0.0.1), each Caddy one uses reverse_proxy (which sets it), and
    the README says what happens without it."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```nginx\n(.*?)```", readme, re.S)
    inline = re.findall(r"`([^`]*proxy_pass http[^`]*)`", readme)
    snippets = [b for b in blocks if "proxy_pass" in b] + inline
    assert len(snippets) >= 3, snippets  # the site, the sub-path, /metrics
    for snippet in snippets:
        assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for" in snippet, snippet
    for caddy in re.findall(r"`(handle_path[^`]*)`", readme):
        assert "reverse_proxy" in caddy
    assert "A proxy that leaves the header out" in readme
