"""Which heavy libraries each command loads: a command pays only for what it uses.

Apprise (about 200 plugins), Jinja2, waitress, icalendar, sqlite-utils and Babel are each
imported by the one module that needs them, and that module only on the path that needs it.
Each command here runs as a real process whose ``sitecustomize`` writes ``sys.modules`` at
exit; the daemon's own check is in tests/test_worker.py.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import SIMKEEPER, write_config
from webface import free_port, request, web_config, web_process

NOW = "2026-12-01T09:00"  # two weeks before the deadline, before any reminder
HEAVY = ("apprise", "jinja2", "waitress", "icalendar", "sqlite_utils", "babel", "phonenumbers")
MODULES_AT_EXIT = """
import atexit, os, sys

def _write():
    with open(os.path.join(os.environ["SK_MODULES_DIR"], f"{os.getpid()}.txt"), "w") as f:
        f.write("\\n".join(sorted(sys.modules)))

atexit.register(_write)
"""
CONFIG = """
[settings]
timezone = "Europe/London"
state = "{state}"
[[notify]]
name = "hook"
url = "json://127.0.0.1:9/hook"
[[numbers]]
name = "UK backup"
number = "+44 7911 123456"
cycle = "monthly"
due = 2026-12-15
"""
# What each command may load of HEAVY: everything else it must not.
ALLOWED = {
    "check": {"apprise", "phonenumbers"},  # checks the URLs with Apprise, parses the numbers
    "upcoming": {"phonenumbers"},
    "status": {"phonenumbers", "sqlite_utils"},
    "history": {"phonenumbers", "sqlite_utils"},
    "web": {"phonenumbers", "sqlite_utils", "jinja2", "waitress", "babel"},
}


def dumping(tmp_path: Path, env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    hooks = tmp_path / "site"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(MODULES_AT_EXIT)
    found = tmp_path / "modules"
    found.mkdir()
    path = os.pathsep.join(p for p in (str(hooks), env.get("PYTHONPATH", "")) if p)
    return found, {**env, "PYTHONPATH": path, "SK_MODULES_DIR": str(found)}


def heavy_loaded(found: Path) -> set[str]:
    (dump,) = found.glob("*.txt")  # one process: the command itself
    return {m.split(".")[0] for m in dump.read_text().split()} & set(HEAVY)


@pytest.mark.parametrize("command", ["check", "upcoming", "status", "history"])
def test_each_command_loads_only_the_libraries_it_uses(tmp_path, env, command):
    config = write_config(tmp_path / "c.toml", CONFIG.format(state=tmp_path / "s.db"))
    found, env = dumping(tmp_path, env)
    args = [SIMKEEPER, "--config", str(config), command]
    if command in ("upcoming", "status"):
        args += ["--now", NOW]  # nothing due yet: status says all is well (exit 0)
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    loaded = heavy_loaded(found)
    assert loaded - ALLOWED[command] == set(), f"{command} loaded {sorted(loaded)}"
    assert "phonenumbers" in loaded  # the first run validates the numbers (no cache yet)


def test_the_web_face_loads_no_apprise_and_no_calendar_until_asked(tmp_path, env):
    port = free_port()
    text = CONFIG.format(state=tmp_path / "s.db") + web_config(port)
    config = write_config(tmp_path / "c.toml", text)
    found, env = dumping(tmp_path, env)
    with web_process(config, env, port, NOW):
        assert request(port, "/healthz").status in (200, 503)  # answered (no daemon: 503)
    loaded = heavy_loaded(found)
    assert loaded - ALLOWED["web"] == set(), f"web loaded {sorted(loaded)}"
    assert {"jinja2", "waitress"} <= loaded
