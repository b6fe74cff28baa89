"""``keepalive``: the autopilot by hand (``--dry-run`` shows what it would do), and the
autopilot's lines in ``status`` and ``history``."""

from __future__ import annotations

import sys
from datetime import datetime
from decimal import Decimal

import click

from simkeeper import app
from simkeeper.cli.base import NOW_OPTION, Context, parse_now
from simkeeper.core.errors import UsageError
from simkeeper.core.model import Config, Number
from simkeeper.engine.balances import money
from simkeeper.texts.display import table
from simkeeper.texts.i18n import Translator, translator


@click.command("keepalive")
@click.argument("name", required=False)
@click.option("--dry-run", is_flag=True, help="Show what would be sent; send and record nothing.")
@NOW_OPTION
@click.pass_obj
def keepalive_cmd(obj: Context, name: str | None, dry_run: bool, now: str | None) -> None:
    """The autopilot by hand: send NAME's keep-alive text now, by the same rules and record as
    the daemon (budget, one text per deadline, proof). With --dry-run (NAME optional): what
    would be sent, from which gateway and SIM, to whom, at what cost, and the budget left.

    Exit 1 when the text was not sent or not confirmed.
    """
    config = obj.load(validate_urls=not dry_run)
    moment = parse_now(now, config)
    if dry_run:
        dry_run_lines(config, moment, name)
        return
    if not name:
        raise UsageError(
            "keepalive needs a NAME (or --dry-run)", "e.g. simkeeper keepalive giffgaff"
        )
    send_now(config, moment, name)


def _require_autopilot(config: Config) -> None:
    """A UsageError when the autopilot is off (no budget)."""
    if config.settings.keepalive_budget is None:
        raise UsageError(
            "the autopilot is off: settings.keepalive_budget is not set",
            'e.g. keepalive_budget = { GBP = 2.00, per = "365d" }',
        )


def _require_keepalive(number: Number) -> None:
    if number.keepalive is None:
        raise UsageError(
            f"{number.name} has no keepalive", "add keepalive = { via = ..., to = ..., ... }"
        )


def _would(t: Translator, would: str, state: str) -> str:
    return {
        "send": t.gettext("would send now"),
        "not-due": t.gettext("not due yet"),
        "late": t.gettext("deadline passed: the reminders go on"),
        "budget": t.gettext("over budget: would not send"),
        "done": t.gettext("already attempted ({state})").format(state=state),
    }[would]


def dry_run_lines(config: Config, moment: datetime, name: str | None) -> None:
    """Print what the autopilot would do, without sending or writing anything."""
    t = translator(config.settings.language)
    if config.settings.keepalive_budget is None:  # a look only: the off switch is no error
        click.echo(t.gettext("The autopilot is off: settings.keepalive_budget is not set."))
        return
    number = app.find_number(config.numbers, name) if name else None
    if number is not None:
        _require_keepalive(number)
    planned = app.keepalive_plan(config, moment, number)
    if not planned:
        click.echo(t.gettext("No number has a keepalive."))
        return
    rows = []
    for p in planned:
        ka = p.number.keepalive
        assert ka is not None
        rows.append(
            [
                p.number.name,
                f"{p.gateway.name} ({p.gateway.kind})",
                str(ka.sim) if ka.sim else "-",
                p.shown_to,
                f'"{ka.text}"',
                f"{money(ka.cost)} {ka.currency}",
                f"{money(p.left)} {ka.currency}",
                p.due_on.isoformat(),
                p.deadline.isoformat(),
                _would(t, p.would, p.attempt_state),
            ]
        )
    headers = [
        t.gettext("NAME"),
        t.gettext("GATEWAY"),
        t.gettext("SIM"),
        t.gettext("TO"),
        t.gettext("TEXT"),
        t.gettext("COST"),
        t.gettext("BUDGET LEFT"),
        t.gettext("FROM"),
        t.gettext("DEADLINE"),
        t.gettext("WHAT"),
    ]
    click.echo(table(headers, rows))
    click.echo(t.gettext("dry run: nothing was sent or recorded"))


def send_now(config: Config, moment: datetime, name: str) -> None:
    """Send ``name``'s keep-alive text now; exit 1 unless the carrier confirmed it."""
    t = translator(config.settings.language)
    number = app.find_number(config.numbers, name)
    _require_autopilot(config)
    _require_keepalive(number)
    redact = app.use_secrets(config)
    with app.open_state(config) as store:
        results = app.keepalive_pass(config, store, moment, redact, only=number)
    result = next(r for r in reversed(results) if r.name == number.name)
    lines = {
        "proved": t.gettext("{name}: kept alive: the carrier confirmed the text; renewal recorded"),
        "accepted": t.gettext(
            "{name}: the gateway has the text; the next pass records the proof when it comes"
        ),
        "sending": t.gettext(
            "{name}: the gateway's answer is unknown; the next pass asks it (never sent twice)"
        ),
        "failed": t.gettext("{name}: the text failed: {reason}"),
        "expired": t.gettext("{name}: no proof came in time: {reason}"),
        "unknown": t.gettext("{name}: the outcome cannot be known: {reason}"),
        "refused": t.gettext("{name}: not sent: {reason}"),
        "exists": t.gettext(
            "{name}: a keep-alive text was already attempted for this deadline ({reason})"
        ),
    }
    click.echo(lines[result.state].format(name=number.name, reason=result.reason))
    sys.exit(0 if result.state in ("proved", "accepted") else 1)


def status_lines(config: Config, moment: datetime, t: Translator) -> list[str]:
    """The autopilot's lines for ``status`` (none when it is off)."""
    spend = app.keepalive_spend(config, moment)
    if spend is None:
        return []
    lines = [
        "",
        t.gettext("Autopilot (keep-alive texts, last {days} days):").format(days=spend.per_days),
    ]
    for currency, cap in sorted(spend.caps.items()):
        spent = spend.spent.get(currency, Decimal(0))
        lines.append(
            "  "
            + t.gettext("spent {spent} of {cap} {currency}").format(
                spent=money(spent), cap=money(cap), currency=currency
            )
        )
    if spend.by_state:
        counts = ", ".join(f"{state} {n}" for state, n in sorted(spend.by_state.items()))
        lines.append("  " + t.gettext("attempts: {counts}").format(counts=counts))
    return lines


def history_lines(config: Config, number_e164: str | None, t: Translator) -> list[str]:
    """The autopilot's attempts for ``history`` (of one number, or all), newest first."""
    store = app.open_state_readonly(config)
    if store is None:
        return []
    with store:
        attempts = [a for a in store.keepalive_attempts() if number_e164 in (None, a.number)]
    if not attempts:
        return []
    rows = [
        [
            a.claimed_at,
            a.name,
            a.gateway,
            f"{money(a.cost)} {a.currency}",
            a.state,
            a.msg_id,
            a.reason or "",
        ]
        for a in reversed(attempts)
    ]
    headers = [
        t.gettext("WHEN"),
        t.gettext("NAME"),
        t.gettext("GATEWAY"),
        t.gettext("COST"),
        t.gettext("OUTCOME"),
        t.gettext("MESSAGE ID"),
        t.gettext("WHY"),
    ]
    return ["", t.gettext("Autopilot attempts:"), table(headers, rows)]
