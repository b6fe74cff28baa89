"""The application layer in-process: typed status reports, claims timed by ``now``, finding a
number, and refusing an accidental renewal. Real config files and a real SQLite store in tmp."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import write_config

from simkeeper import app
from simkeeper.core.errors import UsageError
from simkeeper.core.model import Config
from simkeeper.present.report import StatusReport
from simkeeper.present.views import attention_text, status_json, status_text
from simkeeper.send.delivery import DigestSlot
from simkeeper.state.outbox import STALE_CLAIM, process_token

NOW = datetime(2026, 12, 20, 9, 0, tzinfo=UTC)


def load(tmp_path: Path) -> Config:
    path = write_config(
        tmp_path / "config.toml",
        f"""
        [settings]
        timezone = "UTC"
        state = "{tmp_path / "state.db"}"

        [[numbers]]
        name = "travel"
        number = "+44 7911 123456"
        rolling = true
        cycle = "every 30 days"
        last_renewed = 2026-11-01

        [[numbers]]
        name = "tram"
        number = "+44 7911 123457"
        cycle = "monthly"
        due = 2027-01-10

        [[notify]]
        name = "hook"
        url = "json://127.0.0.1:9/"
        """,
    )
    warnings: list[str] = []
    config = app.load(path, warnings.append, for_sending=False)
    assert warnings == []
    return config


def test_status_without_a_database_is_a_typed_report_rendered_twice(tmp_path: Path) -> None:
    config = load(tmp_path)
    report = app.status(config, NOW)
    assert isinstance(report, StatusReport)
    assert not report.found and report.last_pass is None and not report.waiting
    assert [d.number.name for d in report.at_risk] == ["travel"]
    assert not report.ok
    attention = [attention_text(a) for a in report.needs]
    assert "travel: OVERDUE (window passed), deadline 2026-12-01" in attention
    lines = list(status_text(report, config))
    assert lines[0] == f"state: {tmp_path / 'state.db'} (not created yet)"
    assert "last pass: none recorded" in lines
    data = json.loads(status_json(report, config))
    assert data["attention"] == attention
    assert data["at_risk"][0]["name"] == "travel"
    assert not (tmp_path / "state.db").exists()  # looking never creates it


def test_a_claim_is_stale_by_the_now_it_is_given(tmp_path: Path) -> None:
    config = load(tmp_path)
    slot = DigestSlot(NOW, NOW + timedelta(days=1))
    with app.open_state(config) as store:
        store.record([(slot, {"kind": "digest", "name": "digest", "items": []}, ["hook"])], NOW)
        token = process_token()  # this process: alive, so only age makes the claim stale
        assert len(store.claim("hook", NOW, token)) == 1
        assert store.release_stale(NOW + STALE_CLAIM - timedelta(seconds=1)) == 0
        assert store.release_stale(NOW + STALE_CLAIM + timedelta(seconds=1)) == 1
        assert [d.state for d in store.open_deliveries()] == ["pending"]


def test_find_number_by_name_number_or_prefix(tmp_path: Path) -> None:
    numbers = load(tmp_path).numbers
    assert app.find_number(numbers, "travel").name == "travel"
    assert app.find_number(numbers, "447911123457").name == "tram"
    assert app.find_number(numbers, "trav").name == "travel"
    with pytest.raises(UsageError, match="matches several numbers"):
        app.find_number(numbers, "tr")
    with pytest.raises(UsageError, match='no number is called "bus"'):
        app.find_number(numbers, "bus")


def test_a_second_renewal_on_one_day_is_refused_unless_again(tmp_path: Path) -> None:
    config = load(tmp_path)
    number = app.find_number(config.numbers, "tram")
    on = date(2026, 12, 20)
    with app.open_state(config) as store:
        first = app.record_renewal(store, number, on, NOW, Decimal("10"))
        assert first.covers == date(2027, 1, 10)
        with pytest.raises(UsageError, match="a renewal on 2026-12-20 is already recorded"):
            app.record_renewal(store, number, on, NOW, Decimal("10"))
        app.record_renewal(store, number, on, NOW, Decimal("10"), again=True)
        assert [e.kind for e in store.entries(number.number)] == ["renewal", "renewal"]
    entry, _ = app.undo_last(config, number)
    assert entry.kind == "renewal" and entry.amount == "10"
