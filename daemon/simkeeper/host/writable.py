"""Can this process write a file there? Asked by ``check`` and by the daemon's calendar job."""

from __future__ import annotations

import os
import pwd
from pathlib import Path


def user_name() -> str:
    """This process's user, by name when it has one (a DynamicUser= has one too)."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def write_problem(path: Path) -> str | None:
    """Why ``path`` (a file, created when missing) cannot be written here, or None when it can.

    A missing file needs its nearest existing folder to be writable, since the folders up to it
    are created on the way.
    """
    if path.exists():
        if path.is_dir():
            return f"{path} is a folder, not a file"
        if not os.access(path, os.W_OK):
            return f"{path} is not writable by user {user_name()}"
        return None
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is not a folder, so {path} cannot be created"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot create {path}: the folder {folder} is not writable by user {user_name()}"
    return None


def explain(path: Path, error: OSError) -> str:
    """One line on why writing ``path`` failed with ``error``."""
    return write_problem(path) or f"cannot write {path}: {error.strerror or error}"
