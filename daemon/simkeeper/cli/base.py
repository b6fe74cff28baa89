"""What every command shares: the ``simkeeper`` click group with its options (``--config``,
``-v``, ``-q``, accepted after the command name too), the ``--now`` and ``--format`` options,
the context the commands get, one-line error printing and the closed-pipe exit.

The commands themselves live in one module per family; :mod:`.main` adds them to the group.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from contextlib import suppress
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from simkeeper import __version__, app
from simkeeper.config import cache as configcache
from simkeeper.config import load as config_mod
from simkeeper.core.errors import SimkeeperError, UsageError
from simkeeper.core.model import Config
from simkeeper.core.redact import Redactor
from simkeeper.engine.deadlines import Failure, unique_failures
from simkeeper.host import paths
from simkeeper.host.logs import setup as setup_logging
from simkeeper.texts.display import use_colour

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem


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
            self.config_path, warn, for_sending=validate_urls, cache=configcache.folder()
        )


def warn(line: str) -> None:
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
                click.echo(error_line(line), err=True)
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
                error_line(
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


def error_line(line: str) -> str:
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


# -- numbers left out of upcoming, send-due and calendar ------------------------------------


def warn_broken(config: Config, broken: list[Failure]) -> None:
    """One stderr line per number that could not be worked out (the others were)."""
    redact = Redactor(config.secrets)
    for f in unique_failures(broken):
        click.echo(f"warning: {broken_line(f, redact)}", err=True)


def broken_line(f: Failure, redact: Redactor) -> str:
    return (
        f"cannot work out the deadlines of {f.number.name} ({redact(f.error)}); it is left "
        "out, the other numbers go on (fix its entry and run 'simkeeper check')"
    )


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


def accept_group_options(group: click.Group) -> None:
    """Let every command take ``--config``, ``-v`` and ``-q`` after its name as well
    (``simkeeper check --config FILE``): they set what the group's own options set. The
    group parses its options and runs first, so these, parsed with the command's, win."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            accept_group_options(command)
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
