"""``backup`` and ``restore`` of the state database."""

from __future__ import annotations

from pathlib import Path

import click

from simkeeper import app
from simkeeper.cli.base import Context
from simkeeper.texts.i18n import translator


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def backup(obj: Context, file: Path) -> None:
    """Write a consistent copy of the state database to FILE (mode 0600), even while the
    daemon runs."""
    config = obj.load(validate_urls=False)
    done = app.backup_state(config, file)
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


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.pass_obj
def restore(obj: Context, file: Path) -> None:
    """Put the backup FILE back as the state database (stop the daemon first); the database it
    replaces is kept as STATE.before-restore."""
    config = obj.load(validate_urls=False)
    done, kept = app.restore_state(config, file)
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
