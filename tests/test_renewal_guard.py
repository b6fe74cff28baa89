"""Renewals you cannot record twice by accident: ``renewed`` refuses a second renewal for a
deadline already marked (or on the same day) unless ``--again``, refuses a ``--date`` before the
renewal recorded last, and ``undo`` takes the last renewal or top-up back. Each run as a
subprocess against a real SQLite file; times in the config's zone (Asia/Tokyo)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import assert_one_line_error, ok, sk, snapshot, write_config

NUMBERS = """
[[numbers]]
name = "US T-Mobile"
number = "+1 206 555 0100"
cycle = "monthly"
due = 2026-12-15

[[numbers]]
name = "Keepalive eSIM"
number = "+44 7911 123456"
rolling = true
cycle = "every 180 days"
last_renewed = 2026-06-01

[[numbers]]
name = "Ultra PayGo"
number = "+1 206 555 0142"
cycle = "monthly"
due = 2026-12-03
cost = 3.00
currency = "USD"
balance = 10.00
balance_date = 2026-11-20
"""
NOW = "2026-12-01T10:00"


def make_config(tmp_path: Path) -> Path:
    text = (
        f"""
[settings]
timezone = "Asia/Tokyo"
state = "{tmp_path / "state.db"}"
"""
        + NUMBERS
    )
    return write_config(tmp_path / "config.toml", text)


def next_deadline(path: Path, env: dict[str, str], name: str, now: str = NOW) -> str:
    out = ok(path, env, "upcoming", "--days", "400", "--now", now, "--format", "json")
    return next(
        d["deadline"] for d in json.loads(out) if d["name"] == name and d["kind"] == "renew"
    )


def test_renewed_three_times_marks_one_deadline_and_says_what_is_recorded(tmp_path, env):
    path = make_config(tmp_path)
    out = ok(path, env, "renewed", "US T-Mobile", "--now", NOW)
    assert out.strip() == "recorded: US T-Mobile renewed on 2026-12-01; deadline 2026-12-15 done"
    db = tmp_path / "state.db"
    before = snapshot(db)
    # The same command again, the same day or days later: refused, nothing written.
    for now in (NOW, "2026-12-03T10:00"):
        result = sk(path, env, "renewed", "US T-Mobile", "--now", now)
        assert_one_line_error(result, "US T-Mobile", "2026-12-15", "--again")
        assert "already recorded" in result.stderr
        assert snapshot(db) == before
    assert next_deadline(path, env, "US T-Mobile") == "2027-01-15"
    # --again records it on purpose: the next deadline is marked too.
    out = ok(path, env, "renewed", "US T-Mobile", "--again", "--now", NOW)
    assert "deadline 2027-01-15 done" in out
    assert next_deadline(path, env, "US T-Mobile") == "2027-02-15"


def test_a_renewal_after_the_marked_deadline_passed_is_for_the_next_one(tmp_path, env):
    path = make_config(tmp_path)
    ok(path, env, "renewed", "US T-Mobile", "--now", NOW)  # marks 2026-12-15
    out = ok(path, env, "renewed", "US T-Mobile", "--now", "2026-12-20T10:00")
    assert "deadline 2027-01-15 done" in out


def test_a_rolling_number_renewed_twice_the_same_day_is_refused(tmp_path, env):
    path = make_config(tmp_path)
    ok(path, env, "renewed", "Keepalive", "--now", NOW)
    result = sk(path, env, "renewed", "Keepalive", "--now", NOW)
    assert_one_line_error(result, "Keepalive eSIM: a renewal on 2026-12-01 is already recorded")
    # Another day is a new keep-alive action, not an accident.
    out = ok(path, env, "renewed", "Keepalive", "--now", "2026-12-02T10:00")
    assert "next deadline 2027-05-31" in out


def test_a_date_before_the_last_renewal_is_refused(tmp_path, env):
    path = make_config(tmp_path)
    ok(path, env, "renewed", "Keepalive", "--date", "2026-11-25", "--now", NOW)
    db = tmp_path / "state.db"
    before = snapshot(db)
    for extra in ([], ["--again"]):
        result = sk(path, env, "renewed", "Keepalive", "--date", "2026-11-20", *extra, "--now", NOW)
        assert_one_line_error(result, "--date 2026-11-20 is before", "recorded on 2026-11-25")
        assert snapshot(db) == before


def test_undo_removes_the_last_renewal_or_topup_and_deadlines_move_back(tmp_path, env):
    path = make_config(tmp_path)
    assert next_deadline(path, env, "US T-Mobile") == "2026-12-15"
    ok(path, env, "renewed", "US T-Mobile", "--amount", "15", "--now", NOW)
    assert next_deadline(path, env, "US T-Mobile") == "2027-01-15"
    out = ok(path, env, "undo", "US T-Mobile", "--now", NOW)
    assert out.splitlines() == [
        "removed: US T-Mobile renewal of 15 on 2026-12-01 (deadline 2026-12-15 done), "
        "recorded 2026-12-01T10:00+09:00",
        "next deadline: 2026-12-15 (14d)",
    ]
    assert next_deadline(path, env, "US T-Mobile") == "2026-12-15"
    # Once undone, the renewal can be recorded again without --again.
    ok(path, env, "renewed", "US T-Mobile", "--now", NOW)

    # A top-up: the projected balance moves back.
    ok(path, env, "topup", "Ultra", "20", "--now", NOW)
    out = ok(path, env, "undo", "Ultra", "--now", NOW)
    assert out.startswith("removed: Ultra PayGo top-up of 20 USD on 2026-12-01")
    assert "balance: 10.00 USD" in out

    # Nothing left: one line, exit 2.
    assert_one_line_error(sk(path, env, "undo", "Ultra", "--now", NOW), "nothing is recorded")


def test_a_number_can_be_named_by_its_digits_without_the_plus(tmp_path, env):
    path = make_config(tmp_path)
    out = ok(path, env, "renewed", "447911123456", "--now", NOW)
    assert out.startswith("recorded: Keepalive eSIM renewed on 2026-12-01")
    out = ok(path, env, "renewed", "1 206 555 0100", "--now", NOW)
    assert out.startswith("recorded: US T-Mobile renewed on 2026-12-01")
    assert ok(path, env, "history", "12065550100").count("renewal") == 1
