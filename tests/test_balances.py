"""Pay-as-you-go balances end to end: ``simkeeper topup``, the projection shown by ``upcoming``
and ``status``, "top up before" reminders delivered through Apprise to a real HTTP receiver on
127.0.0.1, ``summary``, and bad input, each command a subprocess against a real SQLite state
database.

Time is driven only by ``--now``, in the config's zone (America/Phoenix, UTC-7 all year); the
machine zone is Pacific/Chatham (UTC+13:45 in summer), a calendar day ahead for most of the day.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from conftest import assert_one_line_error, ok, query, send_due, sk, snapshot, write_config

pytest_plugins = ["receivers"]


def paygo(balance: str = "10.00") -> str:
    """The issue's example: 3.00 USD a month, due on the 3rd, balance read on 2026-11-20."""
    return f"""
[[numbers]]
name = "Ultra PayGo"
number = "+1 415 555 2671"
cycle = "monthly"
due = 2026-12-03
cost = 3.00
currency = "USD"
balance = {balance}
balance_date = 2026-11-20
"""


US_LINE = """
[[numbers]]
name = "US line"
number = "+1 206 555 0100"
cycle = "monthly"
due = 2026-12-15
"""


def make_config(tmp_path: Path, numbers: str, targets: list[tuple[str, str]] = ()) -> Path:
    head = f"""
[settings]
timezone = "America/Phoenix"
remind_at = "09:00"
remind = ["14d", "3d", "1d"]
send_timeout = 5
state = "{tmp_path / "state.db"}"
"""
    notify = "".join(f'\n[[notify]]\nname = "{n}"\nurl = "{u}"\n' for n, u in targets)
    return write_config(tmp_path / "config.toml", head + notify + numbers)


def topup_entries(path: Path, env: dict[str, str], now: str, days: int = 60) -> list[tuple]:
    """The top-up deadlines ``upcoming --format json`` lists, with their projection."""
    out = ok(path, env, "upcoming", "--days", str(days), "--now", now, "--format", "json")
    return [
        (
            d["deadline"],
            d["days_left"],
            Decimal(d["balance"]),
            d["currency"],
            d["covered"],
            d["runs_out"],
        )
        for d in json.loads(out)
        if d["kind"] == "topup"
    ]


def balances(path: Path, env: dict[str, str], now: str) -> list[tuple]:
    result = sk(path, env, "status", "--now", now, "--format", "json")
    assert result.returncode in (0, 1), result.stderr  # 1: a reminder due is not sent yet
    out = json.loads(result.stdout)
    return [
        (b["name"], Decimal(b["balance"]), b["currency"], b["covered"], b["runs_out"])
        for b in out["balances"]
    ]


# -- projection and top-ups ---------------------------------------------------------------------


def test_topup_raises_the_balance_and_moves_the_runs_out_date(tmp_path, env):
    path = make_config(tmp_path, paygo("10.00") + US_LINE)
    now = "2026-11-25T12:00"
    # Worked by hand: 10.00 on 2026-11-20, 3.00 charged on the 3rd of each month:
    # Dec 3 -> 7, Jan 3 -> 4, Feb 3 -> 1, and on Mar 3 1.00 cannot pay 3.00.
    # So 3 charges covered and the balance runs out on 2027-03-03, 98 days after Nov 25.
    expected = [("2027-03-03", 98, Decimal(10), "USD", 3, "2027-03-03")]
    assert topup_entries(path, env, now, 120) == expected
    assert topup_entries(path, env, now, 60) == []  # beyond the view
    assert balances(path, env, now) == [("Ultra PayGo", Decimal(10), "USD", 3, "2027-03-03")]
    text = ok(path, env, "status", "--now", now)
    assert "balance Ultra PayGo: 10.00 USD, covers 3 more charge(s), runs out 2027-03-03" in text
    # Only the number with a balance gets a balance line.
    assert [line for line in text.splitlines() if line.startswith("balance ")] == [
        "balance Ultra PayGo: 10.00 USD, covers 3 more charge(s), runs out 2027-03-03"
    ]

    # +5.00 today: 15 -> 12, 9, 6, 3, 0 over Dec..Apr; May 3 cannot be paid.
    out = ok(path, env, "topup", "Ultra", "5", "--now", now)
    assert out.strip() == (
        "recorded: Ultra PayGo topped up 5 USD on 2026-11-25; balance 15.00 USD, "
        "runs out 2027-05-03"
    )
    assert topup_entries(path, env, now, 120) == []
    assert topup_entries(path, env, now, 200) == [
        ("2027-05-03", 159, Decimal(15), "USD", 5, "2027-05-03")
    ]
    assert balances(path, env, now) == [("Ultra PayGo", Decimal(15), "USD", 5, "2027-05-03")]

    # On Dec 10 the Dec 3 charge is taken (12.00 left); +3.00 dated Dec 9 makes 15.00 again:
    # Jan 3 -> 12, Feb -> 9, Mar -> 6, Apr -> 3, May -> 0, and Jun 3 cannot be paid.
    later = "2026-12-10T12:00"
    assert balances(path, env, later) == [("Ultra PayGo", Decimal(12), "USD", 4, "2027-05-03")]
    out = ok(path, env, "topup", "ultra payGO", "3.00", "--date", "2026-12-09", "--now", later)
    assert out.strip() == (
        "recorded: Ultra PayGo topped up 3.00 USD on 2026-12-09; balance 15.00 USD, "
        "runs out 2027-06-03"
    )
    assert balances(path, env, later) == [("Ultra PayGo", Decimal(15), "USD", 5, "2027-06-03")]
    text = sk(path, env, "status", "--now", later).stdout  # exit 1: US line's reminder is due
    assert "balance Ultra PayGo: 15.00 USD, covers 5 more charge(s), runs out 2027-06-03" in text

    # Both top-ups are in the history, newest first, with their currency.
    events = json.loads(ok(path, env, "history", "Ultra", "--format", "json"))
    assert [(e["event"], e["when"], e["amount"], e["currency"]) for e in events] == [
        ("topup", "2026-12-09", "3.00", "USD"),
        ("topup", "2026-11-25", "5", "USD"),
    ]
    # The plan's own renew deadlines are not touched by top-ups.
    out = ok(path, env, "upcoming", "--days", "40", "--now", later, "--format", "json")
    assert [(d["name"], d["deadline"], d["kind"]) for d in json.loads(out)] == [
        ("US line", "2026-12-15", "renew"),
        ("Ultra PayGo", "2027-01-03", "renew"),
        ("US line", "2027-01-15", "renew"),
    ]


def test_topup_reminder_only_when_the_balance_will_not_cover_a_charge_soon(
    tmp_path, env, http_receiver
):
    path = make_config(tmp_path, paygo("4.00"), [("hook", http_receiver.json_url("hook"))])
    # 4.00 pays Dec 3 (1.00 left), not Jan 3: the balance runs out on 2027-01-03 (a Sunday).
    assert balances(path, env, "2026-12-10T12:00") == [
        ("Ultra PayGo", Decimal(1), "USD", 0, "2027-01-03")
    ]

    # The Dec 3 charge is paid from the balance: no reminder to renew it, no overdue alert.
    assert send_due(path, env, "2026-12-01T09:00") == "nothing to send"
    assert send_due(path, env, "2026-12-04T09:00") == "nothing to send"

    # 14 days before 2027-01-03, the charge the balance cannot pay: top up, or renew by then.
    assert send_due(path, env, "2026-12-20T09:00") == "sent: hook"
    [first] = http_receiver.messages
    assert "renew by 2027-01-03 (Sun), 14 days left" in first
    assert (
        "Ultra PayGo (+1 41* *** *671): the balance of 1.00 USD runs out on 2027-01-03 (Sun), "
        "14 days left. Top up before then." in first
    )
    db = tmp_path / "state.db"
    reminders = (  # live, or folded by compaction (settled), in record order
        "SELECT deadline, kind, offset FROM (SELECT d.id, r.deadline, r.kind, r.offset"
        " FROM reminders r JOIN deliveries d ON d.reminder_id = r.id"
        " UNION ALL SELECT id, deadline, kind, offset FROM settled) ORDER BY id"
    )
    assert query(db, reminders) == [("2027-01-03", "renew", 14), ("2027-01-03", "topup", 14)]

    # Topped up: 6.00 pays Jan 3 and Feb 3, so neither is reminded about or overdue.
    ok(path, env, "topup", "Ultra", "5", "--now", "2026-12-21T10:00")
    for now in ("2026-12-31T09:00", "2027-01-04T09:00", "2027-02-02T09:00"):
        assert send_due(path, env, now) == "nothing to send", now
    assert len(query(db, reminders)) == 2

    # ...until the balance nears its new end: nothing left after Feb 3, Mar 3 cannot be paid.
    assert send_due(path, env, "2027-02-17T09:00") == "sent: hook"
    second = http_receiver.messages[1]
    assert "the balance of 0.00 USD runs out on 2027-03-03 (Wed), 14 days left" in second
    assert query(db, reminders)[2:] == [("2027-03-03", "renew", 14), ("2027-03-03", "topup", 14)]

    # Nobody acted: the unpaid charge is overdue the day after.
    assert send_due(path, env, "2027-03-04T09:00") == "sent: hook"
    assert "1 day overdue" in http_receiver.messages[2]
    assert len(http_receiver.requests) == 3


# -- summary ------------------------------------------------------------------------------------

SUMMARY_NUMBERS = (
    paygo("10.00")
    + US_LINE
    + """
[[numbers]]
name = "EU roaming"
number = "+49 151 23456789"
cycle = "yearly"
due = 2026-12-02
cost = 10
currency = "EUR"

[[numbers]]
name = "Travel eSIM"
number = "+61 412 345 678"
cycle = "quarterly"
due = 2026-12-20
cost = 4.50
currency = "eur"

[[numbers]]
name = "Conference SIM"
number = "+49 151 23456780"
due = 2027-02-01
cost = 20
currency = "EUR"

[[numbers]]
name = "Keepalive eSIM"
number = "+44 7911 123456"
rolling = true
cycle = "every 180 days"
last_renewed = 2026-06-01
cost = 5
currency = "GBP"

[[numbers]]
name = "UK monthly"
number = "+44 7911 123457"
rolling = true
cycle = "monthly"
last_renewed = 2026-11-10
cost = 2
currency = "GBP"

[[numbers]]
name = "Swiss eSIM"
number = "+41 79 123 45 67"
rolling = true
cycle = "yearly"
last_renewed = 2026-06-01
cost = 30
currency = "CHF"

[[numbers]]
name = "Festival SIM"
number = "+41 79 123 45 68"
due = 2026-12-02
cost = 7
currency = "CHF"
"""
)


def summary(path: Path, env: dict[str, str], now: str) -> dict[str, Decimal]:
    out = json.loads(ok(path, env, "summary", "--now", now, "--format", "json"))
    return {k: Decimal(v) for k, v in out.items()}


def test_summary_adds_up_twelve_months_per_currency(tmp_path, env):
    path = make_config(tmp_path, SUMMARY_NUMBERS)
    # 20:00 on 2026-12-02 in Phoenix: already 2026-12-03 in the machine's zone (and in UTC).
    # Window 2026-12-02 .. 2027-12-01, worked by hand:
    #   USD: Ultra PayGo monthly on the 3rd, Dec 3 .. Nov 3           12 x 3.00 = 36.00
    #   EUR: EU roaming yearly, due today (Dec 2) counts              1 x 10    = 10
    #        Travel eSIM quarterly, Dec 20, Mar 20, Jun 20, Sep 20    4 x 4.50  = 18.00
    #        Conference SIM once, 2027-02-01                          1 x 20    = 20
    #   GBP: Keepalive every 180 days, twice a year                   2 x 5     = 10
    #        UK monthly (rolling), twelve times a year                12 x 2    = 24
    #   CHF: Swiss eSIM yearly (rolling), once                        1 x 30    = 30
    #        Festival SIM once, today (Dec 2; Dec 3 would leave it out) 1 x 7     = 7
    # US line has no cost and is left out.
    now = "2026-12-02T20:00"
    assert summary(path, env, now) == {
        "CHF": Decimal(37),
        "EUR": Decimal(48),
        "GBP": Decimal(34),
        "USD": Decimal(36),
    }
    out = ok(path, env, "summary", "--now", now).splitlines()
    assert [line.split() for line in out] == [
        ["CURRENCY", "NEXT", "12", "MONTHS"],
        ["CHF", "37.00"],
        ["EUR", "48.00"],
        ["GBP", "34.00"],
        ["USD", "36.00"],
    ]
    assert list(json.loads(ok(path, env, "summary", "--now", now, "--format", "json"))) == [
        "CHF",
        "EUR",
        "GBP",
        "USD",
    ]

    # A day later the festival SIM is gone, and EU roaming's Dec 2 has passed (next: 2027-12-02,
    # the window's last day, so it still counts once); after Feb 1 the conference SIM is gone.
    next_day = summary(path, env, "2026-12-03T20:00")
    assert (next_day["CHF"], next_day["EUR"]) == (Decimal(30), Decimal(48))
    later = summary(path, env, "2027-02-02T12:00")
    assert later["EUR"] == Decimal(28) and later["USD"] == Decimal(36)
    # Nothing here depends on a state database.
    assert not (tmp_path / "state.db").exists()


def test_summary_without_costs(tmp_path, env):
    path = make_config(tmp_path, US_LINE)
    assert ok(path, env, "summary", "--now", "2026-12-01").strip() == "No number has a cost set."
    assert summary(path, env, "2026-12-01") == {}


# -- bad input ----------------------------------------------------------------------------------


def test_bad_topups_are_one_line_errors_and_change_nothing(tmp_path, env):
    path = make_config(tmp_path, paygo() + US_LINE)
    now = "2026-11-25T12:00"
    ok(path, env, "topup", "Ultra", "5", "--now", now)
    db = tmp_path / "state.db"
    before = snapshot(db)
    assert before[2]["history"] == 1

    cases = [
        (["Ultra", "-5"], ["AMOUNT must be above 0, not -5"]),
        (["Ultra", "0"], ["AMOUNT must be above 0, not 0"]),
        (["Ultra", "0.00"], ["AMOUNT must be above 0"]),
        (["Ultra", "-0.01"], ["AMOUNT must be above 0"]),
        (["Ultra", "abc"], ['AMOUNT "abc" is not an amount']),
        (["Ultra", "10,50"], ['AMOUNT "10,50" is not an amount']),
        (["Ultra", "NaN"], ["AMOUNT must be above 0"]),
        (["Ultra", "Infinity"], ["AMOUNT must be above 0"]),
        (["Ultra", "5", "--date", "2026-11-26"], ["--date 2026-11-26 is in the future"]),
        (["Ultra", "5", "--date", "26/11/2026"], ['--date "26/11/2026" is not a date']),
        (["Nokia", "5"], ['no number is called "Nokia"', '"Ultra PayGo"', '"US line"']),
        (["U", "5"], ['"U" matches several numbers']),
    ]
    for args, fragments in cases:
        result = sk(path, env, "topup", *args, "--now", now)
        assert_one_line_error(result, *fragments)
        assert snapshot(db) == before, args
    # The amount a renewal cost is checked the same way.
    for amount in ("-3", "0", "three"):
        result = sk(path, env, "renewed", "Ultra", "--amount", amount, "--now", now)
        assert_one_line_error(result, "--amount")
        assert snapshot(db) == before, amount
    # The balance did not move: still 10 + 5.
    assert balances(path, env, now) == [("Ultra PayGo", Decimal(15), "USD", 5, "2027-05-03")]


def test_bad_currency_and_amounts_in_the_config(tmp_path, env):
    path = make_config(tmp_path, paygo())
    now = "2026-11-25T12:00"
    ok(path, env, "topup", "Ultra", "5", "--now", now)
    db = tmp_path / "state.db"
    before = snapshot(db)
    good = path.read_text()

    # A lower-case code is fine.
    path.write_text(good.replace('currency = "USD"', 'currency = "usd"'))
    assert "OK, 1 number(s)" in ok(path, env, "check")
    assert summary(path, env, now) == {"USD": Decimal(36)}

    # An unknown code is one line naming the file, line and key, with a suggestion.
    path.write_text(good.replace('currency = "USD"', 'currency = "USDD"'))
    line = good.splitlines().index('currency = "USD"') + 1
    result = sk(path, env, "check")
    assert_one_line_error(
        result,
        f"{path}:{line}: numbers[1].currency:",
        'unknown currency code "USDD"',
        'did you mean "USD"?',
    )
    # Every command refuses that config, and the database is left as it was.
    for args in (
        ["topup", "Ultra", "5", "--now", now],
        ["renewed", "Ultra", "--now", now],
        ["summary", "--now", now],
    ):
        assert_one_line_error(sk(path, env, *args), 'unknown currency code "USDD"')
        assert snapshot(db) == before, args

    for old, new, message in (
        ("cost = 3.00", "cost = 0", "numbers[1].cost: must be above 0"),
        ("balance = 10.00", "balance = -1.00", "numbers[1].balance: must be at least 0"),
        ('currency = "USD"\n', "", "numbers[1].currency: cost needs a currency"),
    ):
        path.write_text(good.replace(old, new))
        assert_one_line_error(sk(path, env, "check"), message)
        assert_one_line_error(sk(path, env, "topup", "Ultra", "5", "--now", now), message)
        assert snapshot(db) == before, new


def test_topup_says_when_it_cannot_change_the_projection(tmp_path, env):
    path = make_config(tmp_path, paygo("10.00") + US_LINE)
    early = sk(path, env, "topup", "Ultra", "5", "--date", "2026-11-19", "--now", "2026-11-25")
    assert early.returncode == 0
    assert "balance 10.00 USD, runs out 2027-03-03" in early.stdout  # unchanged
    assert early.stderr.startswith("note: dated on or before balance_date (2026-11-20)")
    untracked = sk(path, env, "topup", "US line", "10", "--now", "2026-11-25")
    assert untracked.returncode == 0
    assert untracked.stderr.startswith("note: US line has no balance and cost in the config")
    later = sk(path, env, "topup", "Ultra", "5", "--date", "2026-11-21", "--now", "2026-11-25")
    assert "balance 15.00 USD" in later.stdout and later.stderr == ""


def test_the_weekly_digest_leaves_out_charges_the_balance_pays(tmp_path, env, http_receiver):
    numbers = paygo("4.00") + US_LINE  # 4.00 pays Dec 3, not Jan 3
    path = make_config(tmp_path, numbers, [("hook", http_receiver.json_url("hook"))])
    config = path.read_text().replace("[settings]\n", '[settings]\ndigest = "mon 08:00"\n')
    path.write_text(config)
    assert send_due(path, env, "2026-11-30T08:05") == "sent: hook"  # a Monday: the digest only
    [digest] = http_receiver.requests
    assert digest.title == "simkeeper: the next 30 days (1 deadline)"
    assert "US line" in digest.message and "Ultra PayGo" not in digest.message
    # Four weeks on, the charge the balance cannot pay is in it, with the balance.
    send_due(path, env, "2026-12-28T08:05")
    last = http_receiver.requests[-1]
    assert (
        "Ultra PayGo" in last.message
        and "balance of 1.00 USD runs out on 2027-01-03" in last.message
    )
