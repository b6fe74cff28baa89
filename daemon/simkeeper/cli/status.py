"""``status``: the daemon's last pass, what is due, failing or at risk, for people and monitors."""

from __future__ import annotations

import sys

import click

from simkeeper import app
from simkeeper.cli import keepalive as autopilot_cli
from simkeeper.cli.base import FORMAT_OPTION, NOW_OPTION, Context, parse_now
from simkeeper.core.model import Config
from simkeeper.present.views import status_json, status_text
from simkeeper.texts.i18n import Translator, translator


@click.command()
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
        for line in autopilot_cli.status_lines(config, parse_now(now, config), t):
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
