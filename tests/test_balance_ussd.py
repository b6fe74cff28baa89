"""Reading the balance by USSD (issue 26): a number's ``balance_check`` runs the carrier's code
through a ModemManager modem, decodes and matches the reply, and records a dated reading the
balance projection starts from; a reply that does not match, a timeout or a modem error is
recorded and shown, and changes no balance.

Against python-dbusmock's ModemManager on a private dbus-daemon bus (tests/mm_ussd.py answers
``Modem3gpp.Ussd.Initiate`` and ``Respond``); the database is a real SQLite file.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import ok, query, sk, write_config
from gateway_peers import ModemManagerPeer, dbus_available
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simkeeper.config.load import load
from simkeeper.config.plans import builtin_plans
from simkeeper.core.redact import Redactor, mask_phones
from simkeeper.engine.deadlines import projection
from simkeeper.engine.ussd import decode, parse_amount, read_reply
from simkeeper.state.store import open_store

NOW = "2026-12-07T10:00:00Z"
REPLY = "Your airtime credit balance is £5.20."
PLAN_PLANS = {name: p for name, p in builtin_plans().items() if p.balance}

needs_dbus = pytest.mark.skipif(
    dbus_available() is not None and not os.environ.get("CI"),
    reason=str(dbus_available()),
)


def gsm7_pack(text: str) -> str:
    """``text`` (basic GSM 7-bit characters only) packed into septets, as hex: written here
    from 3GPP TS 23.038, apart from the decoder under test."""
    from simkeeper.engine.ussd import GSM7

    value = 0
    for i, c in enumerate(text):
        value |= GSM7.index(c) << (7 * i)
    size = (len(text) * 7 + 7) // 8
    return value.to_bytes(size, "little").hex().upper()


def ucs2(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


# -- decoding and matching --------------------------------------------------------------------


def test_decode_tells_ucs2_and_gsm7_hex_from_plain_text():
    assert decode(ucs2(REPLY)) == REPLY
    assert decode(ucs2("餘額為 $12.30")) == "餘額為 $12.30"
    assert decode("E8329BFD4697D9EC37") == "hellohello"  # the standard's own example
    assert decode(gsm7_pack("Balance: 5.20 GBP")) == "Balance: 5.20 GBP"
    assert decode(gsm7_pack("Credit 12.00 valid")) == "Credit 12.00 valid"
    assert decode("00420061") == "Ba"  # short, but whole UCS-2 code units of Latin
    for plain in (REPLY, "12345678", "20261207", "DEADBEEF", "", "  "):
        assert decode(plain) == plain


# A ZTE MF190's reply as gammu printed it (github.com/gammu/wammu issue 77): the hex of UCS-2.
ZTE_REPLY = (
    "00530075007200200076006F00740072006500200063006F006D0070007400650020007000720069006E0063"
    "006900700061006C002C00200076006F007400720065002000630072006500640069007400200065007300740020"
    "006400650020003400310030002E003000300020006600720061006E00630073002000760061006C00610062006C"
    "006500730020006A0075007300710075002000610075002000300033002F00300031002F0032003000310039002E"
)


def test_decode_reads_a_modems_real_ucs2_reply():
    text = decode(ZTE_REPLY)
    assert text.startswith("Sur votre compte principal, votre credit est de 410.00 francs")
    reading = read_reply(ZTE_REPLY, r"credit est de (?P<amount>[\d.]+).*jusqu au (?P<until>[\d/]+)")
    assert (reading.outcome, reading.amount, reading.until) == (
        "ok",
        Decimal("410.00"),
        "03/01/2019",
    )


def test_the_tmobile_pattern_takes_the_balance_not_the_renewal_price():
    code = builtin_plans()["tmobile-us-payg"].balance
    assert code is not None
    reading = read_reply(code.sample, code.pattern)
    assert (reading.amount, reading.currency, reading.until) == (
        Decimal("56.78"),
        "$",
        "08/10/2022",
    )


def test_decode_reads_the_gsm7_extension_table():
    # The euro sign is two septets: the escape 0x1B, then 0x65 (an "e" in the basic table).
    assert decode(gsm7_pack("Balance 5 \x1be ok")) == "Balance 5 € ok"


@pytest.mark.parametrize(
    ("raw", "amount"),
    [
        ("12.50", "12.50"),
        ("1,234.50", "1234.50"),
        ("1.234,50", "1234.50"),
        ("12,50", "12.50"),
        ("1,234", "1234"),
        ("-0.40", "-0.40"),
        ("5.20.", "5.20"),
        ("abc", None),
        ("", None),
        ("1e9", None),
        ("9" * 12, None),
    ],
)
def test_parse_amount(raw, amount):
    assert parse_amount(raw) == (Decimal(amount) if amount else None)


@pytest.mark.parametrize("name", sorted(PLAN_PLANS))
def test_each_plan_pattern_matches_its_sample_reply(name):
    code = PLAN_PLANS[name].balance
    assert code is not None
    assert code.ussd.endswith("#") and code.source
    for raw in (code.sample, ucs2(code.sample)):
        reading = read_reply(raw, code.pattern)
        assert reading.outcome == "ok", (name, raw)
        assert reading.amount is not None and reading.amount > 0
        assert reading.text == code.sample
    assert read_reply("Sorry, the service is not available.", code.pattern).outcome == "no-match"


# What each plan's pattern takes from its own sample: the amount and the currency sign.
SAMPLE_AMOUNTS = {
    "giffgaff": ("5.20", "£"),
    "vodafone-uk": ("5.20", "£"),
    "o2-uk": ("6.45", "£"),  # a real reply (PrepaidBalance's tests): not the 20202 in it
    "lycamobile-uk": ("5.20", "£"),
    "tmobile-us-payg": ("56.78", "$"),  # a real reply: the balance, not the renewal price
    "cmhk": ("305.20", "HK$"),  # the balance, not the expiry date after it
    "3hk": ("52.30", "HK$"),
    "csl": ("52.30", "HK$"),
    "ctm": ("52.30", "MOP"),  # after 餘額, not the expiry date before it
}


def test_at_least_eight_plans_name_a_balance_code():
    assert set(PLAN_PLANS) == set(SAMPLE_AMOUNTS)
    assert len(PLAN_PLANS) >= 8


@pytest.mark.parametrize("name", sorted(SAMPLE_AMOUNTS))
def test_each_plan_pattern_takes_the_samples_amount(name):
    code = PLAN_PLANS[name].balance
    assert code is not None
    reading = read_reply(code.sample, code.pattern)
    assert (reading.amount, reading.currency) == (
        Decimal(SAMPLE_AMOUNTS[name][0]),
        SAMPLE_AMOUNTS[name][1],
    )


def test_a_third_party_code_says_so_in_its_source():
    for name in ("vodafone-uk", "lycamobile-uk", "cmhk", "3hk", "csl", "tmobile-us-payg"):
        code = PLAN_PLANS[name].balance
        assert code is not None and "third-party" in code.source, name
    ctm = PLAN_PLANS["ctm"].balance
    assert ctm is not None and ctm.source.startswith("https://www.ctm.net/")


# Replies of the shapes the loose patterns are written for (illustrative: no source quotes one),
# in both languages for the Hong Kong and Macau carriers, with a number before the balance.
LOOSE_REPLIES = {
    "vodafone-uk": [("Call 07911123456 for help. Your credit balance is £12.50", "12.50")],
    "lycamobile-uk": [("Main balance: £0.40. Dial *131# again", "0.40")],
    "cmhk": [("儲值額餘額 HK$300.00,有效日期 19/4/2016", "300.00")],
    "3hk": [
        ("Balance: HK$1,234.50, valid till 01/06/2027", "1234.50"),
        ("餘額:$88.00 有效期至2027年6月1日", "88.00"),
        ("您的余额为 12.30", "12.30"),
    ],
    "csl": [
        ("Your account balance is HK$ 52.30", "52.30"),
        ("儲值額結餘 HK$100.00", "100.00"),
    ],
    "ctm": [
        ("Balance: MOP$45.60 Expiry: 2027-06-01", "45.60"),
        ("有效日期 2027/06/01, 餘額 $45.60", "45.60"),
        ("餘額為45.60元", "45.60"),
    ],
}


@pytest.mark.parametrize(
    ("name", "reply", "amount"),
    [(name, reply, amount) for name, rows in LOOSE_REPLIES.items() for reply, amount in rows],
)
def test_a_loose_pattern_takes_the_amount_after_the_word_balance(name, reply, amount):
    code = PLAN_PLANS[name].balance
    assert code is not None
    for raw in (reply, ucs2(reply)):
        reading = read_reply(raw, code.pattern)
        assert (reading.outcome, reading.amount) == ("ok", Decimal(amount)), (name, raw)


@pytest.mark.parametrize("name", sorted(LOOSE_REPLIES))
def test_a_loose_pattern_refuses_a_reply_without_a_balance(name):
    code = PLAN_PLANS[name].balance
    assert code is not None
    for reply in ("系統繁忙,請稍後再試", "Unknown application", "Call 07911123456 for help"):
        assert read_reply(reply, code.pattern).outcome == "no-match", (name, reply)


def test_the_plans_list_shows_the_balance_code_and_its_source(tmp_path, env):
    config = write_config(tmp_path / "c.toml", '[settings]\ntimezone = "UTC"\n')
    out = ok(config, env, "plans")
    for plan in PLAN_PLANS.values():
        assert plan.balance is not None
        assert plan.balance.ussd in out and plan.balance.source in out
    assert "(?P<amount>" in out
    shown = {
        p["name"]: p["balance"] for p in json.loads(ok(config, env, "plans", "--format", "json"))
    }
    assert shown["giffgaff"]["ussd"] == "*100#"
    assert "guide-to-the-usage-statement" in shown["giffgaff"]["source"]
    assert shown["ee"] is None


def test_mask_phones_keeps_dates_and_amounts():
    text = "Call 07911 123456 or +447911123456 by 2026-12-07; balance £12.50"
    assert mask_phones(text) == "Call 07*******56 or +44********56 by 2026-12-07; balance £12.50"


# -- the config -------------------------------------------------------------------------------


def payg_config(tmp_path: Path, check: str = '{ via = "modem", every = "7d" }', **kw: str) -> Path:
    return write_config(
        tmp_path / "config.toml",
        f"""
        [settings]
        timezone = "Europe/London"
        send_timeout = {kw.get("timeout", "5")}

        [[gateways]]
        name = "modem"
        kind = "modemmanager"

        [[gateways]]
        name = "phone"
        kind = "android-sms-gateway"
        url = "http://127.0.0.1:9"
        password = "pw"

        [[notify]]
        name = "console"
        url = "console://"

        [[numbers]]
        name = "payg"
        number = "+44 7911 123456"
        plan = "giffgaff"
        rolling = false
        cycle = "monthly"
        due = 2026-12-15
        cost = 10.00
        currency = "GBP"
        balance = 30.00
        balance_date = 2026-11-01
        balance_check = {check}
        """,
    )


def test_a_balance_check_takes_its_code_and_pattern_from_the_plan(tmp_path):
    (number,) = load(payg_config(tmp_path)).numbers
    check = number.balance_check
    assert check is not None
    plan = builtin_plans()["giffgaff"].balance
    assert plan is not None
    assert (check.via, check.every, check.ussd, check.pattern) == (
        "modem",
        7,
        "*100#",
        plan.pattern,
    )
    assert check.source == plan.source
    own = '{ via = "modem", ussd = "*#1345#", pattern = "(?P<amount>[0-9.]+)", replies = ["1"] }'
    (number,) = load(payg_config(tmp_path, own)).numbers
    assert number.balance_check is not None
    assert number.balance_check.ussd == "*#1345#"
    assert number.balance_check.replies == ("1",)
    assert number.balance_check.source == "config"


@pytest.mark.parametrize(
    ("check", "fragment"),
    [
        ('{ via = "phone" }', "cannot run USSD codes"),
        ('{ via = "nosuch" }', 'no gateway is called "nosuch"'),
        ('{ every = "7d" }', "missing: the gateway that runs the code"),
        ('{ via = "modem", every = "0d" }', "out of range"),
        ('{ via = "modem", ussd = "100" }', "is not a USSD code"),
        ('{ via = "modem", pattern = "[0-9.]+" }', "has no group named amount"),
        ('{ via = "modem", pattern = "(?P<amount>[0-9.]+" }', "is not a regular expression"),
        ('{ via = "modem", replies = [1] }', "must be a list of menu choices"),
        ('{ via = "modem", nosuch = 1 }', 'unknown key "nosuch"'),
    ],
)
def test_check_refuses_a_bad_balance_check(tmp_path, env, check, fragment):
    done = sk(payg_config(tmp_path, check), env, "check")
    assert done.returncode != 0
    assert "numbers[1].balance_check" in done.stderr + done.stdout
    assert fragment in done.stderr + done.stdout


def test_a_plan_without_a_code_needs_one_written(tmp_path, env):
    config = payg_config(tmp_path).read_text().replace('plan = "giffgaff"', 'plan = "ee"')
    path = write_config(tmp_path / "config.toml", config)
    done = sk(path, env, "check")
    assert done.returncode != 0
    assert 'plan "ee" names no balance code' in done.stderr + done.stdout


# -- end to end through ModemManager ----------------------------------------------------------


def readings(tmp_path: Path) -> list[tuple]:
    return query(
        tmp_path / "state" / "simkeeper.db",
        "SELECT name, code, outcome, amount, reply, error FROM balance_readings ORDER BY id",
    )


def history_rows(tmp_path: Path) -> list[tuple]:
    return query(
        tmp_path / "state" / "simkeeper.db",
        "SELECT name, kind, date, amount, currency, note FROM history ORDER BY id",
    )


def runs_out(config: Path, env: dict[str, str]) -> list[str]:
    out = ok(config, env, "upcoming", "--now", NOW, "--days", "200")
    return [line.split()[0] for line in out.splitlines() if "top up" in line]


@needs_dbus
@pytest.mark.parametrize(
    ("ussd", "check"),
    [
        ({"MM_USSD_MODE": "reply", "MM_USSD_REPLY": REPLY}, None),
        ({"MM_USSD_MODE": "reply", "MM_USSD_REPLY": ucs2(REPLY)}, None),
        (
            {"MM_USSD_MODE": "reply", "MM_USSD_REPLY": gsm7_pack("Credit balance 5.20 GBP")},
            '{ via = "modem", pattern = "balance (?P<amount>[0-9.]+)" }',
        ),
        (
            {
                "MM_USSD_MODE": "menu",
                "MM_USSD_MENU": "1. Balance\n2. Top up\n3. Offers",
                "MM_USSD_REPLY": REPLY,
            },
            '{ via = "modem", replies = ["1"] }',
        ),
    ],
    ids=["plain", "ucs2", "gsm7", "menu"],
)
def test_balance_reads_the_reply_and_moves_the_run_out_date(tmp_path, env, ussd, check):
    config = payg_config(tmp_path, check or '{ via = "modem", every = "7d" }')
    assert runs_out(config, env) == ["2027-02-15"]  # 30.00 from 2026-11-01, 10.00 a month
    with ModemManagerPeer(tmp_path, ussd=ussd) as mm:
        menv = {**env, "DBUS_SYSTEM_BUS_ADDRESS": mm.address}
        out = ok(config, menv, "balance", "payg", "--now", NOW)
        calls = mm.ussd_calls()
    assert calls[0] == {"call": "Initiate", "command": "*100#"}
    if ussd["MM_USSD_MODE"] == "menu":
        assert calls[1:] == [{"call": "Respond", "response": "1"}]
    assert "5.20 GBP" in out and "runs out 2026-12-15" in out
    ((name, code, outcome, amount, _reply, error),) = readings(tmp_path)
    assert (name, code, outcome, amount, error) == ("payg", "*100#", "ok", "5.20", None)
    (entry,) = history_rows(tmp_path)
    assert entry == ("payg", "reading", "2026-12-07", "5.20", "GBP", "*100# via modem")
    assert runs_out(config, env) == ["2026-12-15"]  # 5.20 does not cover the 2026-12-15 charge
    status = sk(config, env, "status", "--now", NOW).stdout
    assert "balance payg: 5.20 GBP" in status and "runs out 2026-12-15" in status
    history = ok(config, env, "history", "payg")
    assert "reading 5.20 GBP - *100# via modem (by ussd)" in history
    undone = ok(config, env, "undo", "payg")
    assert "balance reading of 5.20 GBP (by ussd)" in undone
    assert readings(tmp_path) == [] and history_rows(tmp_path) == []
    assert runs_out(config, env) == ["2027-02-15"]


@needs_dbus
@pytest.mark.parametrize(
    ("ussd", "outcome"),
    [
        (
            {"MM_USSD_MODE": "reply", "MM_USSD_REPLY": "Service unavailable, call 07911123456"},
            "no-match",
        ),
        ({"MM_USSD_MODE": "reply", "MM_USSD_REPLY": ucs2("系統繁忙 07911123456")}, "no-match"),
        ({"MM_USSD_MODE": "timeout", "MM_USSD_HOLD": "3"}, "timeout"),
        ({"MM_USSD_MODE": "error"}, "error"),
    ],
    ids=["garbage", "ucs2-garbage", "timeout", "error"],
)
def test_a_failed_reading_is_recorded_shown_and_changes_no_balance(tmp_path, env, ussd, outcome):
    config = payg_config(tmp_path, timeout="1")
    with ModemManagerPeer(tmp_path, ussd=ussd) as mm:
        menv = {**env, "DBUS_SYSTEM_BUS_ADDRESS": mm.address}
        done = sk(config, menv, "balance", "payg", "--now", NOW)
    assert done.returncode == 1, (done.stdout, done.stderr)
    ((_, _, got, amount, reply, error),) = readings(tmp_path)
    assert (got, amount) == (outcome, None)
    assert history_rows(tmp_path) == []  # nothing the projection would read
    assert runs_out(config, env) == ["2027-02-15"]
    status = sk(config, env, "status", "--now", NOW).stdout
    assert "needs attention:" in status and "the balance check *100#" in status
    if outcome == "no-match":
        assert "07*******56" in reply and "07911123456" not in reply
        assert "07*******56" in status and "07911123456" not in status + done.stdout
    else:
        assert error and error in status


# -- the daemon's worker ----------------------------------------------------------------------


@needs_dbus
def test_the_worker_reads_at_the_due_time_and_not_before(tmp_path, env, monkeypatch):
    from simkeeper.app import metrics
    from simkeeper.service.loop import Service
    from simkeeper.service.worker import balance_apart

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    config_path = payg_config(tmp_path)
    ussd = {"MM_USSD_MODE": "reply", "MM_USSD_REPLY": REPLY}
    start = datetime(2026, 12, 7, 10, tzinfo=UTC)
    with ModemManagerPeer(tmp_path, ussd=ussd) as mm:
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", mm.address)
        config = load(config_path)
        store = open_store(tmp_path / "state" / "simkeeper.db")
        assert store is not None
        wait = Service(config_path).wait_for
        with store:
            for days in (0, 1, 6, 7):
                balance_apart(config, store, start + timedelta(days=days), Redactor(), wait)
        calls = mm.ussd_calls()
    assert len(calls) == 2  # at the start and 7 days on: never in between
    assert [r[2] for r in readings(tmp_path)] == ["ok", "ok"]
    figures = {m.name: m for m in metrics(config, start)}
    samples = dict(figures["simkeeper_balance_readings_total"].samples)
    assert samples[(("outcome", "ok"),)] == 2.0
    assert samples[(("outcome", "no-match"),)] == 0.0


def test_a_check_is_claimed_once(tmp_path):
    store = open_store(tmp_path / "state.db")
    assert store is not None
    now = datetime(2026, 12, 7, 10, tzinfo=UTC)
    later = now + timedelta(days=7)
    with store:
        assert store.claim_balance_check("+447911123456", now, later)
        assert not store.claim_balance_check("+447911123456", now, later)
        assert not store.claim_balance_check("+447911123456", later - timedelta(seconds=1), later)
        assert store.claim_balance_check("+447911123456", later, later + timedelta(days=7))
        assert store.claim_balance_check("+447911123456", later, later, force=True)


# -- no reply crashes a pass or moves a balance without a match -------------------------------


class _Replies:
    def __init__(self, reply: str) -> None:
        self.reply = reply

    def __call__(self, gateway: object, timeout: float) -> _Replies:
        return self

    def ussd(self, code: str, replies: tuple[str, ...] = ()) -> str:
        return self.reply


REPLIES = st.one_of(
    st.text(max_size=300),
    st.text(alphabet="0123456789ABCDEFabcdef", max_size=80),
    st.text(max_size=60).map(ucs2),
    st.builds(lambda a: f"Your balance is £{a}", st.text(alphabet="0123456789.,-", max_size=12)),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reply=REPLIES)
def test_no_reply_crashes_a_pass_or_changes_a_balance_without_a_match(reply):
    from simkeeper.send.balance import read

    with tempfile.TemporaryDirectory() as folder:
        config = load(payg_config(Path(folder)))
        (number,) = config.numbers
        store = open_store(Path(folder) / "state.db")
        assert store is not None
        now = datetime(2026, 12, 7, 10, tzinfo=UTC)
        with store:
            checked = read(config, store, number, now, Redactor(), _Replies(reply))  # type: ignore[arg-type]
            ledger = store.ledger_for([number.number])
        proj = projection(number, now.date(), ledger)
        assert proj is not None
        if checked.ok:
            assert checked.row.amount is not None
            assert ledger.readings[number.number] == (now.date(), Decimal(checked.row.amount))
            assert proj.balance <= Decimal(checked.row.amount)
        else:
            assert checked.row.outcome == "no-match"
            assert number.number not in ledger.readings
            assert proj.since == number.balance_date  # the configured balance still rules


# -- the status page --------------------------------------------------------------------------


def test_the_status_page_shows_a_failed_reading_and_the_run_out_a_reading_implies(tmp_path, env):
    from webface import free_port, request, web_config, web_process

    from simkeeper.send.links import page_token
    from simkeeper.state.readings import NewReading

    port = free_port()
    config = payg_config(tmp_path)
    write_config(config, config.read_text() + web_config(port))
    ok(config, env, "send-due", "--now", NOW)  # the state database and the page key
    (key_file,) = tmp_path.rglob("web.key")
    path = f"/?token={page_token(bytes.fromhex(key_file.read_text().strip()), 'status')}"
    at = datetime(2026, 12, 7, 10, tzinfo=UTC)
    base = {"number": "+447911123456", "name": "payg", "gateway": "modem", "code": "*100#"}
    store = open_store(tmp_path / "state" / "simkeeper.db")
    assert store is not None
    with store:
        store.record_reading(
            NewReading(**base, outcome="ok", day=at.date(), amount=Decimal("5.20"), currency="GBP"),
            at,
        )
    with web_process(config, env, port, "2026-12-07T10:05"):
        page = request(port, path).text
    assert "5.20" in page and "15 Dec" in page  # the balance read, and its run-out date
    assert "Needs attention" not in page
    with open_store(tmp_path / "state" / "simkeeper.db") as store:  # type: ignore[union-attr]
        reply = mask_phones("Service unavailable, call 07911123456")
        store.record_reading(NewReading(**base, outcome="no-match", day=at.date(), reply=reply), at)
    with web_process(config, env, port, "2026-12-07T10:10"):
        page = request(port, path).text
    assert "the balance check *100# got a reply its pattern does not match" in page
    assert "07*******56" in page and "07911123456" not in page


@needs_dbus
def test_send_due_runs_a_due_check_before_its_pass(tmp_path, env):
    config = payg_config(tmp_path)
    ussd = {"MM_USSD_MODE": "reply", "MM_USSD_REPLY": REPLY}
    with ModemManagerPeer(tmp_path, ussd=ussd) as mm:
        menv = {**env, "DBUS_SYSTEM_BUS_ADDRESS": mm.address}
        ok(config, menv, "send-due", "--now", NOW)
        ok(config, menv, "send-due", "--now", "2026-12-08T10:00:00Z")  # not due again yet
        assert len(mm.ussd_calls()) == 1
    assert [r[2] for r in readings(tmp_path)] == ["ok"]
