"""The iCalendar feed: one all-day event per deadline, with alarms at the lead times.

Each event's UID is derived from (number, deadline, kind), so re-importing or re-subscribing
updates events instead of duplicating them.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from pathlib import Path

from icalendar import Alarm, Calendar, Event

from simkeeper.core.model import Config, Ledger
from simkeeper.engine.deadlines import Deadline, lost_on
from simkeeper.engine.upcoming import upcoming
from simkeeper.texts.i18n import ENGLISH, Translator, cycle_words, translator
from simkeeper.texts.templates import mask_number

PRODID = "-//simkeeper//simkeeper//EN"


def event_uid(deadline: Deadline) -> str:
    """A stable UID for a (number, deadline, kind)."""
    key = f"{deadline.number.number}|{deadline.date.isoformat()}|{deadline.kind}"
    return hashlib.sha256(key.encode()).hexdigest()[:32] + "@simkeeper"


def render_calendar(
    deadlines: Iterable[Deadline],
    now: datetime,
    remind_at: time = time(0),
    t: Translator = ENGLISH,
) -> bytes:
    """An RFC 5545 calendar of ``deadlines`` as bytes.

    Alarms go off at ``remind_at`` on each lead day, as the reminders do (an all-day event
    starts at midnight, so the trigger is the lead in days plus that time of day). A charge
    paid from a pay-as-you-go balance is shown without alarms: nothing needs doing. Titles,
    descriptions and alarms are in the language of ``t``.
    """
    after_midnight = timedelta(hours=remind_at.hour, minutes=remind_at.minute)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", t.gettext("simkeeper deadlines"))
    for d in deadlines:
        n = d.number
        if d.paid_from_balance:
            action = t.pgettext("calendar", "Charge")
        elif d.kind == "topup":
            action = t.pgettext("calendar", "Top up")
        else:
            action = t.pgettext("calendar", "Renew")
        named = {"action": action, "name": n.name}
        event = Event()
        event.add("uid", event_uid(d))
        event.add("dtstamp", now)
        summary = t.gettext("{action} {name} ({number})")
        event.add("summary", summary.format(**named, number=mask_number(n.number)))
        event.add("dtstart", d.date)
        event.add("dtend", d.date + timedelta(days=1))
        lines = [
            t.gettext("{action} {name} by {date}").format(**named, date=d.date.isoformat()),
            t.gettext("Cycle: {cycle}").format(cycle=cycle_words(n.cycle_text, t)),
        ]
        if n.carrier:
            lines.append(t.gettext("Carrier: {carrier}").format(carrier=n.carrier))
        if n.note:
            lines.append(n.note)
        if n.renew_url:
            lines.append(t.gettext("Top up: {url}").format(url=n.renew_url))
            event.add("url", n.renew_url)
        event.add("description", "\n".join(lines))
        event.add("transp", "TRANSPARENT")
        alarm_text = t.gettext("{action} {name}: {lead} day(s) left")
        for lead in () if d.paid_from_balance else n.remind:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", alarm_text.format(**named, lead=lead))
            alarm.add("trigger", after_midnight - timedelta(days=lead))
            event.add_component(alarm)
        cal.add_component(event)
        if not d.paid_from_balance and (loss := loss_event(d, now, t)) is not None:
            cal.add_component(loss)
    data: bytes = cal.to_ical()
    return data


def loss_event(d: Deadline, now: datetime, t: Translator = ENGLISH) -> Event | None:
    """An all-day event on the day the number is lost if ``d`` is missed (its last
    ``after_deadline`` stage), or None when the number has no stages."""
    n = d.number
    day = lost_on(n, d.date)
    if day is None:
        return None
    event = Event()
    key = f"{n.number}|{d.date.isoformat()}|{d.kind}|lost"
    event.add("uid", hashlib.sha256(key.encode()).hexdigest()[:32] + "@simkeeper")
    event.add("dtstamp", now)
    summary = t.gettext("Lost if not renewed: {name} ({number})")
    event.add("summary", summary.format(name=n.name, number=mask_number(n.number)))
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
    lines = [t.gettext("If {name} is not renewed by {date}:").format(name=n.name, date=d.date)]
    lines += [f"{d.date + timedelta(days=s.after)}: {s.state}" for s in n.after_deadline]
    if n.renew_url:
        lines.append(t.gettext("Top up: {url}").format(url=n.renew_url))
        event.add("url", n.renew_url)
    event.add("description", "\n".join(lines))
    event.add("transp", "TRANSPARENT")
    return event


def refresh_feed(
    config: Config, ledger: Ledger, now: datetime, last: tuple[object, ...] | None = None
) -> tuple[object, ...]:
    """Rewrite ``settings.calendar`` unless what it shows is still ``last``; return what it shows.

    The daemon passes back what it got, so a pass that changed nothing leaves the file alone.
    """
    settings = config.settings
    assert settings.calendar is not None
    # A number that cannot be worked out is left out; the send pass reports it.
    found = upcoming(config.numbers, now, settings.calendar_days, ledger, failures=[])
    shown = (now.date(), tuple((d.number, d.date, d.kind, d.paid_from_balance) for d in found))
    if shown != last:
        data = render_calendar(found, now, settings.remind_at, translator(settings.language))
        write_atomically(settings.calendar, data, settings.calendar_mode)
    return shown


def write_atomically(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` so a reader never sees half a file.

    The file holds names, notes and deadlines: ``mode`` is 0600 unless the config asks for
    0640 (``settings.calendar_mode``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
