"""The ``simkeeper`` command line: a thin layer of click commands over the core and the edges.

Every error a user can act on is a :class:`~simkeeper.errors.SimkeeperError`, printed as one line
per problem on stderr with exit status 2 (1 for a failed send); never a traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import __version__
from . import config as config_mod
from .deadlines import (
    Deadline,
    Failure,
    isolated,
    local_today,
    occurrence_to_mark,
    projection,
    unique_failures,
    upcoming,
    yearly_cost,
)
from .display import table, urgency_style, use_colour
from .errors import SimkeeperError, UsageError
from .logs import setup as setup_logging
from .model import EMPTY_LEDGER, Config, Ledger, find_number
from .redact import Redactor, display_url

if TYPE_CHECKING:
    from .store import Store

log = logging.getLogger("simkeeper")


class Context:
    """What every command shares: where the config is, and how loud to be."""

    def __init__(self, config_path: Path, verbosity: int):
        self.config_path = config_path
        self.verbosity = verbosity

    def load(self, validate_urls: bool = True) -> Config:
        """Load the config exactly as the daemon does (URLs checked with Apprise when asked)."""
        url_check = None
        if validate_urls:
            from .notifier import url_problem

            url_check = url_problem
        config = config_mod.load(self.config_path, url_check=url_check)
        for warning in config.warnings:
            click.echo(warning, err=True)
        return config

    def state_path(self, config: Config) -> Path:
        return config_mod.default_state_path(config.settings.state)

    def store(self, config: Config) -> Store:
        """The state database, created when missing."""
        from .store import open_store

        store = open_store(self.state_path(config))
        assert store is not None
        return store

    def existing_store(self, config: Config) -> Store | None:
        """The state database if there is one; reading never creates it.

        The store (and sqlite-utils) is imported only when the file exists, so ``check`` and
        ``upcoming`` on a machine without a database stay quick.
        """
        path = self.state_path(config)
        if not path.exists():
            return None
        from .store import open_store

        return open_store(path, create=False)

    def ledger(self, config: Config) -> Ledger:
        """The ledger from the database if there is one; reading never creates it."""
        store = self.existing_store(config)
        if store is None:
            return EMPTY_LEDGER
        with store:
            return store.ledger()


def parse_now(value: str | None, config: Config) -> datetime:
    """``--now``: ISO 8601; without an offset it is local time in ``settings.timezone``."""
    if value is None:
        return datetime.now(UTC)
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), time(0))
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f'--now "{value}" is not an ISO 8601 time', "e.g. 2026-12-01T09:00 or 2026-12-01"
        ) from None
    if not 1900 <= moment.year <= 9000:  # the engine steps years either side of it
        raise UsageError(f'--now "{value}" is out of range', "use a year from 1900 to 9000")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=config.settings.timezone)
    return moment.astimezone(UTC)


NOW_OPTION = click.option(
    "--now",
    metavar="ISO-8601",
    help="Act as if it were this time (e.g. 2026-12-01T09:00); default: the real clock.",
)
FORMAT_OPTION = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output for people (table) or programs (json).",
)


class CatchingGroup(click.Group):
    """Turns our errors into one line each and an exit status, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SimkeeperError as e:
            for line in e.lines():
                click.echo(_error_line(line), err=True)
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            sys.exit(130)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as e:  # a bug: still one line, the details only with -v
            if ctx.obj and ctx.obj.verbosity > 0:
                raise
            click.echo(
                _error_line(
                    f"internal error: {type(e).__name__}: {e} (run with -v for "
                    "details, and please report it)"
                ),
                err=True,
            )
            sys.exit(1)


def _error_line(line: str) -> str:
    prefix = "error: "
    return (
        click.style(prefix, fg="red", bold=True) + line
        if use_colour(sys.stderr)
        else (prefix + line)
    )


@click.group(cls=CatchingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="simkeeper")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file. Default: $SIMKEEPER_CONFIG, else ~/.config/simkeeper/config.toml "
    "(/etc/simkeeper/config.toml as root).",
)
@click.option("-v", "--verbose", count=True, help="Say more (debug logging).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: int, quiet: bool) -> None:
    """simkeeper keeps prepaid SIM and eSIM numbers alive.

    It reads a TOML list of numbers and their plan cycles, works out every upcoming deadline,
    and sends reminders through Apprise (email, SMS, push) before each one.
    """
    verbosity = -1 if quiet else verbose
    setup_logging(verbosity)
    ctx.obj = Context(config_path or config_mod.default_config_path(), verbosity)


# -- check and upcoming ---------------------------------------------------------------------


@cli.command()
@click.pass_obj
def check(obj: Context) -> None:
    """Validate the config; print a summary, or every problem (exit 2).

    Loads the config exactly as the daemon does, including each notify URL.
    """
    config = obj.load()
    if not config.targets:
        click.echo(
            f"{config.path}: warning: no [[notify]] targets, so no reminder can be sent",
            err=True,
        )
    targets = f", {len(config.targets)} notify target(s)" if config.targets else ""
    click.echo(f"{config.path}: OK, {len(config.numbers)} number(s){targets}")


def json_array(items: Iterable[dict[str, Any]]) -> str:
    """A JSON array with one object per line: easy to read and to grep, and (unlike
    ``indent=``, which falls back to the pure-Python encoder) fast for 100,000 items."""
    lines = [json.dumps(item, ensure_ascii=False) for item in items]
    return "[\n" + ",\n".join(lines) + "\n]" if lines else "[]"


def deadline_json(d: Deadline) -> dict[str, Any]:
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
    }
    if d.projection:
        out.update(
            balance=f"{d.projection.balance:.2f}",
            currency=n.currency,
            covered=d.projection.covered,
            runs_out=d.projection.runs_out.isoformat() if d.projection.runs_out else None,
        )
    return out


def _what(d: Deadline) -> str:
    if d.kind == "topup":
        return "top up (balance runs out)"
    if d.overdue:
        return "OVERDUE" if not d.number.rolling else "OVERDUE (window passed)"
    if d.paid_from_balance:
        return "charged to balance"
    return "renew"


def _days(days_left: int) -> str:
    if days_left == 0:
        return "today"
    return f"{days_left}d" if days_left > 0 else f"{-days_left}d ago"


@cli.command("upcoming")
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

    Deadlines already passed and not renewed are listed too, with negative days left: those
    numbers are at risk.
    """
    config = obj.load(validate_urls=False)
    moment = parse_now(now, config)
    broken: list[Failure] = []
    found = upcoming(config.numbers, moment, days, obj.ledger(config), broken)
    _warn_broken(config, broken)
    if fmt == "json":
        click.echo(json_array(deadline_json(d) for d in found))
        return
    if not found:
        click.echo(f"Nothing due in the next {days} days.")
        return
    rows = [
        [
            d.date.isoformat(),
            _days(d.days_left),
            d.number.name,
            d.number.number,
            d.number.carrier,
            d.number.cycle_text,
            _what(d),
        ]
        for d in found
    ]
    styles = [urgency_style(d.days_left) for d in found]
    headers = ["DEADLINE", "LEFT", "NAME", "NUMBER", "CARRIER", "CYCLE", "ACTION"]
    click.echo(table(headers, rows, styles))


def _warn_broken(config: Config, broken: list[Failure]) -> None:
    """One stderr line per number that could not be worked out (the others were)."""
    redact = Redactor(config.secrets)
    for f in unique_failures(broken):
        click.echo(f"warning: {_broken_line(f, redact)}", err=True)


def _broken_line(f: Failure, redact: Redactor) -> str:
    return (
        f"cannot work out the deadlines of {f.number.name} ({redact(f.error)}); it is left "
        "out, the other numbers go on (fix its entry and run 'simkeeper check')"
    )


# -- delivery -------------------------------------------------------------------------------


def _redactor(config: Config) -> Redactor:
    from .logs import set_redactor

    redact = Redactor(config.secrets)
    set_redactor(redact)
    return redact


@cli.command("send-due")
@NOW_OPTION
@click.pass_obj
def send_due(obj: Context, now: str | None) -> None:
    """Send every reminder that is due and not yet sent (one pass; for cron).

    Failed deliveries are kept and retried with backoff on later passes. Exit 1 when a target
    failed in this pass.
    """
    from .delivery import run_pass

    config = obj.load()
    redact = _redactor(config)
    moment = parse_now(now, config)
    with obj.store(config) as store:
        report = run_pass(config, store, moment, redact)
        if config.settings.calendar:
            from .calendar_feed import refresh_feed

            refresh_feed(config, store.ledger(), moment)
    for name in report.sent:
        click.echo(f"sent: {name}")
    for name, error in report.failed:
        click.echo(f"failed: {name}: {error} (will retry)")
    for f in report.broken:
        click.echo(f"warning: {_broken_line(f, redact)}", err=True)
    if not report.sent and not report.failed:
        click.echo("nothing to send")
    sys.exit(1 if report.failed else 0)


@cli.command("test")
@click.option("--tag", "tags", multiple=True, help="Only targets with this name or tag.")
@click.pass_obj
def test_cmd(obj: Context, tags: tuple[str, ...]) -> None:
    """Send a test message to each notify target and say which work (exit 1 if any failed)."""
    from .notifier import send_all
    from .templates import Texts

    config = obj.load()
    redact = _redactor(config)
    chosen = [t for t in config.targets if t.matches(tags)]
    if not chosen:
        raise UsageError("no notify target to test", "add [[notify]] entries, or check --tag")
    message = Texts(config.settings.language, config.templates).test()
    results = dict(send_all([(t, message) for t in chosen], config.settings.send_timeout, redact))
    for target in chosen:
        outcome = results[target]
        where = display_url(target.url)
        status = "ok" if outcome.ok else f"FAILED: {outcome.error}"
        click.echo(f"{target.name} ({where}): {status}")
    sys.exit(0 if all(o.ok for o in results.values()) else 1)


@cli.command()
@NOW_OPTION
@FORMAT_OPTION
@click.pass_obj
def status(obj: Context, now: str | None, fmt: str) -> None:
    """Show deliveries waiting or failing, each target's last success and error, what is at
    risk, and when the next reminder goes out."""
    from .reminders import next_due_at

    config = obj.load(validate_urls=False)
    moment = parse_now(now, config)
    path = obj.state_path(config)
    store = obj.existing_store(config)
    ledger = store.ledger() if store else EMPTY_LEDGER
    waiting = store.open_deliveries() if store else []
    targets = store.target_status() if store else {}
    counts = store.counts() if store else {}
    if store:
        store.close()
    broken: list[Failure] = []
    nxt = next_due_at(config.numbers, config.settings, moment, ledger, broken)
    at_risk = [d for d in upcoming(config.numbers, moment, 0, ledger, broken) if d.overdue]
    balances = []
    for n in config.numbers:
        for proj in isolated(
            n, broken, lambda n=n: [projection(n, local_today(n, moment), ledger)]
        ):
            if proj:
                balances.append((n, proj))
    broken = unique_failures(broken)
    redact = Redactor(config.secrets)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "state": str(path),
                    "counts": counts,
                    "waiting": waiting,
                    "targets": [
                        {"name": t.name, "url": display_url(t.url), **targets.get(t.name, {})}
                        for t in config.targets
                    ],
                    "next_reminder": nxt[0].isoformat() if nxt else None,
                    "broken": [{"name": f.number.name, "error": redact(f.error)} for f in broken],
                    "at_risk": [deadline_json(d) for d in at_risk],
                    "balances": [
                        {
                            "name": n.name,
                            "balance": f"{p.balance:.2f}",
                            "currency": n.currency,
                            "covered": p.covered,
                            "runs_out": p.runs_out.isoformat() if p.runs_out else None,
                        }
                        for n, p in balances
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    click.echo(f"state: {path}" + ("" if store else " (not created yet)"))
    if nxt:
        r = nxt[1]
        click.echo(
            f"next reminder: {nxt[0].isoformat()} for {r.number.name} ({r.kind}, "
            f"deadline {r.deadline.isoformat()})"
        )
    else:
        click.echo("next reminder: none scheduled")
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none yet"
    click.echo(f"deliveries: {summary}")
    click.echo("")
    rows = []
    for t in config.targets:
        info = targets.get(t.name, {})
        rows.append(
            [
                t.name,
                display_url(t.url),
                info.get("last_success_at") or "-",
                info.get("last_error_at") or "-",
                info.get("last_error") or "",
            ]
        )
    if rows:
        click.echo(table(["TARGET", "URL", "LAST SUCCESS", "LAST ERROR AT", "LAST ERROR"], rows))
    if waiting:
        click.echo("")
        rows = [
            [
                str(w["id"]),
                w["target"],
                w["state"],
                str(w["attempts"]),
                w["next_attempt_at"],
                w["name"],
                w["deadline"],
                w["last_error"] or "",
            ]
            for w in waiting
        ]
        click.echo(
            table(
                ["ID", "TARGET", "STATE", "TRIES", "NEXT TRY", "NUMBER", "DEADLINE", "ERROR"], rows
            )
        )
    if broken:
        click.echo("")
        click.echo("not worked out (no reminders for these until fixed):")
        for f in broken:
            click.echo(f"  {f.number.name}: {redact(f.error)}")
    if at_risk:
        click.echo("")
        click.echo("at risk:")
        for d in at_risk:
            click.echo(
                f"  {d.number.name}: {_what(d)}, deadline {d.date.isoformat()} "
                f"({_days(d.days_left)})"
            )
    if balances:
        click.echo("")
        for n, p in balances:
            runs = p.runs_out.isoformat() if p.runs_out else "not within reach"
            click.echo(
                f"balance {n.name}: {p.balance:.2f} {n.currency}, covers {p.covered} more "
                f"charge(s), runs out {runs}"
            )


@cli.command()
@click.pass_obj
def run(obj: Context) -> None:
    """Run the reminder daemon in the foreground (for systemd: Type=notify).

    SIGHUP reloads the config (a broken one is rejected and the old one kept); SIGTERM finishes
    the delivery in flight and exits 0.
    """
    from .service import Service

    sys.exit(Service(obj.config_path, obj.verbosity).run())


# -- what the user did ----------------------------------------------------------------------


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


def _parse_amount(value: str | None, what: str) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise UsageError(f'{what} "{value}" is not an amount', "e.g. 10 or 10.50") from None
    if not amount.is_finite() or amount <= 0:
        raise UsageError(f"{what} must be above 0, not {value}")
    return amount


@cli.command()
@click.argument("name")
@click.option("--date", "day", metavar="YYYY-MM-DD", help="When it was renewed; default today.")
@click.option("--amount", metavar="X", help="What it cost.")
@click.option("--note", default="", help="A note kept in the history.")
@NOW_OPTION
@click.pass_obj
def renewed(
    obj: Context, name: str, day: str | None, amount: str | None, note: str, now: str | None
) -> None:
    """Record that NAME was renewed (topped up, paid, or used as its window needs).

    NAME is the number's name, its E.164 number, or an unambiguous start of the name. A rolling
    number's deadline moves to the renewal plus its cycle; on a fixed schedule the occurrence due
    next (or overdue) is marked done and its reminders stop.
    """
    config = obj.load(validate_urls=False)
    number = find_number(config.numbers, name)
    moment = parse_now(now, config)
    on = _parse_day(day, local_today(number, moment))
    cost = _parse_amount(amount, "--amount")
    with obj.store(config) as store:
        covers = occurrence_to_mark(number, on, store.ledger())
        store.add_history(
            number.number, number.name, "renewal", on, moment, cost, number.currency, note, covers
        )
        ledger = store.ledger()
    what = f"deadline {covers} done" if covers else ""
    if number.rolling:
        nxt = [d for d in upcoming([number], moment, 3660, ledger) if d.kind == "renew"]
        what = f"next deadline {nxt[0].date}" if nxt else what
    click.echo(f"recorded: {number.name} renewed on {on}" + (f"; {what}" if what else ""))


@cli.command(context_settings={"ignore_unknown_options": True})  # so "-5" reaches AMOUNT
@click.argument("name")
@click.argument("amount")
@click.option("--date", "day", metavar="YYYY-MM-DD", help="When it was topped up; default today.")
@NOW_OPTION
@click.pass_obj
def topup(obj: Context, name: str, amount: str, day: str | None, now: str | None) -> None:
    """Record a top-up of AMOUNT on NAME, raising its projected balance."""
    config = obj.load(validate_urls=False)
    number = find_number(config.numbers, name)
    value = _parse_amount(amount, "AMOUNT")
    moment = parse_now(now, config)
    on = _parse_day(day, local_today(number, moment))
    with obj.store(config) as store:
        store.add_history(number.number, number.name, "topup", on, moment, value, number.currency)
        proj = projection(number, local_today(number, moment), store.ledger())
    extra = ""
    if proj:
        runs = proj.runs_out.isoformat() if proj.runs_out else "not within reach"
        extra = f"; balance {proj.balance:.2f} {number.currency}, runs out {runs}"
    click.echo(f"recorded: {number.name} topped up {value} {number.currency} on {on}{extra}")
    if number.balance is None or number.cost is None:
        click.echo(
            f"note: {number.name} has no balance and cost in the config, so no balance is "
            "projected for it",
            err=True,
        )
    elif number.balance_date and on <= number.balance_date:
        click.echo(
            f"note: dated on or before balance_date ({number.balance_date}), so it is taken "
            "as part of the configured balance; update balance to change that",
            err=True,
        )


@cli.command()
@click.argument("name", required=False)
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(1, 100000),
    help="At most this many entries.",
)
@FORMAT_OPTION
@click.pass_obj
def history(obj: Context, name: str | None, limit: int, fmt: str) -> None:
    """Show renewals, top-ups and reminders sent, newest first (for NAME, or all numbers)."""
    config = obj.load(validate_urls=False)
    number = find_number(config.numbers, name) if name else None
    store = obj.existing_store(config)
    events = []
    if store:
        with store:
            events = store.history(number.number if number else None, limit)
    if fmt == "json":
        click.echo(json_array(events))
        return
    if not events:
        click.echo("No history yet.")
        return
    rows = []
    for e in events:
        if e["event"] == "sent" and e["kind"] == "problem":
            what = f"alert that its deadlines cannot be worked out sent to {e['target']}"
        elif e["event"] == "sent":
            what = f"{e['kind']} reminder for {e['deadline']} sent to {e['target']}"
        else:
            amount = f" {e['amount']} {e['currency'] or ''}".rstrip() if e["amount"] else ""
            covers = f" (deadline {e['covers']})" if e.get("covers") else ""
            note = f" - {e['note']}" if e.get("note") else ""
            what = f"{e['event']}{amount}{covers}{note}"
        rows.append([e["when"], e["name"], what])
    click.echo(table(["WHEN", "NAME", "WHAT"], rows))


@cli.command()
@NOW_OPTION
@FORMAT_OPTION
@click.pass_obj
def summary(obj: Context, now: str | None, fmt: str) -> None:
    """Per currency, what the next 12 months of plans cost (numbers with a ``cost``)."""
    config = obj.load(validate_urls=False)
    moment = parse_now(now, config)
    today = moment.astimezone(config.settings.timezone).date()
    totals = yearly_cost(config.numbers, today)
    if fmt == "json":
        click.echo(json.dumps({k: str(v) for k, v in totals.items()}, indent=2))
        return
    if not totals:
        click.echo("No number has a cost set.")
        return
    click.echo(table(["CURRENCY", "NEXT 12 MONTHS"], [[k, f"{v:.2f}"] for k, v in totals.items()]))


@cli.command()
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
    from .calendar_feed import render_calendar, write_atomically

    config = obj.load(validate_urls=False)
    moment = parse_now(now, config)
    broken: list[Failure] = []
    found = upcoming(config.numbers, moment, days, obj.ledger(config), broken)
    _warn_broken(config, broken)
    data = render_calendar(found, moment, config.settings.remind_at)
    if out:
        write_atomically(out, data, config.settings.calendar_mode)
        click.echo(f"wrote {out}")
    else:
        sys.stdout.buffer.write(data)


def main() -> None:
    """The console script's entry point: click's own usage errors become one line too."""
    try:
        code = cli.main(prog_name="simkeeper", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as e:
        click.echo(e.format_message(), err=True)
        sys.exit(e.exit_code)
    except click.UsageError as e:
        where = e.ctx.command_path if e.ctx else "simkeeper"
        click.echo(_error_line(f"{e.format_message()} (see '{where} --help')"), err=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        click.echo(_error_line(e.format_message()), err=True)
        sys.exit(e.exit_code)
    except click.Abort:
        click.echo(_error_line("aborted"), err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
