"""Shared test helpers: run the installed ``simkeeper`` as a user would, in a sealed-off home."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, settings

from simkeeper.cli import main as cli

# Property tests are bounded by their number of examples, never by time: no per-example
# deadline and no "too slow" health check, which fire on a loaded machine, not on a defect
# (tests/test_suite_bounds.py checks every property test keeps to this).
settings.register_profile("simkeeper", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("simkeeper")

SIMKEEPER = str(Path(sys.executable).parent / "simkeeper")

# Commands that only make sense as a process of their own (signal handlers, a main loop):
# ``run`` always starts a real ``simkeeper`` process.
PROCESS_COMMANDS = frozenset({"run"})
# SIMKEEPER_TEST_SUBPROCESS=1 runs every command as a real process, as before (slow, for a
# check that the in-process runner hides nothing).
ALL_SUBPROCESS = os.environ.get("SIMKEEPER_TEST_SUBPROCESS") == "1"


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
        XDG_CACHE_HOME=str(home / ".cache"),
        STATE_DIRECTORY=str(tmp_path / "state"),
        TZ="Pacific/Chatham",
        NO_COLOR="1",
        PYTHONUNBUFFERED="1",
    )
    return e


def unmeasured(env: dict[str, str]) -> dict[str, str]:
    """``env`` for a process of another user, which cannot write the coverage data files:
    coverage's start-up variables removed (that process is not measured)."""
    return {k: v for k, v in env.items() if not k.startswith("COVERAGE_")}


@pytest.fixture
def coverage_paused() -> Iterator[None]:
    """No coverage measurement in this test (a property test running a thousand examples of
    code the other tests measure: tracing them would double its time and add nothing)."""
    try:
        import coverage
    except ImportError:
        yield
        return
    measuring = coverage.Coverage.current()
    if measuring is None:
        yield
        return
    measuring.stop()
    try:
        yield
    finally:
        measuring.start()


def write_config(path: Path, text: str) -> Path:
    """Write a dedented config file and return its path."""
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    path.chmod(0o600)
    return path


def run(
    args: list[str],
    env: dict[str, str],
    timeout: float = 60,
    input: str | None = None,
    *,
    process: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``simkeeper ARGS`` and capture its output, exit status and standard error.

    Pure CLI-output commands run in this process through click's ``CliRunner`` (one Python
    start-up saved per call, most of the suite's time); ``process=True``, the long-running
    commands (``PROCESS_COMMANDS``) and ``SIMKEEPER_TEST_SUBPROCESS=1`` run the installed
    console script as a real subprocess.
    """
    if process or ALL_SUBPROCESS or PROCESS_COMMANDS.intersection(args):
        return subprocess.run(
            [SIMKEEPER, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
        )
    return run_in_process(args, env, input)


class _ConsoleScript(click.Command):
    """Stands for the console script under ``CliRunner``: calls ``simkeeper.cli.main.main`` (with
    its own mapping of click errors to one line) on ``sys.argv`` as the real script would,
    and waits for the non-daemon threads it started, as the interpreter does at exit."""

    def main(self, args: object = None, prog_name: object = None, **extra: object) -> None:  # type: ignore[override]
        sys.argv = ["simkeeper", *(args or ())]  # type: ignore[misc]
        before = set(threading.enumerate())
        try:
            cli.main()
        finally:
            for thread in set(threading.enumerate()) - before:
                # An executor's idle workers end only at interpreter exit: not waited for.
                if not thread.daemon and not thread.name.startswith("ThreadPoolExecutor"):
                    thread.join()


@contextmanager
def _process_state() -> Iterator[None]:
    """Save and restore what a command may change for the whole process: the logging tree
    (``logs.setup`` replaces the root handlers), ``sys.argv`` and the working folder."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {n: logging.getLogger(n).level for n in ("simkeeper", "apprise")}
    argv, cwd = sys.argv, os.getcwd()
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, lvl in levels.items():
            logging.getLogger(name).setLevel(lvl)
        sys.argv = argv
        os.chdir(cwd)


def run_in_process(
    args: list[str], env: dict[str, str], input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``simkeeper ARGS`` in this process with exactly the environment ``env`` and
    non-terminal standard streams, shaped like ``subprocess.run``'s result."""
    overlay: dict[str, str | None] = {k: None for k in os.environ if k not in env}
    overlay.update(env)
    with _process_state():
        result = CliRunner().invoke(
            _ConsoleScript("simkeeper"), args, input=input, env=overlay, catch_exceptions=False
        )
    return subprocess.CompletedProcess(
        [SIMKEEPER, *args], result.exit_code, result.stdout, result.stderr
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


# -- the two state stores ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[object]:
    """One throwaway PostgreSQL cluster per test process (see tests/pg.py)."""
    from pg import Cluster

    cluster = Cluster()
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's state lives, once per store: an SQLite file, then a fresh PostgreSQL
    database on the session's cluster. Pass it to ``open_store`` or ``settings.state``."""
    if request.param == "sqlite":
        return str(tmp_path / "state.db")
    return request.getfixturevalue("pg_cluster").new_database()
