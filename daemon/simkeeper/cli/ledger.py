"""What the user did: ``renewed`` and ``topup`` record it, ``undo`` takes the last one back and
``history`` lists it with the reminders sent.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import click

from simkeeper import app
from simkeeper.cli import balance as balance_cli
from simkeeper.cli import inbound as inbound_cli
from simkeeper.cli import keepalive as autopilot_cli
from simkeeper.cli.base import FORMAT_OPTION, NOW_OPTION, Context, complete_names, parse_now
from simkeeper.core.errors import UsageError
from simkeeper.core.model import Config, Ledger, Number
from simkeeper.engine.balances import money
from simkeeper.engine.deadlines import counts, local_today, projection
from simkeeper.engine.upcoming import upcoming
from simkeeper.present.views import (
    days_text,
    history_json,
    history_row,
    json_array,
    local_stamp,
    runs_out_text,
)
from simkeeper.texts.display import table
from simkeeper.texts.i18n import Translator, translator

if TYPE_CHECKING:
    from simkeeper.state.rows import Entry, HistoryEvent


def _parse_day(value: str | None, today: date, what: str = "--date") -> date:
    if value is None:
        return today
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise UsageError(f'{what} "{value}" is not a date', "write it as YYYY-MM-DD") from None
    if day > today:
        raise UsageError(f"{what} {day} is in the future", f"today is {today}")
    if day.year < 1900:  # the engine steps cycles from it; nothing real is that old
        raise UsageError(f"{what} {day} is too far in the past", "use a date from 1900 on")
    return day


@click.command()
@click.argument("name", shell_complete=complete_names)
@click.option("--date", "day", metavar="YYYY-MM-DD", help="When it was renewed; default today.")
@click.option("--amount", metavar="X", help="What it cost.")
@click.option("--note", default="", help="A note kept in the history.")
@click.option(
    "--again",
    is_flag=True,
    help="Record it even though a renewal for this deadline (or this day) is already recorded.",
)
@NOW_OPTION
@click.pass_obj
def renewed(
    obj: Context,
    name: str,
    day: str | None,
    amount: str | None,
    note: str,
    again: bool,
    now: str | None,
) -> None:
    """Record that NAME was renewed (topped up, paid, or used as its window needs).

    NAME is the number's name, its E.164 number (with or without the +), or an unambiguous
    start of the name. A rolling number's deadline moves to the renewal plus its cycle; on a
    fixed schedule the occurrence due next (or overdue) is marked done and its reminders stop.
    A second renewal for a deadline already marked, or on the same day, is refused unless
    --again is given; a --date before the last recorded renewal is refused.
    """
    config = obj.load(validate_urls=False)
    number = app.find_number(config.numbers, name)
    moment = parse_now(now, config)
    on = _parse_day(day, local_today(number, moment))
    cost = app.check_amount(amount, "--amount")
    with app.open_state(config) as store:
        done = app.record_renewal(store, number, on, moment, cost, note, again)
    covers, ledger = done.covers, done.ledger
    t = translator(config.settings.language)
    what = t.gettext("deadline {date} done").format(date=covers) if covers else ""
    nxt = _next_date(number, moment, ledger) if number.rolling else None
    if nxt:
        what = t.gettext("next deadline {date}").format(date=nxt)
    if not counts(number, cost):
        what = _below_minimum(number, cost, nxt, t)
    line = t.gettext("recorded: {name} renewed on {date}").format(name=number.name, date=on)
    click.echo(line + (t.gettext("; {what}").format(what=what) if what else ""))


def _next_date(number: Number, moment: datetime, ledger: Ledger) -> date | None:
    """The renewal deadline due next, if any within ten years."""
    nxt = [d for d in upcoming([number], moment, 3660, ledger) if d.kind == "renew"]
    return nxt[0].date if nxt else None


def _below_minimum(number: Number, amount: Decimal | None, nxt: date | None, t: Translator) -> str:
    """What ``renewed`` or ``topup`` says when the amount is below ``min_amount``."""
    currency = f" {number.currency}" if number.currency else ""
    if number.rolling and nxt:
        stays = t.gettext("so the deadline stays {date}").format(date=nxt)
    else:
        stays = t.gettext("so no deadline is marked done")
    return t.gettext("{amount} is below min_amount {minimum}{currency}, {stays}").format(
        amount=amount, minimum=number.min_amount, currency=currency, stays=stays
    )


@click.command(context_settings={"ignore_unknown_options": True})  # so "-5" reaches AMOUNT
@click.argument("name", shell_complete=complete_names)
@click.argument("amount")
@click.option("--date", "day", metavar="YYYY-MM-DD", help="When it was topped up; default today.")
@NOW_OPTION
@click.pass_obj
def topup(obj: Context, name: str, amount: str, day: str | None, now: str | None) -> None:
    """Record a top-up of AMOUNT on NAME, raising its projected balance."""
    config = obj.load(validate_urls=False)
    number = app.find_number(config.numbers, name)
    value = app.check_amount(amount, "AMOUNT")
    assert value is not None  # AMOUNT is required
    moment = parse_now(now, config)
    on = _parse_day(day, local_today(number, moment))
    with app.open_state(config) as store:
        ledger = app.record_topup(store, number, on, moment, value)
    proj = projection(number, local_today(number, moment), ledger)
    t = translator(config.settings.language)
    extra = ""
    if proj:
        extra = t.gettext("; balance {balance} {currency}, runs out {runs_out}").format(
            balance=money(proj.balance), currency=number.currency, runs_out=runs_out_text(proj, t)
        )
    if number.rolling:  # a top-up keeps a keep-alive line going, like a renewal
        nxt = _next_date(number, moment, ledger)
        what = t.gettext("next deadline {date}").format(date=nxt) if nxt else ""
        what = what if counts(number, value) else _below_minimum(number, value, nxt, t)
        extra = t.gettext("; {what}").format(what=what) if what else ""
    line = t.gettext("recorded: {name} topped up {amount} {currency} on {date}")
    click.echo(
        line.format(name=number.name, amount=value, currency=number.currency, date=on) + extra
    )
    if not number.rolling and (number.balance is None or number.cost is None):
        click.echo(
            f"note: {number.name} has no balance and cost in the config, so no balance is "
            "projected for it",
            err=True,
        )
    elif number.balance_date and on <= number.balance_date and not number.rolling:
        click.echo(
            f"note: dated on or before balance_date ({number.balance_date}), so it is taken "
            "as part of the configured balance; update balance to change that",
            err=True,
        )


@click.command()
@click.argument("name", shell_complete=complete_names)
@NOW_OPTION
@click.pass_obj
def undo(obj: Context, name: str, now: str | None) -> None:
    """Remove the renewal or top-up recorded last for NAME, and say what was removed.

    Deadlines and the projected balance move back as if it had never been recorded.
    """
    config = obj.load(validate_urls=False)
    number = app.find_number(config.numbers, name)
    moment = parse_now(now, config)
    row, ledger = app.undo_last(config, number)
    t = translator(config.settings.language)
    entry = _entry_text(row, config, t)
    click.echo(t.gettext("removed: {name} {entry}").format(name=number.name, entry=entry))
    nxt = [d for d in upcoming([number], moment, 3660, ledger) if d.kind == "renew"]
    if nxt:
        days = days_text(nxt[0].days_left, t)
        click.echo(t.gettext("next deadline: {date} ({days})").format(date=nxt[0].date, days=days))
    proj = projection(number, local_today(number, moment), ledger)
    if proj:
        balance = t.gettext("balance: {balance} {currency}, runs out {runs_out}")
        click.echo(
            balance.format(
                balance=money(proj.balance),
                currency=number.currency,
                runs_out=runs_out_text(proj, t),
            )
        )


def _entry_text(row: Entry, config: Config, t: Translator) -> str:
    """A recorded renewal or top-up in words, with when it was recorded."""
    what = {
        "renewal": t.gettext("renewal"),
        "reading": t.gettext("balance reading"),
    }.get(row.kind, t.gettext("top-up"))
    if row.amount:
        amount = f"{row.amount} {row.currency or ''}".rstrip()
        what = t.gettext("{what} of {amount}").format(what=what, amount=amount)
    if row.source:  # recorded by simkeeper itself (a USSD reading, a carrier's text)
        what += t.gettext(" (by {source})").format(source=row.source)
    covers = t.gettext(" (deadline {date} done)").format(date=row.covers) if row.covers else ""
    recorded = local_stamp(row.recorded_at, config)
    return t.gettext("{what} on {date}{covers}, recorded {recorded}").format(
        what=what, date=row.date, covers=covers, recorded=recorded
    )


@click.command()
@click.argument("name", required=False, shell_complete=complete_names)
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(1, 100000),
    help="At most this many entries.",
)
@click.option(
    "--inbound",
    is_flag=True,
    help="Show the texts received from the carriers instead, and what each came to.",
)
@FORMAT_OPTION
@click.pass_obj
def history(obj: Context, name: str | None, limit: int, inbound: bool, fmt: str) -> None:
    """Show renewals, top-ups and reminders sent, newest first (for NAME, or all numbers);
    an entry another source recorded (a carrier's text) says which. With --inbound: the
    texts received, matched or not."""
    config = obj.load(validate_urls=False)
    number = app.find_number(config.numbers, name) if name else None
    if inbound:
        _echo_inbound(config, number, limit, fmt)
        return
    e164 = number.number if number else None
    events = _history_events(config, e164, limit)
    if fmt == "json":
        click.echo(json_array(history_json(e, config) for e in events))
        return
    t = translator(config.settings.language)
    if not events:
        click.echo(t.gettext("No history yet."))
        return
    rows = [history_row(e, config, t) for e in events]
    click.echo(table([t.gettext("WHEN"), t.gettext("NAME"), t.gettext("WHAT")], rows))
    for line in autopilot_cli.history_lines(config, e164, t):
        click.echo(line)
    for line in balance_cli.history_lines(config, e164, t):
        click.echo(line)


def _echo_inbound(config: Config, number: Number | None, limit: int, fmt: str) -> None:
    """``history --inbound``: the texts received from the carriers, as JSON or as lines."""
    if fmt == "json":
        click.echo(inbound_cli.inbound_json(config, number, limit))
        return
    t = translator(config.settings.language)
    for line in inbound_cli.inbound_lines(config, number, limit, t):
        click.echo(line)


def _history_events(config: Config, e164: str | None, limit: int) -> list[HistoryEvent]:
    """The newest ``limit`` entries of the history (of ``e164``, or of every number); none
    when there is no state yet (the state is only read, never created, by ``history``)."""
    store = app.open_state_readonly(config)
    events: list[HistoryEvent] = []
    if store:
        with store:
            events = store.history(e164, limit)
    return events
