"""The deadlines and the reminders for them: ``upcoming``, ``send-due`` (and its dry run),
``summary`` of the year's costs and the ``calendar`` feed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from simkeeper import app
from simkeeper.app import balance
from simkeeper.cli.base import (
    FORMAT_OPTION,
    NOW_OPTION,
    Context,
    broken_line,
    error_line,
    parse_now,
    warn_broken,
)
from simkeeper.engine.balances import money
from simkeeper.engine.deadlines import Failure, yearly_cost
from simkeeper.engine.upcoming import find_upcoming
from simkeeper.present.views import deadline_json, deadline_table, json_array
from simkeeper.texts.display import table, use_colour
from simkeeper.texts.i18n import translator


@click.command("upcoming")
@click.option(
    "--days",
    default=60,
    show_default=True,
    type=click.IntRange(0, 3660),
    help="How many days ahead to look.",
)
@NOW_OPTION
@FORMAT_OPTION
@click.pass_obj
def upcoming_cmd(obj: Context, days: int, now: str | None, fmt: str) -> None:
    """List every deadline from today to today + DAYS, soonest first.

    Deadlines already passed and not renewed are listed too, the LEFT column saying how long
    ago (e.g. 6d ago; a negative days_left in JSON): those numbers are at risk.
    """
    config = obj.load(validate_urls=False)
    moment = parse_now(now, config)
    broken: list[Failure] = []
    found = find_upcoming(config.numbers, moment, days, app.read_ledger(config), broken)
    warn_broken(config, broken)
    if fmt == "json":
        click.echo(json_array(deadline_json(d) for d in found))
        return
    t = translator(config.settings.language)
    if not found:
        click.echo(t.gettext("Nothing due in the next {days} days.").format(days=days))
        return
    headers = [
        t.gettext("DEADLINE"),
        t.gettext("LEFT"),
        t.gettext("NAME"),
        t.gettext("NUMBER"),
        t.gettext("CARRIER"),
        t.gettext("CYCLE"),
        t.gettext("ACTION"),
    ]
    # One streaming pass (issue 23): at a million deadlines the rows are never all held.
    for lines in deadline_table(found, t, headers, t.gettext("STAGE / LOST"), use_colour()):
        click.echo("\n".join(lines))


@click.command("send-due")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show what this pass would send (with --now: at that time), record and send nothing.",
)
@click.option(
    "--now",
    metavar="ISO-8601",
    help="Run the pass as if it were this time (e.g. 2026-12-09T09:00): it sends and records"
    " for real, so use it with --dry-run to preview; default: the real clock.",
)
@click.pass_obj
def send_due(obj: Context, now: str | None, dry_run: bool) -> None:
    """Send every reminder that is due and not yet sent (one pass; for cron).

    Failed deliveries are kept and retried with backoff on later passes. Exit 1 when a target
    failed in this pass, or when the calendar feed could not be written (reminders still go).
    With --dry-run nothing is sent or recorded: no outbox entry, no pass, no calendar write.
    """
    if dry_run:
        _preview(obj, now)
        return
    config = obj.load()
    redact = app.use_secrets(config)
    moment = parse_now(now, config)
    with app.open_state(config) as store:
        # Due balance checks first, as the daemon runs them: a reading moves the projection.
        if balance.balance_work(config, store, moment):
            balance.balance_pass(config, store, moment, redact)
        done = app.pass_and_calendar(config, store, moment, redact)
    report, calendar_problem = done.report, done.calendar_problem
    t = translator(config.settings.language)
    for name in report.sent:
        click.echo(t.gettext("sent: {name}").format(name=name))
    for name, error in report.failed:
        click.echo(t.gettext("failed: {name}: {error} (will retry)").format(name=name, error=error))
    for f in report.broken:
        click.echo(f"warning: {broken_line(f, redact)}", err=True)
    if not report.sent and not report.failed:
        click.echo(t.gettext("nothing to send"))
    if calendar_problem:
        click.echo(error_line(f"calendar feed not updated: {calendar_problem}"), err=True)
    sys.exit(1 if report.failed or calendar_problem else 0)


def _preview(obj: Context, now: str | None) -> None:
    """``send-due --dry-run``: each message a pass would send, to whom."""
    config = obj.load()
    redact = app.use_secrets(config)
    moment = parse_now(now, config)
    preview = app.preview_pass(config, moment, redact)
    t = translator(config.settings.language)
    for name, message in preview.messages:
        click.echo(t.gettext("would send to {name}:").format(name=name))
        click.echo("  " + redact(message.title))
        for line in redact(message.body).splitlines():
            click.echo(("  " + line).rstrip())
    for f in preview.broken:
        click.echo(f"warning: {broken_line(f, redact)}", err=True)
    if not preview.messages:
        click.echo(t.gettext("nothing would be sent"))
    click.echo(t.gettext("(dry run: nothing was sent or recorded)"))


@click.command()
@NOW_OPTION
@FORMAT_OPTION
@click.pass_obj
def summary(obj: Context, now: str | None, fmt: str) -> None:
    """Per currency, what the next 12 months of plans cost (numbers with a cost)."""
    config = obj.load(validate_urls=False)
    moment = parse_now(now, config)
    today = moment.astimezone(config.settings.timezone).date()
    totals = yearly_cost(config.numbers, today)
    if fmt == "json":
        click.echo(json.dumps({k: str(v) for k, v in totals.items()}, indent=2))
        return
    t = translator(config.settings.language)
    if not totals:
        click.echo(t.gettext("No number has a cost set."))
        return
    headers = [t.gettext("CURRENCY"), t.gettext("NEXT 12 MONTHS")]
    click.echo(table(headers, [[k, money(v)] for k, v in totals.items()]))


@click.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (atomically) instead of standard output.",
)
@click.option(
    "--days",
    default=365,
    show_default=True,
    type=click.IntRange(1, 3660),
    help="How many days ahead to include.",
)
@NOW_OPTION
@click.pass_obj
def calendar(obj: Context, out: Path | None, days: int, now: str | None) -> None:
    """Write an iCalendar (.ics) file with one all-day event per deadline and alarms at the
    lead times, for any calendar app to subscribe to."""
    from simkeeper.present.calendar import render_calendar, write_atomically

    config = obj.load(validate_urls=False)
    moment = parse_now(now, config)
    broken: list[Failure] = []
    found = find_upcoming(config.numbers, moment, days, app.read_ledger(config), broken)
    warn_broken(config, broken)
    t = translator(config.settings.language)
    data = render_calendar(found, moment, config.settings.remind_at, t)
    if out:
        write_atomically(out, data, config.settings.calendar_mode)
        click.echo(f"wrote {out}")
    else:
        sys.stdout.buffer.write(data)
