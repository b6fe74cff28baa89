"""Shared test helpers: run the installed ``simkeeper`` as a user would, in a sealed-off home."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SIMKEEPER = str(Path(sys.executable).parent / "simkeeper")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A private HOME / XDG tree so no test reads or writes the real user's files."""
    h = tmp_path / "home"
    (h / ".config").mkdir(parents=True)
    return h


@pytest.fixture
def env(home: Path, tmp_path: Path) -> dict[str, str]:
    """The environment for subprocesses: an odd machine time zone (Chatham, UTC+12:45/13:45)
    so nothing silently leans on the machine's zone, no colour, state in a temp folder."""
    e = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SIMKEEPER_", "NOTIFY_SOCKET", "WATCHDOG_", "JOURNAL_STREAM"))
        and k not in ("STATE_DIRECTORY", "CREDENTIALS_DIRECTORY", "NO_COLOR")
    }
    e.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        STATE_DIRECTORY=str(tmp_path / "state"),
        TZ="Pacific/Chatham",
        NO_COLOR="1",
        PYTHONUNBUFFERED="1",
    )
    return e


def write_config(path: Path, text: str) -> Path:
    """Write a dedented config file and return its path."""
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    path.chmod(0o600)
    return path


def run(
    args: list[str], env: dict[str, str], timeout: float = 60, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``simkeeper ARGS`` as a subprocess and capture its output."""
    return subprocess.run(
        [SIMKEEPER, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
    )
