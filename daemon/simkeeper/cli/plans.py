"""``plans``: the built-in carrier plans a number can name, with the sources of their rules."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from simkeeper.cli.base import FORMAT_OPTION, Context
from simkeeper.config import load as config_mod
from simkeeper.core.errors import SimkeeperError
from simkeeper.present.views import json_array
from simkeeper.texts.display import table
from simkeeper.texts.i18n import translator

if TYPE_CHECKING:
    from simkeeper.config.plans import Plan


@click.command("plans")
@FORMAT_OPTION
@click.pass_obj
def plans_cmd(obj: Context, fmt: str) -> None:
    """List the built-in carrier plans for plan = "NAME", with the source of their rules.

    A plan fills a number's carrier, cycle, renewal rules, stages after a missed deadline, note
    and renew_url; any key written in the entry overrides it.
    """
    from simkeeper.config.plans import builtin_plans

    plans = builtin_plans().values()
    if fmt == "json":
        click.echo(json_array(_plan_json(p) for p in plans))
        return
    rows = [
        [
            p.name,
            p.title,
            str(p.keys.get("cycle", "")),
            _plan_rules(p.keys),
            p.source,
            p.source_kind,
            p.checked.isoformat(),
        ]
        for p in plans
    ]
    t = translator(_plans_language(obj))
    headers = [t.gettext("PLAN"), t.gettext("LINE"), t.gettext("CYCLE"), t.gettext("RULES")]
    headers += [t.gettext("SOURCE"), t.gettext("SOURCE IS"), t.gettext("CHECKED")]
    click.echo(table(headers, rows))
    hows = sorted({p.checked_how for p in plans if p.checked_how})
    sources = t.gettext(
        "Sources: {how}, as of the CHECKED date. Third-party rules are leads, not the carrier's"
        " word: check the SOURCE before relying on one."
    )
    click.echo("\n" + sources.format(how="; ".join(hows)))
    coded = [(p.name, p.balance) for p in plans if p.balance]
    if coded:
        click.echo("\n" + t.gettext("Balance codes (balance_check reads them by USSD):"))
        rows = [
            [name, c.ussd, " ".join(c.replies) or "-", c.pattern, c.source] for name, c in coded
        ]
        headers = [t.gettext("PLAN"), t.gettext("CODE"), t.gettext("MENU")]
        headers += [t.gettext("PATTERN"), t.gettext("SOURCE")]
        click.echo(table(headers, rows))


def _plans_language(obj: Context) -> str:
    """``plans`` needs no config; with one, it speaks the config's language."""
    try:
        config, _ = config_mod.load_partial(obj.config_path)
    except (SimkeeperError, OSError, ValueError):
        return "en"
    return config.settings.language


def _plan_json(p: Plan) -> dict[str, Any]:
    return {
        "name": p.name,
        "title": p.title,
        "source": p.source,
        "official": p.official,
        "third_party": list(p.third_party),
        "checked": p.checked.isoformat(),
        "checked_how": p.checked_how,
        "keys": json.loads(json.dumps(p.keys, default=str)),
        "balance": None
        if p.balance is None
        else {
            "ussd": p.balance.ussd,
            "pattern": p.balance.pattern,
            "replies": list(p.balance.replies),
            "sample": p.balance.sample,
            "source": p.balance.source,
        },
    }


def _plan_rules(keys: dict[str, Any]) -> str:
    """A plan's rules in a few words: ``rolling, extend, min 100 HKD, lost after 90d``."""
    parts = ["rolling" if keys.get("rolling") else "fixed"]
    if keys.get("on_renewal", "reset") != "reset":
        parts.append(str(keys["on_renewal"]))
    if "min_amount" in keys:
        parts.append(f"min {keys['min_amount']} {keys.get('currency', '')}".rstrip())
    for tier in keys.get("validity", ()):
        parts.append(f"{tier['from']}+: {tier['cycle']}")
    if "cost" in keys:
        parts.append(f"{keys['cost']:.2f} {keys.get('currency', '')} per cycle".rstrip())
    if keys.get("after_deadline"):
        last = keys["after_deadline"][-1]["after"]
        parts.append("lost when missed" if last == "0d" else f"lost {last} after")
    return ", ".join(parts)
