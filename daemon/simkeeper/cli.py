"""The ``simkeeper`` command line: a thin layer of click commands over the core and the edges.

Every error a user can act on is a :class:`~simkeeper.errors.SimkeeperError`, printed as one line
per problem on stderr with exit status 2 (1 for a failed send); never a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterable
from contextlib import suppress
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import __version__
from . import config as config_mod
from .deadlines import (
    Deadline,
    Failure,
    counts,
    isolated,
    local_today,
    lost_on,
    occurrence_to_mark,
    occurrences,
    projection,
    stage_on,
    unique_failures,
    upcoming,
    yearly_cost,
)
from .display import table, urgency_style, use_colour
from .errors import SimkeeperError, UsageError
from .i18n import ENGLISH, N_, Translator, label, translator
from .logs import setup as setup_logging
from .model import EMPTY_LEDGER, Config, Ledger, Number, find_number
from .redact import Redactor, display_url

if TYPE_CHECKING:
    from .plans import Plan
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
        # Commands that never send work without the secrets (their URLs are shown redacted).
        config = config_mod.load(
            self.config_path, url_check=url_check, require_secrets=validate_urls
        )
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
        """The state database if there is one, opened read-only: reading never creates or
        writes it, so a user who may only read it can still look.

        The store (and sqlite-utils) is imported only when the file exists, so ``check`` and
        ``upcoming`` on a machine without a database stay quick.
        """
        path = self.state_path(config)
        if not path.exists():
            return None
        from .store import open_store

        return open_store(path, create=False, readonly=True)

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
    _check_writable(config, obj.state_path(config))
    t = translator(config.settings.language)
    targets = t.gettext(", {n} notify target(s)") if config.targets else ""
    line = t.gettext("{path}: OK, {n} number(s){targets}").format(
        path=config.path, n=len(config.numbers), targets=targets.format(n=len(config.targets))
    )
    click.echo(line)


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
        **stage_json(d),
    }
    if d.projection:
        out.update(
            balance=f"{d.projection.balance:.2f}",
            currency=n.currency,
            covered=d.projection.covered,
            runs_out=d.projection.runs_out.isoformat() if d.projection.runs_out else None,
        )
    return out


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


def _if_missed(d: Deadline, t: Translator = ENGLISH) -> str:
    info = stage_json(d)
    if info["lost_on"] is None:
        return ""
    lost = t.gettext("lost {date}").format(date=info["lost_on"])
    return f"{info['stage']}; {lost}" if info["stage"] else lost


def _what(d: Deadline, t: Translator = ENGLISH) -> str:
    if d.kind == "topup":
        return t.gettext("top up (balance runs out)")
    if d.overdue:
        if d.number.rolling:
            return t.gettext("OVERDUE (window passed)")
        return t.gettext("OVERDUE")
    if d.paid_from_balance:
        return t.gettext("charged to balance")
    return t.gettext("renew")


def _days(days_left: int, t: Translator = ENGLISH) -> str:
    if days_left == 0:
        return t.gettext("today")
    if days_left > 0:
        return t.gettext("{n}d").format(n=days_left)
    return t.gettext("{n}d ago").format(n=-days_left)


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
    t = translator(config.settings.language)
    if not found:
        click.echo(t.gettext("Nothing due in the next {days} days.").format(days=days))
        return
    rows = [
        [
            d.date.isoformat(),
            _days(d.days_left, t),
            d.number.name,
            d.number.number,
            d.number.carrier,
            d.number.cycle_text,
            _what(d, t),
        ]
        for d in found
    ]
    styles = [urgency_style(d.days_left) for d in found]
    headers = [
        t.gettext("DEADLINE"),
        t.gettext("LEFT"),
        t.gettext("NAME"),
        t.gettext("NUMBER"),
        t.gettext("CARRIER"),
        t.gettext("CYCLE"),
        t.gettext("ACTION"),
    ]
    missed = [_if_missed(d, t) for d in found]
    if any(missed):  # the column only when some number has after_deadline stages
        headers.append(t.gettext("STAGE / LOST"))
        rows = [[*row, m] for row, m in zip(rows, missed, strict=True)]
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


def _check_writable(config: Config, state: Path) -> None:
    """The database and the calendar feed must be writable by whoever runs ``check``."""
    from .errors import ConfigError, Problem
    from .tomllines import key_lines
    from .writable import write_problem

    try:
        lines = key_lines(config.path.read_text(encoding="utf-8"))
    except OSError:
        lines = {}
    hint = (
        "fix the folder's owner or mode, or use a relative path: it is taken inside the "
        f"state folder {config_mod.state_folder()}"
    )
    problems = []
    for key, path in [("settings.state", state), ("settings.calendar", config.settings.calendar)]:
        problem = write_problem(path) if path else None
        if problem:
            line = lines.get(key) or lines.get("settings")
            problems.append(Problem(str(config.path), key, problem, line, hint))
    if problems:
        raise ConfigError(problems)


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
    failed in this pass, or when the calendar feed could not be written (reminders still go).
    """
    from .delivery import run_pass

    config = obj.load()
    redact = _redactor(config)
    moment = parse_now(now, config)
    calendar_problem = None
    with obj.store(config) as store:
        report = run_pass(config, store, moment, redact)
        if config.settings.calendar:
            calendar_problem = _refresh_calendar(config, store, moment)
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


def _refresh_calendar(config: Config, store: Store, moment: datetime) -> str | None:
    """Rewrite the calendar feed after a pass; why it could not be written, or None."""
    from .calendar_feed import refresh_feed
    from .writable import explain

    assert config.settings.calendar is not None
    try:
        refresh_feed(config, store.ledger(), moment)
    except OSError as e:
        return explain(config.settings.calendar, e)
    return None


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


UNSENT_GRACE = timedelta(minutes=10)  # a due reminder unsent for longer needs attention


def local_stamp(text: str | None, config: Config, seconds: bool = False) -> str | None:
    """A stored UTC stamp in the configured time zone with its offset (``2026-12-14T09:00+01:00``;
    with ``seconds`` the full ISO 8601 form, for JSON)."""
    if not text:
        return None
    moment = datetime.fromisoformat(text).astimezone(config.settings.timezone)
    return moment.isoformat(timespec="seconds" if seconds else "minutes")


def _due_unsent(
    config: Config, store: Store | None, moment: datetime, ledger: Ledger, broken: list[Failure]
) -> list[dict[str, Any]]:
    """Reminders due by ``moment`` and not sent: in the outbox with a delivery open, or due by
    the schedule and not even recorded (no pass ran since they fell due). A number that cannot
    be worked out goes to ``broken`` instead."""
    from .delivery import targets_for
    from .reminders import due_reminders
    from .store import stamp

    due = due_reminders(config.numbers, config.settings, moment, ledger, broken)
    known = store.recorded(r.key for r in due) if store else set()
    rows = [
        {
            "name": r.number.name,
            "number": r.number.number,
            "deadline": r.deadline.isoformat(),
            "kind": r.kind,
            "due_at": stamp(r.due_at),
            "targets": ", ".join(targets_for(config, r)),
            "recorded": False,
        }
        for r in due
        if r.key not in known
    ]
    if store:
        rows += [{**row, "recorded": True} for row in store.unsent_due(moment)]
    rows.sort(key=lambda r: r["due_at"])
    return rows


def _attention(
    due_unsent: list[dict[str, Any]],
    failing: list[str],
    at_risk: list[Deadline],
    moment: datetime,
) -> list[str]:
    """What needs a person: each a short line. Empty when all is well."""
    from .store import stamp

    late = stamp(moment - UNSENT_GRACE)
    out = [
        f"{r['name']}: {r['kind']} reminder for {r['deadline']} due and not sent"
        + ("" if r["recorded"] else " (no pass has run since it fell due)")
        for r in due_unsent
        if r["due_at"] <= late
    ]
    out += [f"target {name} is failing" for name in failing]
    out += [f"{d.number.name}: {_what(d)}, deadline {d.date.isoformat()}" for d in at_risk]
    return out


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
    from .reminders import next_due_at

    config = obj.load(validate_urls=False)
    moment = parse_now(now, config)
    path = obj.state_path(config)
    store = obj.existing_store(config)
    ledger = store.ledger() if store else EMPTY_LEDGER
    waiting = store.open_deliveries() if store else []
    targets = store.target_status() if store else {}
    counts = store.counts() if store else {}
    last_pass = store.last_pass() if store else None
    broken: list[Failure] = []
    due_unsent = _due_unsent(config, store, moment, ledger, broken)
    if store:
        store.close()
    nxt = next_due_at(config.numbers, config.settings, moment, ledger, broken)
    at_risk = [d for d in upcoming(config.numbers, moment, 0, ledger, broken) if d.overdue]
    failing = [
        t.name
        for t in config.targets
        if (info := targets.get(t.name, {})).get("last_error_at")
        and (info.get("last_success_at") or "") < info["last_error_at"]
    ]
    attention = _attention(due_unsent, failing, at_risk, moment)
    balances = []
    for n in config.numbers:
        for proj in isolated(
            n, broken, lambda n=n: [projection(n, local_today(n, moment), ledger)]
        ):
            if proj:
                balances.append((n, proj))
    broken = unique_failures(broken)
    redact = Redactor(config.secrets)
    attention += [f"{f.number.name}: no reminders ({redact(f.error)})" for f in broken]
    if fmt == "json":

        def when(text: str | None) -> str | None:
            return local_stamp(text, config, seconds=True)

        if last_pass:
            last_pass["ran_at"] = when(last_pass["ran_at"])
        click.echo(
            json.dumps(
                {
                    "state": str(path),
                    "attention": attention,
                    "last_pass": last_pass,
                    "due_unsent": [{**r, "due_at": when(r["due_at"])} for r in due_unsent],
                    "counts": counts,
                    "waiting": [
                        {**w, "next_attempt_at": when(w["next_attempt_at"])} for w in waiting
                    ],
                    "targets": [
                        {
                            "name": t.name,
                            "url": display_url(t.url),
                            **targets.get(t.name, {}),
                            "last_success_at": when(targets.get(t.name, {}).get("last_success_at")),
                            "last_error_at": when(targets.get(t.name, {}).get("last_error_at")),
                            "failing": t.name in failing,
                        }
                        for t in config.targets
                    ],
                    "next_reminder": when(nxt[0].isoformat()) if nxt else None,
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
        sys.exit(1 if attention else 0)
    click.echo(f"state: {path}" + ("" if store else " (not created yet)"))
    if last_pass:
        how = last_pass["outcome"]
        if how == "error":
            how = f"error: {last_pass['error']}"
        elif last_pass["sent"] or last_pass["failed"]:
            how += f", sent to {last_pass['sent']} target(s), {last_pass['failed']} failed"
        when = local_stamp(last_pass["ran_at"], config)
        click.echo(f"last pass: {when} by {last_pass['source']}, {how}")
    else:
        click.echo("last pass: none recorded")
    if nxt:
        r = nxt[1]
        click.echo(
            f"next reminder: {local_stamp(nxt[0].isoformat(), config)} for {r.number.name} "
            f"({r.kind}, deadline {r.deadline.isoformat()})"
        )
    else:
        click.echo("next reminder: none scheduled")
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none yet"
    click.echo(f"deliveries: {summary}")
    if due_unsent:
        click.echo("")
        click.echo("due, not sent:")
        for r in due_unsent:
            click.echo(
                f"  {r['name']}: {r['kind']} reminder for {r['deadline']}, due "
                f"{local_stamp(r['due_at'], config)}, to {r['targets'] or 'no target'}"
                + ("" if r["recorded"] else " (not recorded: no pass has run since)")
            )
    click.echo("")
    rows = []
    for t in config.targets:
        info = targets.get(t.name, {})
        rows.append(
            [
                t.name,
                display_url(t.url),
                local_stamp(info.get("last_success_at"), config) or "-",
                local_stamp(info.get("last_error_at"), config) or "-",
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
                local_stamp(w["next_attempt_at"], config) or "",
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
    if attention:
        click.echo("")
        click.echo("needs attention:")
        for line in attention:
            click.echo(f"  {line}")
    sys.exit(1 if attention else 0)


@cli.command()
@click.pass_obj
def run(obj: Context) -> None:
    """Run the reminder daemon in the foreground (for systemd: Type=notify).

    SIGHUP reloads the config (a broken one is rejected and the old one kept); SIGTERM finishes
    the delivery in flight and exits 0.
    """
    from .service import Service

    sys.exit(Service(obj.config_path, obj.verbosity).run())


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
    from .reloadack import ReloadFailed, request_reload

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
    from .notifier import send_all, url_problem
    from .templates import Texts

    config, problems = config_mod.load_partial(obj.config_path, url_check=url_problem)
    for problem in problems:
        click.echo(f"config problem: {problem}", err=True)
    redact = _redactor(config)
    if not config.targets:
        click.echo(_error_line(f"{unit} failed, and no notify target can be used"), err=True)
        sys.exit(1)
    message = Texts(config.settings.language, config.templates).failure(unit)
    jobs = [(t, message) for t in config.targets]
    results = list(send_all(jobs, config.settings.send_timeout, redact))
    for target, outcome in results:
        status = "sent" if outcome.ok else f"FAILED: {outcome.error}"
        click.echo(f"failure alert for {unit} to {target.name}: {status}")
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


def _renewal_refused(
    number: Number, on: date, covers: date | None, recorded: list[dict[str, Any]], again: bool
) -> UsageError | None:
    """Why recording a renewal of ``number`` on ``on`` looks like an accident, if it does.

    Refused: a date before the renewal recorded last (always), and unless ``again`` a second
    renewal on the same day, or one whose deadline due next is already marked renewed (the
    renewal would silently mark a later one).
    """
    hint = f"add --again to record another renewal, or 'simkeeper undo \"{number.name}\"'"
    if recorded:
        last = max(date.fromisoformat(r["date"]) for r in recorded)
        if on < last:
            return UsageError(
                f"{number.name}: --date {on} is before the renewal already recorded on {last}",
                f"'simkeeper undo \"{number.name}\"' removes that one first",
            )
    if again:
        return None
    # A renewal below min_amount moved nothing, so another one that day is no accident.
    same_day = [
        r
        for r in recorded
        if r["date"] == on.isoformat()
        and counts(number, Decimal(r["amount"]) if r["amount"] else None)
    ]
    if same_day:
        done = f" (deadline {same_day[-1]['covers']} done)" if same_day[-1]["covers"] else ""
        return UsageError(f"{number.name}: a renewal on {on} is already recorded{done}", hint)
    nxt = next(occurrences(number, on, on + timedelta(days=3660)), None)
    if covers and nxt and covers > nxt:
        by = [r["date"] for r in recorded if r["covers"] == nxt.isoformat()]
        when = f" on {by[-1]}" if by else ""
        return UsageError(
            f"{number.name}: deadline {nxt} is already recorded as renewed{when}; this would "
            f"mark {covers} too",
            hint,
        )
    return None


@cli.command()
@click.argument("name")
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
    number = find_number(config.numbers, name)
    moment = parse_now(now, config)
    on = _parse_day(day, local_today(number, moment))
    cost = _parse_amount(amount, "--amount")
    with obj.store(config) as store:
        covers = occurrence_to_mark(number, on, store.ledger()) if counts(number, cost) else None
        refusal = _renewal_refused(
            number, on, covers, store.entries(number.number, "renewal"), again
        )
        if refusal:
            raise refusal
        store.add_history(
            number.number, number.name, "renewal", on, moment, cost, number.currency, note, covers
        )
        ledger = store.ledger()
    what = f"deadline {covers} done" if covers else ""
    if number.rolling:
        what = _next_deadline(number, moment, ledger) or what
    if not counts(number, cost):
        what = _below_minimum(number, cost, what)
    click.echo(f"recorded: {number.name} renewed on {on}" + (f"; {what}" if what else ""))


def _next_deadline(number: Number, moment: datetime, ledger: Ledger) -> str:
    nxt = [d for d in upcoming([number], moment, 3660, ledger) if d.kind == "renew"]
    return f"next deadline {nxt[0].date}" if nxt else ""


def _below_minimum(number: Number, amount: Decimal | None, what: str) -> str:
    """What ``renewed`` or ``topup`` says when the amount is below ``min_amount``."""
    currency = f" {number.currency}" if number.currency else ""
    stays = what.replace("next deadline", "so the deadline stays") if number.rolling else ""
    stays = stays or "so no deadline is marked done"
    return f"{amount} is below min_amount {number.min_amount}{currency}, {stays}"


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
        ledger = store.ledger()
        proj = projection(number, local_today(number, moment), ledger)
    extra = ""
    if proj:
        runs = proj.runs_out.isoformat() if proj.runs_out else "not within reach"
        extra = f"; balance {proj.balance:.2f} {number.currency}, runs out {runs}"
    if number.rolling:  # a top-up keeps a keep-alive line going, like a renewal
        what = _next_deadline(number, moment, ledger)
        what = what if counts(number, value) else _below_minimum(number, value, what)
        extra = f"; {what}" if what else ""
    click.echo(f"recorded: {number.name} topped up {value} {number.currency} on {on}{extra}")
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
@click.argument("name")
@NOW_OPTION
@click.pass_obj
def undo(obj: Context, name: str, now: str | None) -> None:
    """Remove the renewal or top-up recorded last for NAME, and say what was removed.

    Deadlines and the projected balance move back as if it had never been recorded.
    """
    config = obj.load(validate_urls=False)
    number = find_number(config.numbers, name)
    moment = parse_now(now, config)
    if not obj.state_path(config).exists():
        raise UsageError(f"nothing is recorded for {number.name}", "no state database yet")
    with obj.store(config) as store:
        row = store.remove_last_entry(number.number)
        if row is None:
            raise UsageError(f"nothing is recorded for {number.name}")
        ledger = store.ledger()
    click.echo(f"removed: {number.name} {_entry_text(row, config)}")
    nxt = [d for d in upcoming([number], moment, 3660, ledger) if d.kind == "renew"]
    if nxt:
        click.echo(f"next deadline: {nxt[0].date} ({_days(nxt[0].days_left)})")
    proj = projection(number, local_today(number, moment), ledger)
    if proj:
        runs = proj.runs_out.isoformat() if proj.runs_out else "not within reach"
        click.echo(f"balance: {proj.balance:.2f} {number.currency}, runs out {runs}")


def _entry_text(row: dict[str, Any], config: Config) -> str:
    """A recorded renewal or top-up in words, with when it was recorded."""
    what = "renewal" if row["kind"] == "renewal" else "top-up"
    amount = f" of {row['amount']} {row['currency'] or ''}".rstrip() if row["amount"] else ""
    covers = f" (deadline {row['covers']} done)" if row.get("covers") else ""
    recorded = local_stamp(row["recorded_at"], config)
    return f"{what}{amount} on {row['date']}{covers}, recorded {recorded}"


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
    for e in events:  # stored UTC stamps, shown in the configured zone with their offset
        for key in ("recorded_at", "sent_at"):
            if e.get(key):
                e[key] = local_stamp(e[key], config, seconds=True)
        if e["event"] == "sent":
            e["when"] = e["sent_at"]
    if fmt == "json":
        click.echo(json_array(events))
        return
    t = translator(config.settings.language)
    if not events:
        click.echo(t.gettext("No history yet."))
        return
    rows = []
    for e in events:
        if e["event"] == "sent" and e["kind"] == "problem":
            what = t.gettext("alert that its deadlines cannot be worked out sent to {target}")
            what = what.format(target=e["target"])
        elif e["event"] == "sent":
            what = t.gettext("{kind} reminder for {deadline} sent to {target}").format(
                kind=label(t, e["kind"]), deadline=e["deadline"], target=e["target"]
            )
        else:
            amount = f" {e['amount']} {e['currency'] or ''}".rstrip() if e["amount"] else ""
            covers = e.get("covers") and t.gettext(" (deadline {covers})").format(
                covers=e["covers"]
            )
            note = f" - {e['note']}" if e.get("note") else ""
            what = f"{label(t, e['event'])}{amount}{covers or ''}{note}"
        when = e["when"] if e["event"] != "sent" else local_stamp(e["when"], config)
        rows.append([when or "", e["name"], what])
    click.echo(table([t.gettext("WHEN"), t.gettext("NAME"), t.gettext("WHAT")], rows))


# The kinds of history entries and reminders, as stored, translated where they are shown.
HISTORY_KINDS = (N_("renewal"), N_("topup"), N_("renew"), N_("overdue"), N_("digest"))


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
    t = translator(config.settings.language)
    if not totals:
        click.echo(t.gettext("No number has a cost set."))
        return
    headers = [t.gettext("CURRENCY"), t.gettext("NEXT 12 MONTHS")]
    click.echo(table(headers, [[k, f"{v:.2f}"] for k, v in totals.items()]))


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

    from .install import init as write_files
    from .install import layout, next_steps, this_executable

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
    from .backup import backup as copy

    config = obj.load(validate_urls=False)
    done = copy(obj.state_path(config), file)
    click.echo(
        f"backed up {obj.state_path(config)} to {done.path}: {done.reminders} reminder(s), "
        f"{done.history} history entr{'y' if done.history == 1 else 'ies'}"
    )


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.pass_obj
def restore(obj: Context, file: Path) -> None:
    """Put the backup FILE back as the state database (stop the daemon first); the database it
    replaces is kept as STATE.before-restore."""
    from .backup import restore as put_back

    config = obj.load(validate_urls=False)
    done, kept = put_back(file, obj.state_path(config))
    click.echo(
        f"restored {done.path} from {file}: {done.reminders} reminder(s), {done.history} "
        f"history entr{'y' if done.history == 1 else 'ies'}"
    )
    if kept:
        click.echo(f"the database it replaced is kept as {kept}")


@cli.command("plans")
@FORMAT_OPTION
@click.pass_obj
def plans_cmd(obj: Context, fmt: str) -> None:
    """List the built-in carrier plans for ``plan = "NAME"``, with the source of their rules.

    A plan fills a number's carrier, cycle, renewal rules, stages after a missed deadline, note
    and renew_url; any key written in the entry overrides it.
    """
    from .plans import builtin_plans

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
    checked = t.gettext("Checked: {how}. Third-party rules are leads, not the carrier's word.")
    click.echo("\n" + checked.format(how="; ".join(hows)))


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


@config_group.command("example")
def config_example() -> None:
    """Print the example config (config.example.toml), every [settings] key with its doc."""
    from .configdocs import example_config

    click.echo(example_config(), nl=False)


@config_group.command("docs")
@click.option(
    "--readme",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Rewrite the generated tables between the <!-- schema:... --> markers of this file.",
)
def config_docs(readme: Path | None) -> None:
    """Print the configuration reference tables, one per table, between their markers."""
    from .configdocs import StaleMarkers, fill_readme, reference

    if readme is None:
        click.echo(reference(), nl=False)
        return
    try:
        readme.write_text(fill_readme(readme.read_text(encoding="utf-8")), encoding="utf-8")
    except StaleMarkers as e:
        raise UsageError(f"{readme}: {e}", "put each table's markers back") from None
