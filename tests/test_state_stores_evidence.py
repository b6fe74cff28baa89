"""The evidence tables (balance readings by USSD, the carrier's texts) on both stores: what is
recorded reads back the same from SQLite and PostgreSQL, a text delivered twice is kept once,
and a number's next check is claimed by one process of two."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from simkeeper.state.readings import NewReading
from simkeeper.state.store import Store, open_store

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
NUMBER = "+447911123456"


@pytest.fixture
def store(store_url: str):
    opened = open_store(store_url)
    assert opened
    try:
        yield opened
    finally:
        opened.close()


def reading(outcome: str = "ok", amount: Decimal | None = Decimal("12.50")) -> NewReading:
    return NewReading(
        number=NUMBER,
        name="travel",
        gateway="modem",
        code="*100#",
        outcome=outcome,
        day=date(2026, 12, 1),
        amount=amount,
        currency="GBP",
        until="2027-01-01" if outcome == "ok" else "",
        reply="Your balance is 12.50" if outcome == "ok" else "",
        error="" if outcome == "ok" else "no answer",
    )


def test_a_balance_reading_is_recorded_and_read_back(store: Store) -> None:
    first = store.record_reading(reading(), NOW)
    assert first.outcome == "ok" and first.amount == "12.50" and first.history_id
    late = store.record_reading(reading("timeout", None), NOW + timedelta(minutes=1))
    assert late.id > first.id and late.history_id is None and late.error == "no answer"

    assert [r.id for r in store.balance_readings(NUMBER)] == [late.id, first.id]
    assert store.latest_readings()[NUMBER] == late
    assert store.reading_counts() == {"ok": 1, "timeout": 1}
    # The ok reading is a ``reading`` in the history (source ``ussd``); undo takes both back.
    (entry,) = store.entries(NUMBER, "reading")
    assert entry.id == first.history_id and entry.source == "ussd"
    assert store.remove_last_entry(NUMBER) == entry
    assert [r.id for r in store.balance_readings(NUMBER)] == [late.id]


def test_a_number_s_check_is_claimed_once_until_its_next_time(store_url: str) -> None:
    a, b = open_store(store_url), open_store(store_url)
    assert a and b
    try:
        later = NOW + timedelta(hours=6)
        assert a.claim_balance_check(NUMBER, NOW, later)
        assert not b.claim_balance_check(NUMBER, NOW, later)  # claimed: not due again yet
        assert b.claim_balance_check(NUMBER, NOW, later, force=True)  # ``balance NAME``
        assert a.claim_balance_check(NUMBER, later, later + timedelta(hours=6))
        assert set(b.balance_checks_next()) == {NUMBER}
    finally:
        a.close()
        b.close()


def test_an_inbound_text_is_kept_once_and_read_back(store: Store) -> None:
    row = store.keep_inbound("phone", "ref-1", 1, "Carrier", "Top-up of 5", NOW, NOW)
    assert row is not None
    store.settle_inbound(row, NUMBER, "travel", "matched-topup", 7)
    # The same text again (a webhook retried, a poll repeated): kept already, nothing recorded.
    assert store.keep_inbound("phone", "ref-1", 1, "Carrier", "Top-up of 5", NOW, NOW) is None
    other = store.keep_inbound("phone", "ref-2", None, "12345", "", NOW, NOW)
    assert other is not None and other > row
    store.settle_inbound(other, None, None, "unmatched")

    texts = store.inbound_texts()
    assert [(t.id, t.ref, t.outcome) for t in texts] == [
        (other, "ref-2", "unmatched"),
        (row, "ref-1", "matched-topup"),
    ]
    assert texts[1].sim == 1 and texts[1].number == NUMBER and texts[1].history_id == 7
    assert texts[1].undone  # history row 7 does not exist
    assert store.inbound_counts() == {"matched-topup": 1, "unmatched": 1}
    store.tally_inbound("unmatched")
    assert store.inbound_counts()["unmatched"] == 2


def test_a_poll_keeps_its_last_answer(store: Store) -> None:
    store.note_poll("phone", NOW, None)
    store.note_poll("phone", NOW + timedelta(minutes=5), "timed out")
    poll = store.polls()["phone"]
    assert poll.error == "timed out" and poll.ok_at is not None and poll.ok_at < poll.polled_at


def test_the_metrics_count_the_readings_of_the_configured_state(
    store: Store, store_url: str, tmp_path
) -> None:
    # /metrics reads the state the config names: the PostgreSQL one too, never a local file.
    from conftest import write_config

    from simkeeper.app import load
    from simkeeper.app.balance import reading_counts

    store.record_reading(reading(), NOW)
    store.record_reading(reading("no-match", None), NOW + timedelta(minutes=1))
    path = write_config(
        tmp_path / "config.toml",
        f"""
        [settings]
        state = "{store_url}"

        [[gateways]]
        name = "modem"
        kind = "modemmanager"

        [[numbers]]
        name = "travel"
        number = "+44 7911 123456"
        due = 2026-12-15
        balance_check = {{ via = "modem", ussd = "*100#", pattern = '(?P<amount>[0-9.]+)' }}
        """,
    )
    config = load(path, lambda w: None)
    assert reading_counts(config) == {"ok": 1, "no-match": 1}
