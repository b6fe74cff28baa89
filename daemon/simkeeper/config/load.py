"""Loading the TOML config into the frozen model: the entry points (:func:`load`,
:func:`load_partial`, the cached load) and the hints for a file that is missing, unreadable or not
TOML. The validating is :mod:`simkeeper.config.validate`'s.

Every problem in a file is collected and reported at once, each naming the file, the line, the
key path (``numbers[2].cycle``) and a fix. ``simkeeper check``, the daemon and every command load
through :func:`load`, so what ``check`` accepts is exactly what the daemon runs with.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

try:  # tomli's compiled wheel parses about three times faster than the standard tomllib
    import tomli as tomllib
except ImportError:  # pragma: no cover - tomli is a dependency; tomllib is the fallback
    import tomllib  # type: ignore[no-redef]

from simkeeper.config import cache as configcache
from simkeeper.config.checker import UrlCheck
from simkeeper.config.validate import Validator
from simkeeper.config.values import _join, array_table_hint, odd_date_hint
from simkeeper.core.errors import ConfigError, Problem
from simkeeper.core.model import Config
from simkeeper.core.numbertable import NumberTable

_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")
MAX_NESTING = 20  # arrays and tables inside each other; a config needs three levels


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
    text = _read(path)
    code = configcache.code_key() if cache else ""
    key = configcache.content_key(text, code) if cache else ""
    head = configcache.read_head(cache, path, key, code) if cache else None
    if head is not None and head.key == key:
        # A hit needs only the text around the [[numbers]] tables: the whole text is let go
        # before the numbers are read (at a million numbers it is 120 MB beside them).
        rest = configcache.without(text, head.spans)
        del text
        hit = _cached(path, rest, env, url_check, require_secrets, head)
        if hit:
            return hit
        text = _read(path)  # a hit that does not serve (rare): the whole load, as it is now
        key = configcache.content_key(text, code)
    if head is not None and head.texts and head.code == code:
        edited = _edited(path, text, env, url_check, require_secrets, head, (cache, key))
        if edited:
            return edited
    entry = configcache.read_numbers(head) if head else None
    data = _parse(path, text)
    validator = Validator(path, text, env, url_check, require_secrets)
    if cache:  # an edited file: the tables it still has are not validated again
        validator.previous, validator.digests = entry, []
    deep = _deepest(data)
    if deep:
        problem = _too_deep(path, None, deep)
        validator.problem(deep, problem.message, problem.hint)
        raise ConfigError(validator.problems)
    config = validator.config(data)
    if validator.problems:
        raise ConfigError(validator.problems)
    if cache:
        config = _as_table(config)
        _keep(cache, path, text, (key, code), data, config, b"".join(validator.digests or ()))
    return config


def _as_table(config: Config) -> Config:
    """``config`` with its numbers as columns, as a warm load gives them: encoded once, for
    the cache entry and for the command (``upcoming`` works on the table)."""
    return replace(config, numbers=NumberTable.of(config.numbers))


def _read(path: Path) -> str:
    """The config file's text; a :class:`ConfigError` with a fix when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [Problem(str(path), "", "config file not found", hint=_missing_hint(path))]
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise ConfigError(
            [Problem(str(path), "", f"cannot read config file: {reason}", hint=_perm_hint())]
        ) from None


def _parse(path: Path, text: str) -> dict[str, Any]:
    """``text`` parsed as TOML; a :class:`ConfigError` with the line and a fix when it is not."""
    try:
        return tomllib.loads(text)
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


def _cached(
    path: Path,
    rest: str,
    env: Mapping[str, str],
    url_check: UrlCheck | None,
    require_secrets: bool,
    head: configcache.Head,
) -> Config | None:
    """The config from a cache entry (``head``, and ``rest``: the text without its
    ``[[numbers]]`` tables): everything but those tables parsed and validated afresh, the
    numbers from the entry. None (load it all) when what the numbers were validated against
    changed, or on any problem (a full load then reports every problem exactly as without a
    cache, with its line: ``rest`` is given the validator only for a hit, which has none)."""
    data = _around(rest)
    if data is None:
        return None
    entry = configcache.read_numbers(head)
    if entry is None:
        return None
    validator = Validator(path, rest, env, url_check, require_secrets)
    config = validator.config(data, entry)
    return None if config is None or validator.problems else config


def _edited(
    path: Path,
    text: str,
    env: Mapping[str, str],
    url_check: UrlCheck | None,
    require_secrets: bool,
    head: configcache.Head,
    where: tuple[Path | None, str],
) -> Config | None:
    """The config of an edited file from the entry of its earlier text, parsing only what
    changed: each ``[[numbers]]`` table whose text is as it was is taken whole, the others and
    the text around them are parsed alone and validated. None (the whole load) when the tables
    cannot be told apart without parsing the text, or on any problem (the whole load reports
    it, with its line). 100,000 numbers, 1% edited: the TOML parse of every table was a third
    of the load."""
    chunks = configcache.table_chunks(text)
    if chunks is None or len(chunks) > 2 * head.count + 1000:
        return None
    spans = configcache.merged(chunks)
    data = _around(configcache.without(text, spans))
    if data is None:
        return None
    written = configcache.text_digests(text, chunks)
    tables = _tables(text, chunks, written, head)
    entry = configcache.read_numbers(head) if tables is not None else None
    if tables is None or entry is None:
        return None
    kept = [i for i, t in enumerate(tables) if isinstance(t, int)]
    held = NumberTable.of(entry.numbers).take([tables[i] for i in kept])
    size = configcache.DIGEST_SIZE
    for i, number in zip(kept, held, strict=True):
        place = tables[i]
        tables[i] = configcache.Kept(number, head.digests[place * size : (place + 1) * size])
    validator = Validator(path, text, env, url_check, require_secrets)
    validator.parsed_tables, validator.digests = tables, []
    config = validator.config(data)
    if config is None or validator.problems or len(config.numbers) != len(chunks):
        return None
    context = _context(config)
    if context != head.context:  # the kept numbers were validated against other defaults
        return None
    cache, key = where
    if cache is not None:
        config = _as_table(config)
        digests = b"".join(validator.digests)
        texts = b"".join(written)  # the digests the tables were matched by
        new = configcache.Entry(key, context, spans, config.numbers, head.code, digests, texts)
        configcache.write(cache, path, new)
    return config


def _tables(
    text: str, chunks: list[tuple[int, int]], written: list[bytes], head: configcache.Head
) -> list[Any] | None:
    """Each table of ``text`` (``written``: the digests of their texts): the place of the same
    text in the entry ``head``, or the table parsed alone; None when one does not parse alone
    as exactly one table."""
    size = configcache.DIGEST_SIZE
    blob = head.texts
    before = {blob[i : i + size]: i // size for i in range(0, len(blob), size)}
    tables: list[Any] = []
    for (start, end), digest in zip(chunks, written, strict=True):
        place = before.get(digest)
        if place is not None:
            tables.append(place)
            continue
        try:
            alone = tomllib.loads(text[start:end])
        except (tomllib.TOMLDecodeError, RecursionError):
            return None
        got = alone.get("numbers")
        if len(alone) != 1 or not isinstance(got, list) or len(got) != 1 or _deepest(alone):
            return None
        tables.append(got[0])
    return tables


def _context(config: Config) -> str:
    """The cache's context key of ``config``: what number validation read besides the tables."""
    return configcache.context_key(
        configcache.settings_defaults(config.settings),
        config.targets,
        {g.name: g.kind for g in config.gateways},
    )


def _around(rest: str) -> dict[str, Any] | None:
    """The text around the ``[[numbers]]`` tables, parsed alone; None when it does not parse,
    is too deep, or still holds numbers (the tables were not where the scan found them)."""
    try:
        data = tomllib.loads(rest)
    except (tomllib.TOMLDecodeError, RecursionError):
        return None
    return None if "numbers" in data or _deepest(data) else data


def _keep(
    cache: Path,
    path: Path,
    text: str,
    keys: tuple[str, str],
    data: dict[str, Any],
    config: Config,
    digests: bytes,
) -> None:
    """Write the cache entry of a config that validated (``keys``: its content and code
    keys), if the text around its ``[[numbers]]`` tables parses alone to exactly what it holds
    besides them."""
    chunks, apart = configcache.number_chunks(text)
    spans = configcache.merged(chunks)
    try:
        rest = tomllib.loads(configcache.without(text, spans))
    except tomllib.TOMLDecodeError:
        return
    if rest != {k: v for k, v in data.items() if k != "numbers"}:
        return
    key, code = keys
    texts = b""
    if apart and len(chunks) == len(config.numbers):
        texts = b"".join(configcache.text_digests(text, chunks))
    entry = configcache.Entry(key, _context(config), spans, config.numbers, code, digests, texts)
    configcache.write(cache, path, entry)


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
    validator = Validator(path, text, env, url_check)
    config = validator.config(tomllib.loads(text))
    return config, tuple(validator.problems)


def _deepest(value: Any, key: str = "", depth: int = 0) -> str | None:
    """The key path of a value nested deeper than :data:`MAX_NESTING`, or None."""
    if depth == 0 and not _too_nested(value, 0):
        return None  # the common case, told without building a key path per value
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


def _too_nested(value: Any, depth: int) -> bool:
    """Whether anything in ``value`` is nested deeper than :data:`MAX_NESTING`."""
    if depth > MAX_NESTING:
        return True
    children: Any = value.values() if type(value) is dict else value
    # A loop with exact type tests, not any() over a generator: this walks every value of
    # every [[numbers]] table on each load that parses the file (a million at 100k numbers).
    for v in children:
        kind = type(v)
        if (kind is dict or kind is list) and _too_nested(v, depth + 1):
            return True
    return False


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


_TABLE_LINE = re.compile(r"^\s*\[\s*(numbers|notify)\s*\]\s*(#.*)?$", re.M)
_ANY_TABLE_LINE = re.compile(r"^\s*\[\[?\s*(numbers|notify)\b")


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
