"""Every path the web face answers, and its handler: the table :mod:`.serve` gives the WSGI
application. It lives above both the handlers and :mod:`.wsgi` they build on, so neither
imports the other back."""

from __future__ import annotations

from simkeeper.web import handlers, hooks, monitor
from simkeeper.web.wsgi import Handler, style_sheet


def routes() -> dict[str, Handler]:
    """Every path and its handler (``/r/`` takes ``/r/<token>``, ``/hooks/`` takes
    ``/hooks/NAME/SECRET``)."""
    return {
        "/": handlers.status_page,
        "/calendar.ics": handlers.calendar_feed,
        "/r/": handlers.action_page,
        "/style.css": style_sheet,
        "/healthz": monitor.healthz,
        "/metrics": monitor.metrics,
        hooks.PREFIX: hooks.hook,
    }
