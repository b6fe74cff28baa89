"""Setting simkeeper up: ``init`` writes an install's files, ``demo`` a config to try it with,
``completion`` the shell completion script.
"""

from __future__ import annotations

import os
import tomllib
from datetime import datetime
from pathlib import Path

import click

from simkeeper.cli.base import cli  # for completion: the group as cli.main assembles it
from simkeeper.core.errors import UsageError
from simkeeper.texts.i18n import translator


@click.command()
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


@click.command()
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


@click.command()
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
