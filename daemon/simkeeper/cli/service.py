"""Running and steering the service: the daemon (``run``), the web face (``web``), ``reload``
of a running daemon and the ``notify-failure`` alert of its failure unit.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from simkeeper import app
from simkeeper.cli.base import NOW_OPTION, Context, error_line, parse_now
from simkeeper.core.errors import UsageError
from simkeeper.texts.i18n import translator


@click.command()
@click.pass_obj
def run(obj: Context) -> None:
    """Run the reminder daemon in the foreground (for systemd: Type=notify).

    SIGHUP reloads the config (a broken one is rejected and the old one kept); SIGTERM finishes
    the delivery in flight and exits 0.
    """
    from simkeeper.service.loop import Service

    sys.exit(Service(obj.config_path, obj.verbosity).run())


@click.command()
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


@click.command("reload")
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
        click.echo(error_line(str(e)), err=True)
        sys.exit(1)
    if not answer.ok:
        click.echo(error_line("reload rejected, still running on the previous config:"), err=True)
        for line in answer.lines:
            click.echo(error_line(line), err=True)
        sys.exit(2)
    click.echo(f"simkeeper (pid {pid}): new config in use")


@click.command("notify-failure")
@click.argument("unit", default="simkeeper.service")
@click.pass_obj
def notify_failure(obj: Context, unit: str) -> None:
    """Tell every notify target that UNIT has failed (for the simkeeper-failure unit).

    Works from a config with errors too, through the targets that are still valid: a broken
    config is a common reason for the failure. Exit 1 when no target took the message.
    """
    config, problems = app.load_for_alert(obj.config_path)
    for problem in problems:
        click.echo(f"config problem: {problem}", err=True)
    redact = app.use_secrets(config)
    if not config.targets:
        click.echo(error_line(f"{unit} failed, and no notify target can be used"), err=True)
        sys.exit(1)
    results = app.send_failure_alert(config, unit, redact)
    t = translator(config.settings.language)
    alert = t.gettext("failure alert for {unit} to {target}: {status}")
    for target, outcome in results:
        failed = t.gettext("FAILED: {error}").format(error=outcome.error)
        status = t.gettext("sent") if outcome.ok else failed
        click.echo(alert.format(unit=unit, target=target.name, status=status))
    sys.exit(0 if any(o.ok for _, o in results) else 1)
