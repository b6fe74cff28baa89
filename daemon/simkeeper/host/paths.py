"""Where simkeeper's files live by default: the config file and the state folder.

``$SIMKEEPER_CONFIG`` and systemd's ``$STATE_DIRECTORY`` come first; then root gets the
system paths (``/etc/simkeeper``, ``/var/lib/simkeeper``) and a user the XDG ones.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from simkeeper.core.errors import UsageError


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """``$SIMKEEPER_CONFIG``, else ``/etc/simkeeper/config.toml`` for root, else the XDG path."""
    env = os.environ if env is None else env
    if env.get("SIMKEEPER_CONFIG"):
        return Path(env["SIMKEEPER_CONFIG"])
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/etc/simkeeper/config.toml")
    base = env.get("XDG_CONFIG_HOME") or str(_home(env, "config file") / ".config")
    return Path(base) / "simkeeper" / "config.toml"


def _home(env: Mapping[str, str], what: str) -> Path:
    """This user's home folder, where the default ``what`` lives; a usage error without one
    (no ``$HOME`` and no passwd entry, as for a systemd DynamicUser)."""
    if env.get("HOME"):
        return Path(env["HOME"])
    try:
        return Path.home()
    except (RuntimeError, KeyError):
        raise UsageError(
            f"cannot find a home folder for the default {what}",
            "set HOME, or name the file with --config (and settings.state)",
        ) from None


def default_state_path(settings_state: Path | None, env: Mapping[str, str] | None = None) -> Path:
    """Where the database lives: ``settings.state``, else systemd's ``$STATE_DIRECTORY``, else
    ``/var/lib/simkeeper`` for root and ``$XDG_STATE_HOME/simkeeper`` for a user."""
    env = os.environ if env is None else env
    if settings_state:
        return settings_state
    if env.get("STATE_DIRECTORY"):
        return Path(env["STATE_DIRECTORY"].split(":")[0]) / "simkeeper.db"
    if os.geteuid() == 0:
        return Path("/var/lib/simkeeper/simkeeper.db")
    base = env.get("XDG_STATE_HOME") or str(_home(env, "state folder") / ".local" / "state")
    return Path(base) / "simkeeper" / "simkeeper.db"


def state_folder(env: Mapping[str, str] | None = None) -> Path:
    """The folder of the default database; relative ``state`` and ``calendar`` paths start
    here."""
    return default_state_path(None, env).parent
