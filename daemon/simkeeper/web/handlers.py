"""The pages of the web face: the status page, the calendar feed and the signed action links.

Each handler checks its token and calls the application layer (:mod:`.app`); nothing here
records a renewal by itself. ``GET`` of an action link only shows what its button would do.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time
from decimal import Decimal
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from simkeeper import app
from simkeeper.core.model import EMPTY_LEDGER, Config, Number
from simkeeper.engine.balances import money
from simkeeper.engine.deadlines import local_today
from simkeeper.engine.upcoming import upcoming
from simkeeper.send.links import BadToken, Claim, Page, page_allowed, page_token, verify
from simkeeper.texts.i18n import Translator
from simkeeper.web.wsgi import Request, Response, Site

if TYPE_CHECKING:
    from simkeeper.present.report import StatusReport

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
    """``/?token=``: every number with its next deadline, days left, stage and balance
    runway, most urgent first, a page at a time (``q`` searches names, ``start`` pages on);
    on each that needs acting on, the buttons of the links and the carrier's page."""
    refused = _page_check(site, request, "status")
    if refused:
        return refused
    from urllib.parse import urlencode

    from simkeeper.present.board import PAGE_SIZE

    config, now = site.config, site.clock()
    report = app.board_status(config, site.board, now)
    t, lang = site.translator(request), site.language(request)
    query = request.query.get("q", "").strip()[:100]
    page = site.board.page(query, _int(request.query.get("start", "")))
    ledger = app.read_ledger_for(config, [config.numbers[i].number for i in page.positions])
    rows = site.board.rows(page, now, ledger)
    token = request.query.get("token", "")
    today = now.astimezone(config.settings.timezone).date()
    needing = site.board.page().needing

    def link(start: int) -> str:
        values = {"token": token, **({"q": query} if query else {}), "start": str(start)}
        return f"{site.root}/?{urlencode(values)}"

    before = page.start - PAGE_SIZE if page.start > 0 else None
    after = page.start + PAGE_SIZE if page.start + PAGE_SIZE < page.total else None
    return site.page(
        request,
        "status.html",
        summary=_summary(needing, len(config.numbers), t),
        urgent=bool(needing or report.needs),
        problems=_problems(report, t),
        zone=config.settings.timezone_name,
        last_pass=_last_pass(report, config, today, t, lang),
        cards=[_card(site, r, ledger, now, t, lang) for r in rows],
        query=query,
        token=token,
        shown=_shown(page, query, t),
        before=link(max(before, 0)) if before is not None else "",
        after=link(after) if after is not None else "",
        targets=[(h.name, h.failing) for h in report.targets],
        spend=_spend(config, now, t),
    )


def _spend(config: Config, now: datetime, t: Translator) -> list[str]:
    """The autopilot's spend, a line per currency of its budget (none when it is off)."""
    spend = app.keepalive_spend(config, now)
    if spend is None:
        return []
    line = t.gettext("Autopilot: %(spent)s of %(cap)s %(currency)s spent in the last %(days)d days")
    return [
        line
        % {
            "spent": money(spend.spent.get(currency, Decimal(0))),
            "cap": money(cap),
            "currency": currency,
            "days": spend.per_days,
        }
        for currency, cap in sorted(spend.caps.items())
    ]


def _int(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 10 else 0


def _summary(needing: int, numbers: int, t: Translator) -> str:
    if needing:
        return t.ngettext("%(n)d number needs you now", "%(n)d numbers need you now", needing) % {
            "n": needing
        }
    return t.ngettext(
        "All good: your %(n)d number is looked after.",
        "All good: your %(n)d numbers are looked after.",
        numbers,
    ) % {"n": numbers}


def _shown(page: Any, query: str, t: Translator) -> str:
    if not page.total:
        return t.gettext("No number is called that.") if query else t.gettext("No numbers yet.")
    return t.gettext("{first}–{last} of {total}").format(
        first=page.start + 1, last=page.start + len(page.positions), total=page.total
    )


PROBLEMS_SHOWN = 5  # of each kind; the rest are counted


def _problems(report: StatusReport, t: Translator) -> list[str]:
    """What needs a person beyond a number's deadline (those are the cards), once each, at
    most :data:`PROBLEMS_SHOWN` of a kind and a count of the rest."""
    from simkeeper.present.report import BrokenNumber, FailedReading, TargetHealth
    from simkeeper.present.views import reading_failed_text
    from simkeeper.state.rows import UnsentReminder

    kinds: dict[type, dict[str, None]] = {
        TargetHealth: {},
        UnsentReminder: {},
        BrokenNumber: {},
        FailedReading: {},
    }
    for a in report.needs:
        if isinstance(a, TargetHealth):
            text = t.gettext("Messages to {name} are failing.").format(name=a.name)
        elif isinstance(a, UnsentReminder):
            text = t.gettext("A reminder about {name} is late going out.").format(name=a.name)
        elif isinstance(a, BrokenNumber):
            text = t.gettext("{name}: its deadlines cannot be worked out ({error}).")
            text = text.format(name=a.name, error=a.error)
        elif isinstance(a, FailedReading):
            text = reading_failed_text(a, t)
        else:
            continue
        kinds[type(a)][text] = None
    lines = []
    for found in kinds.values():
        lines += list(found)[:PROBLEMS_SHOWN]
        rest = len(found) - PROBLEMS_SHOWN
        if rest > 0:
            lines.append(
                t.ngettext("… and %(n)d more like it.", "… and %(n)d more like it.", rest)
                % {"n": rest}
            )
    return lines


def nowrap(text: str) -> Markup:
    """A date or time that never breaks across lines (its text escaped)."""
    return Markup('<span class="date">{}</span>').format(text)


def _words(text: str, **values: Any) -> Markup:
    """A translated text with ``values`` put in, escaped (a value from :func:`nowrap` is
    kept as markup)."""
    return escape(text).format(**values)


def _last_pass(report: StatusReport, config: Any, today: date, t: Translator, lang: str) -> Markup:
    from simkeeper.state.rows import parse_stamp
    from simkeeper.texts.humandates import moment_text

    last = report.last_pass
    if last is None:
        return escape(t.gettext("No reminder check has run yet: is the simkeeper service running?"))
    when = nowrap(moment_text(parse_stamp(last.ran_at), config.settings.timezone, today, t, lang))
    if last.outcome == "error":
        text = t.gettext("Last check {when} went wrong: {error}")
        return _words(text, when=when, error=last.error or "")
    line = _words(t.gettext("Last checked for reminders {when}."), when=when)
    nxt = report.next_reminder
    if nxt is None:
        return line
    at = nowrap(moment_text(nxt.at, config.settings.timezone, today, t, lang))
    text = t.gettext("The next reminder, about {name}, goes out {when}.")
    return line + " " + _words(text, name=nxt.reminder.number.name, when=at)


def _card(
    site: Site, row: Any, ledger: Any, now: datetime, t: Translator, lang: str
) -> dict[str, Any]:
    """One number on the status page, as the template shows it."""
    from simkeeper.present.views import runs_out_text
    from simkeeper.send.links import action_links
    from simkeeper.texts.humandates import day_text, when_text

    number, d = row.number, row.deadline
    card: dict[str, Any] = {
        "name": number.name,
        "carrier": number.carrier,
        "when": when_text(d.date, row.today, t, lang) if d else "",
        "what": _what(row, t),
        "stage": row.stage,
        "overdue": bool(d and d.overdue),
        "needs": row.needs_action,
        "broken": row.broken,
        "runway": "",
        "renew_url": number.renew_url if row.needs_action else "",
        "buttons": [],
        "timeline": _svg(row, ledger, t, lang),
    }
    if row.runway is not None:
        p = row.runway
        card["runway"] = (
            t.gettext("Balance {balance} {currency}, lasts until {day}").format(
                balance=p.balance,
                currency=number.currency,
                day=day_text(p.runs_out, row.today, t, lang),
            )
            if p.runs_out
            else t.gettext("Balance {balance} {currency}, {reach}").format(
                balance=p.balance, currency=number.currency, reach=runs_out_text(p, t)
            )
        )
    if row.needs_action and d is not None and d.kind == "renew":
        stages = tuple(s.after for s in number.after_deadline)
        links = action_links(site.root, site.key, number.number, d.date, stages)
        names = {"renewed": t.gettext("I renewed it"), "snooze": t.gettext("Remind me tomorrow")}
        card["buttons"] = [(names[action], url) for action, url in links]
    return card


def _what(row: Any, t: Translator) -> str:
    d = row.deadline
    if row.broken:
        return t.gettext("Its deadlines cannot be worked out.")
    if d is None:
        return t.gettext("No deadline ahead.")
    if d.kind == "topup":
        return t.gettext("Top up before the balance runs out")
    if d.overdue:
        return t.gettext("Renewal overdue")
    if d.paid_from_balance:
        return t.gettext("Charged to the balance")
    return t.gettext("Renew")


def _svg(row: Any, ledger: Any, t: Translator, lang: str) -> dict[str, Any]:
    """The picture of the coming months: month labels, and the spans as rectangles (3 units
    a day, so it scales evenly with the page)."""
    from datetime import timedelta

    from babel.dates import format_date

    from simkeeper.present.board import TIMELINE_DAYS, timeline
    from simkeeper.texts.i18n import locale_name

    scale = 3
    # Translators: a CLDR pattern for a month on the timeline (Dec); zh-CN: M月
    pattern = t.gettext("MMM")
    firsts = [o for o in range(TIMELINE_DAYS) if (row.today + timedelta(days=o)).day == 1]
    starts = ([0] if not firsts or firsts[0] > 12 else []) + firsts
    months = [
        (o * scale, format_date(row.today + timedelta(days=o), pattern, locale=locale_name(lang)))
        for o in starts
    ]
    spans = [
        (s.start * scale, max((s.end - s.start) * scale, 2), s.kind, s.label)
        for s in timeline(row, ledger)
        if s.end > s.start
    ]
    return {"width": TIMELINE_DAYS * scale, "months": months, "spans": spans}


# -- the calendar feed ----------------------------------------------------------------------


def calendar_feed(site: Site, request: Request) -> Response:
    """``/calendar.ics?token=``: the feed ``simkeeper calendar`` writes, with an ETag and
    Last-Modified (304 when the phone already has it)."""
    from simkeeper.present.calendar import render_calendar
    from simkeeper.texts.i18n import translator

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
    # Never later than the clock (RFC 9110, 8.8.2.1): a pass run with a later --now records
    # its reminders "in the future", which is not when the feed changed.
    modified = min(modified, now.astimezone(UTC).replace(microsecond=0))
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
    number, the deadline and a button; POST records it (once), then says what was done, the
    number's next deadline, and links to the status page."""
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
    t, lang = site.translator(request), site.language(request)
    if request.method == "POST":
        return _act(site, request, claim, number, now, t, lang)
    ledger = app.read_ledger_for(site.config, [number.number])  # read-only, this number's
    values = _action_values(site, claim, number, now, t, lang)
    done = app.deadline_done(number, claim.deadline, ledger)
    return site.page(request, "action.html", done=done, result="", **values)


def _action_values(
    site: Site, claim: Claim, number: Number, now: datetime, t: Translator, lang: str
) -> dict[str, Any]:
    from simkeeper.texts.humandates import moment_text, when_text

    today = local_today(number, now)
    until = app.snooze_until(site.config, number, now)
    return {
        "action": claim.action,
        "name": number.name,
        "deadline": when_text(claim.deadline, today, t, lang),
        "until": nowrap(moment_text(until, number.timezone, today, t, lang)),
        "zone": number.timezone_name,
        "next": "",
        "status_url": f"{site.root}/?token={page_token(site.key, 'status')}",
    }


def _next_text(site: Site, number: Number, now: datetime, t: Translator, lang: str) -> Markup:
    """The number's next deadline after the press, in words."""
    from simkeeper.present.board import next_deadline
    from simkeeper.texts.humandates import when_text

    ledger = app.read_ledger_for(site.config, [number.number])
    d = next_deadline(number, now, ledger)
    if d is None:
        return _words(t.gettext("{name} has no deadline ahead."), name=number.name)
    when = nowrap(when_text(d.date, local_today(number, now), t, lang))
    return _words(t.gettext("Next deadline: {when}."), when=when)


def _act(
    site: Site,
    request: Request,
    claim: Claim,
    number: Number,
    now: datetime,
    t: Translator,
    lang: str,
) -> Response:
    """The button's POST: record the renewal or the snooze through the application layer."""
    from simkeeper.core.errors import UsageError

    values = _action_values(site, claim, number, now, t, lang)
    if claim.action == "snooze":
        snoozed = app.snooze_by_link(site.config, number, claim.deadline, now)
        result = "renewed" if snoozed.renewed else ("snoozed" if snoozed.new else "held")
        values["next"] = _next_text(site, number, now, t, lang)
        return site.page(request, "action.html", done=not snoozed.new, result=result, **values)
    try:
        recorded = app.renew_by_link(site.config, number, claim.deadline, now)
    except UsageError:
        values["next"] = _next_text(site, number, now, t, lang)
        return site.page(request, "action.html", 409, done=True, result="refused", **values)
    values["next"] = _next_text(site, number, now, t, lang)
    result = "already" if recorded is None else "recorded"
    return site.page(request, "action.html", done=True, result=result, **values)
