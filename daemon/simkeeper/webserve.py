"""``simkeeper web``: the web face served by waitress, a production WSGI server.

The config is loaded once at start; the link key is read (or created) once. SIGTERM and SIGINT
end the server cleanly (exit 0).
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from datetime import datetime
from types import FrameType

from waitress.server import create_server

from . import app
from .model import Config
from .web import Application, Site
from .weblinks import load_key

log = logging.getLogger("simkeeper.web")
THREADS = 4


def make_site(config: Config, clock: Callable[[], datetime]) -> Site:
    """The site of ``config``: its key loaded (or made) from the state folder or a credential."""
    key = load_key(config.path, app.state_path(config).parent)
    return Site(config, key, clock)


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve(config: Config, clock: Callable[[], datetime]) -> None:
    """Serve the web face of ``config`` on its ``listen`` address until SIGTERM or SIGINT."""
    assert config.web is not None
    application = Application(make_site(config, clock))
    server = create_server(
        application, host=config.web.host, port=config.web.port, threads=THREADS, ident="simkeeper"
    )
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("serving the web face on %s (public address %s)", _shown(config), config.web.base_url)
    server.run()


def _shown(config: Config) -> str:
    assert config.web is not None
    host = config.web.host
    return f"[{host}]:{config.web.port}" if ":" in host else f"{host}:{config.web.port}"
