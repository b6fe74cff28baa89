"""Socket activation and the idle exit (simkeeper.listen): real sockets on 127.0.0.1, a real
child process given the socket the way systemd gives it (fd 3, $LISTEN_FDS, $LISTEN_PID), and
the idle watch on an injected clock."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading

import pytest

from simkeeper.core.errors import UsageError
from simkeeper.web.listen import (
    Activity,
    bind,
    listening,
    parse_address,
    passed_fds,
    tracked,
    watch_idle,
)

# A child that takes the socket systemd would pass, prints what it found, answers one
# connection with its pid, and exits.
CHILD = textwrap.dedent(
    """
    import os, sys
    from simkeeper.web.listen import listening
    env = dict(os.environ)
    got = listening("127.0.0.1:0", env)
    left = sorted(k for k in env if k.startswith("LISTEN_"))
    print(got.activated, got.names, got.describe(), left, flush=True)
    [sock] = got.sockets
    conn, _ = sock.accept()
    conn.sendall(str(os.getpid()).encode())
    conn.close()
    """
)


def listener() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    return sock


def start_child(sock: socket.socket, listen_pid: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """The child with ``sock`` as its fd 3, as systemd starts a socket-activated service;
    ``listen_pid`` is what $LISTEN_PID says (``$$``: the child itself, since sh execs it)."""
    fd = sock.fileno()
    script = f'LISTEN_PID={listen_pid} exec "$0" -c "$1"'
    return subprocess.Popen(
        ["sh", "-c", script, sys.executable, CHILD],
        env={**env, "LISTEN_FDS": "1", "LISTEN_FDNAMES": "simkeeper-web.socket"},
        pass_fds=(3,) if fd != 3 else (fd,),
        preexec_fn=(lambda: os.dup2(fd, 3)) if fd != 3 else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def ask(address: tuple[str, int]) -> str:
    with socket.create_connection(address, timeout=30) as conn:
        conn.settimeout(30)
        return conn.recv(4096).decode()


def test_a_child_serves_on_the_socket_systemd_passed(env):
    sock = listener()
    address = sock.getsockname()
    child = start_child(sock, "$$", env)
    sock.close()  # only the child holds it now: an answer can only come from the child
    assert ask(address) == str(child.pid)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert out == f"True ('simkeeper-web.socket',) 127.0.0.1:{address[1]} []\n"


def test_sockets_meant_for_another_process_are_not_taken(env):
    """Inherited $LISTEN_* naming another pid: the child binds `listen` itself (here port 0,
    so another port), and forgets the variables."""
    sock = listener()
    child = start_child(sock, "1", env)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        activated, _, where, left = line.split(" ", 3)
        assert (activated, left) == ("False", "[]\n")
        host, port = where.rsplit(":", 1)
        assert host == "127.0.0.1" and int(port) != sock.getsockname()[1]
        assert ask((host, int(port))) == str(child.pid)
        child.communicate(timeout=60)
        assert child.returncode == 0
    finally:
        child.kill()
        child.communicate(timeout=60)
        sock.close()


def test_passed_fds_checks_listen_pid_and_forgets_the_variables():
    env = {"LISTEN_PID": "4242", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "a:b", "OTHER": "x"}
    assert passed_fds(dict(env), 4242) == [3, 4]
    mine = dict(env)
    assert passed_fds(mine, 4243) == []
    assert mine == {"OTHER": "x"}
    assert passed_fds({"LISTEN_PID": "4242", "LISTEN_FDS": "zwei"}, 4242) == []
    assert passed_fds({}, 4242) == []


def test_without_systemd_it_binds_listen():
    got = listening("127.0.0.1:0", {})
    [sock] = got.sockets
    try:
        assert not got.activated
        port = sock.getsockname()[1]
        assert got.describe() == f"127.0.0.1:{port}"
        with socket.create_connection(("127.0.0.1", port), timeout=30):
            conn, _ = sock.accept()
            conn.close()
    finally:
        sock.close()


def test_binding_a_busy_address_says_so():
    taken = listener()
    try:
        with pytest.raises(UsageError, match=r"cannot listen on 127\.0\.0\.1:.*another program"):
            bind(f"127.0.0.1:{taken.getsockname()[1]}")
    finally:
        taken.close()


@pytest.mark.parametrize(
    ("text", "want"), [("127.0.0.1:8787", ("127.0.0.1", 8787)), ("[::1]:80", ("::1", 80))]
)
def test_parse_address(text, want):
    assert parse_address(text) == want


@pytest.mark.parametrize("text", ["8787", "localhost", ":8787", "h:99999", "h:port"])
def test_parse_address_rejects(text):
    with pytest.raises(UsageError, match="is not an address:port"):
        parse_address(text)


def test_a_passed_fd_that_is_no_listening_socket_is_refused(tmp_path):
    """An fd that is a file, or a socket that does not listen: a clear error, not a crash
    inside the server."""
    with (tmp_path / "f").open("w") as f:
        env = {"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "1"}
        saved = os.dup(3) if _is_open(3) else None
        try:
            os.dup2(f.fileno(), 3)
            with pytest.raises(UsageError, match=r"descriptor 3 passed by systemd is not a socket"):
                listening("127.0.0.1:0", dict(env))
            plain = socket.socket()
            os.dup2(plain.fileno(), 3)
            plain.close()
            with pytest.raises(UsageError, match="not a listening stream socket"):
                listening("127.0.0.1:0", dict(env))
        finally:
            if saved is not None:
                os.dup2(saved, 3)
                os.close(saved)
            else:
                os.close(3)


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


# -- idle exit ------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_idle_watch_stops_after_the_idle_time_and_not_before():
    clock = Clock()
    activity = Activity(clock)
    stopped, waits = [], []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        if len(waits) == 1:  # a request comes in and ends 20 s later
            clock.now += 40
            activity.begin()
            clock.now += 20
            activity.end()
        else:
            clock.now += seconds
        return False

    assert watch_idle(activity, 60, lambda: stopped.append(clock.now), wait)
    # Waited 60 s, saw the request end at +60, so waited 60 s more from there.
    assert waits == [60, 60]
    assert stopped == [1000 + 60 + 60]


def test_idle_watch_never_stops_while_a_request_is_in_flight():
    clock = Clock()
    activity = Activity(clock)
    activity.begin()
    rounds = []

    def wait(seconds: float) -> bool:
        clock.now += seconds
        rounds.append(seconds)
        return len(rounds) == 5  # told to quit after five rounds

    assert not watch_idle(activity, 60, lambda: pytest.fail("stopped mid-request"), wait)
    assert rounds == [60] * 5


def test_tracked_counts_a_request_until_its_response_is_closed():
    clock = Clock()
    activity = Activity(clock)
    closed = []

    class Body(list[bytes]):
        def close(self) -> None:
            closed.append(True)

    def app(environ, start_response):
        start_response("200 OK", [])
        return Body([b"ok"])

    clock.now += 100
    body = tracked(app, activity)({}, lambda *a: None)
    clock.now += 100
    assert activity.idle_for() == 0
    assert b"".join(body) == b"ok"
    body.close()
    body.close()  # a second close counts once
    assert closed == [True]
    clock.now += 5
    assert activity.idle_for() == 5


def test_tracked_ends_the_request_when_the_app_raises():
    clock = Clock()
    activity = Activity(clock)

    def app(environ, start_response):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        tracked(app, activity)({}, lambda *a: None)
    clock.now += 3
    assert activity.idle_for() == 3


def test_idle_watch_runs_in_a_thread_with_an_event():
    """The way `simkeeper web` uses it: an Event to stop watching at shutdown."""
    quit_ = threading.Event()
    activity = Activity(Clock())
    result = []
    t = threading.Thread(
        target=lambda: result.append(watch_idle(activity, 3600, quit_.set, quit_.wait))
    )
    t.start()
    quit_.set()
    t.join(30)
    assert result == [False]
