"""The pages of the web face: the status page, the calendar feed and the signed action links.

Each handler checks its token and calls the application layer (:mod:`.app`); nothing here
records a renewal by itself. ``GET`` of an action link only shows what its button would do.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from . import app
from .deadlines import local_today, rolling_deadline, stage_on, upcoming
from .i18n import Translator
from .model import EMPTY_LEDGER, Number
from .views import action_text, attention_text, local_stamp, status_text
from .web import Request, Response, Site
from .weblinks import BadToken, Claim, Page, page_allowed, verify

READ = ("GET", "HEAD")
ICS = "text/calendar; charset=utf-8"


def _refused(site: Site, request: Request) -> Response:
    """A bad token (missing, forged, altered or expired): counted against the address, and
    answered 403, or 429 once the address has sent too many lately.

    Only bad tokens are counted and only they are refused by the limiter: a valid token is
    checked first and always answered, so nobody can lock the owner out by sending junk (even
    from the owner's address, or through a proxy that hides the client's)."""
    now = site.clock()
    if site.limiter.blocked(request.remote, now):
        return site.error(request, 429)
    site.limiter.bad(request.remote, now)
    return site.error(request, 403)


def _page_check(site: Site, request: Request, page: Page) -> Response | None:
    """An error response unless the request may read ``page`` (GET with its token)."""
    if request.method not in READ:
        return site.error(request, 405)
    if not page_allowed(site.key, page, request.query.get("token", "")):
        return _refused(site, request)
    return None


# -- the status page ------------------------------------------------------------------------


def status_page(site: Site, request: Request) -> Response:
    """``/?token=``: what ``simkeeper status`` shows, readable on a phone."""
    refused = _page_check(site, request, "status")
    if refused:
        return refused
    now = site.clock()
    report = app.status(site.config, now)
    t = site.translator(request)
    lines = list(status_text(report, site.config, t))
    head = lines[1 : lines.index("")] if "" in lines else lines[1:]  # after the state path

    risks = [
        (d.number.name, d.date.isoformat(), action_text(d, t), _stage(d.number, d.date, now))
        for d in report.at_risk
    ]
    targets = [
        (
            h.name,
            local_stamp(h.seen.last_success_at, site.config)
            if h.seen and h.seen.last_success_at
            else "",
            h.failing,
        )
        for h in report.targets
    ]
    return site.page(
        request,
        "status.html",
        ok=report.ok,
        head=head,
        needs=[attention_text(a, t) for a in report.needs],
        risks=risks,
        targets=targets,
    )


# -- the calendar feed ----------------------------------------------------------------------


def calendar_feed(site: Site, request: Request) -> Response:
    """``/calendar.ics?token=``: the feed ``simkeeper calendar`` writes, with an ETag and
    Last-Modified (304 when the phone already has it)."""
    from .calendar_feed import render_calendar
    from .i18n import translator

    refused = _page_check(site, request, "calendar")
    if refused:
        return refused
    config, now = site.config, site.clock()
    ledger, changed = EMPTY_LEDGER, None
    store = app.open_state_readonly(config)
    if store is not None:
        with store:
            ledger, changed = store.ledger(), store.last_modified()
    found = upcoming(config.numbers, now, config.settings.calendar_days, ledger, failures=[])
    day = datetime.combine(now.astimezone(config.settings.timezone).date(), time(0), UTC)
    modified = max(day, changed.replace(microsecond=0)) if changed else day
    language = config.settings.language
    body = render_calendar(found, day, config.settings.remind_at, translator(language))
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = (
        ("ETag", etag),
        ("Last-Modified", format_datetime(modified, usegmt=True)),
        ("Cache-Control", "private, no-cache"),  # kept, and asked again each time
    )
    if _not_modified(request, etag, modified):
        return Response(304, b"", ICS, headers)
    return Response(200, body, ICS, headers)


def _not_modified(request: Request, etag: str, modified: datetime) -> bool:
    """If-None-Match names this ETag (or, without it, If-Modified-Since is not older)."""
    match = request.headers.get("if-none-match")
    if match is not None:
        return etag in [m.strip() for m in match.split(",")] or match.strip() == "*"
    since = request.headers.get("if-modified-since")
    if since:
        try:
            return modified <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


# -- the action links -----------------------------------------------------------------------


def action_page(site: Site, request: Request) -> Response:
    """``/r/<token>``: a signed "I renewed it" or "remind me tomorrow" link. GET shows the
    number, the deadline and a button; POST records it (once)."""
    if request.method not in (*READ, "POST"):
        return site.error(request, 405)
    now = site.clock()
    try:
        claim = verify(site.key, request.path.removeprefix("/r/"), now)
    except BadToken:
        return _refused(site, request)
    number = app.number_by_e164(site.config, claim.number)
    if number is None:
        return site.error(request, 404)
    t = site.translator(request)
    if request.method == "POST":
        return _act(site, request, claim, number, now, t)
    ledger = app.read_ledger_for(site.config, [number.number])  # read-only, this number's
    done = app.deadline_done(number, claim.deadline, ledger)
    return site.page(
        request,
        "action.html",
        action=claim.action,
        name=number.name,
        deadline=claim.deadline.isoformat(),
        done=done,
        until=_when(app.snooze_until(site.config, number, now), number),
        result="",
        message="",
    )


def _act(
    site: Site, request: Request, claim: Claim, number: Number, now: datetime, t: Translator
) -> Response:
    """The button's POST: record the renewal or the snooze through the application layer."""
    from .errors import UsageError

    values: dict[str, Any] = {
        "action": claim.action,
        "name": number.name,
        "deadline": claim.deadline.isoformat(),
        "until": "",
        "message": "",
    }
    if claim.action == "snooze":
        snoozed = app.snooze_by_link(site.config, number, claim.deadline, now)
        values["until"] = _when(snoozed.until, number)
        return site.page(
            request,
            "action.html",
            done=not snoozed.new,
            result="renewed" if snoozed.renewed else ("snoozed" if snoozed.new else "held"),
            **values,
        )
    try:
        recorded = app.renew_by_link(site.config, number, claim.deadline, now)
    except UsageError as e:
        values["message"] = str(e)
        return site.page(request, "action.html", 409, done=True, result="refused", **values)
    if recorded is None:
        return site.page(request, "action.html", done=True, result="already", **values)
    values["message"] = _recorded_text(number, now, recorded, t)
    return site.page(request, "action.html", done=True, result="recorded", **values)


def _recorded_text(number: Number, now: datetime, recorded: app.Recorded, t: Translator) -> str:
    """What ``simkeeper renewed`` says it recorded, in the page's language."""
    on = local_today(number, now)
    what = t.gettext("deadline {date} done").format(date=recorded.covers) if recorded.covers else ""
    nxt = rolling_deadline(number, recorded.ledger) if number.rolling else None
    if nxt:
        what = t.gettext("next deadline {date}").format(date=nxt)
    line = t.gettext("recorded: {name} renewed on {date}").format(name=number.name, date=on)
    return line + (t.gettext("; {what}").format(what=what) if what else "")


def _stage(number: Number, deadline: date, now: datetime) -> str:
    """The ``after_deadline`` stage a number is in today, if any."""
    stage = stage_on(number, deadline, local_today(number, now))
    return stage.state if stage else ""


def _when(moment: datetime, number: Number) -> str:
    """A time as the number's owner reads it: local date and time in the number's zone."""
    return moment.astimezone(number.timezone).strftime("%Y-%m-%d %H:%M")
