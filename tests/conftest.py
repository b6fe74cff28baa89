"""Shared test helpers: run the installed ``simkeeper`` as a user would, in a sealed-off home."""

from __future__ import annotations

import os
import sqlite3
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


def sk(config: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``simkeeper --config CONFIG ARGS``."""
    return run(["--config", str(config), *args], env)


def ok(config: Path, env: dict[str, str], *args: str) -> str:
    """Run ``simkeeper --config CONFIG ARGS``, insist it succeeded, and return its output."""
    result = sk(config, env, *args)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def send_due(config: Path, env: dict[str, str], now: str) -> str:
    """One ``send-due`` pass at ``now`` that must succeed; its output, stripped."""
    return ok(config, env, "send-due", "--now", now).strip()


def query(db: Path, sql: str) -> list[tuple]:
    """Rows of ``sql`` on the SQLite file ``db``."""
    conn = sqlite3.connect(db, timeout=10)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def snapshot(db: Path) -> tuple[bytes, list[str], dict[str, int]]:
    """The database file's bytes, a full SQL dump and the row count of every table."""
    raw = db.read_bytes()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        dump = list(conn.iterdump())
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        counts = {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()
    return raw, dump, counts


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """The command failed with exit 2 and exactly one ``error:`` line holding ``fragments``."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
