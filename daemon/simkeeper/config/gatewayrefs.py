"""What every number key that names a ``[[gateways]]`` entry checks the same way: its ``via``
(a gateway that exists, of a kind that can do the job) and its ``sim`` (android-sms-gateway's
slot). Used by ``keepalive``, ``balance_check`` and ``inbound``, so the three say the same
thing in the same words."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simkeeper.config.readers import ValueChecks


def gateway_ref(
    v: ValueChecks,
    raw: Mapping[str, Any],
    k: str,
    gateways: Mapping[str, str],
    missing: str,
    example: str,
) -> tuple[str, str | None]:
    """``k.via``: the gateway's name ("" when missing) and its kind (None when it names none).

    ``gateways`` maps each gateway's name to its kind; ``missing`` says what the gateway is for
    and ``example`` shows a value, for the problem of a missing ``via``."""
    via: str | None = v.typed(raw, "via", str, k)
    if not via:
        v.problem(f"{k}.via", f"missing: {missing}", example)
        return "", None
    kind = gateways.get(via)
    if kind is None:
        names = ", ".join(sorted(gateways)) or "none: add a [[gateways]] entry"
        v.problem(f"{k}.via", f'no gateway is called "{via}"', f"gateways: {names}")
    return via, kind


def sim_slot(v: ValueChecks, raw: Mapping[str, Any], k: str, kind: str | None) -> int | None:
    """``k.sim``: android-sms-gateway's SIM slot, 1 to 3 (None when not given)."""
    sim: int | None = v.typed(raw, "sim", int, k)
    if sim is not None and kind not in (None, "android-sms-gateway"):
        v.problem(f"{k}.sim", "sim applies to android-sms-gateway only", "remove it")
    elif sim is not None and not 1 <= sim <= 3:
        v.problem(f"{k}.sim", f"{sim} is not a SIM slot", "use 1, 2 or 3")
    return sim
