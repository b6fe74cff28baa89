"""The small pure helpers of config validation: value parsers (a phone number in E.164, a
listen address, a cycle written without "every") and the wording of problems (what a type is
called, the hint for a mistyped one, a "did you mean"). Nothing here reports a problem or holds
state: the validator's classes (:mod:`simkeeper.config.validate`) call these.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any

from simkeeper.config.e164 import fast_e164
from simkeeper.core.keys import MAX_LEAD_DAYS, MAX_SPAN_DAYS

TomlTable = Mapping[str, Any]  # a TOML table as parsed
ValueType = type | tuple[type, ...]  # the type(s) a key's value may have

# A date written with slashes or dots (2026/12/10, 10.12.2026), as a value or a quoted string.
_ODD_DATE = re.compile(r"(\d{4})[/.](\d{1,2})[/.](\d{1,2})|(\d{1,2})[/.](\d{1,2})[/.](\d{4})")


def odd_date_hint(text: str) -> str | None:
    """ "write dates as 2026-12-10" for a date written 2026/12/10 (or 2026.12.10); None for
    anything else. Day-first forms (10/12/2026) are ambiguous: only the shape is given."""
    m = _ODD_DATE.search(text)
    if m is None:
        return None
    if m.group(1):
        try:
            day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return "write dates as YYYY-MM-DD without quotes, e.g. 2026-12-10"
        return f"write dates as {day.isoformat()}: YYYY-MM-DD, no quotes"
    return "write dates as YYYY-MM-DD without quotes, e.g. 2026-12-10"


def array_table_hint(key: str) -> str:
    """What to write when ``[numbers]`` (one table) stands where ``[[numbers]]`` belongs."""
    what = "number" if key == "numbers" else "notify target"
    return f"each {what} is a [[{key}]] table: write [[{key}]], with two brackets, above each"


def split_listen(value: str) -> tuple[str, int]:
    """``"127.0.0.1:8787"`` -> ("127.0.0.1", 8787); ``"[::1]:8787"`` -> ("::1", 8787).

    Raises ValueError for anything else (no port, a port out of range, an empty host)."""
    host, sep, port = value.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(value)
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(value)
    return host, int(port)


def _host_port(host: str, port: int) -> str:
    """A host and port as written in a URL (IPv6 in brackets)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _suggest(word: str, choices: list[str]) -> str | None:
    import difflib  # here: only a mistyped key needs it

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f'did you mean "{close[0]}"?' if close else None


@lru_cache(maxsize=1 << 12)  # a few texts seen twice (problem hints try variants): bounded
def _e164(raw: str) -> str | None:
    """``raw`` in E.164, ``""`` when it parses but is no valid number, None when it does not
    parse. A plainly written valid number takes the fast path (:mod:`simkeeper.config.e164`,
    ~3 µs); anything else is phonenumbers' to judge (~20 µs), imported only when a number is
    validated (not on a cached load)."""
    return fast_e164(raw) or _parsed_e164(raw)


def _parsed_e164(raw: str) -> str | None:
    """:func:`_e164` by phonenumbers alone."""
    import phonenumbers

    try:
        parsed = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return ""
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _every_hint(text: str) -> str | None:
    """``every 30 days`` for ``30 days`` (or ``30d``, ``30 day``): a count and a unit without
    the word every."""
    m = re.fullmatch(r"\s*(\d+)\s*(d|w|m|y|days?|weeks?|months?|years?)\s*", text.lower())
    if m is None:
        return None
    unit = {"d": "day", "w": "week", "m": "month", "y": "year"}.get(m.group(2), m.group(2))
    unit = unit.rstrip("s")
    n = int(m.group(1))
    return f'write it as "every {n} {unit}{"" if n == 1 else "s"}"'


def _phone_problem(raw: str) -> tuple[str, str]:
    """Why ``raw`` is no phone number, and the fix: the number in international format when
    only the + was left out; "not an assigned number" for a well-formed number in a range no
    carrier has (a reserved or unassigned one); the digits' count when that is what is wrong."""
    import phonenumbers

    general = "write it in international format with the country code, e.g. +44 7911 123456"
    digits = re.sub(r"[\s().-]", "", raw)
    if digits.isdigit() and not raw.strip().startswith("+"):
        e164 = _e164("+" + digits)
        if e164:
            shown = phonenumbers.format_number(
                phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL
            )
            return f'"{raw}" is not a phone number', f'add the +: number = "{shown}"'
    try:
        parsed = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return f'"{raw}" is not a phone number', general
    why = phonenumbers.is_possible_number_with_reason(parsed)
    region = phonenumbers.region_code_for_country_code(parsed.country_code or 0)
    if region == phonenumbers.UNKNOWN_REGION:
        return f'"{raw}" is not a valid phone number', f"+{parsed.country_code} is no country code"
    national = str(parsed.national_number)
    e164 = f"+{parsed.country_code}"
    if any(_e164(f"{e164}{national}{d}") for d in "0123456789"):
        return f'"{raw}" is not a valid phone number', f"a digit too few for a {region} number"
    if len(national) > 1 and _e164(f"{e164}{national[:-1]}"):
        return f'"{raw}" is not a valid phone number', f"a digit too many for a {region} number"
    if why == phonenumbers.ValidationResult.TOO_SHORT:
        return f'"{raw}" is not a valid phone number', f"too few digits for a {region} number"
    if why in (
        phonenumbers.ValidationResult.TOO_LONG,
        phonenumbers.ValidationResult.INVALID_LENGTH,
    ):
        return f'"{raw}" is not a valid phone number', f"wrong number of digits for {region}"
    return (
        f'"{raw}" is not an assigned number',
        f"it is written right, but no {region} carrier has numbers in that range,"
        " a reserved or unassigned one: check the digits",
    )


def _lead_range(minimum: int, maximum: int = MAX_LEAD_DAYS) -> str:
    years = "ten years" if maximum == MAX_SPAN_DAYS else "three years"
    return f"use {minimum}d to {maximum}d, {years} at most"


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for s in secrets:
        text = text.replace(s, "****")
    return text


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _kind(value: Any) -> str:
    names = {
        bool: "a true/false",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
        date: "a date",
        datetime: "a date-time",
        time: "a time",
    }
    return names.get(type(value), type(value).__name__)


def _type_message(value: Any, kind: ValueType) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return f"must be {' or '.join(dict.fromkeys(_kind_name(k) for k in kinds))}, not {_kind(value)}"


def _kind_name(kind: type) -> str:
    return {
        str: "a string",
        bool: "true or false",
        int: "a number",
        float: "a number",
        date: "a date",
    }.get(kind, kind.__name__)


def _type_hint(value: Any, kind: ValueType) -> str | None:
    if kind is date and isinstance(value, str):
        try:
            date.fromisoformat(value)
            return f"write the date without quotes: {value}"
        except ValueError:
            return odd_date_hint(value) or "write a real date as YYYY-MM-DD without quotes"
    if kind is date and isinstance(value, datetime):
        return "give only the date, YYYY-MM-DD"
    if kind is str and isinstance(value, (int, float)):
        return f'put it in double quotes: "{value}"'
    if kind is bool and isinstance(value, str):
        return "write true or false without quotes"
    return None


def _show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)
