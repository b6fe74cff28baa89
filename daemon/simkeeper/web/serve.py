"""``simkeeper web``: the web face served by waitress, a production WSGI server.

The config is loaded once at start; the link key is read (or created) once. SIGTERM and SIGINT
end the server cleanly (exit 0). It serves on the socket systemd passed (socket activation,
see :mod:`.listen`) or binds the ``listen`` address itself; it tells systemd when it is ready
(``Type=notify``), and when socket-activated with ``idle_exit`` it exits 0 after that many
seconds without a request (systemd starts it again on the next connection).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime
from types import FrameType

from waitress.server import create_server

from simkeeper import app
from simkeeper.core.model import Config
from simkeeper.host.malloc import one_arena
from simkeeper.host.sdnotify import Notifier
from simkeeper.send.links import load_key
from simkeeper.web.listen import Activity, Listening, listening, tracked, watch_idle
from simkeeper.web.routes import routes
from simkeeper.web.wsgi import Application, Site

log = logging.getLogger("simkeeper.web")
THREADS = 4
# Limits for a small face on the internet (README, "Running the web face"). A client that is
# still sending its request holds a connection but no thread, so slow clients (slowloris) do
# not starve the four threads; they only count against CONNECTION_LIMIT, past which waitress
# stops accepting. Its default of 100 let 150 dribbling clients shut everyone else out for
# the 120 s channel timeout.
CONNECTION_LIMIT = 500  # under the 1024 open files a service gets by default
CHANNEL_TIMEOUT = 30  # seconds a connection may stay silent (a request is under 1 KiB)
CLEANUP_INTERVAL = 5  # how often silent connections are looked for and closed
# Memory stays bounded: at most 500 connections x 8 KiB of headers being read.
MAX_HEADER = 8192
MAX_BODY = 65536  # the forms post a few fields; links post nothing
TRUSTED_PROXY = "127.0.0.1"  # a reverse proxy on this machine (README: "Running the web face")


def make_site(config: Config, clock: Callable[[], datetime]) -> Site:
    """The site of ``config``: its key loaded (or made) from the state folder or a credential."""
    key = load_key(config.path, app.state_path(config).parent)
    return Site(config, key, clock)


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve(config: Config, clock: Callable[[], datetime], idle_exit: float | None = None) -> None:
    """Serve the web face of ``config`` until SIGTERM or SIGINT, or (socket-activated, with
    ``idle_exit``) until that many seconds pass without a request."""
    assert config.web is not None
    one_arena()  # before the threads start: see .malloc
    site = make_site(config, clock)  # the key exists before anyone can connect
    where = listening(_shown(config))
    activity = Activity(time.monotonic)
    application = tracked(Application(site, routes()), activity)
    server = create_server(
        application,
        sockets=list(where.sockets),
        threads=THREADS,
        ident="simkeeper",
        # Behind a reverse proxy on this machine every request comes from 127.0.0.1: the
        # client's address is the proxy's X-Forwarded-For (so the limit on bad tokens counts
        # each client, not everyone at once). From any other peer the header is dropped.
        trusted_proxy=TRUSTED_PROXY,
        trusted_proxy_count=1,
        trusted_proxy_headers={"x-forwarded-for", "x-forwarded-proto"},
        clear_untrusted_proxy_headers=True,
        connection_limit=CONNECTION_LIMIT,
        channel_timeout=CHANNEL_TIMEOUT,
        cleanup_interval=CLEANUP_INTERVAL,
        asyncore_use_poll=True,  # no FD_SETSIZE ceiling at 1024 sockets, as select() has
        max_request_header_size=MAX_HEADER,
        max_request_body_size=MAX_BODY,
    )
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    done = threading.Event()
    if idle_exit and where.activated:
        watcher = threading.Thread(
            target=watch_idle,
            args=(activity, idle_exit, _idle_stop(idle_exit), done.wait),
            name="idle-exit",
            daemon=True,
        )
        watcher.start()
    log.info("%s (public address %s)", _serving(where, idle_exit), config.web.base_url)
    notify = Notifier()
    notify.ready(f"serving on {where.describe()}")
    try:
        server.run()
    finally:
        done.set()
        notify.stopping()


def _serving(where: Listening, idle_exit: float | None) -> str:
    if not where.activated:
        return f"serving the web face on {where.describe()}"
    idle = f", exiting after {idle_exit:g} s without a request" if idle_exit else ""
    return f"serving the web face on {where.describe()} (socket from systemd{idle})"


def _idle_stop(seconds: float) -> Callable[[], None]:
    """Stop the server from the idle watch: SIGTERM to this process, so the main thread ends
    the server as it does for ``systemctl stop``."""

    def stop() -> None:
        log.info("no request for %g s: exiting until the next connection", seconds)
        os.kill(os.getpid(), signal.SIGTERM)

    return stop


def _shown(config: Config) -> str:
    assert config.web is not None
    host = config.web.host
    return f"[{host}]:{config.web.port}" if ":" in host else f"{host}:{config.web.port}"
