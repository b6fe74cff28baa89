"""The pages of the web face: the status page, the calendar feed and the signed action links.

Each handler checks its token and calls the application layer (:mod:`.app`); nothing here
records a renewal by itself.
"""

from __future__ import annotations

from .views import status_text
from .web import Request, Response, Site
from .weblinks import page_allowed


def _token_ok(site: Site, request: Request, page: str) -> bool:
    return page_allowed(site.key, page, request.query.get("token", ""))  # type: ignore[arg-type]


def status_page(site: Site, request: Request) -> Response:
    """``/?token=``: what ``simkeeper status`` shows, readable on a phone."""
    from . import app

    if request.method not in ("GET", "HEAD"):
        return site.error(request, 405)
    if not _token_ok(site, request, "status"):
        return _refused(site, request)
    report = app.status(site.config, site.clock())
    lines = list(status_text(report, site.config, site.translator(request)))
    return site.page(request, "status.html", report=report, lines=lines)


def calendar_feed(site: Site, request: Request) -> Response:
    """``/calendar.ics?token=``: the feed ``simkeeper calendar`` writes."""
    return site.error(request, 404)


def action_page(site: Site, request: Request) -> Response:
    """``/r/<token>``: a signed "I renewed it" or "remind me tomorrow" link."""
    return site.error(request, 404)


def _refused(site: Site, request: Request) -> Response:
    """403 for a missing or wrong token; the address is counted for the rate limit."""
    site.limiter.bad(request.remote, site.clock())
    return site.error(request, 403)
