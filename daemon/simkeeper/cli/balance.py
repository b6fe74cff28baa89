"""``balance NAME``: read a number's balance by USSD now (its ``balance_check``), and the
readings' lines in ``status`` and ``history``."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from simkeeper import app
from simkeeper.app import balance
from simkeeper.cli.base import NOW_OPTION, Context, parse_now
from simkeeper.core.model import Config, Number
from simkeeper.core.numbertable import having
from simkeeper.engine.balances import money
from simkeeper.engine.deadlines import local_today, projection
from simkeeper.present.views import local_stamp
from simkeeper.texts.display import table
from simkeeper.texts.i18n import Translator, label, translator


@click.command("balance")
@click.argument("name")
@NOW_OPTION
@click.pass_obj
def balance_cmd(obj: Context, name: str, now: str | None) -> None:
    """Read NAME's balance now: run its balance_check's USSD code through its gateway, print
    the reply (numbers masked) and the amount, and record the reading (the balance projection
    starts from it). The daemon does the same every balance_check.every.

    Exit 1 when the reply did not match the pattern, or no reply came.
    """
    config = obj.load(validate_urls=False)
    moment = parse_now(now, config)
    number = app.find_number(config.numbers, name)
    checked = balance.read_balance(config, number, moment)
    t = translator(config.settings.language)
    row = checked.row
    if row.reply:
        click.echo(t.gettext("reply: {reply}").format(reply=row.reply))
    if checked.ok:
        amount = f"{row.amount} {number.currency}".rstrip()
        click.echo(t.gettext("{name}: balance {amount}").format(name=number.name, amount=amount))
        if row.until:
            click.echo(t.gettext("valid until {until}").format(until=row.until))
        _runs_out(config, number, moment, t)
    elif row.outcome == "no-match":
        click.echo(
            t.gettext(
                "{name}: the reply does not match the pattern: the balance is unchanged; "
                "fix balance_check.pattern"
            ).format(name=number.name)
        )
    else:
        click.echo(
            t.gettext("{name}: no balance read ({outcome}: {error})").format(
                name=number.name, outcome=label(t, row.outcome), error=row.error or ""
            )
        )
    sys.exit(0 if checked.ok else 1)


def _runs_out(config: Config, number: Number, moment: datetime, t: Translator) -> None:
    """The run-out date the new reading implies, when the number tracks a balance."""
    from simkeeper.present.views import runs_out_text

    store = app.open_state_readonly(config)
    if store is None:
        return
    with store:
        ledger_now = store.ledger_for([number.number])
    proj = projection(number, local_today(number, moment), ledger_now)
    if proj:
        click.echo(
            t.gettext("balance: {balance} {currency}, runs out {runs_out}").format(
                balance=money(proj.balance),
                currency=number.currency,
                runs_out=runs_out_text(proj, t),
            )
        )


def history_lines(config: Config, number_e164: str | None, t: Translator) -> list[str]:
    """Every balance check by USSD for ``history`` (of one number, or all), newest first: the
    failed ones too, which the history's own rows (matched readings) leave out."""
    if not having(config.numbers, "balance_check"):
        return []
    store = app.open_state_readonly(config)
    if store is None:
        return []
    with store:
        readings = store.balance_readings(number_e164)
    if not readings:
        return []
    rows = [
        [
            local_stamp(r.read_at, config) or r.read_at,
            r.name,
            f"{r.code} via {r.gateway}",
            label(t, r.outcome),
            f"{r.amount} {r.currency or ''}".rstrip() if r.amount else "-",
            r.reply or r.error or "",
        ]
        for r in readings
    ]
    headers = [
        t.gettext("WHEN"),
        t.gettext("NAME"),
        t.gettext("CODE"),
        t.gettext("OUTCOME"),
        t.gettext("AMOUNT"),
        t.gettext("REPLY"),
    ]
    return ["", t.gettext("Balance checks (source: ussd):"), table(headers, rows)]
