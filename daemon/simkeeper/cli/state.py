"""``state migrate``: the state moved between an SQLite file and PostgreSQL."""

from __future__ import annotations

import click

from simkeeper.app import state_migrate
from simkeeper.cli.base import NOW_OPTION, Context, parse_now
from simkeeper.texts.i18n import translator


@click.group("state")
def state_group() -> None:
    """The state database as a whole: where it lives."""


@state_group.command("migrate")
@click.option(
    "--to",
    "to",
    required=True,
    metavar="PATH|URL",
    help="An SQLite file or a postgresql:// database, new or empty (password: PGPASSWORD or"
    " ~/.pgpass).",
)
@NOW_OPTION
@click.pass_obj
def migrate(obj: Context, to: str, now: str | None) -> None:
    """Copy the state (every reminder, delivery and history entry, ids kept) from where
    settings.state says to TO, SQLite to PostgreSQL or back; refused while a daemon runs."""
    config = obj.load(validate_urls=False)
    done = state_migrate.migrate_state(config, to, parse_now(now, config))
    t = translator(config.settings.language)
    click.echo(
        t.gettext("copied the state {source} to {dest}").format(source=done.source, dest=done.dest)
    )
    for table, count in done.rows:
        click.echo(f"  {table}: {count}")
    click.echo(
        t.gettext("now set settings.state to {dest} and start the daemons").format(dest=done.dest)
    )
