"""The heartbeat: after every pass, one GET to ``settings.heartbeat`` (healthchecks.io, Uptime
Kuma push, ...), or to its failure form when the pass failed, so a monitor notices a daemon that
stopped, hangs, or fails.

The request runs in a thread of its own, bounded by :data:`TIMEOUT`, after the pass has sent
its reminders: it never delays or blocks one. The thread is not a daemon thread, so a one-shot
``send-due`` still delivers its ping (waiting at most :data:`TIMEOUT`) before it exits. Only the
URL's scheme and host are ever logged: the path and query of a ping URL are its secret.
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import urlunsplit

from simkeeper import __version__
from simkeeper.core.model import Settings
from simkeeper.core.urls import split_url

log = logging.getLogger("simkeeper.heartbeat")
TIMEOUT = 5.0  # seconds for the whole request
DEFAULT_FAIL = "/fail"  # healthchecks.io's failure suffix


def ping_url(settings: Settings, ok: bool) -> str | None:
    """The URL to fetch after a pass that ended ``ok`` (or not); None when there is none.

    The failure form is ``settings.heartbeat_fail``: a suffix starting with ``/`` is added to
    the URL's path (``https://hc-ping.com/UUID/fail``), a full URL is used as it is, and an
    empty one means no ping after a failed pass.
    """
    url = settings.heartbeat
    if not url:
        return None
    if ok:
        return url
    fail = settings.heartbeat_fail
    if not fail:
        return None
    if not fail.startswith("/"):
        return fail
    parts = split_url(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + fail))


def shown(url: str) -> str:
    """What may be logged of a ping URL: its scheme and host, no user, path or query."""
    parts = split_url(url)
    return f"{parts.scheme}://{parts.hostname or '?'}" + (f":{parts.port}" if parts.port else "")


def ping(settings: Settings, ok: bool) -> threading.Thread | None:
    """Fetch the heartbeat URL for a pass that ended ``ok`` (or not), in the background."""
    url = ping_url(settings, ok)
    if url is None:
        return None
    thread = threading.Thread(target=fetch, args=(url,), name="heartbeat", daemon=False)
    thread.start()
    return thread


def fetch(url: str, timeout: float = TIMEOUT) -> bool:
    """GET ``url``; log (without its secret parts) and return whether it answered 2xx."""
    import urllib.error  # here, not at the top: the idle daemon does without them (http, ssl)
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": f"simkeeper/{__version__}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(1024)
            log.debug("heartbeat sent to %s", shown(url))
            return True
    except urllib.error.HTTPError as e:
        why = f"HTTP {e.code}"
    except urllib.error.URLError as e:
        why = _reason(e.reason)
    except (OSError, ValueError) as e:
        why = _reason(e)
    log.warning("heartbeat to %s failed: %s", shown(url), why)
    return False


def _reason(reason: object) -> str:
    if isinstance(reason, TimeoutError):
        return f"no answer within {TIMEOUT:g} s"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return type(reason).__name__
