"""Views: results turned into text for people or JSON for programs, for every edge alike.

Nothing here reads a file, the clock or the database: each function takes what a command (or a
later web face) already built, such as a :class:`~simkeeper.present.report.StatusReport`, and
returns text. The words shown for a deadline, a day count or a balance live here once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from simkeeper.core.model import Config
from simkeeper.engine.balances import Projection, money
from simkeeper.engine.deadlines import Deadline, lost_on, stage_on
from simkeeper.engine.upcoming import Upcoming
from simkeeper.texts.display import column_width, stream_table, table, urgency_style
from simkeeper.texts.i18n import ENGLISH, N_, Translator, label

if TYPE_CHECKING:  # the status and history views import them when used: upcoming and check
    # start without the store and sqlite-utils
    from simkeeper.present.report import Attention, FailedReading, StatusReport, TargetHealth
    from simkeeper.state.rows import HistoryEvent


def local_stamp(text: str | None, config: Config, seconds: bool = False) -> str | None:
    """A stored UTC stamp in the configured time zone with its offset (``2026-12-14T09:00+01:00``;
    with ``seconds`` the full ISO 8601 form, for JSON)."""
    if not text:
        return None
    moment = datetime.fromisoformat(text).astimezone(config.settings.timezone)
    return moment.isoformat(timespec="seconds" if seconds else "minutes")


def json_array(items: Iterable[dict[str, Any]]) -> str:
    """A JSON array with one object per line: easy to read and to grep, and (unlike
    ``indent=``, which falls back to the pure-Python encoder) fast for 100,000 items."""
    lines = [json.dumps(item, ensure_ascii=False) for item in items]
    return "[\n" + ",\n".join(lines) + "\n]" if lines else "[]"


def runs_out_text(p: Projection, t: Translator = ENGLISH) -> str:
    """When a projected balance runs out, in words."""
    return p.runs_out.isoformat() if p.runs_out else t.gettext("not within reach")


def action_text(d: Deadline, t: Translator = ENGLISH) -> str:
    """What a deadline asks for, in a few words (the ``ACTION`` column, ``at risk`` lines)."""
    if d.kind == "topup":
        return t.gettext("top up (balance runs out)")
    if d.overdue:
        if d.number.rolling:
            return t.gettext("OVERDUE (window passed)")
        return t.gettext("OVERDUE")
    if d.paid_from_balance:
        return t.gettext("charged to balance")
    return t.gettext("renew")


def days_text(days_left: int, t: Translator = ENGLISH) -> str:
    """Days left as shown: ``today``, ``3d`` or ``2d ago``."""
    if days_left == 0:
        return t.gettext("today")
    if days_left > 0:
        return t.gettext("{n}d").format(n=days_left)
    return t.gettext("{n}d ago").format(n=-days_left)


def stage_json(d: Deadline) -> dict[str, Any]:
    """``lost_on`` (the day of the last ``after_deadline`` stage, or None), ``stage`` (the
    current stage's state once the deadline passed, else None) and ``renew_url``."""
    n = d.number
    lost = None if d.paid_from_balance else lost_on(n, d.date)
    stage = stage_on(n, d.date, d.date - timedelta(days=d.days_left)) if lost else None
    return {
        "lost_on": lost.isoformat() if lost else None,
        "stage": stage.state if stage else None,
        "renew_url": n.renew_url or None,
    }


def missed_text(d: Deadline, t: Translator = ENGLISH) -> str:
    """The ``STAGE / LOST`` cell: the current stage and the day the number is lost, if known."""
    info = stage_json(d)
    if info["lost_on"] is None:
        return ""
    lost = t.gettext("lost {date}").format(date=info["lost_on"])
    return f"{info['stage']}; {lost}" if info["stage"] else lost


def deadline_table(
    found: Sequence[Deadline],
    t: Translator,
    headers: list[str],
    stage_header: str,
    colour: bool = False,
    chunk: int = 4096,
) -> Iterator[list[str]]:
    """The lines of the ``upcoming`` table: deadline, left, name, number, carrier, cycle,
    action, and ``STAGE / LOST`` (:func:`missed_text`) only when some number has stages,
    written in one streaming pass, ``chunk`` rows at a time. The cells a deadline's template
    decides (see :class:`~simkeeper.engine.upcoming.Upcoming`: the date, days left, cycle,
    action and stage) are worked out once per template; names, numbers and carriers are read
    from the numbers' table by place. A million deadlines never become a million lists of
    cells, nor a million numbers."""
    held = Upcoming.of(found)
    table, places, which = held.table, held.places, held.which
    lead, tail = _template_cells(held.templates, t)
    staged = any(cells[-1] for cells in tail)
    if not staged:
        tail = [cells[:-1] for cells in tail]
    parts = range(0, len(places), chunk)
    by_place = ("name", "number", "carrier")
    headers = [*headers, stage_header] if staged else headers
    shape = [column_width([h, *{c[i] for c in lead}]) for i, h in enumerate(headers[:2])]
    for h, field in zip(headers[2:5], by_place, strict=True):
        shape.append(_width(h, (table.values(field, places[s : s + chunk]) for s in parts)))
    shape += [column_width([h, *{c[i] for c in tail}]) for i, h in enumerate(headers[5:])]

    def rows(start: int) -> list[list[str]]:
        part = places[start : start + chunk]
        cells = zip(*(table.values(field, part) for field in by_place), strict=True)
        picked = which[start : start + chunk]
        return [[*lead[w], a, b, c, *tail[w]] for w, (a, b, c) in zip(picked, cells, strict=True)]

    styles = None
    if colour:
        style = [urgency_style(d.days_left) for d in held.templates]
        styles = ([style[w] for w in which[s : s + chunk]] for s in parts)
    return stream_table(headers, shape, (rows(s) for s in parts), styles)


def _template_cells(
    templates: Sequence[Deadline], t: Translator
) -> tuple[list[tuple[str, str]], list[tuple[str, ...]]]:
    """Per template, its cells before the name (deadline, left) and after the carrier
    (cycle, action, stage): each distinct text worked out once."""
    dates = {day: day.isoformat() for day in {d.date for d in templates}}
    days = {left: days_text(left, t) for left in {d.days_left for d in templates}}
    actions: dict[tuple[str, bool, bool, bool], str] = {}
    lead: list[tuple[str, str]] = []
    tail: list[tuple[str, ...]] = []
    for d in templates:
        n = d.number
        key = (d.kind, d.days_left < 0, n.rolling, d.paid_from_balance)
        action = actions.get(key)
        if action is None:
            action = actions[key] = action_text(d, t)
        lead.append((dates[d.date], days[d.days_left]))
        tail.append((n.cycle_text, action, missed_text(d, t) if n.after_deadline else ""))
    return lead, tail


def _width(header: str, chunks: Iterable[Iterable[str]]) -> tuple[int, bool]:
    """:func:`column_width` of a column given a chunk of cells at a time."""
    widths = [column_width([header, *cells]) for cells in chunks] or [column_width([header])]
    return max(w for w, _ in widths), any(wide for _, wide in widths)


def deadline_json(d: Deadline) -> dict[str, Any]:
    """One deadline as a JSON object (``upcoming --format json``, ``status`` at risk)."""
    n = d.number
    out: dict[str, Any] = {
        "name": n.name,
        "number": n.number,
        "deadline": d.date.isoformat(),
        "days_left": d.days_left,
        "cycle": n.cycle_text,
        "kind": d.kind,
        "rolling": n.rolling,
        "overdue": d.overdue,
        "paid_from_balance": d.paid_from_balance,
        "carrier": n.carrier,
        "note": n.note,
        "timezone": n.timezone_name,
        **stage_json(d),
    }
    if d.projection:
        out.update(
            balance=money(d.projection.balance),
            currency=n.currency,
            covered=d.projection.covered,
            runs_out=d.projection.runs_out.isoformat() if d.projection.runs_out else None,
        )
    return out


# -- history --------------------------------------------------------------------------------


def history_json(e: HistoryEvent, config: Config) -> dict[str, Any]:
    """One history event as a JSON object; stored UTC stamps in the configured zone."""
    from simkeeper.state.rows import SentReminder

    if isinstance(e, SentReminder):
        sent_at = local_stamp(e.sent_at, config, seconds=True)
        return {"when": sent_at, "event": "sent", **vars(e), "sent_at": sent_at}
    recorded_at = local_stamp(e.recorded_at, config, seconds=True)
    return {"when": e.date, "recorded_at": recorded_at, "event": e.kind, **vars(e)} | {
        "recorded_at": recorded_at
    }


# The kinds of history entries and reminders, as stored, translated where they are shown.
HISTORY_KINDS = (
    N_("renewal"),
    N_("topup"),
    N_("reading"),
    N_("renew"),
    N_("overdue"),
    N_("digest"),
)


def history_row(e: HistoryEvent, config: Config, t: Translator = ENGLISH) -> list[str]:
    """One history event as a ``history`` table row: when, name, what."""
    from simkeeper.state.rows import SentReminder

    if isinstance(e, SentReminder):
        if e.kind == "problem":
            what = t.gettext("alert that its deadlines cannot be worked out sent to {target}")
            what = what.format(target=e.target)
        else:
            what = t.gettext("{kind} reminder for {deadline} sent to {target}").format(
                kind=label(t, e.kind), deadline=e.deadline, target=e.target
            )
        return [local_stamp(e.sent_at, config) or "", e.name, what]
    amount = f" {e.amount} {e.currency or ''}".rstrip() if e.amount else ""
    covers = t.gettext(" (deadline {covers})").format(covers=e.covers) if e.covers else ""
    note = f" - {e.note}" if e.note else ""
    source = t.gettext(" (by {source})").format(source=e.source) if e.source else ""
    return [e.date or "", e.name, f"{label(t, e.kind)}{amount}{covers}{note}{source}"]


# -- status ---------------------------------------------------------------------------------


def status_json(report: StatusReport, config: Config) -> str:
    """``status --format json``."""

    def when(text: str | None) -> str | None:
        return local_stamp(text, config, seconds=True)

    last_pass = None
    if report.last_pass:
        last_pass = {
            **vars(report.last_pass),
            "ran_at": when(report.last_pass.ran_at),
            "later_than_clock": report.last_pass_later,
        }
    nxt = report.next_reminder
    data = {
        "state": report.location or str(report.state),
        "daemons": [
            {**vars(d), "last_pass": d.last_pass and when(d.last_pass)} for d in report.daemons
        ],
        "attention": [attention_text(a) for a in report.needs],
        "last_pass": last_pass,
        "due_unsent": [{**vars(r), "due_at": when(r.due_at)} for r in report.due_unsent],
        "counts": dict(report.counts),
        "waiting": [
            {**vars(w), "next_attempt_at": when(w.next_attempt_at)} for w in report.waiting
        ],
        "targets": [_target_json(t, when) for t in report.targets],
        "next_reminder": when(nxt.at.isoformat()) if nxt else None,
        "broken": [{"name": b.name, "error": b.error} for b in report.broken],
        "at_risk": [deadline_json(d) for d in report.at_risk],
        "balances": [
            {
                "name": b.number.name,
                "balance": money(b.projection.balance),
                "currency": b.number.currency,
                "covered": b.projection.covered,
                "runs_out": b.projection.runs_out.isoformat() if b.projection.runs_out else None,
            }
            for b in report.balances
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=2)


def _target_json(t: TargetHealth, when: Any) -> dict[str, Any]:
    seen = vars(t.seen) if t.seen else {}
    return {
        "name": t.name,
        "url": t.url,
        **seen,
        "last_success_at": when(seen.get("last_success_at")),
        "last_error_at": when(seen.get("last_error_at")),
        "failing": t.failing,
    }


# A pass's outcomes and a delivery's states, as stored, translated where they are shown.
PASS_OUTCOMES = (N_("ok"), N_("failed"))
DELIVERY_STATES = (N_("pending"), N_("sending"), N_("sent"), N_("failed"), N_("expired"))


def status_text(report: StatusReport, config: Config, t: Translator = ENGLISH) -> Iterator[str]:
    """``status`` for people, line by line, in the language of ``t``."""
    state = (
        t.gettext("state: {path}") if report.found else t.gettext("state: {path} (not created yet)")
    )
    yield state.format(path=report.location or report.state)
    yield from _daemon_lines(report, config, t)
    yield _last_pass_line(report, config, t)
    yield _next_reminder_line(report, config, t)
    counts = [f"{label(t, k)} {v}" for k, v in sorted(report.counts.items())]
    summary = t.pgettext("between names", ", ").join(counts) or t.gettext("none yet")
    yield t.gettext("deliveries: {summary}").format(summary=summary)
    yield from _due_unsent_lines(report, config, t)
    yield ""
    yield from _tables(report, config, t)
    yield from _problem_lines(report, t)


def _daemon_lines(report: StatusReport, config: Config, t: Translator) -> Iterator[str]:
    """The daemons sharing the state (shown when the state is shared, or more than one)."""
    if not report.location and len(report.daemons) < 2:
        return
    for d in report.daemons:
        last = d.last_pass and local_stamp(d.last_pass, config)
        yield t.gettext("daemon on {host} (pid {pid}): last pass {when}").format(
            host=d.host, pid=d.pid, when=last or t.gettext("none yet")
        )


def attention_text(a: Attention, t: Translator = ENGLISH) -> str:
    """One thing that needs a person, as a short line (``needs attention``, JSON ``attention``)."""
    from simkeeper.core.errors import format_bytes
    from simkeeper.present.report import BrokenNumber, DiskFull, FailedReading, TargetHealth
    from simkeeper.state.rows import UnsentReminder

    if isinstance(a, DiskFull):
        return t.gettext(
            "the disk holding {path} is full ({free} free): nothing new can be recorded; "
            "free some space there"
        ).format(path=a.path, free=format_bytes(a.free))
    if isinstance(a, UnsentReminder):
        text = (
            t.gettext("{name}: {kind} reminder for {deadline} due and not sent")
            if a.recorded
            else t.gettext(
                "{name}: {kind} reminder for {deadline} due and not sent"
                " (no pass has run since it fell due)"
            )
        )
        return text.format(name=a.name, kind=label(t, a.kind), deadline=a.deadline)
    if isinstance(a, TargetHealth):
        return t.gettext("target {name} is failing").format(name=a.name)
    if isinstance(a, BrokenNumber):
        return t.gettext("{name}: no reminders ({error})").format(name=a.name, error=a.error)
    if isinstance(a, FailedReading):
        return reading_failed_text(a, t)
    return t.gettext("{name}: {action}, deadline {date}").format(
        name=a.number.name, action=action_text(a, t), date=a.date.isoformat()
    )


# How a balance check ended, as stored, translated where it is shown.
READING_OUTCOMES = (N_("ok"), N_("no-match"), N_("timeout"), N_("error"))


def reading_failed_text(a: FailedReading, t: Translator = ENGLISH) -> str:
    """A failed balance check as a line: the outcome, and the reply (masked) or the error."""
    if a.outcome == "no-match":
        return t.gettext(
            '{name}: the balance check {code} got a reply its pattern does not match: "{reply}"'
        ).format(name=a.name, code=a.code, reply=a.reply)
    return t.gettext("{name}: the balance check {code} failed ({outcome}: {error})").format(
        name=a.name, code=a.code, outcome=label(t, a.outcome), error=a.error
    )


def _last_pass_line(report: StatusReport, config: Config, t: Translator) -> str:
    last = report.last_pass
    if not last:
        return t.gettext("last pass: none recorded")
    if last.outcome == "error":
        how = t.gettext("error: {error}").format(error=last.error)
    else:
        how = label(t, last.outcome)
        if last.sent or last.failed:
            how += t.gettext(", sent to {sent} target(s), {failed} failed").format(
                sent=last.sent, failed=last.failed
            )
    line = t.gettext("last pass: {when} by {source}, {how}").format(
        when=local_stamp(last.ran_at, config), source=last.source, how=how
    )
    if report.last_pass_later:
        line += t.gettext(" (later than the clock, so run with --now: no sign of a running daemon)")
    return line


def _next_reminder_line(report: StatusReport, config: Config, t: Translator) -> str:
    nxt = report.next_reminder
    if not nxt:
        return t.gettext("next reminder: none scheduled")
    r = nxt.reminder
    return t.gettext("next reminder: {when} for {name} ({kind}, deadline {deadline})").format(
        when=local_stamp(nxt.at.isoformat(), config),
        name=r.number.name,
        kind=label(t, r.kind),
        deadline=r.deadline.isoformat(),
    )


def _due_unsent_lines(report: StatusReport, config: Config, t: Translator) -> Iterator[str]:
    if not report.due_unsent:
        return
    yield ""
    yield t.gettext("due, not sent:")
    for r in report.due_unsent:
        line = t.gettext("{name}: {kind} reminder for {deadline}, due {due}, to {targets}").format(
            name=r.name,
            kind=label(t, r.kind),
            deadline=r.deadline,
            due=local_stamp(r.due_at, config),
            targets=r.targets or t.gettext("no target"),
        )
        yield (
            "  "
            + line
            + ("" if r.recorded else t.gettext(" (not recorded: no pass has run since)"))
        )


def _tables(report: StatusReport, config: Config, t: Translator) -> Iterator[str]:
    rows = [_target_row(h, config) for h in report.targets]
    if rows:
        headers = [
            N_("TARGET"),
            N_("URL"),
            N_("LAST SUCCESS"),
            N_("LAST ERROR AT"),
            N_("LAST ERROR"),
        ]
        yield table([t.gettext(h) for h in headers], rows)
    if not report.waiting:
        return
    yield ""
    rows = [
        [
            str(w.id),
            w.target,
            label(t, w.state),
            str(w.attempts),
            local_stamp(w.next_attempt_at, config) or "",
            w.name,
            w.deadline,
            w.last_error or "",
        ]
        for w in report.waiting
    ]
    headers = [
        N_("ID"),
        N_("TARGET"),
        N_("STATE"),
        N_("TRIES"),
        N_("NEXT TRY"),
        N_("NUMBER"),
        N_("DEADLINE"),
        N_("ERROR"),
    ]
    yield table([t.gettext(h) for h in headers], rows)


def _target_row(t: TargetHealth, config: Config) -> list[str]:
    from simkeeper.state.rows import TargetState

    seen = t.seen or TargetState(t.name, None, None, None)
    return [
        t.name,
        t.url,
        local_stamp(seen.last_success_at, config) or "-",
        local_stamp(seen.last_error_at, config) or "-",
        seen.last_error or "",
    ]


def _problem_lines(report: StatusReport, t: Translator) -> Iterator[str]:
    if report.broken:
        yield ""
        yield t.gettext("not worked out (no reminders for these until fixed):")
        for b in report.broken:
            yield f"  {b.name}: {b.error}"
    if report.at_risk:
        yield ""
        yield t.gettext("at risk:")
        for d in report.at_risk:
            yield "  " + t.gettext("{name}: {action}, deadline {date} ({days})").format(
                name=d.number.name,
                action=action_text(d, t),
                date=d.date.isoformat(),
                days=days_text(d.days_left, t),
            )
    if report.balances:
        yield ""
        for line in report.balances:
            p = line.projection
            yield t.gettext(
                "balance {name}: {balance} {currency}, covers {covered} more charge(s),"
                " runs out {runs_out}"
            ).format(
                name=line.number.name,
                balance=money(p.balance),
                currency=line.number.currency,
                covered=p.covered,
                runs_out=runs_out_text(p, t),
            )
    if report.needs:
        yield ""
        yield t.gettext("needs attention:")
        for a in report.needs:
            yield "  " + attention_text(a, t)
