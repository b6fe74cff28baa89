"""``config example`` and ``config docs``: what the config schema documents."""

from __future__ import annotations

from pathlib import Path

import click

from simkeeper.core.errors import UsageError


@click.group("config")
def config_group() -> None:
    """Print what the config schema documents: the example config and the README tables."""


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
