"""A target's own ``timeout`` and the repeat a slow target may get (issue 24, item 6), against
real slow HTTP receivers on 127.0.0.1. Nothing here times anything: each timeout is proved by
what was recorded (a timeout error, or a send recorded as sent)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import assert_one_line_error, run, sk, write_config

pytest_plugins = ["receivers"]

NUMBER = """
[[numbers]]
name = "giffgaff"
number = "+44 7911 123456"
cycle = "monthly"
due = 2026-12-15
"""


def config(tmp_path: Path, send_timeout: float, targets: str) -> Path:
    head = f"""
[settings]
timezone = "Europe/Berlin"
remind_at = "09:00"
remind = ["3d"]
send_timeout = {send_timeout}
state = "{tmp_path / "state.db"}"
"""
    return write_config(tmp_path / "config.toml", head + targets + NUMBER)


def deliveries(tmp_path: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(tmp_path / "state.db") as conn:
        return conn.execute("SELECT target, state, last_error FROM deliveries").fetchall()


def test_a_targets_own_timeout_overrides_send_timeout_and_a_resend_is_logged_as_a_repeat(
    tmp_path: Path, env: dict[str, str], make_http_receiver
) -> None:
    slow = make_http_receiver(hang=4)  # gets the message at once, answers after 4 s
    patient = make_http_receiver(hang=2)
    path = config(
        tmp_path,
        1,  # settings: 1 s, which the patient target's 2 s answer would not fit in
        f'\n[[notify]]\nname = "slow"\nurl = "{slow.json_url()}"\ntimeout = "1s"\n'
        f'\n[[notify]]\nname = "patient"\nurl = "{patient.json_url()}"\ntimeout = "30s"\n',
    )
    first = run(["--config", str(path), "send-due", "--now", "2026-12-12T09:00"], env)
    assert first.returncode == 1, (first.stdout, first.stderr)
    assert "sent: patient" in first.stdout  # its 30 s, not send_timeout's 1 s
    found = {t: (s, e) for t, s, e in deliveries(tmp_path)}
    assert found["patient"] == ("sent", None)
    assert found["slow"][0] == "failed" and "timed out after 1 s" in (found["slow"][1] or "")
    assert len(slow.requests) == 1  # ... yet it arrived: the target has the message
    assert "may be a repeat" not in first.stderr

    slow.hang = 0
    again = run(["--config", str(path), "send-due", "--now", "2026-12-12T09:30"], env)
    assert again.returncode == 0, (again.stdout, again.stderr)
    assert len(slow.requests) == 2 and len(patient.requests) == 1  # the repeat, and only there
    [line] = [ln for ln in again.stderr.splitlines() if "may be a repeat" in ln]
    assert "1 reminder(s) to slow again after a timeout" in line
    assert dict((t, s) for t, s, _ in deliveries(tmp_path)) == {"slow": "sent", "patient": "sent"}


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ('"30x"', "is not a duration"),
        ('"0s"', "must be between 1 and 300 seconds"),
        ('"6m"', "must be between 1 and 300 seconds"),
        ("[30]", "must be a number"),
    ],
)
def test_a_bad_timeout_is_a_config_error_with_line_and_key(
    tmp_path: Path, env: dict[str, str], value: str, says: str
) -> None:
    path = config(
        tmp_path, 10, f'\n[[notify]]\nname = "x"\nurl = "console://"\ntimeout = {value}\n'
    )
    assert_one_line_error(sk(path, env, "check"), f"{path}:11: notify[1].timeout", says)


def test_a_timeout_in_seconds_or_minutes_is_taken(tmp_path: Path, env: dict[str, str]) -> None:
    from simkeeper.config.load import load

    targets = "".join(
        f'\n[[notify]]\nname = "t{i}"\nurl = "console://"\ntimeout = {v}\n'
        for i, v in enumerate(['"30s"', '"2m"', "45", '" 1.5s "'])
    )
    targets += '\n[[notify]]\nname = "plain"\nurl = "console://"\n'
    loaded = load(config(tmp_path, 10, targets))
    assert [t.timeout for t in loaded.targets] == [30, 120, 45, 1.5, None]
    assert [t.send_timeout(10) for t in loaded.targets] == [30, 120, 45, 1.5, 10]
