"""The ``sigmo`` gateway kind against a Sigmo API peer on 127.0.0.1 (tests/sigmo_peer.py, as
Sigmo's routes define it): send and its state, USSD with a menu step, the inbox polled, the
token sent and never shown; end to end, the autopilot's keep-alive text and ``poll``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from conftest import ok, query, sk, write_config
from sigmo_peer import IMEI, SigmoPeer

from simkeeper.core.model import Gateway
from simkeeper.send.gateways import GatewayError, client_for

TOKEN = "sigmo-token-5d1c"
AT = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)


def gateway(peer: SigmoPeer, token: str = TOKEN, modem: str = "any") -> Gateway:
    return Gateway("box", "sigmo", url=peer.url, password=token, modem=modem)


def test_send_state_ussd_and_inbox():
    menu = {"*100#": "1. Balance 2. Bundles", "1": "Your balance is $4.20"}
    with SigmoPeer(TOKEN, ussd_menu=menu) as peer:
        client = client_for(gateway(peer), 5)
        sent = client.send("m1", "+447700900123", "hi", None, lambda ref: None)
        assert (sent.state, sent.reports) == ("sent", False)
        assert [(m["recipient"], m["text"], m["incoming"]) for m in peer.messages] == [
            ("+447700900123", "hi", False)
        ]
        assert client.state("m1", None, "+447700900123", "hi").state == "sent"
        assert client.state("m2", None, "+447700900123", "other").state == "missing"
        assert client.ussd("*100#", ("1",)) == "Your balance is $4.20"
        assert client.ussd("*100#") == "1. Balance 2. Bundles"
        peer.receive("6700", "You have added $5.00.", AT)
        peer.receive("6700", "old news", AT - timedelta(days=3))
        texts = client.received(AT - timedelta(hours=1))
        assert [(t.sender, t.text, t.at, t.ref) for t in texts] == [
            ("6700", "You have added $5.00.", AT, f"sigmo:{IMEI}:2")
        ]
        assert len(client.received(None)) == 2
        assert all(h.get("Authorization") == f"Bearer {TOKEN}" for _, _, h in peer.requests)


def test_refusals_and_silence_are_gateway_errors_without_the_token():
    with SigmoPeer(TOKEN) as peer:
        with pytest.raises(GatewayError) as bad_token:
            client_for(gateway(peer, token="wrong"), 5).send("m", "+4477", "hi", None, print)
        assert bad_token.value.refused and "401: invalid_token" in str(bad_token.value)
        with pytest.raises(GatewayError) as no_modem:
            client_for(gateway(peer, modem="123"), 5).received(None)
        assert no_modem.value.refused
        with pytest.raises(GatewayError) as empty:
            client_for(gateway(peer), 5).send("m", "+447700900123", " ", None, print)
        assert empty.value.refused and "text_required" in str(empty.value)
        url = peer.url
    with pytest.raises(GatewayError) as down:
        client_for(Gateway("box", "sigmo", url=url, password=TOKEN), 2).ussd("*100#")
    assert not down.value.refused and TOKEN not in str(down.value)


def sigmo_config(tmp_path, peer: SigmoPeer):
    return write_config(
        tmp_path / "config.toml",
        f"""
        [settings]
        timezone = "Europe/London"
        state = "{tmp_path / "state.db"}"
        keepalive_budget = {{ GBP = 2.00, per = "365d" }}

        [[gateways]]
        name = "box"
        kind = "sigmo"
        url = "{peer.url}"
        password = "${{SIGMO_TOKEN}}"

        [[numbers]]
        name = "giffgaff"
        number = "+44 7911 123456"
        plan = "giffgaff"
        last_renewed = 2026-06-01
        keepalive = {{ via = "box", to = "+447700900123", text = "hi", cost = 0.10 }}
        renewed_sms = 'goodybag has been renewed'
        """,
    )


def test_the_autopilot_and_the_poll_through_sigmo(tmp_path, env):
    senv = {**env, "SIGMO_TOKEN": TOKEN}
    with SigmoPeer(TOKEN) as peer:
        config = sigmo_config(tmp_path, peer)
        check = sk(config, senv, "check")
        assert check.returncode == 0, check.stderr
        ok(config, senv, "keepalive", "giffgaff", "--now", "2026-11-01T10:00:00Z")
        assert [m["text"] for m in peer.messages] == ["hi"]
        peer.receive(
            "43430", "Your goodybag has been renewed.", datetime(2026, 11, 2, 9, tzinfo=UTC)
        )
        out = ok(config, senv, "poll", "--now", "2026-11-02T10:00:00Z")
        assert out.strip() == "giffgaff: matched-renewal"
    rows = query(tmp_path / "state.db", "SELECT date, source FROM history ORDER BY id")
    assert rows == [("2026-11-01", None), ("2026-11-02", "carrier-sms")]
    assert TOKEN not in check.stdout + check.stderr
    dump = json.dumps(query(tmp_path / "state.db", "SELECT * FROM inbound_polls"))
    assert TOKEN not in dump


def test_the_daemons_worker_polls_every_ten_minutes(tmp_path, store_url):
    # On both stores: the worker opens the daemon's own state again, a PostgreSQL URL too.
    from simkeeper import app
    from simkeeper.core.redact import Redactor
    from simkeeper.service import worker

    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    with SigmoPeer() as peer:
        peer.receive("43430", "Your goodybag has been renewed.", start - timedelta(minutes=5))
        path = write_config(
            tmp_path / "config.toml",
            f"""
            [settings]
            timezone = "UTC"
            state = "{store_url}"

            [[gateways]]
            name = "box"
            kind = "sigmo"
            url = "{peer.url}"

            [[numbers]]
            name = "giffgaff"
            number = "+44 7911 123456"
            plan = "giffgaff"
            last_renewed = 2026-06-01
            inbound = {{ via = "box" }}
            renewed_sms = 'goodybag has been renewed'
            """,
        )
        config = app.load(path, lambda w: None)
        with app.open_state(config) as store:
            for minute in range(36):  # the daemon's passes, one a minute
                now = start + timedelta(minutes=minute)
                worker.inbound_apart(config, store, now, Redactor(()), lambda w: None)
        lists = [p for m, p, _ in peer.requests if m == "GET" and p.endswith("/messages")]
    assert len(lists) == 4  # at 09:00, 09:10, 09:20 and 09:30: not on every pass
    with app.open_state(config) as store:
        rows = store.db.execute("SELECT date, kind, source FROM history").fetchall()
    assert [tuple(r) for r in rows] == [("2026-11-02", "renewal", "carrier-sms")]
