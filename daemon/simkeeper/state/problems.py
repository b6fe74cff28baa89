"""What a failure to open or write the state database means to the user: which path, which
user and what mode it needs, or (only for real damage) how to set it aside."""

from __future__ import annotations

import os
import pwd
import sqlite3
import stat
from pathlib import Path

from simkeeper.core.errors import StateError
from simkeeper.state.diskfull import (
    disk_full,
    is_disk_full,
)

DAMAGE = ("file is not a database", "malformed", "corrupt")


def state_error(path: Path, error: sqlite3.Error, writing: bool = True) -> StateError:
    """The one line to say about an SQLite error on the state database.

    Only real damage suggests moving the file aside (and says how to keep it); a permission
    problem names the path, the user and the mode needed; anything else is said as it is.
    """
    if is_disk_full(error, path):  # reading too: a full disk is never damage or permissions
        return disk_full(path)
    text = str(error)
    if any(word in text.lower() for word in DAMAGE):
        return StateError(
            f"the state database {path} is damaged ({text}); keep it and start afresh with "
            f"'mv {path} {path}.damaged' (your numbers are in the config; the renewals, top-ups "
            f"and sent reminders recorded in it stay in that file, and 'sqlite3 {path}.damaged "
            f".recover' may get them back)"
        )
    if writing and ("readonly" in text or "unable to open" in text or "disk I/O" in text):
        problem = permission_problem(path)
        if problem:
            return StateError(problem)
    return StateError(f"cannot {'open' if writing else 'read'} the state database {path}: {text}")


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _mode(path: Path) -> str:
    st = path.stat()
    return f"mode {stat.S_IMODE(st.st_mode):04o} owned by {_user(st.st_uid)}"


def cannot_create(path: Path, e: OSError) -> StateError:
    """The error for a state database (or its folder) that cannot be created at ``path``."""
    if isinstance(e, PermissionError):
        why = permission_problem(path) or f"cannot create the state database {path}: {e.strerror}"
        return StateError(why)
    return StateError(
        f"cannot create the state database {path}: {e.strerror} (make the folder writable "
        f"by this user, or set settings.state to a writable path)"
    )


def permission_problem(path: Path) -> str:
    """Why this user cannot write the state database at ``path``: the path, the user, and the
    mode it needs. Empty when no permission is missing."""
    me = _user(os.geteuid())
    who = f"user {me} (uid {os.geteuid()})"
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return (
            f"cannot write the state database {path}: it is {_mode(path)}, and {who} needs to "
            f"read and write it (mode 0600, owned by {me}: {_fix(path, '600', me)})"
        )
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        return (
            f"cannot write the state database {path}: its folder {folder} is {_mode(folder)}, "
            f"and {who} needs to write in it for SQLite's journal files (mode 0700, owned by "
            f"{me}: {_fix(folder, '700', me)}, or set settings.state to a folder that user owns)"
        )
    return ""


def _fix(path: Path, mode: str, me: str) -> str:
    owner = _user(path.stat().st_uid)
    if owner == me:
        return f"chmod {mode} {path}"
    return f"run simkeeper as {owner}, or chown {me} {path}"
