"""Every use of Apprise's private API, in one place: loading only the plugins a config uses
(Apprise loads all ~200 of them on first use), and fresh thread pools in a forked child.

Checked against the Apprise releases ``pyproject.toml`` allows (``apprise>=2.2,<3``; last
read: :data:`CHECKED_WITH`). A newer Apprise that moved these internals makes
:func:`load_schemes` fall back to Apprise's own full load, with one warning: slower, never
wrong. ``tests/test_plugins.py`` checks the plugin table built here against Apprise's own.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

CHECKED_WITH = "apprise 2.3"
log = logging.getLogger("simkeeper.notifier")
_NAME = re.compile(r"[\"']([^\"']+)[\"']")
_MODULE = re.compile(r"^(?P<name>(?!base|_)[a-z0-9_]+)(\.py)?$", re.I)  # Apprise's own filter


def fresh_pools() -> None:
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


def load_schemes(schemes: Iterable[str]) -> bool:
    """Load only the Apprise plugins serving ``schemes``, not all ~200 of them.

    Apprise loads every plugin the first time its plugin table is used; here the table starts
    with just the modules that declare these schemes (found by :func:`plugin_modules`), and
    more are added as other schemes are asked for. Anything unexpected (a scheme no source
    declares, a changed Apprise) falls back to Apprise's own load of every plugin, said once
    at WARNING: True then (what was registered in the table is gone).
    """
    from apprise.manager_plugins import NotificationManager

    manager = NotificationManager()  # type: ignore[no-untyped-call]
    wanted = {s.lower() for s in schemes} - {"console"}
    try:
        with manager._lock:
            if manager and not (getattr(manager, "_simkeeper_subset", False) and wanted):
                return False  # loaded in full (by Apprise), or nothing new is asked for
            _add_plugins(manager, wanted)
    except Exception as e:  # any surprise: let Apprise load everything, as it would
        _fell_back(e)
        manager._simkeeper_subset = False  # type: ignore[attr-defined]
        manager.unload_modules()  # type: ignore[no-untyped-call]
        manager.load_modules()  # type: ignore[no-untyped-call]
        return True
    return False


_warned = False


def _fell_back(error: Exception) -> None:
    """Say once per process that Apprise's plugin table was not as this module knows it. A
    scheme no plugin source declares is no surprise (a typo, which Apprise then confirms by
    loading everything): that one is said at DEBUG only."""
    global _warned
    if isinstance(error, LookupError):
        log.debug("loading every Apprise plugin: %s", error)
    elif not _warned:
        log.warning(
            "loading every Apprise plugin (slower start; checked against %s): %s",
            CHECKED_WITH,
            error,
        )
        _warned = True


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
