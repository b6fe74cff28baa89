"""Reading one value: the typed value checks (dates, times, time zones, lead times, durations,
amounts, URLs, phone numbers, cycles) and the schema walk, which reads every key of a table by
the reader its kind names (:attr:`SchemaWalk.READERS`: one entry per
:data:`simkeeper.core.keys.KeyKind`, which mypy holds complete).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from datetime import time, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, ClassVar, TypedDict, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from simkeeper.config.checker import Checker
from simkeeper.config.values import (
    TomlTable,
    _e164,
    _every_hint,
    _join,
    _lead_range,
    _phone_problem,
    _show,
    _suggest,
    split_listen,
)
from simkeeper.core.currencies import CODES as CURRENCY_CODES
from simkeeper.core.keys import CALENDAR_MODES, MAX_AMOUNT, MAX_LEAD_DAYS, RENEWAL_RULES, Key, Table
from simkeeper.core.periods import NAMED_CYCLES, Cycle, PeriodError, parse_cycle, parse_days
from simkeeper.core.urls import url_syntax_problem
from simkeeper.host.paths import state_folder
from simkeeper.host.zones import system_timezone, zone_names
from simkeeper.texts.i18n import LANGUAGES

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_D = TypeVar("_D", int, None)  # what days() returns for a key left out or wrong

URL_FIX = "write it as scheme://host:port/path, an IPv6 host in brackets: json://[::1]:8080/x"


class ValueChecks(Checker):
    """One value of a kind read from a table: the value, or None (or a default) and a problem."""

    def parses(self, url: str, key: str) -> bool:
        """Whether ``url`` can be taken apart (:mod:`simkeeper.core.urls`, the one guard every URL
        passes); a problem at ``key`` when it cannot."""
        reason = url_syntax_problem(url)
        if reason:
            self.problem(key, reason, URL_FIX)
        return reason is None

    def http_url(self, table: Mapping[str, Any], key: str, prefix: str) -> str | None:
        """An http(s) URL with a host, or None (with a problem when it is not one)."""
        value: str | None = self.typed(table, key, str, prefix)
        if not value or not self.parses(value, _join(prefix, key)):
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.problem(
                _join(prefix, key),
                "must be an http:// or https:// URL",
                "e.g. https://hc-ping.com/<your check's UUID>",
            )
            return None
        return value

    def relative(self, value: str | None) -> Path | None:
        """A relative ``state`` or ``calendar`` path is taken inside the state folder, the one
        place the shipped units let the service write."""
        if not value:
            return None
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() else state_folder(self.env) / p

    def timezone(
        self,
        table: Mapping[str, Any],
        prefix: str,
        default: tuple[tzinfo, str] | None,
    ) -> tuple[tzinfo, str]:
        name = self.typed(table, "timezone", str, prefix)
        if name is None:
            return default if default else system_timezone(self.env)
        try:
            if name != "UTC" and name not in zone_names():
                raise ZoneInfoNotFoundError(name)
            return ZoneInfo(name), name
        except (ZoneInfoNotFoundError, ValueError):
            hint = _suggest(name, sorted(zone_names())) or (
                'use an IANA name such as "Europe/London" or "Asia/Hong_Kong"'
            )
            self.problem(_join(prefix, "timezone"), f'unknown time zone "{name}"', hint)
            return default if default else (ZoneInfo("UTC"), "UTC")

    def time_of_day(self, table: Mapping[str, Any], key: str, prefix: str) -> time | None:
        value = table.get(key)
        if value is None:
            return None
        if isinstance(value, time):
            return value
        if isinstance(value, str):
            try:
                parsed = time.fromisoformat(value.strip())
                if parsed.tzinfo is None:
                    return parsed
            except ValueError:
                pass
        self.problem(
            _join(prefix, key), f"{_show(value)} is not a time of day", 'write it as "09:00"'
        )
        return None

    def leads(
        self,
        table: Mapping[str, Any],
        prefix: str,
        default: tuple[int, ...],
        maximum: int = MAX_LEAD_DAYS,
    ) -> tuple[int, ...]:
        if "remind" not in table:
            return default
        value = table["remind"]
        key = _join(prefix, "remind")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(key, "must be a list of lead times", 'write it as ["14d", "3d", "1d"]')
            return default
        days = []
        for i, item in enumerate(value):
            try:
                n = parse_days(item)
            except PeriodError as e:
                self.problem(f"{key}[{i + 1}]", str(e), "use Nd or Nw, e.g. 14d, 2w, 0d")
                continue
            if n > maximum:
                self.problem(
                    f"{key}[{i + 1}]", f'"{item}" is too far ahead', _lead_range(0, maximum)
                )
                continue
            days.append(n)
        return tuple(sorted(set(days), reverse=True))

    def days(
        self,
        table: Mapping[str, Any],
        key: str,
        prefix: str,
        default: _D,
        minimum: int = 0,
        maximum: int = MAX_LEAD_DAYS,
    ) -> int | _D:
        value = self.typed(table, key, str, prefix)
        if value is None:
            return default
        try:
            n = parse_days(value)
        except PeriodError as e:
            self.problem(_join(prefix, key), str(e), "use Nd or Nw, e.g. 1d, 30d, 2w")
            return default
        if not minimum <= n <= maximum:
            self.problem(
                _join(prefix, key), f'"{value}" is out of range', _lead_range(minimum, maximum)
            )
            return default
        return n

    def digest(self, table: Mapping[str, Any], prefix: str) -> tuple[int, time] | None:
        value = self.typed(table, "digest", str, prefix)
        if not value:
            return None
        parts = value.lower().split()
        hint = 'write it as "mon 09:00" (a weekday and a time), or leave it out to turn it off'
        if len(parts) != 2 or parts[0][:3] not in WEEKDAYS:
            self.problem(_join(prefix, "digest"), f'"{value}" is not a weekday and time', hint)
            return None
        at = self.time_of_day({"digest": parts[1]}, "digest", prefix)
        return (WEEKDAYS.index(parts[0][:3]), at) if at else None

    def amount(self, e: Mapping[str, Any], key: str, p: str, positive: bool) -> Decimal | None:
        value = self.typed(e, key, (int, float), p)
        if value is None:
            return None
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            amount = Decimal("NaN")
        low = "above 0" if positive else "0 or more"
        hint = f"use an amount {low} and below {MAX_AMOUNT:,}, e.g. 3.00"
        if not amount.is_finite():
            self.problem(_join(p, key), f"{value!r} is not an amount", hint)
            return None
        if amount < 0 or (positive and amount == 0):
            self.problem(_join(p, key), f"must be {'above' if positive else 'at least'} 0", hint)
            return None
        if amount >= MAX_AMOUNT:
            self.problem(_join(p, key), f"must be below {MAX_AMOUNT:,}", hint)
            return None
        return amount

    def limited_amount(self, e: Mapping[str, Any], key: str, p: str) -> Decimal | None:
        """An amount above 0 and below :data:`MAX_AMOUNT`."""
        return self.amount(e, key, p, positive=True)

    def url(self, e: Mapping[str, Any], key: str, p: str) -> str:
        value: str | None = self.typed(e, key, str, p)
        if value is None:
            return ""
        value = value.strip()
        if not re.fullmatch(r"https?://[^\s]+", value) or len(value) > 2000:
            self.problem(
                _join(p, key), f"{_show(value)} is not a web address", "e.g. https://example.com/"
            )
            return ""
        return value if self.parses(value, _join(p, key)) else ""

    def phone(self, e: Mapping[str, Any], p: str) -> str | None:
        if "number" not in e:
            self.problem(
                f"{p}.number", "missing", 'add the number, e.g. number = "+44 7911 123456"'
            )
            return None
        raw = self.typed(e, "number", str, p)
        if raw is None:
            return None
        e164 = _e164(raw)
        if not e164:
            message, hint = _phone_problem(raw)
            self.problem(f"{p}.number", message, hint)
        return e164 or None

    def cycle(self, e: Mapping[str, Any], p: str) -> Cycle | None:
        text = self.typed(e, "cycle", str, p)
        if text is None:
            return None
        try:
            return parse_cycle(text)
        except PeriodError as err:
            hint = 'use weekly, monthly, quarterly, yearly or "every N days|weeks|months|years"'
            if "longer than" in str(err):
                hint = "use a cycle from 1 day to 10 years (3653 days, 120 months)"
            if str(err).startswith("unknown"):  # a typo of a named cycle gets a suggestion
                hint = _suggest(text.strip().lower(), [*NAMED_CYCLES]) or _every_hint(text) or hint
            self.problem(f"{p}.cycle", str(err), hint)
            return None

    def string_list(self, e: TomlTable, key: str, p: str) -> list[str]:
        value = e.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(_join(p, key), "must be a list of strings", f'e.g. {key} = ["email"]')
            return []
        return value


Reader = Callable[["SchemaWalk", Mapping[str, Any], Key, str, Any], Any]


class Readers(TypedDict):
    """The reader of each schema kind (:data:`~simkeeper.core.keys.KeyKind`); None for the
    kinds the walk leaves alone: ``custom`` keys are read by the validator's named functions,
    ``template`` texts by ``templates()``. A TypedDict, so that mypy checks that
    :attr:`SchemaWalk.READERS` fills every field and that ``READERS[key.kind]`` has a field for
    every kind."""

    string: Reader
    bool: Reader
    int: Reader
    number: Reader
    seconds: Reader
    days: Reader
    date: Reader
    time: Reader
    leads: Reader
    zone: Reader
    amount: Reader
    limited_amount: Reader
    language: Reader
    calendar_mode: Reader
    digest: Reader
    http_url: Reader
    heartbeat_fail: Reader
    cycle: Reader
    phone: Reader
    web_url: Reader
    currency: Reader
    renewal_rule: Reader
    listen: Reader
    base_url: Reader
    custom: None
    template: None


# The kinds whose reader, for an absent key, reports nothing and gives None or the default it
# is handed: the walk then skips the call (most keys of a [[numbers]] table are absent, and a
# call per absent key was a fifth of a cold load). tests/test_schema.py holds every kind listed
# here to that on an empty table.
ABSENT_IS_DEFAULT: frozenset[str] = frozenset(
    (
        *("string", "bool", "int", "number", "seconds", "days", "date", "time", "leads"),
        *("amount", "limited_amount", "cycle", "renewal_rule", "listen", "base_url"),
        *("http_url", "digest", "heartbeat_fail"),
    )
)


_PLANS: dict[int, tuple[tuple[Key, Reader, bool], ...]] = {}


def _plan(schema: Table, readers: Readers) -> tuple[tuple[Key, Reader, bool], ...]:
    """The keys of ``schema`` the walk reads, each with its reader and whether an absent key
    simply takes its default (custom and template keys are left out: named functions read
    them)."""
    found = _PLANS.get(id(schema))  # the schema's tables are module constants
    if found is None:
        plan = []
        for key in schema.keys:
            reader = readers[key.kind]
            if reader is not None:
                plan.append((key, reader, key.kind in ABSENT_IS_DEFAULT))
        found = _PLANS[id(schema)] = tuple(plan)
    return found


class SchemaWalk(ValueChecks):
    """The schema walk: every key of a table read by the reader its kind names."""

    # -- the schema walk ----------------------------------------------------------------------

    def walk(
        self, table: Mapping[str, Any], schema: Table, prefix: str, defaults: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Every key of ``schema`` read from ``table`` by the reader its kind names: its value,
        else its default (from ``defaults``, else the schema) when it is absent or has a
        problem. Keys of kind ``custom`` are left to the named functions that read them."""
        values: dict[str, Any] = {}
        for key, reader, neutral in _plan(schema, self.READERS):
            default = defaults.get(key.name, key.default)
            if neutral and key.name not in table:
                values[key.name] = default  # what the reader would give, without the call
                continue
            value = reader(self, table, key, prefix, default)
            values[key.name] = default if value is None else value
        return values

    # One reader per schema kind (``Key.kind``), each called as reader(self, table, key, prefix,
    # default): the value, or None when the key is absent or wrong (a problem says why).

    def read_string(self, table: Mapping[str, Any], key: Key, p: str, default: Any) -> Any:
        return self.typed(table, key.name, str, p)

    def read_bool(self, table: Mapping[str, Any], key: Key, p: str, default: Any) -> Any:
        return self.typed(table, key.name, bool, p)

    def read_int(self, table: Mapping[str, Any], key: Key, p: str, default: Any) -> Any:
        return self.in_range(key, p, self.typed(table, key.name, int, p))

    def read_number(self, table: Mapping[str, Any], key: Key, p: str, default: Any) -> Any:
        return self.in_range(key, p, self.typed(table, key.name, (int, float), p))

    def read_seconds(self, table: Mapping[str, Any], key: Key, p: str, default: Any) -> Any:
        """A duration: a number of seconds, or ``"30s"`` / ``"2m"``."""
        value = table.get(key.name)
        if isinstance(value, str):
            found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([sm])\s*", value)
            if not found:
                self.problem(
                    _join(p, key.name), f"{_show(value)} is not a duration", 'e.g. "30s" or "2m"'
                )
                return default
            seconds = float(found[1]) * (60 if found[2] == "m" else 1)
            return self.in_range(key, p, seconds)
        if key.name not in table:
            return default
        return self.in_range(key, p, self.typed(table, key.name, (int, float), p))

    def in_range(self, key: Key, p: str, value: float | None) -> float | None:
        """``value`` if it lies within the key's range, else None (and a problem)."""
        if value is None or key.low <= value <= key.high:
            return value
        self.problem(_join(p, key.name), f"must be between {key.low} and {key.high} {key.unit}")
        return None

    def read_days(self, table: Mapping[str, Any], key: Key, p: str, default: Any) -> Any:
        return self.days(table, key.name, p, default, key.low, key.high)

    def read_date(self, table: Mapping[str, Any], key: Key, p: str, default: Any) -> Any:
        return self.day(table, key.name, p, key.low, key.high)

    def read_time(self, table: Mapping[str, Any], key: Key, p: str, default: Any) -> Any:
        return self.time_of_day(table, key.name, p)

    def read_leads(self, table: Mapping[str, Any], key: Key, p: str, default: Any) -> Any:
        return self.leads(table, p, default, key.high)

    def read_zone(self, table: Mapping[str, Any], key: Key, p: str, default: Any) -> Any:
        return self.timezone(table, p, default)

    def read_amount(self, table: Mapping[str, Any], key: Key, p: str, default: Any) -> Any:
        return self.amount(table, key.name, p, positive=key.above)

    def read_limited_amount(self, table: Mapping[str, Any], key: Key, p: str, default: Any) -> Any:
        return self.limited_amount(table, key.name, p)

    def read_language(self, table: Mapping[str, Any], key: Key, p: str, default: Any) -> Any:
        language = self.typed(table, key.name, str, p) or default
        if language not in LANGUAGES:
            self.problem(
                f"{p}.language",
                f'unknown language "{language}"',
                _suggest(language, list(LANGUAGES)) or f"use one of {', '.join(LANGUAGES)}",
            )
        return language

    def read_calendar_mode(self, table: Mapping[str, Any], key: Key, p: str, default: Any) -> Any:
        calendar_mode = self.typed(table, key.name, str, p)
        if calendar_mode is not None and calendar_mode not in CALENDAR_MODES:
            self.problem(
                f"{p}.calendar_mode",
                f'"{calendar_mode}" is not a calendar file mode',
                'use "0600" (only simkeeper\'s user) or "0640" (and its group, e.g. a web server)',
            )
        return CALENDAR_MODES.get(calendar_mode or "")

    def read_digest(self, table: Mapping[str, Any], key: Key, p: str, default: Any) -> Any:
        return self.digest(table, p)

    def read_http_url(self, table: Mapping[str, Any], key: Key, p: str, default: Any) -> Any:
        return self.http_url(table, key.name, p)

    def read_cycle(self, table: Mapping[str, Any], key: Key, p: str, default: Any) -> Any:
        return self.cycle(table, p)

    def read_phone(self, table: Mapping[str, Any], key: Key, p: str, default: Any) -> Any:
        return self.phone(table, p)

    def read_web_url(self, table: Mapping[str, Any], key: Key, p: str, default: Any) -> Any:
        return self.url(table, key.name, p)

    def read_currency(self, table: Mapping[str, Any], key: Key, p: str, default: Any) -> Any:
        """An ISO 4217 code, upper-cased (kept when unknown: one problem, not a cascade)."""
        currency = self.typed(table, key.name, str, p) or ""
        if currency and currency.upper() not in CURRENCY_CODES:
            hint = _suggest(currency.upper(), sorted(CURRENCY_CODES)) or "an ISO 4217 code like USD"
            self.problem(f"{p}.currency", f'unknown currency code "{currency}"', hint)
        return currency.upper()

    def read_renewal_rule(self, table: Mapping[str, Any], key: Key, p: str, default: Any) -> Any:
        rule = self.typed(table, key.name, str, p)
        if rule and rule not in RENEWAL_RULES:
            hint = _suggest(rule, list(RENEWAL_RULES)) or f"use one of {', '.join(RENEWAL_RULES)}"
            self.problem(f"{p}.on_renewal", f'unknown renewal rule "{rule}"', hint)
            return None
        return rule or None

    def read_heartbeat_fail(self, table: Mapping[str, Any], key: Key, p: str, default: Any) -> Any:
        """A path suffix (``/fail``), an http(s) URL, or ``""`` for nothing."""
        value = self.typed(table, key.name, str, p)
        if value and not value.startswith("/"):
            return self.http_url(table, key.name, p)
        return value

    def read_listen(self, table: Mapping[str, Any], key: Key, p: str, default: Any) -> Any:
        """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as (host, port), else None (and a problem)."""
        value = self.typed(table, key.name, str, p)
        if value is None:
            return None
        try:
            return split_listen(value)
        except ValueError:
            self.problem(
                _join(p, key.name),
                f'"{value}" is not an address and port',
                'e.g. "127.0.0.1:8787" or "[::1]:8787"',
            )
            return None

    def read_base_url(self, table: Mapping[str, Any], key: Key, p: str, default: Any) -> Any:
        value = self.typed(table, key.name, str, p)
        if value is None or not self.parses(value, _join(p, key.name)):
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            self.problem(
                _join(p, key.name),
                "must be an http:// or https:// URL without a query",
                "e.g. https://sims.example.com or https://example.com/sims",
            )
            return None
        return value

    READERS: ClassVar[Readers] = {
        "string": read_string,
        "bool": read_bool,
        "int": read_int,
        "number": read_number,
        "seconds": read_seconds,
        "days": read_days,
        "date": read_date,
        "time": read_time,
        "leads": read_leads,
        "zone": read_zone,
        "amount": read_amount,
        "limited_amount": read_limited_amount,
        "language": read_language,
        "calendar_mode": read_calendar_mode,
        "digest": read_digest,
        "http_url": read_http_url,
        "heartbeat_fail": read_heartbeat_fail,
        "cycle": read_cycle,
        "phone": read_phone,
        "web_url": read_web_url,
        "currency": read_currency,
        "renewal_rule": read_renewal_rule,
        "listen": read_listen,
        "base_url": read_base_url,
        "custom": None,
        "template": None,
    }
