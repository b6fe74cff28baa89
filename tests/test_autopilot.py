"""The autopilot (issue 21): simkeeper sends the keep-alive text itself, within a budget, and
records the renewal only when the carrier confirms.

Against real protocol peers on this machine: an HTTP server on 127.0.0.1 speaking SMS Gateway
for Android's API as its client library calls it, and python-dbusmock's ModemManager on a
private dbus-daemon bus (tests/gateway_peers.py). The database is a real SQLite file.
"""

from __future__ import annotations

import json
import multiprocessing
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import ok, query, sk, write_config
from gateway_peers import ModemManagerPeer, SmsGatewayPeer, dbus_available

from simkeeper.config.load import load
from simkeeper.state.store import open_store

DUE = "2026-11-01T10:00:00Z"  # giffgaff, last renewed 2026-06-01: deadline 2026-12-01, lead 30d


def android_config(tmp_path: Path, peer: SmsGatewayPeer, **kw: str) -> Path:
    budget = kw.get("budget", '{ GBP = 2.00, per = "365d" }')
    cost = kw.get("cost", "0.10")
    extra = kw.get("extra", "")
    return write_config(
        tmp_path / "config.toml",
        f"""
        [settings]
        timezone = "Europe/London"
        send_timeout = {kw.get("timeout", "5")}
        keepalive_budget = {budget}
        {kw.get("settings", "")}

        [[gateways]]
        name = "phone"
        kind = "android-sms-gateway"
        url = "{peer.url}"
        user = "sms"
        password = "${{SMSGATE_PASSWORD}}"

        [[notify]]
        name = "console"
        url = "console://"

        [[notify]]
        name = "pager"
        url = "console://?format=text"
        tags = ["urgent"]

        [[numbers]]
        name = "giffgaff"
        number = "+44 7911 123456"
        plan = "giffgaff"
        last_renewed = 2026-06-01
        notify = ["console"]
        escalate = ["urgent"]
        keepalive = {{ via = "phone", sim = 2, to = "+447700900123", text = "hi", cost = {cost} }}
        {extra}
        """,
    )


@pytest.fixture
def genv(env: dict[str, str]) -> dict[str, str]:
    return {**env, "SMSGATE_PASSWORD": "pw"}


def attempts(tmp_path: Path) -> list[tuple]:
    return query(
        tmp_path / "state" / "simkeeper.db",
        "SELECT name, state, cost, currency, msg_id, reason FROM keepalive_attempts ORDER BY id",
    )


def renewals(tmp_path: Path) -> list[tuple]:
    return query(
        tmp_path / "state" / "simkeeper.db",
        "SELECT name, date, amount, currency, note FROM history WHERE kind = 'renewal'",
    )


def fallbacks(tmp_path: Path) -> list[tuple]:
    """The fallback reminders in the outbox: (payload note, targets)."""
    rows = query(
        tmp_path / "state" / "simkeeper.db",
        "SELECT r.payload, group_concat(d.target) FROM reminders r JOIN deliveries d"
        " ON d.reminder_id = r.id WHERE r.kind = 'keepalive' GROUP BY r.id",
    )
    return [(json.loads(p)["note"], sorted(t.split(","))) for p, t in rows]


# -- config ---------------------------------------------------------------------------------


def test_check_names_file_line_key_and_fix_for_every_autopilot_key(tmp_path, genv):
    config = write_config(
        tmp_path / "bad.toml",
        """
        [settings]
        keepalive_budget = { GBP = 2.00, per = "365x" }
        keepalive_wait = "100h"
        [[gateways]]
        name = "phone"
        kind = "android"
        [[gateways]]
        name = "m"
        kind = "modemmanager"
        url = "http://x"
        [[gateways]]
        name = "p2"
        kind = "android-sms-gateway"
        url = "http://127.0.0.1:1"
        password = "${NOT_SET_ANYWHERE}"
        [[numbers]]
        name = "ultra"
        number = "+1 415 555 2671"
        plan = "ultra-paygo"
        due = 2026-12-03
        keepalive = { via = "m", to = "+447700900123", text = "hi", cost = 0.10 }
        [[numbers]]
        name = "gg"
        number = "+44 7911 123456"
        plan = "giffgaff"
        last_renewed = 2026-06-01
        keepalive = { via = "nope", sim = 4, to = "999", text = "", cost = -1, extra = 1 }
        """,
    )
    result = sk(config, genv, "check")
    assert result.returncode == 2
    err = result.stderr
    assert "Traceback" not in err
    expected = [
        ("bad.toml:2: settings.keepalive_budget.per", "use Nd or Nw"),
        ("bad.toml:3: settings.keepalive_wait", '"6h"'),
        ("bad.toml:6: gateways[1].kind", "use android-sms-gateway or modemmanager"),
        ("bad.toml:10: gateways[2].url", "applies to kind"),
        ("gateways[3].password", "${NOT_SET_ANYWHERE} is not set"),
        ("numbers[1].keepalive", 'on plan "ultra-paygo" a text does not keep the line alive'),
        ("numbers[1].keepalive", "rolling numbers only"),
        ("numbers[2].keepalive.extra", 'unknown key "extra"'),
        ("numbers[2].keepalive.via", 'no gateway is called "nope"'),
        ("numbers[2].keepalive.sim", "use 1, 2 or 3"),
        ("numbers[2].keepalive.text", "missing or empty"),
        ("numbers[2].keepalive.cost", "must be above 0"),
        ("numbers[2].keepalive.to", 'plan "giffgaff" says a text to 999 does not count'),
    ]
    for where, what in expected:
        assert any(where in line and what in line for line in err.splitlines()), (where, err)


@pytest.mark.parametrize("to", ["112", "+44 800 123 4567", "+448081234567"])
def test_check_refuses_a_to_the_plan_says_does_not_count(tmp_path, genv, to):
    with SmsGatewayPeer(tmp_path / "posts.jsonl") as peer:
        config = android_config(tmp_path, peer)
        text = config.read_text().replace('to = "+447700900123"', f'to = "{to}"')
        config.write_text(text)
        result = sk(config, genv, "check")
    assert result.returncode == 2
    assert "numbers[1].keepalive.to" in result.stderr
    assert "does not count" in result.stderr and "text another, chargeable number" in result.stderr


def test_the_password_is_a_secret_nowhere_shown(tmp_path, genv):
    with SmsGatewayPeer(tmp_path / "posts.jsonl", password="s3cr3t-pw") as peer:
        config = android_config(tmp_path, peer)
        env = {**genv, "SMSGATE_PASSWORD": "s3cr3t-pw"}
        loaded = load(config, env=env)
        assert "s3cr3t-pw" in loaded.secrets
        out = ok(config, env, "keepalive", "--dry-run", "--now", DUE)
        out += ok(config, env, "keepalive", "giffgaff", "--now", DUE)
        out += sk(config, env, "status", "--now", DUE).stdout
        out += ok(config, env, "history")
    assert "s3cr3t-pw" not in out
    assert "+447700900123" not in out and "7911123456" not in out
    db = (tmp_path / "state" / "simkeeper.db").read_bytes()
    assert b"s3cr3t-pw" not in db


# -- android-sms-gateway end to end ---------------------------------------------------------


def test_android_keeps_a_giffgaff_line_alive_end_to_end(tmp_path, genv):
    with SmsGatewayPeer(tmp_path / "posts.jsonl") as peer:
        config = android_config(tmp_path, peer)
        before = ok(config, genv, "upcoming", "--now", DUE, "--days", "400")
        assert "2026-12-01" in before
        early = ok(config, genv, "send-due", "--now", "2026-10-31T10:00:00Z")
        assert peer.posts() == []  # not due before deadline - lead
        ok(config, genv, "send-due", "--now", DUE)
        posts = peer.posts()
        assert len(posts) == 1
        sent = posts[0]
        assert sent["phoneNumbers"] == ["+447700900123"]
        assert sent["textMessage"] == {"text": "hi"}
        assert sent["simNumber"] == 2 and sent["withDeliveryReport"] is True
        (row,) = attempts(tmp_path)
        assert row[4] == sent["id"]  # the id we gave the gateway was recorded
        # Delivered on the gateway's next answer: proof, the renewal recorded with its source.
        ok(config, genv, "send-due", "--now", "2026-11-01T10:01:00Z")
        assert [r[1] for r in attempts(tmp_path)] == ["proved"]
        (renewal,) = renewals(tmp_path)
        assert renewal[:4] == ("giffgaff", "2026-11-01", "0.1", "GBP")
        assert renewal[4] == f"auto: phone, message {sent['id']}"
        after = ok(config, genv, "upcoming", "--now", "2026-11-02T10:00:00Z", "--days", "400")
        assert "2027-05-01" in after and "2026-12-01" not in after
        history = ok(config, genv, "history")
        assert "renewal 0.1 GBP - auto: phone, message" in history
        assert "proved" in history and sent["id"] in history
        status = sk(config, genv, "status", "--now", "2026-11-02T10:00:00Z").stdout
        assert "spent 0.10 of 2.00 GBP" in status
        # Later passes never send again for this deadline, nor for the new one before its time.
        for day in ("2026-11-03", "2026-11-20", "2026-12-01"):
            ok(config, genv, "send-due", "--now", f"{day}T10:00:00Z")
        assert len(peer.posts()) == 1
        assert "nothing to send" in early


def test_a_failed_text_gives_the_reminder_with_why_through_escalate(tmp_path, genv):
    with SmsGatewayPeer(tmp_path / "posts.jsonl", mode="fail") as peer:
        config = android_config(tmp_path, peer)
        ok(config, genv, "send-due", "--now", DUE)
        out = ok(config, genv, "send-due", "--now", "2026-11-01T10:01:00Z")
        assert [r[1] for r in attempts(tmp_path)] == ["failed"]
        assert renewals(tmp_path) == []
        ((note, targets),) = fallbacks(tmp_path)
        assert "keep-alive text failed (RESULT_ERROR_GENERIC_FAILURE)" in note
        assert targets == ["console", "pager"]  # the number's targets and its escalate ones
        assert "renew by hand" in out
        for day in ("2026-11-02", "2026-11-10"):
            ok(config, genv, "send-due", "--now", f"{day}T10:00:00Z")
        assert len(peer.posts()) == 1  # never retried: it may have cost money
        assert len(fallbacks(tmp_path)) == 1


def test_the_budget_is_never_exceeded_and_its_refusal_reaches_the_owner(tmp_path, genv):
    with SmsGatewayPeer(tmp_path / "posts.jsonl") as peer:
        second = """
        [[numbers]]
        name = "three"
        number = "+44 7911 123457"
        plan = "three-uk"
        last_renewed = 2026-05-06
        keepalive = { via = "phone", to = "+447700900124", text = "hi", cost = 1.50, lead = "30d" }
        """
        config = android_config(tmp_path, peer, cost="1.00", extra=second)
        plan = ok(config, genv, "keepalive", "--dry-run", "--now", DUE)
        assert "would send now" in plan
        ok(config, genv, "send-due", "--now", DUE)
        states = {r[0]: r[1] for r in attempts(tmp_path)}
        assert sorted(states.values()) == ["refused", "sending"] or "accepted" in states.values()
        assert len(peer.posts()) == 1
        refused = [name for name, state in states.items() if state == "refused"]
        assert len(refused) == 1
        notes = [n for n, _ in fallbacks(tmp_path)]
        assert any("would exceed the keep-alive budget" in n for n in notes)
        spent = sum(Decimal(r[2]) for r in attempts(tmp_path) if r[1] != "refused")
        assert spent <= Decimal("2.00")


def test_without_a_budget_the_autopilot_sends_nothing(tmp_path, genv):
    with SmsGatewayPeer(tmp_path / "posts.jsonl") as peer:
        config = android_config(tmp_path, peer)
        text = config.read_text()
        text = "\n".join(line for line in text.splitlines() if "keepalive_budget" not in line)
        text = text.replace("cost = 0.10,", "cost = 0.10,").replace(
            "last_renewed = 2026-06-01", 'last_renewed = 2026-06-01\ncurrency = "GBP"'
        )
        config.write_text(text)
        ok(config, genv, "send-due", "--now", DUE)
        refused = sk(config, genv, "keepalive", "giffgaff", "--now", DUE)
    assert peer.posts() == []
    assert refused.returncode == 2 and "autopilot is off" in refused.stderr


def test_a_hanging_gateway_is_asked_later_never_sent_again(tmp_path, genv):
    with SmsGatewayPeer(tmp_path / "posts.jsonl", mode="hang") as peer:
        config = android_config(tmp_path, peer, timeout="1")
        result = sk(config, genv, "keepalive", "giffgaff", "--now", DUE)
        assert result.returncode == 1 and "never sent twice" in result.stdout
        assert [r[1] for r in attempts(tmp_path)] == ["sending"]
        peer.mode = "deliver"
        peer.release.set()
        ok(config, genv, "send-due", "--now", "2026-11-01T10:05:00Z")
    assert len(peer.posts()) == 1
    assert [r[1] for r in attempts(tmp_path)] == ["proved"]
    assert len(renewals(tmp_path)) == 1


def test_a_500_that_kept_nothing_is_failed_not_resent(tmp_path, genv):
    with SmsGatewayPeer(tmp_path / "posts.jsonl", mode="error") as peer:
        config = android_config(tmp_path, peer)
        result = sk(config, genv, "keepalive", "giffgaff", "--now", DUE)
        assert result.returncode == 1
        ok(config, genv, "send-due", "--now", "2026-11-01T10:05:00Z")
        assert [r[1] for r in attempts(tmp_path)] == ["failed"]
        assert "never reached the gateway" in attempts(tmp_path)[0][5]
        # The owner may try again by hand: nothing went out.
        peer.mode = "deliver"
        again = sk(config, genv, "keepalive", "giffgaff", "--now", "2026-11-01T11:00:00Z")
        assert again.returncode == 0, again.stdout
    assert len(peer.posts()) == 2 and len({p["id"] for p in peer.posts()}) == 2


def test_a_500_after_keeping_it_is_settled_by_its_id(tmp_path, genv):
    with SmsGatewayPeer(tmp_path / "posts.jsonl", mode="error-kept") as peer:
        config = android_config(tmp_path, peer)
        ok(config, genv, "send-due", "--now", DUE)
        ok(config, genv, "send-due", "--now", "2026-11-01T10:05:00Z")
    assert len(peer.posts()) == 1
    assert [r[1] for r in attempts(tmp_path)] == ["proved"]


def test_no_proof_within_the_wait_is_expired_and_the_owner_reminded(tmp_path, genv):
    with SmsGatewayPeer(tmp_path / "posts.jsonl", mode="pending") as peer:
        config = android_config(tmp_path, peer, settings='keepalive_wait = "2h"')
        ok(config, genv, "send-due", "--now", DUE)
        ok(config, genv, "send-due", "--now", "2026-11-01T11:00:00Z")
        assert [r[1] for r in attempts(tmp_path)] in (["accepted"], ["sending"])
        ok(config, genv, "send-due", "--now", "2026-11-01T12:01:00Z")
    assert [r[1] for r in attempts(tmp_path)] == ["expired"]
    assert renewals(tmp_path) == []
    ((note, _),) = fallbacks(tmp_path)
    assert "did not confirm it within 2 h" in note


def test_sent_without_a_delivery_report_counts_once_the_wait_is_over(tmp_path, genv):
    with SmsGatewayPeer(tmp_path / "posts.jsonl", mode="sent") as peer:
        config = android_config(tmp_path, peer, settings='keepalive_wait = "1h"')
        ok(config, genv, "send-due", "--now", DUE)
        ok(config, genv, "send-due", "--now", "2026-11-01T10:30:00Z")
        assert [r[1] for r in attempts(tmp_path)] == ["accepted"]
        ok(config, genv, "send-due", "--now", "2026-11-01T11:01:00Z")
    assert [r[1] for r in attempts(tmp_path)] == ["proved"]


def test_metrics_show_spend_per_currency_and_attempts_by_outcome(tmp_path, genv):
    from simkeeper import app

    with SmsGatewayPeer(tmp_path / "posts.jsonl") as peer:
        config = android_config(tmp_path, peer)
        ok(config, genv, "send-due", "--now", DUE)
        ok(config, genv, "send-due", "--now", "2026-11-01T10:01:00Z")
    cfg = load(config, env={**genv, "STATE_DIRECTORY": str(tmp_path / "state")})
    import os

    old = os.environ.get("STATE_DIRECTORY")
    os.environ["STATE_DIRECTORY"] = str(tmp_path / "state")
    try:
        figures = {m.name: m for m in app.metrics(cfg, datetime(2026, 11, 2, tzinfo=UTC))}
    finally:
        if old is None:
            del os.environ["STATE_DIRECTORY"]
        else:
            os.environ["STATE_DIRECTORY"] = old
    assert figures["simkeeper_keepalive_spent"].samples == (((("currency", "GBP"),), 0.1),)
    by = dict((labels[0][1], v) for labels, v in figures["simkeeper_keepalive_attempts"].samples)
    assert by["proved"] == 1 and by["failed"] == 0


def test_the_status_page_shows_the_spend(tmp_path, genv):
    from webface import free_port, request, web_config, web_process

    from simkeeper.send.links import page_token

    port = free_port()
    with SmsGatewayPeer(tmp_path / "posts.jsonl") as peer:
        config = android_config(tmp_path, peer)
        config.write_text(config.read_text() + web_config(port))
        ok(config, genv, "send-due", "--now", DUE)
        ok(config, genv, "send-due", "--now", "2026-11-01T10:01:00Z")
    key = bytes.fromhex((tmp_path / "state" / "web.key").read_text().strip())
    with web_process(config, genv, port, "2026-11-02T10:00:00Z"):
        page = request(port, f"/?token={page_token(key, 'status')}")
    assert page.status == 200, page.text
    assert "Autopilot: 0.10 of 2.00 GBP spent in the last 365 days" in page.text


# -- ModemManager end to end ----------------------------------------------------------------

needs_dbus = pytest.mark.skipif(
    dbus_available() is not None and not __import__("os").environ.get("CI"),
    reason=str(dbus_available()),
)


def modem_config(tmp_path: Path, **kw: str) -> Path:
    return write_config(
        tmp_path / "config.toml",
        f"""
        [settings]
        timezone = "Europe/London"
        send_timeout = {kw.get("timeout", "5")}
        keepalive_budget = {{ GBP = 2.00, per = "365d" }}

        [[gateways]]
        name = "modem"
        kind = "modemmanager"
        modem = "{kw.get("modem", "any")}"

        [[notify]]
        name = "console"
        url = "console://"

        [[numbers]]
        name = "giffgaff"
        number = "+44 7911 123456"
        plan = "giffgaff"
        last_renewed = 2026-06-01
        keepalive = {{ via = "modem", to = "+447700900123", text = "hi", cost = 0.10 }}
        """,
    )


@needs_dbus
@pytest.mark.parametrize("modem", ["any", "356938035643809"])
def test_modemmanager_keeps_a_giffgaff_line_alive_end_to_end(tmp_path, env, modem):
    with ModemManagerPeer(tmp_path, mode="ok") as mm:
        menv = {**env, "DBUS_SYSTEM_BUS_ADDRESS": mm.address}
        config = modem_config(tmp_path, modem=modem)
        out = sk(config, menv, "send-due", "--now", DUE)
        assert mm.sent() == [
            {
                "path": "/org/freedesktop/ModemManager1/SMS/0",
                "number": "+447700900123",
                "text": "hi",
            }
        ], (out.stdout, out.stderr)
        assert [r[1] for r in attempts(tmp_path)] == ["proved"]
        (renewal,) = renewals(tmp_path)
        assert renewal[:4] == ("giffgaff", "2026-11-01", "0.1", "GBP")
        after = ok(config, menv, "upcoming", "--now", "2026-11-02T10:00:00Z", "--days", "400")
        assert "2027-05-01" in after
        for day in ("2026-11-02", "2026-11-20"):
            ok(config, menv, "send-due", "--now", f"{day}T10:00:00Z")
        assert len(mm.sent()) == 1


@needs_dbus
def test_modemmanager_unknown_modem_and_failing_send_fall_back(tmp_path, env):
    with ModemManagerPeer(tmp_path, mode="fail") as mm:
        menv = {**env, "DBUS_SYSTEM_BUS_ADDRESS": mm.address}
        config = modem_config(tmp_path)
        result = sk(config, menv, "keepalive", "giffgaff", "--now", DUE)
        assert result.returncode == 1 and "Core.Failed" in result.stdout
        assert [r[1] for r in attempts(tmp_path)] == ["failed"]
        assert mm.sent() == []
        assert len(fallbacks(tmp_path)) == 1


@needs_dbus
def test_modemmanager_stall_is_settled_by_the_sms_state_never_resent(tmp_path, env):
    with ModemManagerPeer(tmp_path, mode="stall") as mm:
        menv = {**env, "DBUS_SYSTEM_BUS_ADDRESS": mm.address}
        config = modem_config(tmp_path, timeout="1")
        result = sk(config, menv, "keepalive", "giffgaff", "--now", DUE)
        assert result.returncode == 1
        assert [r[1] for r in attempts(tmp_path)] == ["sending"]
        from receivers import wait_for

        assert wait_for(lambda: len(mm.sent()) == 1, 10)
        ok(config, menv, "send-due", "--now", "2026-11-01T10:05:00Z")
        assert [r[1] for r in attempts(tmp_path)] == ["proved"]
        assert len(mm.sent()) == 1


@needs_dbus
def test_dry_run_shows_both_gateway_kinds_and_sends_nothing(tmp_path, genv):
    with SmsGatewayPeer(tmp_path / "posts.jsonl") as peer, ModemManagerPeer(tmp_path) as mm:
        second = """
        [[gateways]]
        name = "modem"
        kind = "modemmanager"
        modem = "any"

        [[numbers]]
        name = "three"
        number = "+44 7911 123457"
        plan = "three-uk"
        last_renewed = 2026-06-20
        keepalive = { via = "modem", to = "+447700900124", text = "ok", cost = 0.12, lead = "20d" }
        """
        config = android_config(tmp_path, peer, extra=second)
        text = config.read_text()
        # [[gateways]] after [[numbers]] is fine TOML; keep the file as a user would write it.
        config.write_text(text)
        menv = {**genv, "DBUS_SYSTEM_BUS_ADDRESS": mm.address}
        out = ok(config, menv, "keepalive", "--dry-run", "--now", DUE)
        one = ok(config, menv, "keepalive", "three", "--dry-run", "--now", DUE)
    assert "phone (android-sms-gateway)" in out and "modem (modemmanager)" in out
    assert "+44 77** ***123" in out and "+44 77** ***124" in out
    assert "0.10 GBP" in out and "0.12 GBP" in out and '"ok"' in out and "2.00 GBP" in out
    assert "would send now" in out and "not due yet" in out
    assert "would send now" in one  # a named number: what keepalive NAME would send now
    assert "dry run: nothing was sent or recorded" in out
    assert peer.posts() == [] and mm.sent() == []
    assert not (tmp_path / "state" / "simkeeper.db").exists()


# -- the budget under concurrency -----------------------------------------------------------


def _claim_one(args: tuple[str, int]) -> str:
    db, i = args
    store = open_store(Path(db))
    assert store is not None
    now = datetime(2026, 11, 1, 10, tzinfo=UTC)
    with store:
        claim = store.claim_keepalive(
            number=f"+4479111234{i:02d}",
            name=f"n{i}",
            deadline=datetime(2026, 12, 1).date(),
            gateway="phone",
            sim=None,
            msg_id=f"m{i}",
            cost=Decimal("0.50"),
            currency="GBP",
            cap=Decimal("1.50"),
            since=now - timedelta(days=365),
            now=now,
        )
    return claim.outcome


def test_concurrent_passes_never_claim_past_the_budget(tmp_path):
    db = tmp_path / "state.db"
    open_store(db).close()  # type: ignore[union-attr]
    with multiprocessing.get_context("spawn").Pool(6) as pool:
        outcomes = pool.map(_claim_one, [(str(db), i) for i in range(12)])
    assert outcomes.count("claimed") == 3
    assert outcomes.count("budget") == 9
