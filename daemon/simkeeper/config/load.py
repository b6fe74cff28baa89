"""Loading and validating the TOML config into the frozen model.

Every problem in a file is collected and reported at once, each naming the file, the line, the
key path (``numbers[2].cycle``) and a fix. ``simkeeper check``, the daemon and every command load
through :func:`load`, so what ``check`` accepts is exactly what the daemon runs with.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, overload
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

try:  # tomli's compiled wheel parses about three times faster than the standard tomllib
    import tomli as tomllib
except ImportError:  # pragma: no cover - tomli is a dependency; tomllib is the fallback
    import tomllib  # type: ignore[no-redef]

from simkeeper.config import cache as configcache
from simkeeper.config.secrets import Secrets, substitute
from simkeeper.core.currencies import CODES as CURRENCY_CODES
from simkeeper.core.errors import ConfigError, Problem
from simkeeper.core.model import Config, Number, Settings, Stage, Target, Tier, Web
from simkeeper.core.periods import NAMED_CYCLES, Cycle, PeriodError, parse_cycle, parse_days
from simkeeper.core.redact import inline_secret, url_secrets
from simkeeper.core.schema import (
    CALENDAR_MODES,
    FIRST_DAY,
    LAST_DAY,
    MAX_AMOUNT,
    MAX_LEAD_DAYS,
    MAX_SPAN_DAYS,
    NOTIFY,
    NUMBERS,
    RENEWAL_RULES,
    SETTINGS,
    TABLES,
    TEMPLATES,
    WEB,
    Key,
    Table,
)
from simkeeper.core.urls import url_syntax_problem
from simkeeper.host.paths import state_folder
from simkeeper.host.zones import system_timezone, zone_names
from simkeeper.texts.i18n import LANGUAGES

if TYPE_CHECKING:
    from simkeeper.config.plans import Plan

TomlTable = Mapping[str, Any]  # a TOML table as parsed
Kind = type | tuple[type, ...]  # the type(s) a key's value may have

SETTINGS_KEYS = SETTINGS.names
NUMBER_KEYS = NUMBERS.names
NOTIFY_KEYS = NOTIFY.names
TOP_KEYS = [table.name for table in TABLES]
ROLLING_ONLY_KEYS = ("on_renewal", "validity", "max_ahead")
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")
MAX_NESTING = 20  # arrays and tables inside each other; a config needs three levels

UrlCheck = Callable[[str], "str | None"]
_D = TypeVar("_D", int, None)  # what days() returns for a key left out or wrong

URL_FIX = "write it as scheme://host:port/path, an IPv6 host in brackets: json://[::1]:8080/x"


def load(
    path: Path | str,
    *,
    env: Mapping[str, str] | None = None,
    url_check: UrlCheck | None = None,
    require_secrets: bool = True,
    cache: Path | None = None,
) -> Config:
    """Read, parse and validate the config at ``path``; raise :class:`ConfigError` listing
    every problem. ``url_check`` (from the notifier) validates target URLs when given.
    ``require_secrets=False`` (commands that never send) accepts a ``${VAR}`` not found.
    With a ``cache`` folder the validated numbers are kept there for the next load of the
    same text, and taken from there when they are (see :mod:`simkeeper.config.cache`)."""
    path = Path(path)
    env = os.environ if env is None else env
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [Problem(str(path), "", "config file not found", hint=_missing_hint(path))]
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise ConfigError(
            [Problem(str(path), "", f"cannot read config file: {reason}", hint=_perm_hint())]
        ) from None
    key = configcache.content_key(text) if cache else ""
    if cache:
        hit = _cached(
            path, text, env, url_check, require_secrets, configcache.read(cache, path, key)
        )
        if hit:
            return hit
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise ConfigError([_too_deep(path, None)]) from None
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        pos = _TOML_POS.search(msg)
        line = int(pos.group(1)) if pos else None
        message = _TOML_POS.sub("", msg).strip()
        source = text.splitlines()[line - 1] if line and line <= len(text.splitlines()) else ""
        hint = _toml_hint(message, source, text)
        raise ConfigError(
            [Problem(str(path), "", f"TOML syntax error: {message}", line, hint)]
        ) from None
    validator = _Validator(path, text, env, url_check, require_secrets)
    deep = _deepest(data)
    if deep:
        problem = _too_deep(path, None, deep)
        validator.problem(deep, problem.message, problem.hint)
        raise ConfigError(validator.problems)
    config = validator.config(data)
    if validator.problems:
        raise ConfigError(validator.problems)
    if cache:
        _keep(cache, path, text, key, data, config)
    return config


def _cached(
    path: Path,
    text: str,
    env: Mapping[str, str],
    url_check: UrlCheck | None,
    require_secrets: bool,
    entry: configcache.Entry | None,
) -> Config | None:
    """The config from a cache ``entry``: everything but the ``[[numbers]]`` tables parsed and
    validated afresh, the numbers from the entry. None (load it all) when there is no entry,
    when what the numbers were validated against changed, or on any problem (a full load then
    reports every problem exactly as without a cache)."""
    if entry is None:
        return None
    try:
        data = tomllib.loads(configcache.without(text, entry.spans))
    except (tomllib.TOMLDecodeError, RecursionError):
        return None
    if "numbers" in data or _deepest(data):
        return None
    validator = _Validator(path, text, env, url_check, require_secrets)
    config = validator.config(data, entry)
    return None if config is None or validator.problems else config


def _keep(
    cache: Path, path: Path, text: str, key: str, data: dict[str, Any], config: Config
) -> None:
    """Write the cache entry of a config that validated, if the text around its
    ``[[numbers]]`` tables parses alone to exactly what it holds besides them."""
    spans = configcache.number_spans(text)
    try:
        rest = tomllib.loads(configcache.without(text, spans))
    except tomllib.TOMLDecodeError:
        return
    if rest != {k: v for k, v in data.items() if k != "numbers"}:
        return
    context = configcache.context_key(
        configcache.settings_defaults(config.settings), config.targets
    )
    configcache.write(cache, path, configcache.Entry(key, context, spans, config.numbers))


def load_partial(
    path: Path | str,
    *,
    env: Mapping[str, str] | None = None,
    url_check: UrlCheck | None = None,
) -> tuple[Config, tuple[Problem, ...]]:
    """The config as far as it validates, with its problems: for the failure alert, which must
    reach the user precisely when a config error stopped the daemon. Raises
    :class:`ConfigError` only when the file cannot be read or is not TOML."""
    try:
        return load(path, env=env, url_check=url_check), ()
    except ConfigError as e:
        if any(not p.path for p in e.problems):  # unreadable, or a TOML syntax error
            raise
    path = Path(path)
    env = os.environ if env is None else env
    text = path.read_text(encoding="utf-8")
    validator = _Validator(path, text, env, url_check)
    config = validator.config(tomllib.loads(text))
    return config, tuple(validator.problems)


def _deepest(value: Any, key: str = "", depth: int = 0) -> str | None:
    """The key path of a value nested deeper than :data:`MAX_NESTING`, or None."""
    if depth > MAX_NESTING:
        return key or "(top level)"
    items: Any = value.items() if isinstance(value, dict) else None
    if isinstance(value, list):
        items = ((f"[{i}]", v) for i, v in enumerate(value, start=1))
    for sub, v in items or ():
        if isinstance(v, (dict, list)):
            path = f"{key}{sub}" if sub.startswith("[") else _join(key, sub)
            found = _deepest(v, path, depth + 1)
            if found:
                return found
    return None


def _too_deep(path: Path, line: int | None, key: str = "") -> Problem:
    return Problem(
        str(path),
        key,
        f"arrays or tables nested more than {MAX_NESTING} deep",
        line,
        "a simkeeper config needs at most three levels; check for a stray [",
    )


def _missing_hint(path: Path) -> str:
    """How to get a config at ``path``: first the one ``init`` wrote elsewhere, if there is
    one (``init --user`` as root writes ~/.config, while root's default is /etc)."""
    other = next((p for p in _other_defaults(path) if p.is_file()), None)
    if other is not None:
        return (
            f"found one at {other}, where 'simkeeper init' writes it: use it with"
            f" 'simkeeper check --config {other}' or set SIMKEEPER_CONFIG={other}"
        )
    return (
        f"'simkeeper init --user' (or 'sudo simkeeper init --system') writes one from the "
        f"packaged config.example.toml; or pass --config / set SIMKEEPER_CONFIG; looked at {path}"
    )


def _other_defaults(path: Path) -> list[Path]:
    """The user's and the system's default config, other than ``path``."""
    found = []
    base = os.environ.get("XDG_CONFIG_HOME") or (
        str(Path(os.environ["HOME"]) / ".config") if os.environ.get("HOME") else ""
    )
    if base:
        found.append(Path(base) / "simkeeper" / "config.toml")
    found.append(Path("/etc/simkeeper/config.toml"))
    return [p for p in found if p.absolute() != path.absolute()]


def _perm_hint() -> str:
    return "check the file's owner and mode; under systemd the service user must be able to read it"


# A date written with slashes or dots (2026/12/10, 10.12.2026), as a value or a quoted string.
_ODD_DATE = re.compile(r"(\d{4})[/.](\d{1,2})[/.](\d{1,2})|(\d{1,2})[/.](\d{1,2})[/.](\d{4})")
_TABLE_LINE = re.compile(r"^\s*\[\s*(numbers|notify)\s*\]\s*(#.*)?$", re.M)
_ANY_TABLE_LINE = re.compile(r"^\s*\[\[?\s*(numbers|notify)\b")


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


def _toml_hint(message: str, line: str = "", text: str = "") -> str:
    """The fix for a TOML syntax error at ``line`` (its text) of the file ``text``."""
    value = line.split("=", 1)[1] if "=" in line else ""
    odd = odd_date_hint(value)
    if odd:
        return odd
    table = _ANY_TABLE_LINE.match(line)
    single = {m.group(1) for m in _TABLE_LINE.finditer(text or line)}
    if table and table.group(1) in single:  # [numbers] twice, or [numbers] then [[numbers]]
        return array_table_hint(table.group(1))
    if "date" in message.lower():
        return "dates are written YYYY-MM-DD without quotes and must exist in the calendar"
    return "see https://toml.io for the syntax; strings need double quotes"


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


class _Validator:
    """Walks the parsed TOML, collecting problems instead of stopping at the first."""

    def __init__(
        self,
        path: Path,
        text: str,
        env: Mapping[str, str],
        url_check: UrlCheck | None,
        require_secrets: bool = True,
    ):
        self.path = path
        self.secrets = Secrets(path, env)
        self.require_secrets = require_secrets
        self.text = text
        self._lines: dict[str, int] | None = None
        self.env = env
        self.url_check = url_check
        self.problems: list[Problem] = []
        self.warnings: list[str] = []

    # -- reporting ----------------------------------------------------------------------------

    @property
    def lines(self) -> dict[str, int]:
        """Key paths to line numbers, worked out only once a problem needs one."""
        if self._lines is None:
            from simkeeper.config.tomllines import key_lines

            self._lines = key_lines(self.text)
        return self._lines

    def problem(self, key: str, message: str, hint: str | None = None) -> None:
        line = self.lines.get(key)
        probe = key
        while line is None and probe:
            shorter = re.sub(r"(\[\d+\]|\.[^.\[]*|^[^.\[]*)$", "", probe)
            probe = "" if shorter == probe else shorter  # a key such as "a[" ends the walk
            line = self.lines.get(probe)
        self.problems.append(Problem(str(self.path), key, message, line, hint))

    def unknown_keys(self, table: Mapping[str, Any], allowed: list[str], prefix: str) -> None:
        for key in table:
            if key not in allowed:
                hint = _suggest(key, allowed) or f"known keys: {', '.join(allowed)}"
                self.problem(_join(prefix, key), f'unknown key "{key}"', hint)

    def typed(self, table: Mapping[str, Any], key: str, kind: Kind, prefix: str) -> Any:
        """The value of ``key`` if it has the right type, else None (and a problem)."""
        if key not in table:
            return None
        value = table[key]
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is date and isinstance(value, datetime):
            ok = False
        if not ok:
            self.problem(_join(prefix, key), _type_message(value, kind), _type_hint(value, kind))
            return None
        return value

    def day(
        self,
        table: Mapping[str, Any],
        key: str,
        prefix: str,
        first: date = FIRST_DAY,
        last: date = LAST_DAY,
    ) -> date | None:
        """A date between ``first`` and ``last``, else None (and a problem)."""
        value: date | None = self.typed(table, key, date, prefix)
        if value is None or first <= value <= last:
            return value
        self.problem(
            _join(prefix, key),
            f"{value.isoformat()} is out of range",
            f"use a date from {first.isoformat()} to {last.isoformat()}",
        )
        return None

    # -- top level ----------------------------------------------------------------------------

    @overload
    def config(self, data: dict[str, Any]) -> Config: ...
    @overload
    def config(self, data: dict[str, Any], cached: configcache.Entry) -> Config | None: ...

    def config(
        self, data: dict[str, Any], cached: configcache.Entry | None = None
    ) -> Config | None:
        """The config ``data`` describes; with a ``cached`` entry its numbers are taken from
        there (None when they were validated against other settings or targets)."""
        self.unknown_keys(data, TOP_KEYS, "")
        settings_table = self.table(data, "settings")
        settings = self.settings(settings_table)
        templates = self.templates(self.table(data, "templates"))
        targets = self.targets(self.array(data, "notify"))
        if cached is None:
            numbers = self.numbers(self.array(data, "numbers"), settings, targets)
        elif cached.context == configcache.context_key(
            configcache.settings_defaults(settings), targets
        ):
            numbers = list(cached.numbers)
        else:
            return None
        web = self.web(self.table(data, "web")) if "web" in data else None
        self.file_mode_warning(data)
        return Config(
            path=self.path,
            settings=settings,
            numbers=tuple(numbers),
            targets=tuple(targets),
            templates=templates,
            warnings=tuple(self.warnings),
            web=web,
        )

    def table(self, data: dict[str, Any], key: str) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.problem(key, f"must be a table ([{key}]), not {_kind(value)}")
            return {}
        return value

    def array(self, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            hint = array_table_hint(key) if isinstance(value, dict) else None
            self.problem(key, f"must be an array of tables ([[{key}]] entries)", hint)
            return []
        return value

    # -- settings -----------------------------------------------------------------------------

    def settings(self, table: dict[str, Any]) -> Settings:
        p = "settings"
        self.unknown_keys(table, SETTINGS.names, p)
        v = self.walk(table, SETTINGS, p, {"timezone": None})
        tz, tz_name = v["timezone"]
        return Settings(
            heartbeat=v["heartbeat"],
            heartbeat_fail=v["heartbeat_fail"],
            timezone=tz,
            timezone_name=tz_name,
            remind_at=v["remind_at"],
            remind=v["remind"],
            state=self.relative(v["state"]),
            language=v["language"],
            overdue_every=v["overdue_every"],
            overdue_for=v["overdue_for"],
            digest=v["digest"],
            calendar=self.relative(v["calendar"]),
            calendar_days=v["calendar_days"],
            calendar_mode=v["calendar_mode"],
            send_timeout=float(v["send_timeout"]),
            retention=v["retention"],
        )

    # -- web ----------------------------------------------------------------------------------

    def web(self, table: dict[str, Any]) -> Web:
        """The ``[web]`` table: where ``simkeeper web`` listens, and its public address."""
        self.unknown_keys(table, WEB.names, "web")
        v = self.walk(table, WEB, "web", {})
        host, port = v["listen"] if isinstance(v["listen"], tuple) else split_listen(v["listen"])
        base = v["base_url"] or f"http://{_host_port(host, port)}"
        return Web(host=host, port=port, base_url=base.rstrip("/"))

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

    # -- the schema walk ----------------------------------------------------------------------

    def walk(
        self, table: Mapping[str, Any], schema: Table, prefix: str, defaults: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Every key of ``schema`` read from ``table`` by the reader its kind names: its value,
        else its default (from ``defaults``, else the schema) when it is absent or has a
        problem. Keys of kind ``custom`` are left to the named functions that read them."""
        values: dict[str, Any] = {}
        for key in schema.keys:
            reader = self.READERS.get(key.kind)
            if reader is None:
                continue
            default = defaults.get(key.name, key.default)
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

    READERS: ClassVar[dict[str, Callable[..., Any]]] = {
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
    }

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

    # -- templates ----------------------------------------------------------------------------

    def templates(self, table: dict[str, Any]) -> dict[str, str]:
        self.unknown_keys(table, TEMPLATES.names, "templates")
        out = {}
        for key, value in table.items():
            if key not in TEMPLATES.names:
                continue
            if not isinstance(value, str):
                self.problem(f"templates.{key}", _type_message(value, str))
                continue
            from simkeeper.texts.templates import TemplateError, check_template

            try:
                check_template(key, value)
            except TemplateError as e:
                self.problem(f"templates.{key}", str(e), e.hint)
                continue
            out[key] = value
        return out

    # -- notify targets -----------------------------------------------------------------------

    def targets(self, entries: list[dict[str, Any]]) -> list[Target]:
        targets: list[Target] = []
        seen: dict[str, int] = {}
        for i, entry in enumerate(entries, start=1):
            p = f"notify[{i}]"
            self.unknown_keys(entry, NOTIFY_KEYS, p)
            name = self.typed(entry, "name", str, p)
            raw = self.typed(entry, "url", str, p)
            tags = self.string_list(entry, "tags", p)
            if not name:
                self.problem(f"{p}.name", "missing", 'give each target a name, e.g. name = "email"')
            elif name in seen:
                self.problem(f"{p}.name", f'"{name}" is already the name of notify[{seen[name]}]')
            else:
                seen[name] = i
            if not raw:
                self.problem(f"{p}.url", "missing", 'an Apprise URL, e.g. url = "console://"')
                continue
            url, values = self.substitute(raw, f"{p}.url")
            if url is None:
                continue
            if not self.parses(url, f"{p}.url"):
                continue
            secrets = url_secrets(url, values)
            if self.url_check:
                reason = self.url_check(url)
                if reason:
                    self.problem(f"{p}.url", _scrub(reason, secrets), "see the Apprise wiki")
            timeout = self.read_seconds(entry, NOTIFY.key("timeout"), p, None)
            targets.append(Target(name or f"notify{i}", url, tuple(tags), secrets, timeout))
        return targets

    def substitute(self, raw: str, key: str) -> tuple[str | None, list[str]]:
        """``raw`` with its ``${VAR}`` filled in (see :mod:`simkeeper.config.secrets`) and the
        values put in. A variable not found is a problem when secrets are required (commands that
        send); otherwise the reference stays in the URL, which is only ever shown redacted."""
        done = substitute(raw, self.secrets)
        if not self.require_secrets:
            return done.url, list(done.values)
        for lookup in done.missing:
            self.problem(
                key,
                f"${{{lookup.name}}} is not set ({lookup.explain()})",
                f"put the secret in {self.secrets.folder / lookup.name} (one file per secret, "
                f"mode 0600), or a {lookup.name}=... line in {self.secrets.env_file}",
            )
        return (None if done.missing else done.url), list(done.values)

    def file_mode_warning(self, data: dict[str, Any]) -> None:
        entries = data.get("notify", [])
        entries = entries if isinstance(entries, list) else []
        raws = [e.get("url") for e in entries if isinstance(e, dict)]
        if not any(isinstance(u, str) and inline_secret(u) for u in raws):
            return
        try:
            mode = self.path.stat().st_mode
        except OSError:
            return
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            self.warnings.append(
                f"{self.path}: warning: a notify URL holds a password or token inline and the "
                f"file is readable by others (mode {stat.S_IMODE(mode):o}); run "
                f"chmod 600 {self.path}, or move the secret to ${{VAR}}"
            )

    # -- numbers ------------------------------------------------------------------------------

    def numbers(
        self, entries: list[Any], settings: Settings, targets: list[Target]
    ) -> list[Number]:
        numbers: list[Number] = []
        names: dict[str, int] = {}
        e164s: dict[str, int] = {}
        tags = {t.name for t in targets} | {tag for t in targets for tag in t.tags}
        for i, entry in enumerate(entries, start=1):
            number = self.number(entry, f"numbers[{i}]", settings, tags, bool(targets))
            # Names are compared even when the entry has other problems: all reported at once.
            name = entry.get("name")
            if isinstance(name, str) and name.strip():
                if name.strip() in names:
                    self.problem(
                        f"numbers[{i}].name",
                        f'"{name.strip()}" is already the name of numbers[{names[name.strip()]}]',
                        "names must be unique: they identify the number in commands and history",
                    )
                names.setdefault(name.strip(), i)
            if number is None:
                continue
            if number.number in e164s:
                self.problem(
                    f"numbers[{i}].number",
                    f"{number.number} is already listed as numbers[{e164s[number.number]}]",
                    "list each number once, with one plan",
                )
            e164s.setdefault(number.number, i)
            numbers.append(number)
        return numbers

    def number(
        self, e: dict[str, Any], p: str, settings: Settings, tags: set[str], have_targets: bool
    ) -> Number | None:
        before = len(self.problems)
        self.unknown_keys(e, NUMBER_KEYS, p)
        own = set(e)
        plan = self.plan(e, p)
        e = {**(_builtin_plans()[plan].keys if plan else {}), **e}
        name = self.typed(e, "name", str, p)
        if not name or not name.strip():
            self.problem(
                f"{p}.name", "missing", 'every number needs a name, e.g. name = "giffgaff"'
            )
        v = self.walk(e, NUMBERS, p, _number_defaults(settings))
        cycle, rolling = v["cycle"], v["rolling"]
        if plan or "plan" not in e:  # an unknown plan is one problem, not a cascade
            self.plan_shape(e, p, rolling, plan)
        rules = self.renewal_rules(e, p, rolling, own, v)
        tz, tz_name = v["timezone"]
        notify = self.tag_list(e, "notify", p, tags, have_targets)
        escalate = self.tag_list(e, "escalate", p, tags, have_targets)
        self.balance(e, p, cycle, rolling, v)
        number = Number(
            name=(name or "").strip(),
            number=v["number"] or "",
            timezone=tz,
            timezone_name=tz_name,
            remind=v["remind"],
            cycle=cycle,
            due=v["due"],
            rolling=rolling,
            last_renewed=v["last_renewed"],
            carrier=sys.intern(v["carrier"]),  # one string per carrier, not per number
            note=v["note"],
            notify=tuple(notify),
            escalate=tuple(escalate),
            overdue_every=v["overdue_every"],
            overdue_for=v["overdue_for"],
            cost=v["cost"],
            currency=v["currency"],
            balance=v["balance"],
            balance_date=v["balance_date"],
            **rules,
            after_deadline=self.stages(e, p),
            renew_url=v["renew_url"],
            plan=plan or "",
        )
        return number if len(self.problems) == before else None

    # -- carrier rules ------------------------------------------------------------------------

    def plan(self, e: dict[str, Any], p: str) -> str | None:
        """The built-in plan the entry names, if any (a problem when it is unknown)."""
        name: str | None = self.typed(e, "plan", str, p)
        if name is None:
            return None
        plans = _builtin_plans()
        if name not in plans:
            hint = _suggest(name, sorted(plans)) or "run 'simkeeper plans' to list them"
            self.problem(f"{p}.plan", f'unknown plan "{name}"', hint)
            return None
        return name

    def renewal_rules(
        self, e: dict[str, Any], p: str, rolling: bool, own: set[str], v: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``on_renewal``, ``min_amount``, ``validity`` and ``max_ahead`` (all but ``validity``
        read by the schema walk into ``v``), checked against ``rolling``."""
        if not rolling:
            for key in ROLLING_ONLY_KEYS:
                if key in own:
                    self.problem(
                        f"{p}.{key}",
                        f"{key} applies to rolling numbers only",
                        "add rolling = true, or remove it",
                    )
        return {
            "on_renewal": v["on_renewal"] if rolling else NUMBERS.default("on_renewal"),
            "min_amount": v["min_amount"],
            "validity": self.validity(e, p) if rolling else (),
            "max_ahead": v["max_ahead"] if rolling else None,
        }

    def limited_amount(self, e: Mapping[str, Any], key: str, p: str) -> Decimal | None:
        """An amount above 0 and below :data:`MAX_AMOUNT`."""
        return self.amount(e, key, p, positive=True)

    def tables(
        self, e: dict[str, Any], key: str, p: str, example: str
    ) -> list[tuple[str, dict[str, Any]]]:
        """A list of inline tables, each with its key path (``numbers[1].validity[2]``)."""
        value = e.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.problem(_join(p, key), "must be a list of tables", f"e.g. {key} = [{example}]")
            return []
        return [(f"{p}.{key}[{i}]", item) for i, item in enumerate(value, start=1)]

    def validity(self, e: dict[str, Any], p: str) -> tuple[Tier, ...]:
        example = '{from = 100, cycle = "every 180 days"}'
        tiers: dict[Decimal, Tier] = {}
        for q, item in self.tables(e, "validity", p, example):
            self.unknown_keys(item, ["from", "cycle"], q)
            minimum = self.limited_amount(item, "from", q)
            cycle = self.cycle(item, q) if "cycle" in item else None
            for key in ("from", "cycle"):
                if key not in item:
                    self.problem(f"{q}.{key}", "missing", f"write each tier as {example}")
            if minimum is None or cycle is None:
                continue
            if minimum in tiers:
                self.problem(f"{q}.from", f"another tier already starts at {minimum}")
            tiers[minimum] = Tier(minimum, cycle)
        return tuple(tiers[k] for k in sorted(tiers))

    def stages(self, e: dict[str, Any], p: str) -> tuple[Stage, ...]:
        example = '{after = "0d", state = "receive only"}'
        stages: list[Stage] = []
        for q, item in self.tables(e, "after_deadline", p, example):
            self.unknown_keys(item, ["after", "state"], q)
            longest = NUMBERS.key("after_deadline").high
            after = self.days(item, "after", q, -1, 0, longest) if "after" in item else -1
            state = self.typed(item, "state", str, q)
            if "after" not in item:
                self.problem(f"{q}.after", "missing", f"write each stage as {example}")
            if "state" not in item or state == "" or (state and not state.strip()):
                self.problem(f"{q}.state", "missing", 'say what happens, e.g. state = "suspended"')
            if after < 0 or not (state or "").strip():
                continue
            if stages and after <= stages[-1].after:
                self.problem(
                    f"{q}.after",
                    f"must come after the stage before ({stages[-1].after}d)",
                    "list the stages in order, each later than the one before",
                )
                continue
            stages.append(Stage(after, (state or "").strip()))
        return tuple(stages)

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

    def plan_shape(self, e: TomlTable, p: str, rolling: bool, plan: str | None = None) -> None:
        if rolling:
            if "cycle" not in e:
                self.problem(
                    f"{p}.cycle", "a rolling number needs a cycle", 'e.g. "every 180 days"'
                )
            if "last_renewed" not in e:
                why = f'plan "{plan}" is a keep-alive window, so it' if plan else "rolling = true"
                self.problem(
                    f"{p}.last_renewed",
                    f"{why} needs last_renewed",
                    "add the date of the last top-up or activity, e.g. last_renewed = 2026-06-01",
                )
            if "due" in e:
                self.problem(
                    f"{p}.due",
                    "a rolling number has no fixed due date",
                    "remove due; the deadline is last_renewed + cycle",
                )
        elif "due" not in e:
            hint = (
                "add due = YYYY-MM-DD (any one due date of the cycle), "
                "or rolling = true with last_renewed for a keep-alive window"
            )
            self.problem(f"{p}.due", "missing", hint)
        elif "last_renewed" in e:
            self.problem(
                f"{p}.last_renewed",
                "only rolling numbers use last_renewed",
                "add rolling = true, or record renewals with 'simkeeper renewed'",
            )

    def string_list(self, e: TomlTable, key: str, p: str) -> list[str]:
        value = e.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(_join(p, key), "must be a list of strings", f'e.g. {key} = ["email"]')
            return []
        return value

    def tag_list(
        self, e: TomlTable, key: str, p: str, tags: set[str], have_targets: bool
    ) -> list[str]:
        values = self.string_list(e, key, p)
        if not have_targets:
            return values
        for v in values:
            if v not in tags:
                hint = _suggest(v, sorted(tags)) or f"known: {', '.join(sorted(tags))}"
                self.problem(_join(p, key), f'no [[notify]] target has the name or tag "{v}"', hint)
        return values

    def balance(
        self, e: Mapping[str, Any], p: str, cycle: Cycle | None, rolling: bool, v: Mapping[str, Any]
    ) -> None:
        """The rules between ``cost``, ``currency``, ``balance`` and ``balance_date`` (each read
        by the schema walk into ``v``)."""
        if v["cost"] is not None and not v["currency"]:
            self.problem(f"{p}.currency", "cost needs a currency", 'e.g. currency = "USD"')
        if "balance" in e and "cost" not in e:
            self.problem(
                f"{p}.cost", "balance needs cost, the charge per cycle", "e.g. cost = 3.00"
            )
        if "balance" in e and "balance_date" not in e:
            self.problem(
                f"{p}.balance_date",
                "balance needs balance_date, the day it was read",
                "e.g. balance_date = 2026-11-20",
            )
        if "balance" in e and (rolling or cycle is None):
            self.problem(f"{p}.balance", "balance tracking needs a fixed cycle with a due date")

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


def _builtin_plans() -> dict[str, Plan]:
    """The built-in plans, imported only when a config names one (or on a cache miss)."""
    from simkeeper.config.plans import builtin_plans

    return builtin_plans()


@lru_cache(maxsize=1 << 17)
def _e164(raw: str) -> str | None:
    """``raw`` in E.164, ``""`` when it parses but is no valid number, None when it does not
    parse. Each text is parsed once per process (phonenumbers takes ~18 µs a number), and
    phonenumbers is imported only when a number is validated (not on a cached load)."""
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


def _number_defaults(settings: Settings) -> dict[str, Any]:
    """What a number takes from ``[settings]`` when it leaves a key out."""
    return {
        "remind": settings.remind,
        "timezone": (settings.timezone, settings.timezone_name),
        "overdue_every": settings.overdue_every,
        "overdue_for": settings.overdue_for,
    }


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


def _type_message(value: Any, kind: Kind) -> str:
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


def _type_hint(value: Any, kind: Kind) -> str | None:
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
