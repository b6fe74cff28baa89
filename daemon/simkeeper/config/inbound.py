"""Validating what a number says of its carrier's texts: ``inbound``, ``sms_from``,
``topup_sms`` and ``renewed_sms`` (declared in :mod:`simkeeper.core.schema_inbound`).

A function of the validator (``v``, as in :mod:`.autopilot`), called by
:class:`~simkeeper.config.numbers.NumberChecks` with the entry already over its plan's keys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from simkeeper.config.gatewayrefs import gateway_ref, sim_slot
from simkeeper.core.model import Inbound, Keepalive

if TYPE_CHECKING:
    from simkeeper.config.readers import ValueChecks

INBOUND_KEYS = ["via", "sim"]
MAX_PATTERN = 500  # characters: a carrier's text is one SMS, its pattern no longer


def inbound(
    v: ValueChecks,
    e: Mapping[str, Any],
    p: str,
    gateways: Mapping[str, str],
    keepalive: Keepalive | None,
) -> Inbound | None:
    """The number's :class:`Inbound`, or None when it listens on no gateway."""
    before = len(v.problems)
    via, sim = _where(v, e, p, gateways, keepalive)
    senders = _senders(v, e, p)
    topup = _pattern(v, e, "topup_sms", p)
    renewed = _pattern(v, e, "renewed_sms", p)
    if (topup or renewed) and not via and len(v.problems) == before:
        v.problem(
            f"{p}.{'topup_sms' if topup else 'renewed_sms'}",
            "no gateway receives the number's texts",
            'add inbound = { via = "phone" } (a [[gateways]] name), or a keepalive',
        )
    if len(v.problems) != before or not via:
        return None
    return Inbound(via=via, sim=sim, senders=senders, topup=topup, renewed=renewed)


def _where(
    v: ValueChecks,
    e: Mapping[str, Any],
    p: str,
    gateways: Mapping[str, str],
    keepalive: Keepalive | None,
) -> tuple[str, int | None]:
    raw = v.typed(e, "inbound", dict, p)
    if raw is None:
        return (keepalive.via, keepalive.sim) if keepalive else ("", None)
    k = f"{p}.inbound"
    v.unknown_keys(raw, INBOUND_KEYS, k)
    via, kind = gateway_ref(
        v, raw, k, gateways, "the gateway the number is on", 'e.g. via = "phone"'
    )
    sim = sim_slot(v, raw, k, kind)
    return via, sim


def _senders(v: ValueChecks, e: Mapping[str, Any], p: str) -> tuple[str, ...]:
    raw = v.typed(e, "sms_from", list, p)
    if raw is None:
        return ()
    if not all(isinstance(s, str) and s.strip() for s in raw):
        v.problem(f"{p}.sms_from", "must be a list of sender ids", 'e.g. ["giffgaff", "43430"]')
        return ()
    return tuple(s.strip() for s in raw)


def _pattern(v: ValueChecks, e: Mapping[str, Any], key: str, p: str) -> str:
    raw = v.typed(e, key, str, p)
    if not raw:
        return ""
    if len(raw) > MAX_PATTERN:
        v.problem(f"{p}.{key}", f"is {len(raw)} characters long", f"keep it to {MAX_PATTERN}")
        return ""
    try:
        compiled = re.compile(raw, re.IGNORECASE)
    except re.error as err:
        v.problem(f"{p}.{key}", f"is not a regular expression: {err}", "see Python's re syntax")
        return ""
    unknown = set(compiled.groupindex) - {"amount"}
    if unknown:
        v.problem(
            f"{p}.{key}",
            f"names the group {sorted(unknown)[0]!r}",
            "the only named group read is (?P<amount>...); use (?:...) for the others",
        )
        return ""
    return str(raw)
