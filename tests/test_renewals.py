"""Recording renewals end to end: ``simkeeper renewed``, ``history`` and overdue escalation, each
run as a subprocess against a real SQLite state database, with reminders delivered through
Apprise to real HTTP receivers on 127.0.0.1.

Time is driven only by ``--now``, written in the config's zone (Asia/Tokyo, UTC+9 all year, so
09:00 local is 00:00 UTC). The machine zone is Pacific/Chatham (set by the ``env`` fixture),
so anything leaning on it would be a day off.
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import assert_one_line_error, ok, query, send_due, sk, snapshot, write_config

pytest_plugins = ["receivers"]

# A keep-alive eSIM: 2026-06-01 + 180 days = 2026-11-28.
ROLLING = """
[[numbers]]
name = "Keepalive eSIM"
number = "+44 7911 123456"
rolling = true
cycle = "every 180 days"
last_renewed = 2026-06-01
"""
# A monthly plan due on the 15th; 2026-12-15 is a Tuesday.
US_LINE = """
[[numbers]]
name = "US line"
number = "+1 206 555 0100"
carrier = "T-Mobile Prepaid"
cycle = "monthly"
due = 2026-12-15
"""
US_SPARE = """
[[numbers]]
name = "US spare"
number = "+1 206 555 0199"
cycle = "monthly"
due = 2026-12-20
"""
# A number kept in another zone than the settings' (UTC-10).
HAWAII = """
[[numbers]]
name = "Hawaii prepaid"
number = "+1 808 555 0142"
cycle = "monthly"
due = 2026-12-10
timezone = "Pacific/Honolulu"
"""

# The outbox as recorded: live rows, and those compaction folded (``settled``), in record order.
OUTBOX = (
    "SELECT deadline, kind, offset FROM (SELECT d.id, r.deadline, r.kind, r.offset"
    " FROM reminders r JOIN deliveries d ON d.reminder_id = r.id"
    " UNION ALL SELECT id, deadline, kind, offset FROM settled) ORDER BY id"
)


def make_config(
    tmp_path: Path, targets: list[tuple[str, str, list[str]]], numbers: str, extra: str = ""
) -> Path:
    head = f"""
[settings]
timezone = "Asia/Tokyo"
remind_at = "09:00"
remind = ["14d", "3d", "1d"]
send_timeout = 5
state = "{tmp_path / "state.db"}"
{extra}
"""
    notify = "".join(
        f'\n[[notify]]\nname = "{n}"\nurl = "{u}"\ntags = {json.dumps(tags)}\n'
        for n, u, tags in targets
    )
    return write_config(tmp_path / "config.toml", head + notify + numbers)


def upcoming(path: Path, env: dict[str, str], now: str, days: int = 60) -> list[dict]:
    out = ok(path, env, "upcoming", "--days", str(days), "--now", now, "--format", "json")
    return json.loads(out)


def deadlines(path: Path, env: dict[str, str], now: str, name: str, days: int = 60):
    """(deadline, days_left, overdue) of ``name``'s renew deadlines."""
    return [
        (d["deadline"], d["days_left"], d["overdue"])
        for d in upcoming(path, env, now, days)
        if d["name"] == name and d["kind"] == "renew"
    ]


# -- rolling numbers ----------------------------------------------------------------------------


def test_renewing_a_rolling_number_moves_its_deadline(tmp_path, env, http_receiver):
    path = make_config(tmp_path, [("hook", http_receiver.json_url("hook"), [])], ROLLING)
    now = "2026-11-20T12:00"
    assert deadlines(path, env, now, "Keepalive eSIM") == [("2026-11-28", 8, False)]

    out = ok(path, env, "renewed", "Keepalive eSIM", "--now", now)
    assert out.strip() == (
        "recorded: Keepalive eSIM renewed on 2026-11-20; next deadline 2027-05-19"
    )
    # 2026-11-20 + 180 days: out of a 60-day view, in a 200-day one.
    assert deadlines(path, env, now, "Keepalive eSIM") == []
    assert deadlines(path, env, now, "Keepalive eSIM", 200) == [("2027-05-19", 180, False)]
    [entry] = [d for d in upcoming(path, env, now, 200) if d["name"] == "Keepalive eSIM"]
    assert entry["rolling"] is True and entry["number"] == "+447911123456"

    # The old deadline's reminders (3d and 1d before 2026-11-28) never go out.
    assert send_due(path, env, "2026-11-25T09:00") == "nothing to send"
    assert send_due(path, env, "2026-11-27T09:00") == "nothing to send"
    assert http_receiver.requests == []
    # The new one's do: 14 days before 2027-05-19.
    assert send_due(path, env, "2027-05-05T09:00") == "sent: hook"
    [message] = http_receiver.messages
    assert "renew by 2027-05-19" in message and "14 days left" in message


def test_the_later_of_last_renewed_and_the_history_wins(tmp_path, env):
    path = make_config(tmp_path, [], ROLLING)
    now = "2026-11-20T12:00"
    # A renewal older than last_renewed (2026-06-01) is recorded but changes nothing.
    out = ok(path, env, "renewed", "Keep", "--date", "2026-05-01", "--now", now)
    assert out.startswith("recorded: Keepalive eSIM renewed on 2026-05-01")
    assert "next deadline 2026-11-28" in out
    assert deadlines(path, env, now, "Keepalive eSIM") == [("2026-11-28", 8, False)]
    assert query(tmp_path / "state.db", "SELECT kind, date FROM history") == [
        ("renewal", "2026-05-01")
    ]

    # A later one moves the deadline: 2026-10-01 + 180 days = 2027-03-30.
    ok(path, env, "renewed", "Keep", "--date", "2026-10-01", "--now", now)
    assert deadlines(path, env, now, "Keepalive eSIM", 200) == [("2027-03-30", 130, False)]

    # Editing the config to a later last_renewed wins over the history...
    text = path.read_text().replace("last_renewed = 2026-06-01", "last_renewed = 2026-11-10")
    path.write_text(text)
    assert deadlines(path, env, now, "Keepalive eSIM", 200) == [("2027-05-09", 170, False)]
    # ...and an earlier one does not undo the recorded renewal.
    path.write_text(text.replace("last_renewed = 2026-11-10", "last_renewed = 2026-01-01"))
    assert deadlines(path, env, now, "Keepalive eSIM", 200) == [("2027-03-30", 130, False)]


# -- fixed schedules ----------------------------------------------------------------------------


def test_renewing_a_fixed_schedule_stops_that_occurrence_only(tmp_path, env, http_receiver):
    path = make_config(tmp_path, [("hook", http_receiver.json_url("hook"), [])], US_LINE)
    # The 14-day reminder for 2026-12-15 goes out.
    assert send_due(path, env, "2026-12-01T09:00") == "sent: hook"
    [first] = http_receiver.messages
    assert "renew by 2026-12-15 (Tue)" in first and "14 days left" in first

    now = "2026-12-05T10:00"
    assert deadlines(path, env, now, "US line") == [
        ("2026-12-15", 10, False),
        ("2027-01-15", 41, False),
    ]
    out = ok(path, env, "renewed", "US line", "--amount", "15", "--now", now)
    assert out.strip() == "recorded: US line renewed on 2026-12-05; deadline 2026-12-15 done"
    assert deadlines(path, env, now, "US line") == [("2027-01-15", 41, False)]

    # Its remaining lead times (3d, 1d) and any overdue alert stay silent.
    for later in ("2026-12-12T09:00", "2026-12-14T09:00", "2026-12-16T09:00", "2026-12-20T09:00"):
        assert send_due(path, env, later) == "nothing to send", later
    assert len(http_receiver.requests) == 1
    db = tmp_path / "state.db"
    assert query(db, OUTBOX) == [("2026-12-15", "renew", 14)]

    # The next occurrence goes on as usual: 14 days, then 3 days before 2027-01-15.
    assert send_due(path, env, "2027-01-01T09:00") == "sent: hook"
    assert send_due(path, env, "2027-01-12T09:00") == "sent: hook"
    second, third = http_receiver.messages[1:]
    assert "renew by 2027-01-15 (Fri)" in second and "14 days left" in second
    assert "renew by 2027-01-15 (Fri)" in third and "3 days left" in third
    assert query(db, OUTBOX) == [
        ("2026-12-15", "renew", 14),
        ("2027-01-15", "renew", 14),
        ("2027-01-15", "renew", 3),
    ]


# -- naming a number, and bad input ---------------------------------------------------------------


def test_name_matches_number_and_unambiguous_prefix(tmp_path, env):
    path = make_config(tmp_path, [], ROLLING + US_LINE + US_SPARE)
    now = "2026-12-01T10:00"
    # The E.164 number, in any spelling with a leading +.
    out = ok(path, env, "renewed", "+1 (206) 555-0199", "--now", now)
    assert out.startswith("recorded: US spare renewed on 2026-12-01; deadline 2026-12-20 done")
    out = ok(path, env, "renewed", "+12065550100", "--now", now)
    assert out.startswith("recorded: US line renewed on 2026-12-01; deadline 2026-12-15 done")
    # A prefix of the name, in any case.
    out = ok(path, env, "renewed", "keep", "--now", now)
    assert out.startswith("recorded: Keepalive eSIM renewed on 2026-12-01")
    out = ok(path, env, "renewed", "US l", "--again", "--now", now)  # a second one, on purpose
    assert out.startswith("recorded: US line renewed on 2026-12-01; deadline 2027-01-15 done")
    rows = query(tmp_path / "state.db", "SELECT number, name, covers FROM history ORDER BY id")
    assert rows == [
        ("+12065550199", "US spare", "2026-12-20"),
        ("+12065550100", "US line", "2026-12-15"),
        ("+447911123456", "Keepalive eSIM", None),
        ("+12065550100", "US line", "2027-01-15"),
    ]


def test_bad_renewals_are_one_line_errors_and_change_nothing(tmp_path, env):
    path = make_config(tmp_path, [], ROLLING + US_LINE + US_SPARE + HAWAII)
    now = "2026-12-01T10:00"
    ok(path, env, "renewed", "US line", "--now", now)
    db = tmp_path / "state.db"
    before = snapshot(db)
    assert before[2]["history"] == 1

    cases = [
        (["US"], ['"US" matches several numbers', '"US line"', '"US spare"']),
        (["us"], ["matches several numbers"]),
        (["Nokia"], ['no number is called "Nokia"', "Keepalive eSIM"]),
        (["+44 20 7946 0000"], ["no number is called"]),
        (["US line", "--date", "2026-12-02"], ["--date 2026-12-02 is in the future"]),
        (["US line", "--date", "2026-13-01"], ['--date "2026-13-01" is not a date']),
        (["US line", "--amount", "-5"], ["--amount must be above 0"]),
        (["US line", "--amount", "five"], ['--amount "five" is not an amount']),
    ]
    for args, fragments in cases:
        result = sk(path, env, "renewed", *args, "--now", now)
        assert_one_line_error(result, *fragments)
        assert snapshot(db) == before, args

    # "Today" is the date in the number's own zone: 10:00 on 2026-12-01 in Tokyo is still
    # 2026-11-30 in Honolulu, so a renewal dated 2026-12-01 is in the future there.
    result = sk(path, env, "renewed", "Hawaii", "--date", "2026-12-01", "--now", now)
    assert_one_line_error(result, "--date 2026-12-01 is in the future", "today is 2026-11-30")
    assert snapshot(db) == before
    out = ok(path, env, "renewed", "Hawaii", "--now", now)
    assert out.startswith("recorded: Hawaii prepaid renewed on 2026-11-30")
    assert snapshot(db)[2]["history"] == 2

    # With no database yet, a bad renewal does not create one.
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    other = make_config(fresh, [], US_LINE)
    assert_one_line_error(sk(other, env, "renewed", "Nokia", "--now", now), "no number")
    assert not (fresh / "state.db").exists()


# -- history ------------------------------------------------------------------------------------


def test_history_lists_renewals_and_sent_reminders_newest_first(tmp_path, env, make_http_receiver):
    hook = make_http_receiver()
    path = make_config(tmp_path, [("hook", hook.json_url("hook"), [])], ROLLING + US_LINE)
    assert ok(path, env, "history").strip() == "No history yet."
    assert json.loads(ok(path, env, "history", "--format", "json")) == []

    # 3 days before the keep-alive deadline (2026-11-28); renewed two days before it; then
    # 14 days before US line's (2026-12-15), which is renewed four days later. (US line's
    # 2026-11-15 occurrence passed unreminded, so it is not tracked as overdue.)
    assert send_due(path, env, "2026-11-25T09:00") == "sent: hook"
    ok(path, env, "renewed", "Keepalive", "--date", "2026-11-26", "--now", "2026-11-26T20:00")
    assert send_due(path, env, "2026-12-01T09:00") == "sent: hook"
    ok(
        path,
        env,
        "renewed",
        "US line",
        "--amount",
        "15",
        "--note",
        "paid at the shop",
        "--now",
        "2026-12-05T10:00",
    )

    events = json.loads(ok(path, env, "history", "--format", "json"))
    assert [(e["event"], e["name"], e["when"][:10]) for e in events] == [
        ("renewal", "US line", "2026-12-05"),
        ("sent", "US line", "2026-12-01"),
        ("renewal", "Keepalive eSIM", "2026-11-26"),
        ("sent", "Keepalive eSIM", "2026-11-25"),
    ]
    renewal, sent = events[0], events[1]
    assert renewal["amount"] == "15" and renewal["note"] == "paid at the shop"
    assert renewal["covers"] == "2026-12-15" and renewal["number"] == "+12065550100"
    assert sent["target"] == "hook" and sent["deadline"] == "2026-12-15"
    assert sent["kind"] == "renew" and sent["offset"] == 14
    assert sent["when"] == "2026-12-01T09:00:00+09:00"  # in the configured zone, with offset

    # One number only, by prefix; and the table form.
    mine = json.loads(ok(path, env, "history", "US", "--format", "json"))
    assert [(e["event"], e["name"]) for e in mine] == [("renewal", "US line"), ("sent", "US line")]
    table = ok(path, env, "history", "US line").splitlines()
    assert table[0].split() == ["WHEN", "NAME", "WHAT"]
    assert len(table) == 3
    assert "renewal 15 (deadline 2026-12-15) - paid at the shop" in table[1]
    assert table[1].startswith("2026-12-05")
    assert "renew reminder for 2026-12-15 sent to hook" in table[2]
    # --limit keeps the newest.
    [latest] = json.loads(ok(path, env, "history", "--limit", "1", "--format", "json"))
    assert (latest["event"], latest["name"]) == ("renewal", "US line")
    # An unknown name is an error here too.
    assert_one_line_error(sk(path, env, "history", "Nokia"), "no number is called")


# -- overdue alerts and escalation --------------------------------------------------------------

ESCALATING = """
[[numbers]]
name = "US line"
number = "+1 206 555 0100"
cycle = "monthly"
due = 2026-12-15
notify = ["email"]
escalate = ["sms"]
overdue_for = "3d"
"""


def escalation_config(tmp_path: Path, receiver) -> Path:
    targets = [
        ("hook", receiver.json_url("hook"), ["email"]),
        ("pager", receiver.json_url("pager"), ["sms"]),
    ]
    return make_config(tmp_path, targets, ESCALATING)


def test_overdue_alerts_go_daily_to_escalation_targets_until_overdue_for(
    tmp_path, env, http_receiver
):
    path = escalation_config(tmp_path, http_receiver)
    # Before the deadline only the normal target hears about it.
    assert send_due(path, env, "2026-12-14T09:00") == "sent: hook"
    assert [r.route for r in http_receiver.requests] == ["/hook"]
    assert send_due(path, env, "2026-12-15T09:00") == "nothing to send"

    # The day after: not yet 09:00, but the occurrence is already shown as overdue.
    now = "2026-12-16T08:00"
    assert deadlines(path, env, now, "US line") == [
        ("2026-12-15", -1, True),
        ("2027-01-15", 30, False),
    ]
    result = sk(path, env, "status", "--now", now, "--format", "json")
    assert result.returncode == 1  # an overdue number needs attention
    status = json.loads(result.stdout)
    assert [(d["name"], d["deadline"], d["overdue"]) for d in status["at_risk"]] == [
        ("US line", "2026-12-15", True)
    ]
    assert status["next_reminder"] == "2026-12-16T09:00:00+09:00"
    text = sk(path, env, "status", "--now", now).stdout
    assert "at risk:\n  US line: OVERDUE, deadline 2026-12-15 (1d ago)" in text
    table = ok(path, env, "upcoming", "--now", now)
    [row] = [line for line in table.splitlines() if line.startswith("2026-12-15")]
    assert "1d ago" in row and "OVERDUE" in row

    # One alert a day at 09:00, to the normal target and the escalation target.
    for day, late in (("2026-12-16", 1), ("2026-12-17", 2), ("2026-12-18", 3)):
        http_receiver.clear()
        out = send_due(path, env, f"{day}T09:00")
        assert sorted(out.splitlines()) == ["sent: hook", "sent: pager"], day
        assert sorted(r.route for r in http_receiver.requests) == ["/hook", "/pager"]
        for request in http_receiver.requests:
            assert request.message.startswith("OVERDUE US line"), request.message
            assert f"was due 2026-12-15 (Tue), {late} day{'s' if late > 1 else ''} overdue" in (
                request.message
            )
        # Once a day only.
        assert send_due(path, env, f"{day}T21:00") == "nothing to send"
    assert len(http_receiver.requests) == 2

    # overdue_for = 3d: no fourth alert, and the occurrence is no longer listed as at risk.
    http_receiver.clear()
    assert send_due(path, env, "2026-12-19T09:00") == "nothing to send"
    assert send_due(path, env, "2026-12-20T09:00") == "nothing to send"
    assert http_receiver.requests == []
    assert deadlines(path, env, "2026-12-20T10:00", "US line", 40) == [("2027-01-15", 26, False)]
    rows = query(
        tmp_path / "state.db",
        "SELECT kind, offset, target, state FROM (SELECT d.id, r.kind, r.offset, d.target,"
        " d.state FROM reminders r JOIN deliveries d ON d.reminder_id = r.id UNION ALL SELECT"
        " id, kind, offset, target, IIF(sent, 'sent', 'expired') FROM settled) ORDER BY id",
    )
    assert rows == [
        ("renew", 1, "hook", "sent"),
        ("overdue", -1, "hook", "sent"),
        ("overdue", -1, "pager", "sent"),
        ("overdue", -2, "hook", "sent"),
        ("overdue", -2, "pager", "sent"),
        ("overdue", -3, "hook", "sent"),
        ("overdue", -3, "pager", "sent"),
    ]


def test_renewing_an_overdue_occurrence_stops_the_alerts(tmp_path, env, http_receiver):
    path = escalation_config(tmp_path, http_receiver)
    assert send_due(path, env, "2026-12-14T09:00") == "sent: hook"
    out = send_due(path, env, "2026-12-16T09:00")
    assert sorted(out.splitlines()) == ["sent: hook", "sent: pager"]

    # Renewed late: the overdue occurrence is the one marked done, not the next.
    out = ok(path, env, "renewed", "US", "--now", "2026-12-16T12:00")
    assert out.strip() == "recorded: US line renewed on 2026-12-16; deadline 2026-12-15 done"
    now = "2026-12-16T12:00"
    assert deadlines(path, env, now, "US line") == [("2027-01-15", 30, False)]
    status = json.loads(ok(path, env, "status", "--now", now, "--format", "json"))
    assert status["at_risk"] == []
    assert "at risk" not in ok(path, env, "status", "--now", now)

    http_receiver.clear()
    for later in ("2026-12-17T09:00", "2026-12-18T09:00"):
        assert send_due(path, env, later) == "nothing to send"
    assert http_receiver.requests == []
    # The next occurrence is reminded as usual, on the normal target only.
    assert send_due(path, env, "2027-01-01T09:00") == "sent: hook"
    [request] = http_receiver.requests
    assert request.route == "/hook" and "renew by 2027-01-15" in request.message


def test_overdue_every_spaces_the_alerts(tmp_path, env, http_receiver):
    numbers = ESCALATING.replace('overdue_for = "3d"', 'overdue_for = "5d"\noverdue_every = "2d"')
    targets = [("hook", http_receiver.json_url("hook"), ["email"])]
    path = make_config(tmp_path, targets, numbers.replace('escalate = ["sms"]\n', ""))
    assert send_due(path, env, "2026-12-14T09:00") == "sent: hook"
    sent_on = []
    for day in range(16, 22):
        if send_due(path, env, f"2026-12-{day}T09:00") != "nothing to send":
            sent_on.append(day)
    # Every 2 days after 2026-12-15, within 5 days: the 17th and the 19th.
    assert sent_on == [17, 19]
    assert "2 days overdue" in http_receiver.messages[1]
    assert "4 days overdue" in http_receiver.messages[2]


def test_history_entries_recorded_in_the_same_second_come_newest_first(tmp_path, env):
    path = make_config(tmp_path, [], ROLLING)
    for note in ("first", "second", "third"):
        now = "2026-11-26T20:00"
        ok(
            path,
            env,
            "renewed",
            "Keepalive",
            "--note",
            note,
            "--date",
            "2026-11-26",
            "--again",
            "--now",
            now,
        )
    events = json.loads(ok(path, env, "history", "--format", "json"))
    assert [e["note"] for e in events] == ["third", "second", "first"]
