"""Validating the autopilot's config: ``settings.keepalive_budget`` and ``keepalive_wait``,
``[[gateways]]`` and a number's ``keepalive``.

Functions of the validator (``v``: any layer from :class:`~simkeeper.config.readers.ValueChecks`
up; :class:`~simkeeper.config.validate.Validator` calls the settings and gateways ones,
:class:`~simkeeper.config.numbers.NumberChecks` the number's), so each problem names the file,
line, key path and fix like every other; kept apart because the autopilot is an optional part
with its own rules (a plan says whether a text counts, and to whom).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from simkeeper.config.gatewayrefs import gateway_ref, sim_slot
from simkeeper.core.currencies import CODES as CURRENCY_CODES
from simkeeper.core.keys import MAX_LEAD_DAYS, MAX_SPAN_DAYS
from simkeeper.core.model import Budget, Gateway, Keepalive, Settings
from simkeeper.core.periods import PeriodError, parse_days
from simkeeper.core.schema import GATEWAY_KINDS, GATEWAYS

if TYPE_CHECKING:
    from simkeeper.config.readers import ValueChecks

KEEPALIVE_KEYS = ["via", "sim", "to", "text", "cost", "lead"]
DEFAULT_LEAD = 30  # days before the deadline, when ``lead`` is left out
MAX_TEXT = 160  # one GSM-7 SMS: a second part would cost a second text
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_HOURS = re.compile(r"^(\d{1,3})h$")
_SHORT_CODE = re.compile(r"^\d{3,6}$")
ANDROID_ONLY = ("url", "user", "password", "signing_key")


def budget(v: ValueChecks, table: Mapping[str, Any]) -> Budget | None:
    """``settings.keepalive_budget``: ``{ GBP = 2.00, per = "365d" }``, else None."""
    key = "settings.keepalive_budget"
    raw = v.typed(table, "keepalive_budget", dict, "settings")
    if raw is None:
        return None
    hint = 'e.g. keepalive_budget = { GBP = 2.00, per = "365d" }'
    days = _budget_days(v, raw, key, hint)
    caps = _budget_caps(v, raw, key, hint)
    if not caps and not any(code != "per" for code in raw):
        v.problem(key, "names no currency", hint)
    # A cap that did not validate has its problem already: no budget is built without it.
    if days is None or len(caps) != len([c for c in raw if c != "per"]):
        return None
    return Budget(tuple(caps), days)


def _budget_days(v: ValueChecks, raw: Mapping[str, Any], key: str, hint: str) -> int | None:
    """The budget's ``per``: its rolling window in days, else None (with a problem)."""
    per = raw.get("per")
    if not isinstance(per, str):
        v.problem(f"{key}.per", "missing: the rolling window the caps apply to", hint)
        return None
    days: int | None = None
    try:
        days = parse_days(per)
    except PeriodError as e:
        v.problem(f"{key}.per", str(e), "use Nd or Nw, e.g. 365d")
    if days is not None and not 1 <= days <= MAX_SPAN_DAYS:
        v.problem(f"{key}.per", f'"{per}" is out of range', f"use 1d to {MAX_SPAN_DAYS}d")
        days = None
    return days


def _budget_caps(
    v: ValueChecks, raw: Mapping[str, Any], key: str, hint: str
) -> list[tuple[str, Decimal]]:
    """The budget's caps, one per currency key that validates, in the order written."""
    caps: list[tuple[str, Decimal]] = []
    for code in raw:
        if code == "per":
            continue
        if code not in CURRENCY_CODES:
            v.problem(f"{key}.{code}", f'"{code}" is not an ISO 4217 currency code', hint)
            continue
        amount = v.amount(raw, code, key, positive=False)
        if amount is not None:
            caps.append((code, amount))
    return caps


def wait(v: ValueChecks, table: Mapping[str, Any], default: int) -> int:
    """``settings.keepalive_wait``: ``"6h"`` as hours, 1 to 72."""
    raw = v.typed(table, "keepalive_wait", str, "settings")
    if raw is None:
        return default
    m = _HOURS.match(raw.strip())
    if not m or not 1 <= int(m.group(1)) <= 72:
        v.problem("settings.keepalive_wait", f'"{raw}" is not 1h to 72h', 'e.g. "6h"')
        return default
    return int(m.group(1))


def gateways(v: ValueChecks, entries: list[dict[str, Any]]) -> list[Gateway]:
    """Every ``[[gateways]]`` entry that validates."""
    found: list[Gateway] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries, start=1):
        p = f"gateways[{i}]"
        before = len(v.problems)
        v.unknown_keys(entry, GATEWAYS.names, p)
        name = v.typed(entry, "name", str, p)
        if not name:
            v.problem(f"{p}.name", "missing", 'give each gateway a name, e.g. name = "phone"')
        elif name in seen:
            v.problem(f"{p}.name", f'"{name}" is already the name of gateways[{seen[name]}]')
        else:
            seen[name] = i
        kind = v.typed(entry, "kind", str, p)
        if kind not in GATEWAY_KINDS:
            shown = f'"{kind}"' if kind else "missing"
            v.problem(
                f"{p}.kind", f"{shown}: not a gateway kind", f"use {' or '.join(GATEWAY_KINDS)}"
            )
            continue
        gateway = _KINDS[kind](v, entry, p)
        if gateway is not None and len(v.problems) == before:
            found.append(Gateway(name=name or f"gateway{i}", kind=kind, **gateway))
    return found


def _android(v: ValueChecks, e: Mapping[str, Any], p: str) -> dict[str, Any] | None:
    url = _url(v, e, p)
    if url is None:
        return None
    if "modem" in e:
        v.problem(f"{p}.modem", 'modem applies to kind = "modemmanager" only', "remove it")
    user = v.typed(e, "user", str, p) or ""
    raw = v.typed(e, "password", str, p)
    if not raw:
        v.problem(
            f"{p}.password",
            "missing: the gateway's password or token",
            'e.g. password = "${SMSGATE_PASSWORD}"',
        )
        return None
    password, secrets = _secret(v, raw, f"{p}.password")
    if password is None:
        return None
    key: str | None = ""
    key_secrets: tuple[str, ...] = ()
    raw_key = v.typed(e, "signing_key", str, p)
    if raw_key:
        key, key_secrets = _secret(v, raw_key, f"{p}.signing_key")
        if key is None:
            return None
        key = key if key_secrets else ""  # a ${VAR} not found: no key, so no post is taken
    return {
        "url": url,
        "user": user,
        "password": password,
        "signing_key": key,
        "secrets": secrets + key_secrets,
    }


def _modem(v: ValueChecks, e: Mapping[str, Any], p: str) -> dict[str, Any] | None:
    for key in ANDROID_ONLY:
        if key in e:
            v.problem(
                f"{p}.{key}", f'{key} applies to kind = "android-sms-gateway" only', "remove it"
            )
    return _modem_id(v, e, p)


def _sigmo(v: ValueChecks, e: Mapping[str, Any], p: str) -> dict[str, Any] | None:
    """A Sigmo server: its address, its API token if it asks for one, and which modem."""
    for key in ("user", "signing_key"):
        if key in e:
            v.problem(f"{p}.{key}", f'{key} does not apply to kind = "sigmo"', "remove it")
    url = _url(v, e, p)
    modem = _modem_id(v, e, p)
    raw = v.typed(e, "password", str, p)
    token, secrets = _secret(v, raw, f"{p}.password") if raw else ("", ())
    if url is None or modem is None or token is None:
        return None
    return {"url": url, "password": token, "secrets": secrets, **modem}


def _url(v: ValueChecks, e: Mapping[str, Any], p: str) -> str | None:
    """A gateway's http(s) address without a login, its trailing slash taken off."""
    url = v.typed(e, "url", str, p)
    if not url:
        v.problem(
            f"{p}.url", "missing", 'the gateway\'s address, e.g. url = "http://192.168.1.20:8080"'
        )
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        v.problem(
            f"{p}.url",
            "must be an http:// or https:// address without a login",
            "put the login in user and password",
        )
        return None
    return str(url).rstrip("/")


def _modem_id(v: ValueChecks, e: Mapping[str, Any], p: str) -> dict[str, Any] | None:
    modem = v.typed(e, "modem", str, p)
    if modem is not None and not modem.strip():
        v.problem(f"{p}.modem", "is empty", 'use "any" or the modem\'s equipment id (IMEI)')
        return None
    return {"modem": (modem or GATEWAYS.default("modem")).strip()}


_KINDS = {"android-sms-gateway": _android, "modemmanager": _modem, "sigmo": _sigmo}


def _secret(v: ValueChecks, raw: str, key: str) -> tuple[str | None, tuple[str, ...]]:
    """``raw`` with its ``${VAR}`` filled in (no URL encoding: it is a plain value), and the
    substrings that must never be shown (the whole value: it is all secret)."""
    missing: list[str] = []

    def value_of(match: re.Match[str]) -> str:
        found = v.secrets.lookup(match.group(1))
        if found.value is None:
            missing.append(found.name)
            if v.require_secrets:
                v.problem(
                    key,
                    f"${{{found.name}}} is not set ({found.explain()})",
                    f"put the secret in {v.secrets.folder / found.name} (mode 0600), or a "
                    f"{found.name}=... line in {v.secrets.env_file}",
                )
            return match.group(0)
        return found.value

    value = _VAR.sub(value_of, raw)
    if missing and v.require_secrets:
        return None, ()
    return value, (value,) if value and not missing else ()


def keepalive(
    v: ValueChecks,
    e: Mapping[str, Any],
    p: str,
    settings: Settings,
    gateways: Mapping[str, str],
    currency: str,
    rolling: bool,
    plan: str | None,
) -> Keepalive | None:
    """A number's ``keepalive`` (``gateways`` maps each gateway's name to its kind)."""
    raw = v.typed(e, "keepalive", dict, p)
    if raw is None:
        return None
    k = f"{p}.keepalive"
    before = len(v.problems)
    v.unknown_keys(raw, KEEPALIVE_KEYS, k)
    if not rolling:
        v.problem(
            k, "keepalive applies to rolling numbers only", "add rolling = true, or remove it"
        )
    via, kind = gateway_ref(
        v, raw, k, gateways, "the gateway that sends the text", 'e.g. via = "phone"'
    )
    sim = sim_slot(v, raw, k, kind)
    to = _recipient(v, raw, k)
    text = _text(v, raw, k)
    cost = v.amount(raw, "cost", k, positive=True)
    if "cost" not in raw:
        v.problem(f"{k}.cost", "missing: what one text costs", "e.g. cost = 0.10")
    lead = v.days(raw, "lead", k, DEFAULT_LEAD, 0, MAX_LEAD_DAYS)
    spend = _currency(v, k, currency, settings.keepalive_budget)
    if plan:
        _plan_allows(v, k, plan, to)
    if len(v.problems) != before or not (via and to and text and cost and spend):
        return None
    return Keepalive(via=via, to=to, text=text, cost=cost, currency=spend, lead=lead, sim=sim)


def _text(v: ValueChecks, raw: Mapping[str, Any], k: str) -> str | None:
    """``text``: the keep-alive text, one SMS long."""
    text: str | None = v.typed(raw, "text", str, k)
    if not text or not text.strip():
        v.problem(f"{k}.text", "missing or empty: the text to send", 'e.g. text = "hi"')
    elif len(text) > MAX_TEXT:
        v.problem(
            f"{k}.text", f"is {len(text)} characters long", f"keep it to {MAX_TEXT} (one text)"
        )
    return text


def _recipient(v: ValueChecks, raw: Mapping[str, Any], k: str) -> str | None:
    to: str | None = v.typed(raw, "to", str, k)
    if to is None:
        v.problem(f"{k}.to", "missing: the number to text", 'e.g. to = "+447700900123"')
        return None
    if _SHORT_CODE.match(to.strip()):
        return to.strip()
    e164 = _possible_e164(to)
    if not e164:
        v.problem(
            f"{k}.to", f'"{to}" is not a phone number', "international format, e.g. +447700900123"
        )
        return None
    return e164


def _currency(v: ValueChecks, k: str, currency: str, budget: Budget | None) -> str | None:
    """The currency ``cost`` is in: the number's own, else the budget's only one."""
    if currency:
        return currency
    if budget and len(budget.caps) == 1:
        return budget.caps[0][0]
    v.problem(
        f"{k}.cost",
        "needs a currency",
        'set the number\'s currency (e.g. currency = "GBP"), or settings.keepalive_budget '
        "with one currency",
    )
    return None


def _plan_allows(v: ValueChecks, k: str, plan: str, to: str | None) -> None:
    """A problem when ``plan`` says a text (to ``to``) does not keep the line alive."""
    from simkeeper.config.plans import builtin_plans

    rules = builtin_plans()[plan]
    if "sms" not in rules.counts:
        v.problem(
            k,
            f'on plan "{plan}" a text does not keep the line alive: '
            f"only {', '.join(rules.counts) or 'a payment'} does ({rules.source})",
            "remove keepalive: the reminders remain",
        )
    elif to and not rules.text_counts_to(to):
        v.problem(
            f"{k}.to",
            f'plan "{plan}" says a text to {_shown(to)} does not count (free or emergency numbers; '
            f"{rules.source})",
            "text another, chargeable number",
        )


def _shown(to: str) -> str:
    """``to`` as an error may show it: a short code whole, a phone number masked."""
    from simkeeper.texts.templates import mask_number

    return to if _SHORT_CODE.match(to) else mask_number(to)


def _possible_e164(raw: str) -> str | None:
    """``raw`` in E.164 when it is a possible number (a carrier's own ranges, such as the UK's
    07700 900xxx, are possible without being assigned), else None."""
    import phonenumbers

    try:
        parsed = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
