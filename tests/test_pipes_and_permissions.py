"""Output to a closed pipe, and a state database the user cannot write: never an internal
error, and every message says what to do without advising anything that loses data."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import SIMKEEPER, ok, write_config

MANY = "".join(
    f"""
[[numbers]]
name = "line {i:03d}"
number = "+44 7911 {123000 + i:06d}"
cycle = "monthly"
due = 2026-12-{1 + i % 28:02d}
"""
    for i in range(300)
)


def make_config(tmp_path: Path, numbers: str = MANY) -> Path:
    text = (
        f"""
[settings]
timezone = "Europe/Berlin"
state = "{tmp_path / "state" / "state.db"}"
"""
        + numbers
    )
    return write_config(tmp_path / "config.toml", text)


def run_into_closed_pipe(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run simkeeper with its standard output a pipe nobody reads any more."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [SIMKEEPER, *args], env=env, stdout=write_end, stderr=subprocess.PIPE, timeout=120
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "command",
    [
        ["status", "--now", "2026-11-20"],
        ["status", "--format", "json", "--now", "2026-11-20"],
        ["upcoming", "--days", "3660", "--now", "2026-11-20"],
        ["history"],
        ["calendar", "--now", "2026-11-20"],
        ["summary", "--now", "2026-11-20"],
        ["--help"],
    ],
)
def test_output_to_a_closed_pipe_ends_quietly(tmp_path, env, command):
    path = make_config(tmp_path)
    ok(path, env, "renewed", "line 001", "--now", "2026-11-20")  # so history has a line
    result = run_into_closed_pipe(["--config", str(path), *command], env)
    assert result.returncode in (0, 141), result.stderr
    assert result.stderr == b""


def test_status_piped_into_head_in_a_real_shell(tmp_path, env):
    path = make_config(tmp_path)
    script = f'set -o pipefail; "{SIMKEEPER}" --config "{path}" upcoming --days 3660 | head -1'
    result = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.stdout.startswith("DEADLINE")
    assert result.stderr == ""
    assert result.returncode in (0, 141)
