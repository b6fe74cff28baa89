"""One broken number never silences the others (issue 10, the engine's second wall).

``check`` rejects the values that used to break the engine, so the broken number is planted
through a path that bypasses it: the config is loaded, then one number is replaced in memory
by one whose one-off deadline is the last day Python's dates have (9999-12-31, the
issue's poison entry): its reminder's expiry, the day after, overflows.
The pass still records and sends every other number's reminder, alerts the targets once that
the broken number cannot be worked out, and ``status`` names it.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime
from pathlib import Path

from click.testing import CliRunner
from conftest import write_config
from receivers import HTTPReceiver

from simkeeper.cli.main import cli
from simkeeper.config import load as config_mod
from simkeeper.core.model import Config
from simkeeper.core.redact import Redactor
from simkeeper.send.delivery import run_pass
from simkeeper.state.store import open_store

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)  # 14 days before "good" is due


def planted(tmp_path: Path, port: int) -> tuple[Path, Config]:
    path = write_config(
        tmp_path / "config.toml",
        f"""
        [settings]
        timezone = "UTC"
        remind = ["14d"]
        state = "{tmp_path / "state.db"}"

        [[notify]]
        name = "hook"
        url = "json://127.0.0.1:{port}/hook"

        [[numbers]]
        name = "far"
        number = "+44 7911 123457"
        due = 2026-12-31

        [[numbers]]
        name = "good"
        number = "+44 7911 123456"
        cycle = "monthly"
        due = 2026-12-15
        """,
    )
    config = config_mod.load(path)
    far = dataclasses.replace(config.numbers[0], due=date(9999, 12, 31))
    return path, dataclasses.replace(config, numbers=(far, config.numbers[1]))


def test_a_number_that_breaks_the_engine_never_stops_the_others(tmp_path):
    with HTTPReceiver() as hook:
        path, config = planted(tmp_path, hook.port)
        with open_store(tmp_path / "state.db") as store:
            report = run_pass(config, store, NOW, Redactor())
            assert report.sent == ["hook"] and report.failed == []
            assert [f.number.name for f in report.broken] == ["far"]
            again = run_pass(config, store, NOW.replace(minute=45), Redactor())
            assert again.sent == [] and [f.number.name for f in again.broken] == ["far"]
        assert len(hook.requests) == 1, hook.messages
        message = hook.messages[0]
        # The good number's reminder arrived, with the alert about the broken one, once.
        assert "good" in message and "renew by 2026-12-15" in message
        assert "far" in message and "cannot work out this number's deadlines" in message
        assert "OverflowError" in message

        # status names it (the planted config is what the command loads).
        runner = CliRunner()
        original = config_mod.load
        config_mod.load = lambda *a, **k: config
        try:
            shown = runner.invoke(
                cli, ["--config", str(path), "status", "--now", "2026-12-01T10:00"]
            )
            as_json = runner.invoke(
                cli,
                ["--config", str(path), "status", "--now", "2026-12-01T10:00", "--format", "json"],
            )
            upcoming = runner.invoke(
                cli, ["--config", str(path), "upcoming", "--now", "2026-12-01T10:00"]
            )
        finally:
            config_mod.load = original
        # A number simkeeper cannot remind needs attention: status exits 1 for a monitor.
        assert shown.exit_code == 1, shown.output
        assert "not worked out" in shown.output and "far: OverflowError" in shown.output
        assert "far: no reminders (OverflowError" in shown.output
        assert json.loads(as_json.output)["broken"][0]["name"] == "far"
        assert as_json.exit_code == 1 and "far: no reminders" in as_json.output
        assert upcoming.exit_code == 0, upcoming.output
        assert "good" in upcoming.stdout
