"""Honest about itself: one version shown everywhere, plans that name their sources, help texts
as the commands print them."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

import click
from click.testing import CliRunner
from conftest import SIMKEEPER, ok, send_due, write_config

import simkeeper
from simkeeper.cli.main import cli

REPO = Path(__file__).resolve().parent.parent


def test_the_version_is_written_once_and_shown_by_version():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "simkeeper.__version__"
    shown = subprocess.run([SIMKEEPER, "--version"], capture_output=True, text=True, check=True)
    assert shown.stdout == f"simkeeper, version {simkeeper.__version__}\n"


def test_the_changelog_starts_with_this_version_and_dates_every_release():
    headings = re.findall(r"^## (.+)$", (REPO / "CHANGELOG.md").read_text(), re.M)
    assert headings[0] == f"{simkeeper.__version__} (2026-12-07)"
    for heading in headings:
        assert re.fullmatch(r"\d+\.\d+\.\d+ \(\d{4}-\d\d-\d\d\)", heading), heading
    assert "0.3.0 (2026-11-25)" in headings


def test_no_test_tool_is_a_run_time_dependency():
    """The test and build tools are the ``test`` extra's; the catalogs are read with stdlib
    gettext (Babel formats only the web face's dates: tests/test_dependencies.py)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = [re.split(r"[<>=!~ \[]", d)[0].lower() for d in project["dependencies"]]
    for tool in ("pytest", "ruff", "mypy", "hypothesis", "setuptools", "coverage"):
        assert tool not in names


def test_the_commands_run_with_babel_unimportable(tmp_path):
    code = (
        "import sys; sys.modules['babel'] = None\n"
        "from simkeeper.cli.main import main\n"
        "sys.argv = ['simkeeper', '--config', sys.argv[1], 'upcoming', '--now', "
        "'2026-12-01T09:00']\n"
        "main()\n"
    )
    config = tmp_path / "config.toml"
    config.write_text(
        '[settings]\ntimezone = "Asia/Shanghai"\nlanguage = "zh-CN"\n'
        f'state = "{tmp_path / "s.db"}"\n[[notify]]\nname = "c"\nurl = "console://"\n'
        '[[numbers]]\nname = "A"\nnumber = "+44 7911 123456"\ncycle = "monthly"\n'
        "due = 2026-12-15\n"
    )
    config.chmod(0o600)
    python = Path(SIMKEEPER).parent / "python"
    result = subprocess.run(
        [str(python), "-c", code, str(config)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "期限" in result.stdout and "14 天" in result.stdout


def test_plans_describe_their_sources_never_how_they_were_made():
    runner = CliRunner()
    text = runner.invoke(cli, ["--config", "/nonexistent.toml", "plans"]).output
    data = json.loads(
        runner.invoke(cli, ["--config", "/nonexistent.toml", "plans", "--format", "json"]).output
    )
    for word in ("issue", "research"):
        assert word not in text.lower()
        assert word not in json.dumps(data).lower()
    for plan in data:
        wanted = "carrier" if plan["official"] else "forum"
        assert wanted in plan["checked_how"], plan
    assert "Sources: " in text


def helps(group: click.Group, path: list[str]) -> list[tuple[str, str]]:
    found = []
    for name, command in group.commands.items():
        out = CliRunner().invoke(cli, [*path, name, "--help"]).output
        found.append((" ".join([*path, name]), out))
        if isinstance(command, click.Group):
            found += helps(command, [*path, name])
    return found


def test_no_help_shows_restructuredtext_markup():
    for name, text in helps(cli, []):
        assert "``" not in text, (name, text)
        assert ":mod:" not in text and ":func:" not in text, name


def test_upcoming_help_says_what_the_table_shows(tmp_path, env):
    text = " ".join(CliRunner().invoke(cli, ["upcoming", "--help"]).output.split())
    assert "with negative days left" not in text and "(e.g. 6d ago;" in text
    config = write_config(
        tmp_path / "c.toml",
        '[settings]\ntimezone = "UTC"\nremind = ["3d"]\noverdue_for = "30d"\n'
        '[[notify]]\nname = "c"\nurl = "console://"\n'
        '[[numbers]]\nname = "A"\nnumber = "+44 7911 123456"\ncycle = "monthly"\n'
        "due = 2026-12-01\n",
    )
    assert send_due(config, env, "2026-11-28T09:00").endswith("sent: c")
    table = ok(config, env, "upcoming", "--now", "2026-12-07T09:00")
    assert "6d ago" in table
    shown = json.loads(ok(config, env, "upcoming", "--now", "2026-12-07T09:00", "--format", "json"))
    assert shown[0]["days_left"] == -6
