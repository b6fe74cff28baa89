"""The carrier's own texts (issue 26): SMS Gateway for Android's signed ``sms:received``
webhook posted to a real ``simkeeper web``, ModemManager's received texts polled over
python-dbusmock on a private bus, each matched against the number's patterns and recorded
once, with its source, in a real SQLite state database.

Time is ``--now`` only: the web face runs with a fixed clock, and the webhooks are signed for
that instant (or five minutes and a second away from it, to be refused).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import ok, query, sk, write_config
from gateway_peers import ModemManagerPeer, dbus_available
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from webface import free_port, request, web_config, web_process

from simkeeper import app
from simkeeper.app import inbound as app_inbound
from simkeeper.core.model import Inbound as Inbound_
from simkeeper.core.model import Number
from simkeeper.engine.inbound import match, owner
from simkeeper.send.gateways.client import Inbound

NOW = "2026-11-25T12:00:00Z"
NOW_TS = int(datetime(2026, 11, 25, 12, tzinfo=UTC).timestamp())
KEY = "whsec-test-key-8f2e"
PASSWORD = "gw-password-77"
TOPUP = "You have added $5.00 to your account. Your balance is $15.00."


def config_text(tmp_path: Path, port: int) -> str:
    return f"""
        [settings]
        timezone = "America/Phoenix"
        state = "{tmp_path / "state.db"}"

        [[gateways]]
        name = "phone"
        kind = "android-sms-gateway"
        url = "http://127.0.0.1:9"
        password = "${{SMSGATE_PASSWORD}}"
        signing_key = "${{SMSGATE_SIGNING_KEY}}"

        [[numbers]]
        name = "Ultra PayGo"
        number = "+1 415 555 2671"
        cycle = "monthly"
        due = 2026-12-03
        cost = 3.00
        currency = "USD"
        balance = 10.00
        balance_date = 2026-11-20
        inbound = {{ via = "phone", sim = 1 }}
        sms_from = ["Ultra", "6700"]
        topup_sms = 'added \\$(?P<amount>\\d+(?:\\.\\d{{2}})?)'

        [[numbers]]
        name = "giffgaff"
        number = "+44 7911 123456"
        plan = "giffgaff"
        last_renewed = 2026-06-01
        inbound = {{ via = "phone", sim = 2 }}
        renewed_sms = 'goodybag has been renewed'
        {web_config(port)}
        """


@pytest.fixture
def wenv(env: dict[str, str]) -> dict[str, str]:
    return {**env, "SMSGATE_PASSWORD": PASSWORD, "SMSGATE_SIGNING_KEY": KEY}


def event(
    event_id: str, text: str, sender: str = "Ultra", sim: int | None = 1, minute: int = 58
) -> bytes:
    body = {
        "deviceId": "ffffffffceb0b1db0000018e937c815b",
        "event": "sms:received",
        "id": event_id,
        "webhookId": "LreFUt-Z3sSq0JufY9uWB",
        "payload": {
            "messageId": hashlib.sha1(text.encode()).hexdigest()[:10],  # the app's: from the text
            "message": text,
            "phoneNumber": sender,
            "simNumber": sim,
            "receivedAt": f"2026-11-25T04:{minute:02d}:00.000-07:00",
        },
    }
    return json.dumps(body).encode()


def signed(body: bytes, ts: int = NOW_TS, key: str = KEY) -> dict[str, str]:
    mac = hmac.new(key.encode(), body + str(ts).encode(), hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Signature": mac, "X-Timestamp": str(ts)}


def hook_path(config: Path, env: dict[str, str]) -> str:
    url = ok(config, env, "webhook", "phone").strip()
    assert url.startswith("https://sims.example.com/sk/hooks/phone/")
    secret = url.rsplit("/", 1)[1]
    assert len(secret) == 32 and KEY not in url
    return f"/sk/hooks/phone/{secret}"


def post(port: int, path: str, body: bytes, headers: dict[str, str]):
    return request(port, path, "POST", body, headers)


def runs_out(config: Path, env: dict[str, str]) -> str:
    out = ok(config, env, "upcoming", "--days", "400", "--now", NOW, "--format", "json")
    (found,) = [d["runs_out"] for d in json.loads(out) if d["kind"] == "topup"]
    return found


def test_a_signed_topup_text_is_recorded_once_with_its_source(tmp_path, wenv):
    port = free_port()
    config = write_config(tmp_path / "config.toml", config_text(tmp_path, port))
    path = hook_path(config, wenv)
    assert runs_out(config, wenv) == "2027-03-03"
    with web_process(config, wenv, port, now=NOW):
        body = event("ev-1", TOPUP)
        first = post(port, path, body, signed(body))
        assert (first.status, first.text) == (200, "matched-topup\n")
        # The gateway retries (a lost answer): same event, signed anew. Recorded once; and
        # once more when the app posts its inbox again, under a new event id.
        again = post(port, path, body, signed(body, NOW_TS + 30))
        assert (again.status, again.text) == (200, "duplicate\n")
        export = event("ev-1-exported", TOPUP)
        assert post(port, path, export, signed(export)).text == "duplicate\n"
        metrics = request(port, "/sk/metrics").text
    assert 'simkeeper_inbound_texts_total{outcome="matched-topup"} 1' in metrics
    rows = query(tmp_path / "state.db", "SELECT kind, date, amount, currency, source FROM history")
    assert rows == [("topup", "2026-11-25", "5.00", "USD", "carrier-sms")]
    history = ok(config, wenv, "history")
    assert "topup 5.00 USD (by carrier-sms)" in history
    # 15.00 from Nov 25 at 3.00 a month: Dec..Apr paid, May 3 cannot be.
    assert runs_out(config, wenv) == "2027-05-03"
    undone = ok(config, wenv, "undo", "Ultra", "--now", NOW)
    assert "removed: Ultra PayGo top-up of 5.00 USD (by carrier-sms) on 2026-11-25" in undone
    assert runs_out(config, wenv) == "2027-03-03"
    inbound = ok(config, wenv, "history", "--inbound")
    assert "matched-topup (undone)" in inbound
    log = (tmp_path / "web.log").read_text()
    assert KEY not in log and path.rsplit("/", 1)[1] not in log


def test_unsigned_forged_stale_malformed_and_misaddressed_posts_are_refused(tmp_path, wenv):
    port = free_port()
    config = write_config(tmp_path / "config.toml", config_text(tmp_path, port))
    path = hook_path(config, wenv)
    body = event("ev-2", TOPUP)
    plain = {"Content-Type": "application/json"}
    with web_process(config, wenv, port, now=NOW):
        cases = [
            (path, body, plain, 401),  # unsigned
            (path, body, signed(body, key="not-the-key"), 401),  # forged
            (path, body, signed(body, NOW_TS - 301), 401),  # outside the replay window
            (path, body, signed(body, NOW_TS + 301), 401),
            (path, b"{not json", signed(b"{not json"), 400),  # signed, but malformed
            (path, b'{"event": "sms:received", "payload": []}', {}, 401),
            (path.rsplit("/", 1)[0] + "/" + "0" * 32, body, signed(body), 404),  # wrong secret
            ("/sk/hooks/nobody/x", body, signed(body), 404),
        ]
        for where, data, headers, want in cases:
            got = post(port, where, data, headers)
            assert got.status == want, (where, headers, got.text)
        bad = b'{"event": "sms:received", "id": "x", "payload": {"message": 5}}'
        assert post(port, path, bad, signed(bad)).status == 400
        sent = b'{"event": "sms:sent", "id": "y", "payload": {"messageId": "z"}}'
        assert post(port, path, sent, signed(sent)).text == "ignored: sms:sent\n"
        assert request(port, path).status == 405
        metrics = request(port, "/sk/metrics").text
    assert 'simkeeper_inbound_texts_total{outcome="rejected"} 9' in metrics
    assert query(tmp_path / "state.db", "SELECT COUNT(*) FROM history") == [(0,)]
    assert runs_out(config, wenv) == "2027-03-03"


def test_unmatched_ignored_and_renewal_texts(tmp_path, wenv):
    port = free_port()
    config = write_config(tmp_path / "config.toml", config_text(tmp_path, port))
    path = hook_path(config, wenv)
    texts = [
        ("ev-a", "Ultra", 1, "Your plan changes on Dec 1.", "unmatched"),
        ("ev-b", "+14155550199", 1, "dinner at 8? added $5 to the kitty", "ignored"),
        ("ev-c", "43430", 2, "Your goodybag has been renewed. Enjoy!", "matched-renewal"),
        ("ev-d", "43430", 2, "Your goodybag has been renewed. Enjoy!", "refused"),
        ("ev-e", "Ultra", 3, "added $9.00", "unmatched"),  # a slot no number names
        ("ev-f", "6700", 1, "You have added $12.50.", "matched-topup"),
        ("ev-g", "+14155550199", 3, "call me", "unmatched"),  # unclaimed, from a person
    ]
    with web_process(config, wenv, port, now=NOW):
        for i, (ev, sender, sim, text, want) in enumerate(texts):
            body = event(ev, text, sender, sim, minute=50 + i)
            got = post(port, path, body, signed(body))
            assert (got.status, got.text) == (200, want + "\n"), ev
    history = ok(config, wenv, "history")
    assert "giffgaff     renewal (by carrier-sms)" in history
    # The rolling deadline moves from the text's day, six months on.
    assert "2027-05-25" in ok(config, wenv, "upcoming", "--now", NOW, "--days", "400")
    assert "topup 12.50 USD (by carrier-sms)" in history
    inbound = ok(config, wenv, "history", "--inbound")
    assert "Your plan changes on Dec 1." in inbound
    listed = json.loads(ok(config, wenv, "history", "--inbound", "--format", "json"))
    assert [x["outcome"] for x in listed] == [
        "unmatched",
        "matched-topup",
        "unmatched",
        "refused",
        "matched-renewal",
        "ignored",
        "unmatched",
    ]
    assert listed[1]["at"] == "2026-11-25T04:55:00-07:00" and listed[1]["name"] == "Ultra PayGo"
    assert (listed[0]["name"], listed[0]["text"], listed[0]["sender"]) == (
        None,
        "",
        "+1 41* *** *199",
    )
    # A text from anyone but the carrier: counted, its words and number never kept.
    assert "dinner" not in inbound and "4155550199" not in inbound
    db = tmp_path / "state.db"
    dump = "\n".join(str(r) for r in query(db, "SELECT * FROM inbound_texts"))
    assert "dinner" not in dump and "4155550199" not in dump and "call me" not in dump
    assert query(db, "SELECT outcome, number, text FROM inbound_texts WHERE sim = 3") == [
        ("unmatched", None, "added $9.00"),
        ("unmatched", None, ""),
    ]


# -- ModemManager, polled -------------------------------------------------------------------

needs_dbus = pytest.mark.skipif(
    dbus_available() is not None and not os.environ.get("CI"),
    reason=str(dbus_available()),
)


def modem_config(tmp_path: Path) -> Path:
    return write_config(
        tmp_path / "config.toml",
        f"""
        [settings]
        timezone = "America/Phoenix"
        state = "{tmp_path / "state.db"}"

        [[gateways]]
        name = "modem"
        kind = "modemmanager"

        [[numbers]]
        name = "Ultra PayGo"
        number = "+1 415 555 2671"
        cycle = "monthly"
        due = 2026-12-03
        cost = 3.00
        currency = "USD"
        balance = 10.00
        balance_date = 2026-11-20
        inbound = {{ via = "modem" }}
        sms_from = ["6700"]
        topup_sms = 'added \\$(?P<amount>\\d+(?:\\.\\d{{2}})?)'
        """,
    )


@needs_dbus
def test_modemmanager_received_texts_are_polled_and_recorded_once(tmp_path, env, monkeypatch):
    old = ("6700", "You have added $7.00.", "2026-10-01T09:00:00-07:00")  # before the look-back
    fresh = ("6700", "You have added $5.00.", "2026-11-25T04:00:00-07:00")
    with ModemManagerPeer(tmp_path, received=(old, fresh)) as mm:
        menv = {**env, "DBUS_SYSTEM_BUS_ADDRESS": mm.address}
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", mm.address)
        from simkeeper.core.model import Gateway
        from simkeeper.send.gateways import client_for

        # A text the modem sent (PduType 2, submit) is in Messaging.List too: never taken.
        client_for(Gateway("modem", "modemmanager"), 5).send(
            "m1", "6700", "You have added $9.00.", None, lambda ref: None
        )
        assert mm.sent()[0]["text"] == "You have added $9.00."
        config = modem_config(tmp_path)
        assert ok(config, menv, "poll", "--now", NOW).strip() == "Ultra PayGo: matched-topup 5.00"
        assert ok(config, menv, "poll", "--now", NOW).strip() == ""  # seen: nothing again
        mm.receive("6700", "Reminder: renew soon", "2026-11-25T04:30:00-07:00")
        mm.receive("6700", "You have added $2.00.", "2026-11-25T04:40:00-07:00")
        out = ok(config, menv, "poll", "--now", "2026-11-25T12:05:00Z")
        assert sorted(out.strip().splitlines()) == [
            "Ultra PayGo: matched-topup 2.00",
            "Ultra PayGo: unmatched",
        ]
    rows = query(tmp_path / "state.db", "SELECT amount, source FROM history ORDER BY id")
    assert rows == [("5.00", "carrier-sms"), ("2.00", "carrier-sms")]
    assert "Reminder: renew soon" in ok(config, env, "history", "--inbound")


def test_a_gateway_that_does_not_answer_is_recorded_and_asked_again(tmp_path, env):
    config = modem_config(tmp_path)
    noenv = {**env, "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path / 'no-bus'}"}
    result = sk(config, noenv, "poll", "--now", NOW)
    assert result.returncode == 1
    assert "modem did not answer: ModemManager did not answer" in result.stdout
    (row,) = query(tmp_path / "state.db", "SELECT gateway, ok_at, error FROM inbound_polls")
    assert row[:2] == ("modem", None) and "did not answer" in row[2]
    from simkeeper.present.probes import exposition

    figures = exposition(app_inbound.inbound_figures(app.load(config, lambda w: None)))
    assert 'simkeeper_inbound_poll_failing{gateway="modem"} 1' in figures


# -- no body or text crashes a pass or moves a balance without a match ----------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
_payloads = st.fixed_dictionaries(
    {},
    optional={
        "messageId": _json,
        "message": st.text(max_size=80) | _json,
        "phoneNumber": st.sampled_from(["Ultra", "6700", "+14155550199", ""]) | _json,
        "simNumber": st.sampled_from([1, 2, 3, None, 0, -1, "1"]),
        "receivedAt": st.sampled_from(["2026-11-25T04:58:00-07:00", "2026-11-25", "x", None]),
    },
)
_events = st.fixed_dictionaries(
    {"event": st.sampled_from(["sms:received", "sms:sent", ""]) | _json},
    optional={"id": st.text(max_size=8) | _json, "payload": _payloads | _json},
)
_bodies = st.one_of(
    _events.map(lambda e: json.dumps(e).encode()),
    st.binary(max_size=200),
    st.text(max_size=100).map(str.encode),
)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("prop")
    text = config_text(folder, 8089).replace("${SMSGATE_SIGNING_KEY}", KEY)
    config = write_config(folder / "config.toml", text.replace("${SMSGATE_PASSWORD}", PASSWORD))
    return app.load(config, lambda w: None, for_sending=False)


def _money(config) -> tuple:
    with app.open_state(config) as store:
        ledger = store.ledger()
    return (ledger.topups, ledger.renewals)


@hsettings(max_examples=150, deadline=None)
@given(body=_bodies, sign=st.booleans(), skew=st.sampled_from([0, 299, -299, 301, 10**9]))
def test_no_webhook_body_crashes_or_moves_money_without_a_match(loaded, body, sign, skew):
    gateway = loaded.gateway("phone")
    secret = app_inbound.webhook_url(loaded, gateway).rsplit("/", 1)[1]
    headers = {k.lower(): v for k, v in signed(body, NOW_TS + skew).items()} if sign else {}
    before = _money(loaded)
    now = datetime.fromtimestamp(NOW_TS, UTC)
    hooked = app_inbound.webhook(loaded, f"phone/{secret}", headers, body, now)
    assert 200 <= hooked.status < 500
    if not hooked.outcome.startswith("matched-"):
        assert _money(loaded) == before, hooked


@hsettings(max_examples=150, deadline=None)
@given(
    sender=st.sampled_from(["Ultra", "6700", "43430", "+14155550199"]) | st.text(max_size=15),
    text=st.text(max_size=120) | st.sampled_from(["added $5.00", "added $0", "added $1e9"]),
    sim=st.sampled_from([1, 2, 3, None]),
    ref=st.text(min_size=1, max_size=10),
)
def test_no_text_crashes_a_pass_or_moves_money_without_a_match(loaded, sender, text, sim, ref):
    before = _money(loaded)
    now = datetime.fromtimestamp(NOW_TS, UTC)
    with app.open_state(loaded) as store:
        taken = app_inbound.take(
            loaded, store, loaded.gateway("phone"), Inbound(sender, text, now, "p:" + ref, sim), now
        )
    if not taken.outcome.startswith("matched-"):
        assert _money(loaded) == before, taken


# -- config and the rules ---------------------------------------------------------------------


def test_check_names_file_line_key_and_fix_for_every_inbound_key(tmp_path, env):
    config = write_config(
        tmp_path / "bad.toml",
        """
        [[gateways]]
        name = "m2"
        kind = "modemmanager"
        signing_key = "k"
        [[gateways]]
        name = "m"
        kind = "modemmanager"
        [[gateways]]
        name = "s"
        kind = "sigmo"
        user = "u"
        [[numbers]]
        name = "a"
        number = "+1 415 555 2671"
        due = 2026-12-03
        inbound = { via = "m", sim = 1, what = 2 }
        sms_from = ["ok", 5]
        topup_sms = '(?P<amount>\\d+'
        [[numbers]]
        name = "b"
        number = "+1 415 555 2672"
        due = 2026-12-03
        inbound = { via = "nope" }
        renewed_sms = '(?P<value>\\d+)'
        [[numbers]]
        name = "c"
        number = "+1 415 555 2673"
        due = 2026-12-03
        topup_sms = 'added'
        """,
    )
    result = sk(config, env, "check")
    assert result.returncode == 2
    err = result.stderr
    assert "Traceback" not in err
    expected = [
        ("bad.toml:4: gateways[1].signing_key", 'applies to kind = "android-sms-gateway" only'),
        ("bad.toml:8: gateways[3].url", "missing"),
        ("bad.toml:11: gateways[3].user", 'does not apply to kind = "sigmo"'),
        ("bad.toml:16: numbers[1].inbound.what", 'unknown key "what"'),
        ("numbers[1].inbound.sim", "sim applies to android-sms-gateway only"),
        ("bad.toml:17: numbers[1].sms_from", "must be a list of sender ids"),
        ("bad.toml:18: numbers[1].topup_sms", "is not a regular expression"),
        ("numbers[2].inbound.via", 'no gateway is called "nope"'),
        ("numbers[2].renewed_sms", "the only named group read is (?P<amount>...)"),
        ("numbers[3].topup_sms", "no gateway receives the number's texts"),
    ]
    for where, what in expected:
        assert any(where in line and what in line for line in err.splitlines()), (where, err)


def number(**inbound) -> Number:
    from zoneinfo import ZoneInfo

    return Number(
        name=inbound.pop("name", "n"),
        number="+14155552671",
        timezone=ZoneInfo("UTC"),
        timezone_name="UTC",
        remind=(3,),
        inbound=Inbound_(**inbound),
    )


def test_which_number_a_text_belongs_to():
    one = number(name="one", via="phone", sim=1)
    two = number(name="two", via="phone", sim=2)
    any_slot = number(name="any", via="phone")
    other = number(name="other", via="box")
    assert owner([one, two, other], "phone", 1) is one
    assert owner([one, two, other], "phone", 3) is None  # no number names slot 3
    assert owner([one, two, other], "phone", None) is None  # slot unknown: ambiguous
    assert owner([one, any_slot], "phone", 3) is any_slot
    assert owner([one, any_slot], "phone", None) is any_slot
    assert owner([any_slot, number(name="twin", via="phone")], "phone", 1) is None
    assert owner([one, number(name="dup", via="phone", sim=1)], "phone", 1) is None
    assert owner([other], "box", None) is other


@pytest.mark.parametrize(
    "text,found",
    [
        ("You have added $1,000.50 today", ("topup", Decimal("1000.50"))),
        ("You have added $10,50 today", ("topup", Decimal("10.50"))),
        ("YOU HAVE ADDED $7", ("topup", Decimal("7"))),
        ("You have added $0.00", None),  # no amount above 0: nothing moves
        ("You have added $", None),
        ("Your plan has been renewed, $5 added", ("renewal", Decimal("5"))),  # renewal first
        ("Your plan has been renewed", ("renewal", None)),
        ("hello", None),
    ],
)
def test_what_a_carrier_text_says(text, found):
    n = number(
        via="phone",
        senders=("Ultra", "+44 7000"),
        topup=r"added \$(?P<amount>[\d.,]*)",
        renewed=r"plan has been renewed(?:, \$(?P<amount>\d+))?",
    )
    got = match(n, "ultra", text)
    assert (None if got is None else (got.kind, got.amount)) == found
    assert match(n, "+447000", "You have added $7") is not None  # spaces and + ignored
    assert match(n, "Other", "You have added $7") is None  # only the carrier's senders
