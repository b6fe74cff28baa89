"""``check`` and ``test``: is the config sound, the state writable, and does each notify target
take a message.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from simkeeper import app
from simkeeper.cli.base import Context
from simkeeper.core.errors import UsageError
from simkeeper.core.model import Config
from simkeeper.core.redact import display_url
from simkeeper.host import paths
from simkeeper.texts.i18n import translator


@click.command()
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


@click.command("test")
@click.option("--tag", "tags", multiple=True, help="Only targets with this name or tag.")
@click.pass_obj
def test_cmd(obj: Context, tags: tuple[str, ...]) -> None:
    """Send a test message to each notify target and say which work (exit 1 if any failed)."""
    config = obj.load()
    redact = app.use_secrets(config)
    chosen = [t for t in config.targets if t.matches(tags)]
    if not chosen:
        raise UsageError("no notify target to test", "add [[notify]] entries, or check --tag")
    results = dict(app.send_test(config, chosen, redact))
    t = translator(config.settings.language)
    for target in chosen:
        outcome = results[target]
        where = display_url(target.url)
        if outcome.ok:
            status = t.gettext("ok")
        else:
            status = t.gettext("FAILED: {error}").format(error=outcome.error)
        click.echo(f"{target.name} ({where}): {status}")
    sys.exit(0 if all(o.ok for o in results.values()) else 1)
