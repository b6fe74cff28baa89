"""Sending through Apprise: one target at a time, concurrently, each bounded by a timeout.

This is the only module that imports Apprise, and it does so lazily, so commands that never
send (``upcoming``, ``history``) start fast. Apprise's own logger is held at WARNING because its
DEBUG output prints URLs and tokens; everything said about a target goes through the redactor.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote

from simkeeper.core.model import Target
from simkeeper.core.redact import Redactor
from simkeeper.core.urls import split_url
from simkeeper.texts.templates import Message

MAX_WORKERS = 8
MAX_ERROR = 300


@dataclass(frozen=True)
class Outcome:
    """The result of one send: ok, or the reason it failed (already redacted)."""

    ok: bool
    error: str | None = None


_registered = False


def _apprise(schemes: Iterable[str] = ()) -> ModuleType:
    """Apprise, with the plugins of ``schemes`` loaded (see :func:`load_schemes`)."""
    global _registered
    import apprise

    load_schemes(schemes)

    quiet = logging.getLogger("apprise")
    quiet.setLevel(logging.WARNING)
    # Apprise's log lines echo URLs and tokens: what it says about a send is read from its
    # per-call results instead, and passed through our redactor.
    quiet.propagate = False
    if not quiet.handlers:
        quiet.addHandler(logging.NullHandler())
    if not _registered:
        from apprise.decorators import notify

        notify(on="console", name="Console (standard output)")(_console)  # type: ignore[no-untyped-call]
        os.register_at_fork(after_in_child=_fresh_pools)
        _registered = True
    return apprise


def _fresh_pools() -> None:
    """In a forked child (the daemon's sending worker) Apprise's shared thread pools, made in
    the parent, have no threads: drop them so the child makes its own."""
    core = sys.modules.get("apprise.apprise")
    for name in ("_shared_executor", "_coordinator_executor"):
        if core is not None and hasattr(core, name):
            setattr(core, name, None)
            setattr(core, name + "_lock", threading.Lock())


# A plugin declares its schemes as class attributes: ``protocol = "json"``,
# ``secure_protocol = ("mailtos", ...)``.
_DECLARED = re.compile(r"protocol\s*=\s*(\([^)]*\)|\"[^\"]*\"|'[^']*')")
_NAME = re.compile(r"[\"']([^\"']+)[\"']")
_MODULE = re.compile(r"^(?P<name>(?!base|_)[a-z0-9_]+)(\.py)?$", re.I)  # Apprise's own filter


def plugin_modules(folder: Path, wanted: set[str]) -> dict[str, str]:
    """Which module of Apprise's plugin folder serves each scheme in ``wanted``, read from
    their sources without importing them: ``{"json": "custom_json", "mailto": "email"}``.

    Modules whose name contains a wanted scheme are read first, and reading stops once every
    scheme is found.
    """
    entries = [e for e in sorted(os.listdir(folder)) if _MODULE.match(e)]
    entries.sort(key=lambda e: not any(s in e for s in wanted))
    found: dict[str, str] = {}
    for entry in entries:
        path = folder / entry
        if path.is_file() and not entry.endswith(".py"):
            continue
        name = entry.removesuffix(".py")
        for source in sorted(path.glob("*.py")) if path.is_dir() else [path]:
            for scheme in _declared(source.read_text(encoding="utf-8")):
                found.setdefault(scheme, name)
        if wanted <= set(found):
            break
    return {s: found[s] for s in wanted if s in found}


def _declared(text: str) -> Iterator[str]:
    """The schemes a plugin source declares in indented ``protocol``/``secure_protocol`` lines."""
    for match in _DECLARED.finditer(text):
        line = text.rfind("\n", 0, match.start()) + 1
        if text[line : line + 1] in (" ", "\t") and text[line : match.start()].strip() in (
            "",
            "secure_",
        ):
            yield from (s.lower() for s in _NAME.findall(match.group(1)))


def load_schemes(schemes: Iterable[str]) -> None:
    """Load only the Apprise plugins serving ``schemes``, not all ~200 of them.

    Apprise loads every plugin the first time its plugin table is used; here the table starts
    with just the modules that declare these schemes (found by :func:`plugin_modules`), and
    more are added as other schemes are asked for. Anything unexpected (a scheme no source
    declares, a changed Apprise) falls back to Apprise's own load of every plugin.
    """
    from apprise.manager_plugins import NotificationManager

    manager = NotificationManager()  # type: ignore[no-untyped-call]
    wanted = {s.lower() for s in schemes} - {"console"}
    try:
        with manager._lock:
            if manager and not (getattr(manager, "_simkeeper_subset", False) and wanted):
                return  # loaded in full (by Apprise), or nothing new is asked for
            _add_plugins(manager, wanted)
    except Exception as e:  # any surprise: let Apprise load everything, as it would
        global _registered
        logging.getLogger("simkeeper.notifier").debug("loading every Apprise plugin: %s", e)
        manager._simkeeper_subset = False  # type: ignore[attr-defined]
        manager.unload_modules()  # type: ignore[no-untyped-call]
        manager.load_modules()  # type: ignore[no-untyped-call]
        _registered = False  # console:// went with the table: registered again


def _add_plugins(manager: Any, wanted: set[str]) -> None:
    """Put the plugins serving ``wanted`` in Apprise's table (under its lock)."""
    if not manager:
        manager._module_map, manager._schema_map = {}, {}
        manager._custom_module_map = {}
        manager._simkeeper_subset = True
    missing = wanted - set(manager._schema_map)
    if not missing:
        manager._loaded.add(manager.module_path)
        return
    modules = plugin_modules(Path(manager.module_path), missing)
    unknown = missing - set(modules)
    if unknown:
        raise LookupError(f"no plugin source declares {sorted(unknown)}")
    for name in sorted({modules[s] for s in missing} - set(manager._module_map)):
        module = importlib.import_module(f"{manager.module_name_prefix}.{name}")
        for attr in dir(module):
            plugin = getattr(module, attr)
            if not manager.module_filter_re.match(attr) or not hasattr(plugin, "app_id"):
                continue
            manager._module_map[name] = {
                "plugin": {plugin},
                "module": module,
                "path": f"{manager.module_name_prefix}.{name}",
                "native": True,
            }
            for schema in plugin.schemas(plugin) if callable(plugin.schemas) else ():
                manager._schema_map.setdefault(schema, plugin)
            break
    manager._loaded.add(manager.module_path)
    manager._build_dep_counter()
    if missing - set(manager._schema_map):
        raise LookupError(f"the plugins loaded do not serve {sorted(missing)}")


def _console(body: str, title: str, notify_type: str, *args: object, **kwargs: object) -> bool:
    """``console://``: print the message to standard output (for trying simkeeper out)."""
    print(f"--- {title}\n{body}\n---" if title else body, flush=True)
    return True


def _asset(apprise: ModuleType) -> Any:
    # In-memory storage: the service has no writable home, and nothing needs to persist.
    return apprise.AppriseAsset(storage_mode=apprise.PersistentStoreMode.MEMORY)


def url_problem(url: str) -> str | None:
    """Why Apprise cannot use ``url`` (unknown scheme, missing parts), or None if it can."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if not scheme:
        return "not an Apprise URL (expected scheme://...)"
    apprise = _apprise([scheme])
    from apprise.manager_plugins import NotificationManager

    if scheme not in NotificationManager():  # type: ignore[no-untyped-call]
        return f'unknown notification scheme "{scheme}://"'
    login = login_problem(url)
    if login:
        return login
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        plugin = apprise.Apprise.instantiate(url, asset=_asset(apprise))
    if plugin is None:
        said = [line for line in captured.getvalue().splitlines() if "://" not in line]
        why = f" ({said[0].strip().rstrip(': ')})" if said else ""
        return f"Apprise cannot use this {scheme}:// URL: a part is missing or malformed{why}"
    return None


# Schemes whose login travels in a protocol that cannot carry every character: SMTP AUTH in
# Python's smtplib is ASCII only; HTTP Basic auth (requests) is Latin-1.
_ASCII_LOGIN = {"mailto", "mailtos"}
_LATIN1_LOGIN = {"json", "jsons", "xml", "xmls", "form", "forms", "ntfy", "ntfys"}


def login_problem(url: str) -> str | None:
    """Why the user or password in ``url`` cannot be sent by its protocol, or None.

    Never quotes the login itself: only which protocol and which character set.
    """
    parts = split_url(url)
    scheme = parts.scheme.lower()
    if "@" not in parts.netloc:
        return None
    login = unquote(parts.netloc.rsplit("@", 1)[0])
    for schemes, charset, protocol in (
        (_ASCII_LOGIN, "ascii", "SMTP AUTH (Python's smtplib) carries only ASCII"),
        (_LATIN1_LOGIN, "latin-1", "HTTP Basic auth carries only Latin-1"),
    ):
        if scheme in schemes:
            try:
                login.encode(charset)
            except UnicodeEncodeError:
                return (
                    f"the user name or password of this {scheme}:// target cannot be sent: "
                    f"{protocol}; use a password made of such characters"
                )
    return None


TIMED_OUT = "timed out after"  # how a send's error starts when the target did not answer in time


def timed_out(error: str | None) -> bool:
    """Whether a recorded send error says the target did not answer in time: it may still
    have got the message, so sending it again may make a repeat."""
    return bool(error) and TIMED_OUT in (error or "")


def send(target: Target, message: Message, timeout: float, redact: Redactor) -> Outcome:
    """Send ``message`` to one target and say whether it arrived."""
    apprise = _apprise([scheme_of(target.url)])
    try:
        client = apprise.Apprise(asset=_asset(apprise))
        plugin = apprise.Apprise.instantiate(target.url, asset=_asset(apprise))
        if plugin is None or not client.add(plugin):
            return Outcome(False, "Apprise rejected the URL (check it with 'simkeeper check')")
        body, body_format = body_for(plugin, message, apprise.NotifyFormat)
        result = client.notify(
            body=body, title=message.title, body_format=body_format, timeout=timeout
        )
    except Exception as e:  # any plugin error is a failed send, never a crash
        return Outcome(False, _clip(redact(f"{type(e).__name__}: {e}")))
    if result:
        return Outcome(True)
    if result.status == apprise.AppriseResultStatus.TIMEOUT:
        return Outcome(False, f"{TIMED_OUT} {timeout:g} s")
    reasons = [
        entry.message
        for service in result.results
        for entry in service.logs()
        if entry.level in ("WARNING", "ERROR", "CRITICAL")
    ]
    if any(s.status == apprise.AppriseResultStatus.TIMEOUT for s in result.results):
        reasons.append(f"{TIMED_OUT} {timeout:g} s")
    reason = "; ".join(dict.fromkeys(r.strip() for r in reasons if r.strip()))
    return Outcome(False, _clip(redact(reason or f"delivery failed ({result.status.name})")))


def body_for(plugin: Any, message: Message, formats: Any) -> tuple[str, Any]:
    """The body a target renders right, and its format.

    A target whose own format is HTML (email, unless its URL says ``format=text``) gets the
    escaped HTML form, so the mail has a text and an HTML part that both keep the lines apart.
    Every other target gets the plain text, declared as text, so Apprise escapes it for the
    target's format (Markdown, ...) instead of passing markup through.
    """
    if plugin.resolve_format(None) == formats.HTML:
        return message.as_html, formats.HTML
    return message.body, formats.TEXT


def send_all(
    jobs: Iterable[tuple[Target, Message]], timeout: float, redact: Redactor
) -> Iterator[tuple[Target, Outcome]]:
    """Send every job concurrently; yield each ``(target, outcome)`` as it completes.
    ``timeout`` is for targets without their own (``[[notify]]`` ``timeout``)."""
    jobs = list(jobs)
    if not jobs:
        return
    _apprise(scheme_of(t.url) for t, _ in jobs)  # once, before the threads
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(jobs))) as pool:
        futures = {pool.submit(send, t, m, t.send_timeout(timeout), redact): t for t, m in jobs}
        for future in as_completed(futures):
            yield futures[future], future.result()


def scheme_of(url: str) -> str:
    """The scheme of a notify URL (``json`` of ``json://host/path``)."""
    return url.split("://", 1)[0].lower() if "://" in url else ""


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"
