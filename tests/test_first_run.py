"""The first run shows the product working on any date: ``simkeeper demo`` writes the example
config with its dates moved to today, so a reminder is due at once and no number has aged into
"lost"; ``make run`` runs it and a reminder prints through console:// straight away (the time it
takes is measured in bench/bench_first_run.py)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from receivers import wait_for

from simkeeper.cli.main import cli
from simkeeper.config.docs import EXAMPLE_DAY, demo_config, example_config

REPO = Path(__file__).resolve().parent.parent
# Days spread over six years (leap days and month ends included), each at three hours of the
# example's zone (Asia/Shanghai): a fixed list, so the test is bounded by its inputs.
DAYS = [date(2026, 1, 1) + timedelta(days=37 * k) for k in range(60)]
DAYS += [date(2028, 2, 29), date(2027, 1, 31), date(2026, 12, 31), EXAMPLE_DAY]
HOURS = ["00:00", "09:30", "23:59"]


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, (args, result.output)
    return result.output


def test_the_demo_is_the_example_with_only_its_dates_and_state_changed():
    text = demo_config(EXAMPLE_DAY, "/tmp/demo/state.db")
    body = [line for line in text.splitlines()[1:] if not line.startswith("state = ")]
    assert body == example_config().splitlines()
    later = demo_config(EXAMPLE_DAY + timedelta(days=400), "/tmp/demo/state.db")
    assert "due = 2028-01-10" in later  # 2026-12-06, 400 days on


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_on_any_day_the_demo_has_a_reminder_due_and_nothing_lost(tmp_path, monkeypatch, day):
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "unused"))
    folder = tmp_path / "demo"
    said = invoke("demo", str(folder), "--now", day.isoformat())
    assert f"with its dates moved to {day.isoformat()}" in said
    config = str(folder / "config.toml")
    assert "OK, 4 number(s), 1 notify target(s)" in invoke("--config", config, "check")
    for hour in HOURS:
        now = f"{day.isoformat()}T{hour}"
        table = invoke("--config", config, "upcoming", "--now", now)
        assert "OVERDUE" not in table, (now, table)
        preview = invoke("--config", config, "send-due", "--dry-run", "--now", now)
        assert preview.startswith("would send to console:\n  simkeeper reminder: "), preview
    assert not (folder / "state.db").exists()  # the previews recorded nothing


def test_a_new_demo_starts_from_a_fresh_state(tmp_path):
    folder = tmp_path / "demo"
    invoke("demo", str(folder), "--now", "2027-03-03")
    config = str(folder / "config.toml")
    assert "sent: console" in invoke("--config", config, "send-due", "--now", "2027-03-03T10:00")
    assert "nothing to send" in invoke("--config", config, "send-due", "--now", "2027-03-03T10:01")
    invoke("demo", str(folder), "--now", "2027-03-03")
    assert "sent: console" in invoke("--config", config, "send-due", "--now", "2027-03-03T10:02")
    assert oct((folder / "config.toml").stat().st_mode & 0o777) == "0o600"


def test_make_run_prints_a_reminder_at_once(tmp_path):
    """``make run`` on the real clock, no edit: check, upcoming, then the daemon, whose first
    pass prints a reminder through console://. The venv is this test run's (-o: never rebuilt)."""
    venv = Path(sys.executable).parent.parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIMKEEPER_", "NOTIFY_"))}
    env["PYTHONUNBUFFERED"] = "1"
    out = tmp_path / "run.log"
    with out.open("w") as log:
        proc = subprocess.Popen(
            [
                "make",
                "--no-print-directory",
                "-o",
                f"{venv}/bin/simkeeper",
                "run",
                f"VENV={venv}",
                f"DEMO={tmp_path / 'demo'}",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        printed = wait_for(lambda: "--- simkeeper reminder: " in out.read_text(), timeout=90)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    text = out.read_text()
    assert printed, text
    assert "OK, 4 number(s), 1 notify target(s)" in text
    assert "OVERDUE" not in text and "Traceback" not in text
    # The daemon's log lines are stamped in the config's zone (Asia/Shanghai), with the offset.
    assert re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00 INFO simkeeper started", text, re.M)
