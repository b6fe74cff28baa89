"""The ``simkeeper`` command line: click commands over the application layer (:mod:`.app`),
parsing input and printing what :mod:`.views` renders.

Every error a user can act on is a :class:`~simkeeper.core.errors.SimkeeperError`, printed as one
line per problem on stderr with exit status 2 (1 for a failed send); never a traceback.

This module assembles the group: :mod:`.base` holds it with what every command shares, and one
module per family of commands holds the commands (:mod:`.check`, :mod:`.reminders`,
:mod:`.status`, :mod:`.service`, :mod:`.ledger`, :mod:`.setup`, :mod:`.backup`, :mod:`.plans`,
:mod:`.schema`, :mod:`.keepalive`). :func:`main` is the console script's entry point.
"""

from __future__ import annotations

import sys

import click

from simkeeper.cli import (
    backup,
    balance,
    check,
    inbound,
    keepalive,
    ledger,
    plans,
    reminders,
    schema,
    service,
    setup,
    state,
    status,
)
from simkeeper.cli.base import accept_group_options, cli, closed_pipe_exit, error_line

__all__ = ["cli", "main"]

# Every command, in the order they were written; ``simkeeper --help`` lists them sorted.
COMMANDS: tuple[click.Command, ...] = (
    check.check,
    reminders.upcoming_cmd,
    reminders.send_due,
    check.test_cmd,
    status.status,
    service.run,
    service.web,
    service.reload_cmd,
    service.notify_failure,
    ledger.renewed,
    ledger.topup,
    ledger.undo,
    ledger.history,
    reminders.summary,
    reminders.calendar,
    setup.init,
    backup.backup,
    backup.restore,
    plans.plans_cmd,
    schema.config_group,
    setup.demo,
    setup.completion,
    keepalive.keepalive_cmd,
    state.state_group,
    balance.balance_cmd,
    inbound.webhook_cmd,
    inbound.poll_cmd,
)


def _assemble(group: click.Group) -> None:
    """Add the commands to the group, then let each take the group's options after its name."""
    for command in COMMANDS:
        group.add_command(command)
    accept_group_options(group)


_assemble(cli)


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
        click.echo(error_line(f"{e.format_message()} (see '{where} --help')"), err=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        click.echo(error_line(e.format_message()), err=True)
        sys.exit(e.exit_code)
    except click.Abort:
        click.echo(error_line("aborted"), err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
