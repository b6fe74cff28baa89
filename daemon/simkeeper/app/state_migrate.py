"""``simkeeper state migrate --to``: the state copied from where ``settings.state`` says into
a new SQLite file or PostgreSQL database (see :mod:`simkeeper.state.transfer`), refusing while
a daemon runs: one of this host (it holds the state folder's lock) or of any host sharing
either side (it noted a pass there in the last minutes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from simkeeper.app.stores import state_location, state_shown
from simkeeper.core.errors import StateError, UsageError
from simkeeper.core.model import Config
from simkeeper.host import paths
from simkeeper.state.dialect import is_url, shown

if TYPE_CHECKING:
    from simkeeper.state.rows import DaemonRecord
    from simkeeper.state.store import Store


@dataclass(frozen=True)
class Migrated:
    """What ``state migrate`` copied, from where to where (both as they may be shown)."""

    source: str
    dest: str
    rows: tuple[tuple[str, int], ...]


def _destination(to: str) -> Path | str:
    if is_url(to):
        return to
    return Path(to).expanduser().absolute()


def migrate_state(config: Config, to: str, now: datetime) -> Migrated:
    """Copy the state of ``config`` into ``to`` (a path or a postgresql:// URL, empty)."""
    from simkeeper.state.backup import state_lock
    from simkeeper.state.transfer import copy_state, running_daemons

    source, dest = state_location(config), _destination(to)
    if str(source) == str(dest):
        raise UsageError("the state is already there", "name another file or database")
    if isinstance(source, Path) and not source.exists():
        raise UsageError(f"there is no state at {source} yet", "nothing to migrate")
    lock = paths.default_state_path(config.settings.state)
    try:
        with state_lock(lock, exclusive=True), _opened(source) as old, _opened(dest) as new:
            for store in (old, new):
                _refuse_running(running_daemons(store, now))
            copied = copy_state(old, new)
    except StateError as e:
        if "daemon is using" not in str(e):
            raise
        raise UsageError(
            "a simkeeper daemon runs on this host", "stop it first, migrate, then start it"
        ) from None
    shown_dest = shown(dest) if isinstance(dest, str) else str(dest)
    return Migrated(state_shown(config), shown_dest, copied.rows)


def _opened(location: Path | str) -> Store:
    from simkeeper.state.store import open_store

    store = open_store(location)
    assert store is not None  # create=True never gives None
    return store


def _refuse_running(running: list[DaemonRecord]) -> None:
    if running:
        who = ", ".join(f"{d.host} (pid {d.pid}, last pass {d.last_pass})" for d in running)
        raise UsageError(
            f"simkeeper daemons share this state: {who}",
            "stop every daemon first (a pass during the copy would be lost), then migrate",
        )
