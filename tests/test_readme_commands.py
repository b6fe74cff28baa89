"""Every ``simkeeper ...`` command in the README's shell blocks runs as written.

Each one (the cron line included) is taken from README.md, run against a temporary copy of the
example config and a temporary state, home and working folder, with ``--now`` appended where
the command takes it and ``--root TMP`` for ``init --system`` (so the test never writes
``/etc``). A usage error (an unknown option, an option in the wrong place) fails the test, and
so does any failure at all: the README's commands must work.
"""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
from pathlib import Path

import click
import pytest
from conftest import SIMKEEPER
from receivers import free_port, wait_for

from simkeeper.cli import main as cli_mod

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
NOW = "2026-12-14T09:00"
_FENCE = re.compile(r"^( *)```sh\n(.*?)^\1```", re.M | re.S)
_CRON = re.compile(r"^(\S+\s+){5}(?=\S)")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def shell_lines() -> list[str]:
    """The lines of every ```sh block, comments and all."""
    return [line.strip() for m in _FENCE.finditer(README) for line in m.group(2).splitlines()]


def simkeeper_command(line: str) -> list[str] | None:
    """The words of ``line`` from the ``simkeeper`` executable on, if it runs simkeeper."""
    cron = _CRON.match(line)
    if cron and line[0] in "*0123456789":  # a crontab line: five time fields, then the command
        line = line[cron.end() :]
    words = shlex.split(line, comments=True)
    while words and (words[0] == "sudo" or _ASSIGNMENT.match(words[0])):
        words = words[1:]
    if words and (words[0] == "simkeeper" or words[0].endswith("/bin/simkeeper")):
        return words
    return None


COMMANDS = [(line, words) for line in shell_lines() if (words := simkeeper_command(line))]


def test_the_readme_commands_are_found():
    names = {w for _, words in COMMANDS for w in words}
    assert {"check", "upcoming", "send-due", "run", "init", "backup", "restore"} <= names
    cron = [line for line, _ in COMMANDS if line.startswith("*/")]
    assert len(cron) == 1, cron
    assert cron[0].split()[5].startswith("/"), "cron has no venv on PATH: give the full path"


def _subcommand(args: list[str]) -> tuple[int, click.Command]:
    """Where the command name is in ``args`` (after the group options), and the command."""
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] == "--config" else 1
    if i >= len(args) or args[i] not in cli_mod.cli.commands:
        pytest.fail(f"no simkeeper command in {args}")
    return i, cli_mod.cli.commands[args[i]]


def prepared(words: list[str], config: Path, root: Path) -> list[str]:
    """The README command, made to run here: the temporary config, ``--now``, ``--root``."""
    args = words[1:]
    for i, word in enumerate(args[:-1]):
        if word == "--config":
            args[i + 1] = str(config)
    at, command = _subcommand(args)
    takes = {opt for p in command.params for opt in getattr(p, "opts", [])}
    if "--now" in takes and "--now" not in args:
        args += ["--now", NOW]
    if args[at] == "init" and "--system" in args:
        args += ["--root", str(root)]
    return [SIMKEEPER, *args]


@pytest.fixture
def world(tmp_path: Path, env: dict[str, str]):
    """A temporary config (the example, with its state here), home and working folder."""
    folder = tmp_path / "etc"
    folder.mkdir()
    text = (REPO / "config.example.toml").read_text(encoding="utf-8")
    text = text.replace('# state = "simkeeper.db"', f'state = "{tmp_path / "state.db"}"', 1)
    assert str(tmp_path / "state.db") in text
    config = folder / "config.toml"
    config.write_text(text, encoding="utf-8")
    config.chmod(0o600)
    work = tmp_path / "work"
    work.mkdir()
    env = {**env, "SIMKEEPER_CONFIG": str(config)}
    # A state to back up and restore, as a machine in use has.
    first = subprocess.run(
        [SIMKEEPER, "send-due", "--now", NOW], env=env, capture_output=True, text=True, cwd=work
    )
    assert first.returncode == 0, first.stdout + first.stderr
    return config, tmp_path / "image", work, env


def run_daemon(
    args: list[str], env: dict[str, str], work: Path, ready: str = "started"
) -> tuple[int, str]:
    """Start ``run`` (or ``web``), wait until it says it is ``ready``, stop it with SIGTERM."""
    log = work / "daemon.log"
    with open(log, "w") as stderr:
        proc = subprocess.Popen(args, env=env, stderr=stderr, stdout=subprocess.DEVNULL, cwd=work)
        try:
            wait_for(lambda: proc.poll() is not None or ready in log.read_text(), 30)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=30)
    return code, log.read_text()


@pytest.mark.parametrize("line,words", COMMANDS, ids=[line for line, _ in COMMANDS])
def test_every_readme_command_runs_as_written(world, line, words):
    config, root, work, env = world
    args = prepared(words, config, root)
    if "run" in args[1:] and _subcommand(args[1:])[1].name == "run":
        code, text = run_daemon(args, env, work)
        assert "simkeeper started" in text, text
    elif _subcommand(args[1:])[1].name == "web":  # the example's [web] table, switched on
        text = config.read_text(encoding="utf-8")
        listen = '# [web]\n# listen = "127.0.0.1:8787"'
        assert listen in text
        config.write_text(text.replace(listen, f'[web]\nlisten = "127.0.0.1:{free_port()}"'))
        code, text = run_daemon(args, env, work, "serving the web face")
        assert "serving the web face" in text, text
    else:
        if "restore" in args:  # restoring needs a backup, as on the machine moved to
            made = subprocess.run(
                [SIMKEEPER, "backup", args[-1]], env=env, capture_output=True, text=True, cwd=work
            )
            assert made.returncode == 0, made.stdout + made.stderr
        result = subprocess.run(args, env=env, capture_output=True, text=True, cwd=work, timeout=60)
        code, text = result.returncode, result.stdout + result.stderr
    assert "--help')" not in text and "No such option" not in text, f"usage error: {line}\n{text}"
    # `status` exits 1 when something needs attention (the example has an overdue number by
    # then): that is its answer, not a failure to run.
    is_status = _subcommand(args[1:])[1].name == "status"
    assert code == 0 or (is_status and code == 1), f"{line}\n{text}"
    assert "Traceback" not in text
