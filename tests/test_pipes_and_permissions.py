"""Output to a closed pipe, and a state database the user cannot write: never an internal
error, and every message says what to do without advising anything that loses data."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import SIMKEEPER, ok, sk, unmeasured, write_config

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


# -- a state database this user cannot write ------------------------------------------------------

NOBODY = 65534
SIMPLE = """
[[numbers]]
name = "UK backup"
number = "+44 7911 123456"
cycle = "monthly"
due = 2026-12-15
"""


def _nobody_python() -> list[str]:
    """A command running simkeeper's CLI with an interpreter user nobody can execute.

    The venv's python may be a link into root's home (pyenv), out of nobody's reach; then the
    system python of the same version runs it, with the venv's site-packages added.
    """
    import site
    import sys

    check = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    main = "import sys; from simkeeper.cli.main import main; sys.argv[0] = 'simkeeper'; main()"
    if subprocess.run([*check, sys.executable, "-c", "import simkeeper"]).returncode == 0:
        return [*check, sys.executable, "-c", main]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = Path("/usr/bin") / version
    packages = next(p for p in site.getsitepackages() if p.endswith("site-packages"))
    code = f"import site; site.addsitedir({packages!r}); {main}"
    if system.exists() and subprocess.run([*check, str(system), "-c", "pass"]).returncode == 0:
        return [*check, str(system), "-c", code]
    pytest.skip(f"no {version} that user nobody can run")


@pytest.fixture
def shared(tmp_path_factory):
    """A folder every user can reach (pytest's own tmp is private to root)."""
    if os.geteuid() != 0:
        pytest.skip("needs root, to run simkeeper as user nobody with setpriv")
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="sk-shared-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def nobody(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**unmeasured(env), "HOME": "/nonexistent", "XDG_CONFIG_HOME": "/nonexistent"}
    return subprocess.run(
        [*_nobody_python(), *args], env=env, capture_output=True, text=True, timeout=60
    )


def shared_config(folder: Path, state: Path) -> Path:
    text = f'[settings]\ntimezone = "Europe/Berlin"\nstate = "{state}"\n{SIMPLE}'
    path = write_config(folder / "config.toml", text)
    path.chmod(0o644)
    return path


def test_read_only_commands_work_for_a_user_who_cannot_write_the_database(shared, env):
    state_dir = shared / "state"
    state = state_dir / "state.db"
    path = shared_config(shared, state)
    ok(path, env, "renewed", "UK backup", "--now", "2026-12-01T10:00")  # as root
    state.chmod(0o644)
    state_dir.chmod(0o755)  # nobody can read the file, and write neither it nor its folder
    before = {p.name: p.stat().st_mtime_ns for p in state_dir.iterdir()}
    base = ["--config", str(path)]
    for args in (
        ["upcoming", "--now", "2026-12-01T10:00", "--days", "60"],
        ["status", "--now", "2026-12-01T10:00"],
        ["history"],
        ["summary", "--now", "2026-12-01T10:00"],
        ["calendar", "--now", "2026-12-01T10:00"],
    ):
        result = nobody([*base, *args], env)
        assert result.returncode == 0, (args, result.stderr)
        assert result.stderr == "", args
    # What they read is what root recorded: the renewal marks 2026-12-15 done.
    history = nobody([*base, "history"], env).stdout
    assert "renewal" in history and "2026-12-15" in history
    upcoming = nobody([*base, "upcoming", "--now", "2026-12-01T10:00"], env).stdout
    assert "2026-12-15" not in upcoming and "2027-01-15" in upcoming
    # Nothing was written: no journal, no change to the file.
    assert {p.name: p.stat().st_mtime_ns for p in state_dir.iterdir()} == before
    # While a writer (the daemon, say) holds it open with its WAL files, reading still works.
    writer = sqlite3.connect(state)
    try:
        writer.execute("SELECT COUNT(*) FROM history").fetchone()
        assert (state_dir / "state.db-shm").exists()
        result = nobody([*base, "history"], env)
        assert result.returncode == 0 and "renewal" in result.stdout, result.stderr
    finally:
        writer.close()


def test_permission_problems_name_the_path_the_user_and_the_mode_needed(shared, env):
    state_dir = shared / "state"
    state = state_dir / "state.db"
    path = shared_config(shared, state)
    ok(path, env, "renewed", "UK backup", "--now", "2026-12-01T10:00")  # as root
    base = ["--config", str(path), "renewed", "UK backup", "--again", "--now", "2026-12-02"]

    # The file read-only for everyone (0444), owned by nobody, in a folder nobody may write.
    os.chown(state_dir, NOBODY, NOBODY)
    os.chown(state, NOBODY, NOBODY)
    state.chmod(0o444)
    result = nobody(base, env)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert str(state) in line and "nobody" in line and "0444" in line and "0600" in line
    assert "move it aside" not in line and "Traceback" not in line

    # The file fine, its folder not writable by nobody (SQLite needs its journal there).
    state.chmod(0o600)
    os.chown(state_dir, 0, 0)
    state_dir.chmod(0o755)
    result = nobody(base, env)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert str(state_dir) in line and "nobody" in line and "0755" in line and "write" in line
    assert "move it aside" not in line

    # Fixed as the message says: it works.
    os.chown(state_dir, NOBODY, NOBODY)
    assert nobody(base, env).returncode == 0


def test_only_a_damaged_database_is_to_be_moved_aside_and_kept(tmp_path, env):
    state = tmp_path / "state" / "state.db"
    state.parent.mkdir()
    state.write_bytes(b"this is not SQLite at all, just a stray file" * 200)
    path = shared_config(tmp_path, state)
    now = ["--now", "2026-12-01T10:00"]
    for args in (["renewed", "UK backup", *now], ["status", *now], ["history"]):
        result = sk(path, env, *args)
        assert result.returncode == 2, result.stderr
        [line] = result.stderr.splitlines()
        assert str(state) in line and "damaged" in line
        assert f"mv {state} {state}.damaged" in line, line
        assert "Traceback" not in line


def test_no_home_folder_is_a_clear_error_not_an_internal_one(shared, env):
    """A user with no $HOME and no passwd entry (a systemd DynamicUser) running a command
    without --config: one line saying what to set, never an internal error."""
    unknown = "61827"  # no passwd entry
    command = [a.replace(f"={NOBODY}", f"={unknown}") for a in _nobody_python()]
    bare = {k: v for k, v in env.items() if k not in ("HOME", "XDG_CONFIG_HOME")}
    bare.pop("SIMKEEPER_CONFIG", None)
    result = subprocess.run(
        [*command, "upcoming"], env=bare, capture_output=True, text=True, timeout=60
    )
    assert "internal error" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    assert "cannot find a home folder for the default config file" in result.stderr
    assert "--config" in result.stderr
