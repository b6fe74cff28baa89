"""Where ``simkeeper web`` listens, and when it may leave.

Under socket activation systemd opens the listening socket itself and passes it to the process
it starts: ``$LISTEN_PID`` names that process, ``$LISTEN_FDS`` counts the sockets (file
descriptors 3, 4, ...) and ``$LISTEN_FDNAMES`` names them. :func:`listening` takes those (when
``$LISTEN_PID`` is this process) or binds the configured ``listen`` address itself.

A socket-activated process may exit when idle: :class:`Activity` counts requests in flight
(:func:`tracked` wraps the WSGI application), and :func:`watch_idle` calls ``stop`` once no
request has been served for the idle time. systemd keeps the socket open meanwhile, and starts
the service again on the next connection. The clock and the waiting are parameters.
"""

from __future__ import annotations

import errno
import os
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

from simkeeper.core.errors import UsageError

FIRST_FD = 3  # SD_LISTEN_FDS_START
_ENV = ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES")
BACKLOG = 64


@dataclass(frozen=True)
class Listening:
    """The sockets to serve on; ``activated`` when systemd passed them."""

    sockets: tuple[socket.socket, ...]
    activated: bool
    names: tuple[str, ...] = ()

    def describe(self) -> str:
        """Where it listens, for the log (``127.0.0.1:8787``, ``[::1]:8787``)."""
        return ", ".join(_address(s) for s in self.sockets)


def _address(sock: socket.socket) -> str:
    where = sock.getsockname()
    if sock.family == socket.AF_INET6:
        return f"[{where[0]}]:{where[1]}"
    if sock.family == socket.AF_INET:
        return f"{where[0]}:{where[1]}"
    return str(where)


def passed_fds(env: MutableMapping[str, str], pid: int) -> list[int]:
    """The file descriptors systemd passed to process ``pid``, and forget the variables (as
    ``sd_listen_fds(1)`` does, so a child process never takes them for its own).

    None when ``$LISTEN_PID`` names another process (the variables were inherited).
    """
    listen_pid, count = env.get("LISTEN_PID", ""), env.get("LISTEN_FDS", "")
    for name in _ENV:
        env.pop(name, None)
    if not (listen_pid.isdigit() and int(listen_pid) == pid and count.isdigit()):
        return []
    return list(range(FIRST_FD, FIRST_FD + int(count)))


def passed_sockets(env: MutableMapping[str, str], pid: int) -> Listening | None:
    """The listening stream sockets systemd passed to this process, or None."""
    names = tuple(n for n in env.get("LISTEN_FDNAMES", "").split(":") if n)
    fds = passed_fds(env, pid)
    if not fds:
        return None
    sockets = []
    for fd in fds:
        try:
            sock = socket.socket(fileno=fd)
        except OSError as e:
            raise UsageError(
                f"file descriptor {fd} passed by systemd is not a socket: {e.strerror}",
                "check the simkeeper-web.socket unit",
            ) from None
        if sock.type != socket.SOCK_STREAM or not sock.getsockopt(
            socket.SOL_SOCKET, socket.SO_ACCEPTCONN
        ):
            sock.detach()
            raise UsageError(
                f"the socket passed by systemd (fd {fd}) is not a listening stream socket",
                "use ListenStream= and Accept=no in simkeeper-web.socket",
            )
        sock.set_inheritable(False)
        sockets.append(sock)
    return Listening(tuple(sockets), True, names)


def parse_address(listen: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:8787`` for IPv6) as a host and a port number."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535 or not host:
        raise UsageError(f'listen = "{listen}" is not an address:port', 'e.g. "127.0.0.1:8787"')
    return host.removeprefix("[").removesuffix("]"), int(port)


def bind(listen: str) -> socket.socket:
    """A listening TCP socket on ``listen`` (``host:port``)."""
    host, port = parse_address(listen)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise UsageError(f"cannot listen on {listen}: {e.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as e:
        sock.close()
        hint = "another program listens there" if e.errno == errno.EADDRINUSE else None
        raise UsageError(f"cannot listen on {listen}: {e.strerror}", hint) from None
    return sock


def listening(listen: str, env: MutableMapping[str, str] | None = None) -> Listening:
    """The sockets systemd passed to this process, or one bound on ``listen``."""
    env = os.environ if env is None else env
    passed = passed_sockets(env, os.getpid())
    if passed is not None:
        return passed
    return Listening((bind(listen),), False)


# -- idle exit --------------------------------------------------------------------------------


class Activity:
    """Requests in flight, and when the last one ended (on ``clock``, in seconds)."""

    def __init__(self, clock: Callable[[], float]):
        self._clock = clock
        self._lock = threading.Lock()
        self._busy = 0
        self._since = clock()

    def begin(self) -> None:
        """A request started."""
        with self._lock:
            self._busy += 1

    def end(self) -> None:
        """A request ended (its response was sent or dropped)."""
        with self._lock:
            self._busy -= 1
            self._since = self._clock()

    def idle_for(self) -> float:
        """Seconds since the last request ended; 0 while one is in flight."""
        with self._lock:
            return 0.0 if self._busy else max(0.0, self._clock() - self._since)


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Closing:
    """A response body that tells ``activity`` when the server is done with it."""

    def __init__(self, body: Iterable[bytes], activity: Activity):
        self._body = body
        self._activity = activity
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._activity.end()


def tracked(app: WSGIApp, activity: Activity) -> WSGIApp:
    """``app``, counting each request in ``activity`` from its start to the end of its
    response."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        activity.begin()
        try:
            body = app(environ, start_response)
        except BaseException:
            activity.end()
            raise
        return _Closing(body, activity)

    return wrapped


def watch_idle(
    activity: Activity, idle: float, stop: Callable[[], None], wait: Callable[[float], bool]
) -> bool:
    """Call ``stop`` once ``activity`` has been idle for ``idle`` seconds; True when it did.

    ``wait(seconds)`` sleeps at most that long and returns True when told to quit watching
    (``threading.Event().wait``).
    """
    while True:
        left = idle - activity.idle_for()
        if left <= 0:
            stop()
            return True
        if wait(left):
            return False
