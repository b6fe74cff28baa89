"""Validating a number's ``balance_check``: ``{ via = "modem", every = "7d" }``, the USSD code
and reply pattern from its plan (``plans.toml``'s ``balance_ussd`` and ``balance_pattern``)
unless the number gives its own ``ussd`` and ``pattern``.

A function of the validator (``v``: :class:`~simkeeper.config.readers.ValueChecks` or above,
called by :class:`~simkeeper.config.numbers.NumberChecks`), so each problem names the file,
line, key path and fix like every other.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from simkeeper.config.gatewayrefs import gateway_ref
from simkeeper.core.model import BalanceCheck
from simkeeper.core.schema import USSD_KINDS

if TYPE_CHECKING:
    from simkeeper.config.readers import ValueChecks

BALANCE_CHECK_KEYS = ["via", "every", "ussd", "pattern", "replies"]
DEFAULT_EVERY = 7  # days
MAX_EVERY = 365
# A USSD code as a keypad dials it: starts with * or #, ends with #, digits and * # between.
_USSD = re.compile(r"^[*#][0-9*#]{1,30}#$")
_REPLY = re.compile(r"^[0-9*#]{1,20}$")


def balance_check(
    v: ValueChecks,
    e: Mapping[str, Any],
    p: str,
    gateways: Mapping[str, str],
    plan: str | None,
) -> BalanceCheck | None:
    """A number's ``balance_check`` (``gateways`` maps each gateway's name to its kind)."""
    raw = v.typed(e, "balance_check", dict, p)
    if raw is None:
        return None
    k = f"{p}.balance_check"
    before = len(v.problems)
    v.unknown_keys(raw, BALANCE_CHECK_KEYS, k)
    via = _via(v, raw, k, gateways)
    every = v.days(raw, "every", k, DEFAULT_EVERY, 1, MAX_EVERY)
    code = _plan_code(plan)
    ussd = _ussd(v, raw, k, plan, code)
    pattern = _pattern(v, raw, k, code.pattern if code else None)
    replies = _replies(v, raw, k, code.replies if code else ())
    if len(v.problems) != before or not (via and ussd and pattern):
        return None
    return BalanceCheck(via, every, ussd.strip(), pattern, replies, _source(raw, code))


def _ussd(
    v: ValueChecks, raw: Mapping[str, Any], k: str, plan: str | None, code: Any
) -> str | None:
    """The code to dial: the number's own ``ussd``, else its plan's; a problem if neither
    gives one or it is not a USSD code (it is still returned then: the caller sees the
    problem and returns no balance check)."""
    ussd: str | None = v.typed(raw, "ussd", str, k)
    if ussd is None and code is not None:
        ussd = code.ussd
    if ussd is None:
        why = f'plan "{plan}" names no balance code' if plan else "no plan names a balance code"
        v.problem(f"{k}.ussd", f"missing: {why}", 'give the carrier\'s code, e.g. ussd = "*100#"')
    elif not _USSD.match(ussd.strip()):
        v.problem(f"{k}.ussd", f'"{ussd}" is not a USSD code', 'e.g. "*100#" or "#999#"')
    return ussd


def _source(raw: Mapping[str, Any], code: Any) -> str:
    """Who the check's code and pattern come from: ``config`` once the number gives any of
    its own (one own key makes the whole check the user's), else the plan's source."""
    own = any(key in raw for key in ("ussd", "pattern", "replies"))
    return "config" if own or code is None else str(code.source)


def _via(v: ValueChecks, raw: Mapping[str, Any], k: str, gateways: Mapping[str, str]) -> str:
    via, kind = gateway_ref(
        v, raw, k, gateways, "the gateway that runs the code", 'e.g. via = "modem"'
    )
    if kind is None:
        return ""
    if kind not in USSD_KINDS:
        v.problem(
            f"{k}.via",
            f'gateway "{via}" is of kind {kind}, which cannot run USSD codes',
            f"name a gateway of kind {' or '.join(USSD_KINDS)}",
        )
        return ""
    return via


def _pattern(v: ValueChecks, raw: Mapping[str, Any], k: str, default: str | None) -> str:
    pattern: str | None = v.typed(raw, "pattern", str, k)
    if pattern is None:
        pattern = default
    if pattern is None:
        v.problem(
            f"{k}.pattern",
            "missing: the plan gives none",
            "a regex with a group named amount, e.g. pattern = 'balance is £(?P<amount>[\\d.]+)'",
        )
        return ""
    try:
        compiled = re.compile(pattern)
    except re.error as err:
        v.problem(f"{k}.pattern", f"is not a regular expression ({err})", "check its brackets")
        return ""
    if "amount" not in compiled.groupindex:
        v.problem(f"{k}.pattern", "has no group named amount", "write (?P<amount>[\\d.,]+)")
        return ""
    return pattern


def _replies(
    v: ValueChecks, raw: Mapping[str, Any], k: str, default: tuple[str, ...]
) -> tuple[str, ...]:
    if "replies" not in raw:
        return default
    value = raw["replies"]
    if not isinstance(value, list) or not all(
        isinstance(r, str) and _REPLY.match(r) for r in value
    ):
        v.problem(f"{k}.replies", "must be a list of menu choices", 'e.g. replies = ["1"]')
        return ()
    return tuple(value)


def _plan_code(plan: str | None) -> Any:
    """The plan's :class:`~simkeeper.config.plans.BalanceCode`, if it has one."""
    if not plan:
        return None
    from simkeeper.config.plans import builtin_plans

    return builtin_plans()[plan].balance
