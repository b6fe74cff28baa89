"""Where the state lives: an SQLite file, or a PostgreSQL database (``settings.state =
"postgresql://..."``), and what only the file can do."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from simkeeper.core.errors import UsageError
from simkeeper.core.model import Config
from simkeeper.host import paths

if TYPE_CHECKING:
    from simkeeper.state.backup import Copied


def state_location(config: Config) -> Path | str:
    """What the state of ``config`` is opened from: the SQLite file, or the PostgreSQL URL
    (``settings.state = "postgresql://..."``; :func:`state_path` is then the local folder's
    file that the daemon's lock and the web keys sit beside)."""
    return config.settings.state_url or paths.default_state_path(config.settings.state)


def state_shown(config: Config) -> str:
    """The state's location as it may be shown (a URL without its user or password)."""
    url = config.settings.state_url
    if not url:
        return str(paths.default_state_path(config.settings.state))
    from simkeeper.state.dialect import shown  # no psycopg: only a URL's parts

    return shown(url)


def sqlite_only(config: Config, command: str) -> None:
    """Refuse a command that copies the SQLite file when the state is in PostgreSQL."""
    if config.settings.state_url:
        raise UsageError(
            f"simkeeper {command} copies an SQLite state; this state is in PostgreSQL",
            "use pg_dump and pg_restore (see the README: More than one host)",
        )


def backup_state(config: Config, dest: Path) -> Copied:
    """A consistent copy of the state database at ``dest`` (mode 0600), even while the daemon
    runs."""
    from simkeeper.state.backup import backup

    sqlite_only(config, "backup")
    return backup(paths.default_state_path(config.settings.state), dest)


def restore_state(config: Config, source: Path) -> tuple[Copied, Path | None]:
    """Put the backup ``source`` back as the state database; where the one it replaced is
    kept, if there was one."""
    from simkeeper.state.backup import restore

    sqlite_only(config, "restore")
    return restore(source, paths.default_state_path(config.settings.state))
