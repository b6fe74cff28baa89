"""The ``simkeeper`` command line: click commands over the application layer (:mod:`.app`),
parsing input and printing what :mod:`.views` renders.

Every error a user can act on is a :class:`~simkeeper.core.errors.SimkeeperError`, printed as one
line per problem on stderr with exit status 2 (1 for a failed send); never a traceback.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
import tomllib
from contextlib import suppress
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from simkeeper import __version__, app
from simkeeper.config import cache as configcache
from simkeeper.config import load as config_mod
from simkeeper.core.errors import SimkeeperError, UsageError
from simkeeper.core.model import Config, Ledger, Number
from simkeeper.core.redact import Redactor, display_url
from simkeeper.engine.balances import money
from simkeeper.engine.deadlines import (
    Failure,
    counts,
    local_today,
    projection,
    unique_failures,
    upcoming,
    yearly_cost,
)
from simkeeper.host import paths
from simkeeper.host.logs import setup as setup_logging
from simkeeper.present.views import (
    days_text,
    deadline_json,
    deadline_rows,
    history_json,
    history_row,
    json_array,
    local_stamp,
    runs_out_text,
    status_json,
    status_text,
)
from simkeeper.texts.display import table, table_lines, urgency_style, use_colour
from simkeeper.texts.i18n import Translator, translator

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

    from simkeeper.config.plans import Plan
    from simkeeper.state.rows import Entry, HistoryEvent

log = logging.getLogger("simkeeper")


class Context:
    """What every command shares: where the config is, and how loud to be."""

    def __init__(self, config_path: Path, verbosity: int):
        self.config_path = config_path
        self.verbosity = verbosity

    def load(self, validate_urls: bool = True) -> Config:
        """Load the config exactly as the daemon does (URLs checked with Apprise when asked);
        its warnings go to stderr."""
        return app.load(
            self.config_path, _warn, for_sending=validate_urls, cache=configcache.folder()
        )


def _warn(line: str) -> None:
    click.echo(line, err=True)


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

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:  # the top-level --help and --version print while parsing
            return super().make_context(*args, **kwargs)
        except BrokenPipeError:
            closed_pipe_exit()
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SimkeeperError as e:
            for line in e.lines():
                click.echo(_error_line(line), err=True)
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            sys.exit(130)
        except BrokenPipeError:
            closed_pipe_exit()
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


ONE_SHOT = ("check", "upcoming", "status", "summary", "calendar")  # no collector: see cli()
SIGPIPE_EXIT = 128 + 13  # what a shell reports for a command its pipe reader left


def closed_pipe_exit() -> None:
    """The reader of our output went away (``simkeeper status | head -1``): stop quietly.

    Standard output is pointed at /dev/null so the interpreter's final flush cannot fail
    again, and the exit status is the one a shell expects of a command ended by SIGPIPE.
    """
    with suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    sys.exit(SIGPIPE_EXIT)


def _error_line(line: str) -> str:
    prefix = "error: "
    return (
        click.style(prefix, fg="red", bold=True) + line
        if use_colour(sys.stderr)
        else (prefix + line)
    )


def complete_names(
    ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Shell completion of NAME: the names of the config's numbers (the one given with
    --config before or after the command, else the default) that start with what is typed."""
    from click.shell_completion import CompletionItem

    path = ctx.meta.get("simkeeper.config") or ctx.find_root().params.get("config_path")
    try:
        config, _ = config_mod.load_partial(path or paths.default_config_path())
    except (SimkeeperError, OSError, ValueError):
        return []
    typed = incomplete.casefold()
    return [CompletionItem(n.name) for n in config.numbers if n.name.casefold().startswith(typed)]


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
    if ctx.invoked_subcommand in ONE_SHOT and gc.isenabled():
        # These build a big config and their results, all kept to the end, and send nothing:
        # the cyclic collector would only walk them again and again (a second at 100,000
        # numbers). The daemon and the sending commands keep it.
        gc.disable()
        ctx.call_on_close(gc.enable)
    ctx.obj = Context(config_path or paths.default_config_path(), verbosity)


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
    _check_writable(config, app.state_path(config))
    t = translator(config.settings.language)
    targets = t.gettext(", {n} notify target(s)") if config.targets else ""
    line = t.gettext("{path}: OK, {n} number(s){targets}").format(
        path=config.path, n=len(config.numbers), targets=targets.format(n=len(config.targets))
    )
    click.echo(line)


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

    Deadlines already passed and not renewed are listed too, the LEFT column saying how long
    ago (e.g. 6d ago; a negative days_left in JSON): those numbers are at risk.
    """
    config = obj.load(validate_urls=False)
    moment = parse_now(now, config)
    broken: list[Failure] = []
    found = upcoming(config.numbers, moment, days, app.read_ledger(config), broken)
    _warn_broken(config, broken)
    if fmt == "json":
        click.echo(json_array(deadline_json(d) for d in found))
        return
    t = translator(config.settings.language)
    if not found:
        click.echo(t.gettext("Nothing due in the next {days} days.").format(days=days))
        return
    rows = deadline_rows(found, t)
    styles = [urgency_style(d.days_left) for d in found] if use_colour() else None
    headers = [
        t.gettext("DEADLINE"),
        t.gettext("LEFT"),
        t.gettext("NAME"),
        t.gettext("NUMBER"),
        t.gettext("CARRIER"),
        t.gettext("CYCLE"),
        t.gettext("ACTION"),
    ]
    if any(row[-1] for row in rows):  # the column only when some number has after_deadline stages
        headers.append(t.gettext("STAGE / LOST"))
    else:
        for row in rows:
            row.pop()
    del found  # written a slice at a time, the table needs a third of what it did at 100,000
    lines = table_lines(headers, rows, styles)
    del rows
    for i in range(0, len(lines), 4096):
        click.echo("\n".join(lines[i : i + 4096]))


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


def _check_writable(config: Config, state: Path) -> None:
    """The database and the calendar feed must be writable by whoever runs ``check``."""
    from simkeeper.config.tomllines import key_lines
    from simkeeper.core.errors import ConfigError, Problem
    from simkeeper.host.writable import write_problem

    found = []
    for key, path in [("settings.state", state), ("settings.calendar", config.settings.calendar)]:
        problem = write_problem(path) if path else None
        if problem:
            found.append((key, problem))
    if not found:
        return
    try:  # the lines only for a problem: finding them walks the whole file
        lines = key_lines(config.path.read_text(encoding="utf-8"))
    except OSError:
        lines = {}
    hint = (
        "fix the folder's owner or mode, or use a relative path: it is taken inside the "
        f"state folder {paths.state_folder()}"
    )
    problems = [
        Problem(str(config.path), key, problem, lines.get(key) or lines.get("settings"), hint)
        for key, problem in found
    ]
    raise ConfigError(problems)


@cli.command("send-due")
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
        done = app.pass_and_calendar(config, store, moment, redact)
    report, calendar_problem = done.report, done.calendar_problem
    t = translator(config.settings.language)
    for name in report.sent:
        click.echo(t.gettext("sent: {name}").format(name=name))
    for name, error in report.failed:
        click.echo(t.gettext("failed: {name}: {error} (will retry)").format(name=name, error=error))
    for f in report.broken:
        click.echo(f"warning: {_broken_line(f, redact)}", err=True)
    if not report.sent and not report.failed:
        click.echo(t.gettext("nothing to send"))
    if calendar_problem:
        click.echo(_error_line(f"calendar feed not updated: {calendar_problem}"), err=True)
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
        click.echo(f"warning: {_broken_line(f, redact)}", err=True)
    if not preview.messages:
        click.echo(t.gettext("nothing would be sent"))
    click.echo(t.gettext("(dry run: nothing was sent or recorded)"))


@cli.command("test")
@click.option("--tag", "tags", multiple=True, help="Only targets with this name or tag.")
@click.pass_obj
def test_cmd(obj: Context, tags: tuple[str, ...]) -> None:
    """Send a test message to each notify target and say which work (exit 1 if any failed)."""
    from simkeeper.send.notifier import send_all
    from simkeeper.texts.templates import Texts

    config = obj.load()
    redact = app.use_secrets(config)
    chosen = [t for t in config.targets if t.matches(tags)]
    if not chosen:
        raise UsageError("no notify target to test", "add [[notify]] entries, or check --tag")
    texts = Texts(config.settings.language, config.templates)
    message = texts.test()
    results = dict(send_all([(t, message) for t in chosen], config.settings.send_timeout, redact))
    for target in chosen:
        outcome = results[target]
        where = display_url(target.url)
        if outcome.ok:
            status = texts.t.gettext("ok")
        else:
            status = texts.t.gettext("FAILED: {error}").format(error=outcome.error)
        click.echo(f"{target.name} ({where}): {status}")
    sys.exit(0 if all(o.ok for o in results.values()) else 1)


@cli.command()
@NOW_OPTION
@FORMAT_OPTION
@click.pass_obj
def status(obj: Context, now: str | None, fmt: str) -> None:
    """Show the last pass, reminders due but not sent, deliveries waiting or failing, each
    target's last success and error, what is at risk, and when the next reminder goes out.

    Exit 1 when something needs attention (a due reminder unsent for more than 10 minutes, a
    failing target, an overdue number), so a monitor can run it.
    """
    config = obj.load(validate_urls=False)
    report = app.status(config, parse_now(now, config))
    if fmt == "json":
        click.echo(status_json(report, config))
    else:
        t = translator(config.settings.language)
        for line in status_text(report, config, t):
            click.echo(line)
        for line in _web_lines(config, t):
            click.echo(line)
    sys.exit(0 if report.ok else 1)


def _web_lines(config: Config, t: Translator) -> list[str]:
    """The web face's status page and calendar feed addresses, when ``[web]`` is set (none
    when this user cannot read or make the link key)."""
    if config.web is None:
        return []
    from simkeeper.send.links import load_key, page_url

    try:
        key = load_key(config.path, app.state_path(config).parent)
    except OSError as e:
        return [t.gettext("web face: the link key cannot be read ({error})").format(error=e)]
    base = config.web.base_url
    return [
        "",
        t.gettext("status page: {url}").format(url=page_url(base, key, "status")),
        t.gettext("calendar feed: {url}").format(url=page_url(base, key, "calendar")),
    ]


@cli.command()
@click.pass_obj
def run(obj: Context) -> None:
    """Run the reminder daemon in the foreground (for systemd: Type=notify).

    SIGHUP reloads the config (a broken one is rejected and the old one kept); SIGTERM finishes
    the delivery in flight and exits 0.
    """
    from simkeeper.service.loop import Service

    sys.exit(Service(obj.config_path, obj.verbosity).run())


@cli.command()
@NOW_OPTION
@click.option(
    "--idle-exit",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Socket-activated by systemd: exit after this many seconds without a request.",
)
@click.pass_obj
def web(obj: Context, now: str | None, idle_exit: float | None) -> None:
    """Serve the web face in the foreground on the [web] table's listen address (or on the
    socket systemd passes): the signed links in reminders, the status page and the calendar
    feed. SIGTERM stops it.

    --now fixes the clock at that time (for tests)."""
    from simkeeper.web.serve import serve

    config = obj.load(validate_urls=False)
    if config.web is None:
        t = translator(config.settings.language)
        raise UsageError(
            t.gettext("{path} has no [web] table: add one to use the web face").format(
                path=config.path
            )
        )
    fixed = parse_now(now, config) if now else None
    serve(config, (lambda: fixed) if fixed else (lambda: datetime.now(UTC)), idle_exit)


@cli.command("reload")
@click.argument("pid", type=int)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    help="Seconds to wait for the daemon's answer.",
)
def reload_cmd(pid: int, timeout: float) -> None:
    """Make the daemon PID reload its config, and wait until it is in use (for ExecReload=).

    Exit 0 when the daemon took the new config; 2 with the reasons when it rejected it and kept
    the old one; 1 when it did not answer.
    """
    from simkeeper.service.reloadack import ReloadFailed, request_reload

    try:
        answer = request_reload(pid, timeout)
    except ReloadFailed as e:
        click.echo(_error_line(str(e)), err=True)
        sys.exit(1)
    if not answer.ok:
        click.echo(_error_line("reload rejected, still running on the previous config:"), err=True)
        for line in answer.lines:
            click.echo(_error_line(line), err=True)
        sys.exit(2)
    click.echo(f"simkeeper (pid {pid}): new config in use")


@cli.command("notify-failure")
@click.argument("unit", default="simkeeper.service")
@click.pass_obj
def notify_failure(obj: Context, unit: str) -> None:
    """Tell every notify target that UNIT has failed (for the simkeeper-failure unit).

    Works from a config with errors too, through the targets that are still valid: a broken
    config is a common reason for the failure. Exit 1 when no target took the message.
    """
    from simkeeper.send.notifier import send_all, url_problem
    from simkeeper.texts.templates import Texts

    config, problems = config_mod.load_partial(obj.config_path, url_check=url_problem)
    for problem in problems:
        click.echo(f"config problem: {problem}", err=True)
    redact = app.use_secrets(config)
    if not config.targets:
        click.echo(_error_line(f"{unit} failed, and no notify target can be used"), err=True)
        sys.exit(1)
    message = Texts(config.settings.language, config.templates).failure(unit)
    jobs = [(t, message) for t in config.targets]
    results = list(send_all(jobs, config.settings.send_timeout, redact))
    t = translator(config.settings.language)
    alert = t.gettext("failure alert for {unit} to {target}: {status}")
    for target, outcome in results:
        failed = t.gettext("FAILED: {error}").format(error=outcome.error)
        status = t.gettext("sent") if outcome.ok else failed
        click.echo(alert.format(unit=unit, target=target.name, status=status))
    sys.exit(0 if any(o.ok for _, o in results) else 1)


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


@cli.command()
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


@cli.command(context_settings={"ignore_unknown_options": True})  # so "-5" reaches AMOUNT
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


@cli.command()
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
    what = t.gettext("renewal") if row.kind == "renewal" else t.gettext("top-up")
    if row.amount:
        amount = f"{row.amount} {row.currency or ''}".rstrip()
        what = t.gettext("{what} of {amount}").format(what=what, amount=amount)
    covers = t.gettext(" (deadline {date} done)").format(date=row.covers) if row.covers else ""
    recorded = local_stamp(row.recorded_at, config)
    return t.gettext("{what} on {date}{covers}, recorded {recorded}").format(
        what=what, date=row.date, covers=covers, recorded=recorded
    )


@cli.command()
@click.argument("name", required=False, shell_complete=complete_names)
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
    number = app.find_number(config.numbers, name) if name else None
    store = app.open_state_readonly(config)
    events: list[HistoryEvent] = []
    if store:
        with store:
            events = store.history(number.number if number else None, limit)
    if fmt == "json":
        click.echo(json_array(history_json(e, config) for e in events))
        return
    t = translator(config.settings.language)
    if not events:
        click.echo(t.gettext("No history yet."))
        return
    rows = [history_row(e, config, t) for e in events]
    click.echo(table([t.gettext("WHEN"), t.gettext("NAME"), t.gettext("WHAT")], rows))


@cli.command()
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
    from simkeeper.present.calendar import render_calendar, write_atomically

    config = obj.load(validate_urls=False)
    moment = parse_now(now, config)
    broken: list[Failure] = []
    found = upcoming(config.numbers, moment, days, app.read_ledger(config), broken)
    _warn_broken(config, broken)
    t = translator(config.settings.language)
    data = render_calendar(found, moment, config.settings.remind_at, t)
    if out:
        write_atomically(out, data, config.settings.calendar_mode)
        click.echo(f"wrote {out}")
    else:
        sys.stdout.buffer.write(data)


# -- install, back up, restore --------------------------------------------------------------


@cli.command()
@click.option("--user", "mode", flag_value="user", help="For the user service.")
@click.option(
    "--system", "mode", flag_value="system", help="For the system service (default as root)."
)
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write under this folder instead of / (an image being built).",
)
def init(mode: str | None, root: Path | None) -> None:
    """Write the example config, the credentials folder and the systemd unit for this install,
    then print the commands that come next. An existing config is kept."""
    import os

    from simkeeper.host.install import init as write_files
    from simkeeper.host.install import layout, next_steps, this_executable

    system = mode == "system" or (mode is None and os.geteuid() == 0)
    where = layout(system, root, os.environ)
    executable = this_executable()
    for line in write_files(where, executable):
        click.echo(line)
    click.echo("")
    click.echo("next:")
    for line in next_steps(where, executable):
        click.echo(f"  {line}")


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def backup(obj: Context, file: Path) -> None:
    """Write a consistent copy of the state database to FILE (mode 0600), even while the
    daemon runs."""
    from simkeeper.state.backup import backup as copy

    config = obj.load(validate_urls=False)
    done = copy(app.state_path(config), file)
    t = translator(config.settings.language)
    line = t.ngettext(
        "backed up {state} to {path}: {reminders} reminder(s), {history} history entry",
        "backed up {state} to {path}: {reminders} reminder(s), {history} history entries",
        done.history,
    )
    state = app.state_path(config)
    click.echo(
        line.format(state=state, path=done.path, reminders=done.reminders, history=done.history)
    )


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.pass_obj
def restore(obj: Context, file: Path) -> None:
    """Put the backup FILE back as the state database (stop the daemon first); the database it
    replaces is kept as STATE.before-restore."""
    from simkeeper.state.backup import restore as put_back

    config = obj.load(validate_urls=False)
    done, kept = put_back(file, app.state_path(config))
    t = translator(config.settings.language)
    line = t.ngettext(
        "restored {path} from {file}: {reminders} reminder(s), {history} history entry",
        "restored {path} from {file}: {reminders} reminder(s), {history} history entries",
        done.history,
    )
    click.echo(
        line.format(path=done.path, file=file, reminders=done.reminders, history=done.history)
    )
    if kept:
        click.echo(t.gettext("the database it replaced is kept as {path}").format(path=kept))


@cli.command("plans")
@FORMAT_OPTION
@click.pass_obj
def plans_cmd(obj: Context, fmt: str) -> None:
    """List the built-in carrier plans for plan = "NAME", with the source of their rules.

    A plan fills a number's carrier, cycle, renewal rules, stages after a missed deadline, note
    and renew_url; any key written in the entry overrides it.
    """
    from simkeeper.config.plans import builtin_plans

    plans = builtin_plans().values()
    if fmt == "json":
        click.echo(json_array(_plan_json(p) for p in plans))
        return
    rows = [
        [
            p.name,
            p.title,
            str(p.keys.get("cycle", "")),
            _plan_rules(p.keys),
            p.source,
            p.source_kind,
            p.checked.isoformat(),
        ]
        for p in plans
    ]
    t = translator(_plans_language(obj))
    headers = [t.gettext("PLAN"), t.gettext("LINE"), t.gettext("CYCLE"), t.gettext("RULES")]
    headers += [t.gettext("SOURCE"), t.gettext("SOURCE IS"), t.gettext("CHECKED")]
    click.echo(table(headers, rows))
    hows = sorted({p.checked_how for p in plans if p.checked_how})
    sources = t.gettext(
        "Sources: {how}, as of the CHECKED date. Third-party rules are leads, not the carrier's"
        " word: check the SOURCE before relying on one."
    )
    click.echo("\n" + sources.format(how="; ".join(hows)))


def _plans_language(obj: Context) -> str:
    """``plans`` needs no config; with one, it speaks the config's language."""
    try:
        config, _ = config_mod.load_partial(obj.config_path)
    except (SimkeeperError, OSError, ValueError):
        return "en"
    return config.settings.language


def _plan_json(p: Plan) -> dict[str, Any]:
    return {
        "name": p.name,
        "title": p.title,
        "source": p.source,
        "official": p.official,
        "third_party": list(p.third_party),
        "checked": p.checked.isoformat(),
        "checked_how": p.checked_how,
        "keys": json.loads(json.dumps(p.keys, default=str)),
    }


def _plan_rules(keys: dict[str, Any]) -> str:
    """A plan's rules in a few words: ``rolling, extend, min 100 HKD, lost after 90d``."""
    parts = ["rolling" if keys.get("rolling") else "fixed"]
    if keys.get("on_renewal", "reset") != "reset":
        parts.append(str(keys["on_renewal"]))
    if "min_amount" in keys:
        parts.append(f"min {keys['min_amount']} {keys.get('currency', '')}".rstrip())
    for tier in keys.get("validity", ()):
        parts.append(f"{tier['from']}+: {tier['cycle']}")
    if "cost" in keys:
        parts.append(f"{keys['cost']:.2f} {keys.get('currency', '')} per cycle".rstrip())
    if keys.get("after_deadline"):
        last = keys["after_deadline"][-1]["after"]
        parts.append("lost when missed" if last == "0d" else f"lost {last} after")
    return ", ".join(parts)


def main() -> None:
    """The console script's entry point: click's own usage errors become one line too."""
    try:
        try:
            code = cli.main(prog_name="simkeeper", standalone_mode=False)
        finally:
            sys.stdout.flush()  # here, not at exit, so a closed pipe is caught below
    except BrokenPipeError:
        closed_pipe_exit()
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


# -- config: what the schema documents ------------------------------------------------------


@cli.group("config")
def config_group() -> None:
    """Print what the config schema documents: the example config and the README tables."""


@cli.command()
@click.argument(
    "folder",
    default="simkeeper-demo",
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option(
    "--now",
    metavar="ISO-8601",
    help="Move the dates to this day instead of today (e.g. 2026-12-01).",
)
def demo(folder: Path, now: str | None) -> None:
    """Write a demo config to FOLDER/config.toml: the example with its dates moved to today.

    A reminder is due at once and no deadline has passed; its state starts afresh in
    FOLDER/state.db, and reminders print to the terminal (console://). Then run it with
    simkeeper --config FOLDER/config.toml run (make run does all of this).
    """
    from zoneinfo import ZoneInfo

    from simkeeper.config.docs import demo_config, example_config

    zone = ZoneInfo(tomllib.loads(example_config())["settings"]["timezone"])
    try:
        moment = datetime.now(zone) if now is None else datetime.fromisoformat(now)
    except ValueError:
        raise UsageError(f'--now "{now}" is not an ISO 8601 time', "e.g. 2026-12-01") from None
    today = (moment if moment.tzinfo is None else moment.astimezone(zone)).date()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    state = folder.resolve() / "state.db"
    for old in folder.glob("state.db*"):  # a fresh start: the last demo's reminders are sent
        old.unlink()
    path = folder / "config.toml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(demo_config(today, str(state)))
    os.chmod(path, 0o600)
    t = translator("en")  # the example's language
    click.echo(
        t.gettext("{path}: the example config with its dates moved to {day}").format(
            path=path, day=today.isoformat()
        )
    )
    click.echo(t.gettext("run it: {command}").format(command=f"simkeeper --config {path} run"))


@cli.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL (bash, zsh or fish).

    Load it in your shell's start-up file, e.g. for bash in ~/.bashrc:
    eval "$(simkeeper completion bash)". Commands, options and the NAME of renewed, topup,
    undo and history (from your config's numbers) then complete with Tab.
    """
    from click.shell_completion import get_completion_class

    complete = get_completion_class(shell)
    assert complete is not None  # click has all three
    click.echo(complete(cli, {}, "simkeeper", "_SIMKEEPER_COMPLETE").source())


@config_group.command("example")
def config_example() -> None:
    """Print the example config (config.example.toml), every [settings] key with its doc."""
    from simkeeper.config.docs import example_config

    click.echo(example_config(), nl=False)


@config_group.command("docs")
@click.option(
    "--readme",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Rewrite the generated tables between the <!-- schema:... --> markers of this file.",
)
def config_docs(readme: Path | None) -> None:
    """Print the configuration reference tables, one per table, between their markers."""
    from simkeeper.config.docs import StaleMarkers, fill_readme, reference

    if readme is None:
        click.echo(reference(), nl=False)
        return
    try:
        readme.write_text(fill_readme(readme.read_text(encoding="utf-8")), encoding="utf-8")
    except StaleMarkers as e:
        raise UsageError(f"{readme}: {e}", "put each table's markers back") from None


# -- the group's options after the command name too ------------------------------------------


def _late_config(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    obj = ctx.find_object(Context)
    if value is not None:
        ctx.meta["simkeeper.config"] = value  # for completion, which runs no group callback
        if obj is not None:
            obj.config_path = value


def _late_verbosity(ctx: click.Context, param: click.Parameter, value: int | bool) -> None:
    obj = ctx.find_object(Context)
    if value and obj is not None:
        obj.verbosity = -1 if param.name == "quiet" else int(value)
        setup_logging(obj.verbosity)


def _accept_group_options(group: click.Group) -> None:
    """Let every command take ``--config``, ``-v`` and ``-q`` after its name as well
    (``simkeeper check --config FILE``): they set what the group's own options set. The
    group parses its options and runs first, so these, parsed with the command's, win."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _accept_group_options(command)
            continue
        command.params += [
            click.Option(
                ["--config", "config_path"],
                type=click.Path(dir_okay=False, path_type=Path),
                expose_value=False,
                callback=_late_config,
                help="Config file (as before the command name).",
            ),
            click.Option(
                ["-v", "--verbose"],
                count=True,
                expose_value=False,
                callback=_late_verbosity,
                help="Say more (debug logging).",
            ),
            click.Option(
                ["-q", "--quiet"],
                is_flag=True,
                expose_value=False,
                callback=_late_verbosity,
                help="Only warnings and errors.",
            ),
        ]


_accept_group_options(cli)
