"""``upcoming`` and ``check`` print exactly what simkeeper 0.2 printed, cache or no cache.

The expected files in ``tests/golden/`` were written by simkeeper 0.2 (commit db97458, before
the speed work of issue 14) from :func:`mixed_config`: a few hundred numbers of every plan kind
(monthly, yearly, every N days and months, weekly, once, rolling, built-in plans, pay-as-you-go
with a balance, stages after a deadline, month-end due dates, wide CJK names, several time
zones). Each command runs twice: the first run fills the validated-config cache, the second
reads it. ``python tests/test_output_identity.py DAEMON_SRC`` rewrites the files with the
``simkeeper`` package found in ``DAEMON_SRC``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import sk

GOLDEN = Path(__file__).parent / "golden"
COUNT = 300
ZONES = ["Europe/London", "Asia/Shanghai", "America/Los_Angeles", "Pacific/Chatham", "UTC"]
COMMANDS = {
    "upcoming-60": ["upcoming", "--days", "60", "--now", "2026-11-23"],
    "upcoming-400": ["upcoming", "--days", "400", "--now", "2026-11-23T08:00"],
    "upcoming-json": ["upcoming", "--days", "90", "--now", "2026-11-23", "--format", "json"],
    "check": ["check"],
}


def _plan(i: int) -> str:
    day, month, renewed = i % 28 + 1, i % 12 + 1, i // 12 % 9 + 1
    kinds = [
        f'cycle = "monthly"\ndue = 2026-12-{day:02d}',
        f'cycle = "yearly"\ndue = 2027-{month:02d}-{day:02d}\n'
        'after_deadline = [{ after = "0d", state = "grace" }, { after = "30d", state = "gone" }]',
        f'cycle = "every {[28, 30, 90, 180][i % 4]} days"\ndue = 2026-{month:02d}-{day:02d}',
        f'cycle = "every 3 months"\ndue = 2026-11-{day:02d}\nremind = ["7d", "1d"]',
        f'cycle = "weekly"\ndue = 2026-10-{day:02d}',
        f"due = 2026-12-{day:02d}",
        f'cycle = "every 180 days"\nrolling = true\nlast_renewed = 2026-0{renewed}-{day:02d}',
        f'plan = "giffgaff"\nlast_renewed = 2026-0{renewed}-{day:02d}',
        f'plan = "ultra-paygo"\ndue = 2026-12-{day:02d}\nbalance = {i % 13}.50\n'
        "balance_date = 2026-11-20",
        f'cycle = "fortnightly"\ndue = 2026-11-{day:02d}\ncost = {i % 9 + 1}\ncurrency = "GBP"',
        f'cycle = "monthly"\ndue = 2027-0{[1, 3, 5][i % 3]}-{28 + i % 4}',
        f'cycle = "every 2 months"\ndue = 2026-08-{29 + i % 3}\n'
        'after_deadline = [{ after = "7d", state = "barred" }]',
    ]
    return kinds[i % len(kinds)]


def mixed_config(count: int = COUNT, language: str = "en") -> str:
    """A config of ``count`` numbers of every plan kind, with a target holding a password."""
    parts = [
        f'[settings]\ntimezone = "Europe/London"\nlanguage = "{language}"\n\n'
        '[[notify]]\nname = "hook"\nurl = "json://user:s3cr3t-pw@127.0.0.1:9/"\n'
    ]
    for i in range(count):
        name = f"上海 线路 {i}" if i % 5 == 0 else f"line {i}"
        parts.append(
            f'[[numbers]]\nname = "{name}"\nnumber = "+44 74{i // 1000000:02d} {i % 1000000:06d}"\n'
            f'carrier = "Carrier {i % 7}"\ntimezone = "{ZONES[i % len(ZONES)]}"\n{_plan(i)}\n'
        )
    return "\n".join(parts)


def _golden(name: str, language: str) -> Path:
    return GOLDEN / f"{name}.{language}.txt"


def _shown(result: subprocess.CompletedProcess[str], config: Path) -> str:
    text = f"exit {result.returncode}\n--- stdout\n{result.stdout}--- stderr\n{result.stderr}"
    return text.replace(str(config), "CONFIG")


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_output_is_what_0_2_printed(tmp_path: Path, env: dict[str, str], language: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(mixed_config(language=language), encoding="utf-8")
    config.chmod(0o644)  # readable by others with a password inline: a warning every time
    env = {**env, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    for name, args in COMMANDS.items():
        expected = _golden(name, language).read_text(encoding="utf-8")
        for run in ("cold", "warm"):
            assert _shown(sk(config, env, *args), config) == expected, (name, run)


def _write(src: Path) -> None:
    """Rewrite the expected files with the ``simkeeper`` package in ``src``."""
    import tempfile

    GOLDEN.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "PYTHONPATH": str(src),
            "HOME": tmp,
            "STATE_DIRECTORY": tmp,
            "TZ": "Pacific/Chatham",
            "NO_COLOR": "1",
            "XDG_CACHE_HOME": tmp,
        }
        for language in ("en", "zh-CN"):
            config = Path(tmp) / "config.toml"
            config.write_text(mixed_config(language=language), encoding="utf-8")
            config.chmod(0o644)
            for name, args in COMMANDS.items():
                code = "import sys; from simkeeper.cli.main import main; main()"
                result = subprocess.run(
                    [sys.executable, "-c", code, "--config", str(config), *args],
                    capture_output=True,
                    text=True,
                    env=env,
                )
                _golden(name, language).write_text(_shown(result, config), encoding="utf-8")


if __name__ == "__main__":
    _write(Path(sys.argv[1]))
