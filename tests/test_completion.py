"""Shell completion through click's real protocol: the installed ``simkeeper`` asked by the
``_SIMKEEPER_COMPLETE`` variable, as the script ``simkeeper completion bash`` installs does;
NAME completes from the config's numbers (``--config`` before or after the command, or
$SIMKEEPER_CONFIG)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from conftest import SIMKEEPER, write_config

CONFIG = """
[settings]
timezone = "UTC"

[[notify]]
name = "c"
url = "console://"

[[numbers]]
name = "US T-Mobile"
number = "+1 206 555 0100"
cycle = "monthly"
due = 2026-12-15

[[numbers]]
name = "giffgaff"
number = "+44 7911 123456"
cycle = "monthly"
due = 2026-12-20

[[numbers]]
name = "Ultra PayGo"
number = "+1 415 555 2671"
cycle = "monthly"
due = 2026-12-03
"""


def complete(env: dict[str, str], words: list[str], **extra: str) -> list[str]:
    """What bash completion offers for the last word of ``words``."""
    line = " ".join(["simkeeper", *words])
    result = subprocess.run(
        [SIMKEEPER],
        env={
            **env,
            **extra,
            "_SIMKEEPER_COMPLETE": "bash_complete",
            "COMP_WORDS": line,
            "COMP_CWORD": str(len(words)),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


@pytest.fixture
def config(tmp_path):
    return write_config(tmp_path / "config.toml", CONFIG)


def test_name_completes_from_the_config(config, env):
    assert complete(env, ["--config", str(config), "renewed", "U"]) == [
        "plain,US T-Mobile",
        "plain,Ultra PayGo",
    ]
    assert complete(env, ["topup", "--config", str(config), "g"]) == ["plain,giffgaff"]
    assert complete(env, ["history", ""], SIMKEEPER_CONFIG=str(config)) == [
        "plain,US T-Mobile",
        "plain,giffgaff",
        "plain,Ultra PayGo",
    ]
    assert complete(env, ["undo", "x"], SIMKEEPER_CONFIG=str(config)) == []


def test_a_missing_or_broken_config_completes_nothing_and_says_nothing(tmp_path, env):
    broken = tmp_path / "broken.toml"
    broken.write_text("[[numbers]\n")
    assert complete(env, ["--config", str(broken), "renewed", ""]) == []
    assert complete(env, ["--config", str(tmp_path / "none.toml"), "renewed", ""]) == []


def test_commands_and_options_complete(env):
    assert "plain,send-due" in complete(env, ["se"])
    offered = complete(env, ["send-due", "--"])
    assert "plain,--dry-run" in offered and "plain,--config" in offered


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_completion_script_uses_the_variable(env, shell):
    result = subprocess.run(
        [SIMKEEPER, "completion", shell], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert f"_SIMKEEPER_COMPLETE={shell}_complete" in result.stdout


def test_bash_loads_the_script(env):
    bash = shutil.which("bash")
    assert bash, "bash is needed to load the completion script"
    script = f'eval "$({SIMKEEPER} completion bash)" && complete -p simkeeper'
    result = subprocess.run(
        [bash, "--norc", "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "_simkeeper_completion" in result.stdout and result.stdout.rstrip().endswith("simkeeper")
