"""The built-in carrier plans (``plan = "giffgaff"``): data in ``plans.toml``, shipped with the
package, each with the source of its rules.

A plan is a set of ``[[numbers]]`` keys; the config loader puts an entry's own keys over them
and validates the result as if the user had written it all.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class BalanceCode:
    """A plan's USSD balance code (``balance_ussd``), the pattern its reply is matched with
    (``balance_pattern``: a regex with a named group ``amount``), the answers to its menu
    (``balance_replies``), a reply as the source shows it (``balance_sample``, tested) and where
    the code comes from (``balance_source``)."""

    ussd: str
    pattern: str
    source: str
    sample: str
    replies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    """One built-in plan: the keys it fills and where its rules come from."""

    name: str
    title: str
    keys: dict[str, Any]
    source: str  # a URL, or a description such as "forums and blogs"
    official: bool  # the source is the carrier's own
    checked: date
    checked_how: str
    third_party: tuple[str, ...] = ()  # keys whose values come from forums or blogs
    counts: tuple[str, ...] = ()  # which actions keep the line alive: sms, call, data, topup
    never_to: tuple[str, ...] = ()  # short codes and E.164 prefixes a text to never counts
    balance: BalanceCode | None = None  # how the balance is read by USSD, where a source says
    sms_source: str = ""  # where its sender ids (keys' sms_from) and texts' words come from

    def text_counts_to(self, to: str) -> bool:
        """Whether a text to ``to`` keeps the line alive, as far as the plan says."""
        if "sms" not in self.counts:
            return False
        return not any(
            to == n if not n.startswith("+") else to.startswith(n) for n in self.never_to
        )

    @property
    def source_kind(self) -> str:
        """``carrier's own``, ``third-party``, or which keys are third-party."""
        if not self.official:
            return "third-party"
        if self.third_party:
            return f"carrier's own; third-party: {', '.join(self.third_party)}"
        return "carrier's own"


@functools.cache
def builtin_plans() -> dict[str, Plan]:
    """Every built-in plan by name, read once from the packaged ``plans.toml``."""
    text = resources.files(__package__).joinpath("plans.toml").read_text(encoding="utf-8")
    return {name: _plan(name, table) for name, table in tomllib.loads(text).items()}


def _plan(name: str, table: dict[str, Any]) -> Plan:
    return Plan(
        name=name,
        title=table["title"],
        keys=dict(table["keys"]),
        source=table["source"],
        official=bool(table["official"]),
        checked=table["checked"],
        checked_how=table.get("checked_how", ""),
        third_party=tuple(table.get("third_party", ())),
        counts=tuple(table.get("counts", ())),
        never_to=tuple(table.get("never_to", ())),
        balance=_balance(table),
        sms_source=table.get("sms_source", ""),
    )


def _balance(table: dict[str, Any]) -> BalanceCode | None:
    if "balance_ussd" not in table:
        return None
    return BalanceCode(
        ussd=table["balance_ussd"],
        pattern=table["balance_pattern"],
        source=table["balance_source"],
        sample=table["balance_sample"],
        replies=tuple(table.get("balance_replies", ())),
    )
