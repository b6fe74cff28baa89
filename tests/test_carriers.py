"""Carrier rules as they really are (issue 11): how a renewal moves a rolling deadline
(``on_renewal``, ``min_amount``, ``validity``, ``max_ahead``), the stages after a missed deadline
(``after_deadline``), ``renew_url`` and the built-in plans (``plan = "NAME"``).

The engine is tested in-process (with hypothesis for the properties), everything else through
the installed ``simkeeper`` as a subprocess with ``--now``, a real SQLite file and a real HTTP
receiver on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import assert_one_line_error, ok, send_due, sk, write_config
from hypothesis import given, settings
from hypothesis import strategies as st

from simkeeper.config.plans import builtin_plans
from simkeeper.core.model import Ledger, Number, Stage, Tier
from simkeeper.core.periods import parse_cycle
from simkeeper.engine.deadlines import rolling_deadline
from simkeeper.texts.i18n import translator
from simkeeper.texts.templates import STAGE_TEXTS, Item, Texts, stage_texts

pytest_plugins = ["receivers"]

E164 = "+447911123456"


def rolling(rule: str = "reset", **kw) -> Number:
    base = {
        "name": "line",
        "number": E164,
        "timezone": ZoneInfo("UTC"),
        "timezone_name": "UTC",
        "remind": (1,),
        "cycle": parse_cycle("every 180 days"),
        "rolling": True,
        "on_renewal": rule,
    }
    return Number(**{**base, **kw})


def deadline(number: Number, history: list[tuple[date, Decimal | None]]) -> date | None:
    return rolling_deadline(
        number, Ledger(renewals={E164: tuple(sorted(history, key=lambda e: e[0]))})
    )


# -- the engine ------------------------------------------------------------------------------


def test_reset_extend_and_later_on_one_history():
    history = [(date(2026, 1, 1), None), (date(2026, 3, 1), None)]
    # First deadline 2026-06-30; the renewal on Mar 1 has 121 days of validity left.
    assert deadline(rolling("reset"), history) == date(2026, 3, 1) + timedelta(days=180)
    assert deadline(rolling("extend"), history) == date(2026, 6, 30) + timedelta(days=180)
    assert deadline(rolling("later"), history) == date(2026, 8, 28)
    # later keeps the old deadline when the reset one would be earlier.
    tiered = (Tier(Decimal(300), parse_cycle("every 365 days")),)
    short = rolling("later", cycle=parse_cycle("every 30 days"), validity=tiered)
    history = [(date(2026, 1, 1), Decimal(300)), (date(2026, 1, 10), None)]
    assert deadline(short, history) == date(2027, 1, 1)
    assert deadline(replace(short, on_renewal="reset"), history) == date(2026, 2, 9)


def test_without_the_new_keys_a_rolling_deadline_is_the_latest_renewal_plus_the_cycle():
    n = rolling(last_renewed=date(2026, 5, 1))
    assert rolling_deadline(n, Ledger()) == date(2026, 10, 28)
    assert rolling_deadline(n, Ledger(renewed_on={E164: date(2026, 6, 1)})) == date(2026, 11, 28)
    # An older recorded renewal does not pull it back.
    assert rolling_deadline(n, Ledger(renewed_on={E164: date(2026, 4, 1)})) == date(2026, 10, 28)


def test_validity_tier_by_amount_and_cycle_without_one():
    tiers = (
        Tier(Decimal(100), parse_cycle("every 180 days")),
        Tier(Decimal(300), parse_cycle("every 365 days")),
    )
    n = rolling(cycle=parse_cycle("every 90 days"), validity=tiers)
    day = date(2026, 1, 1)
    assert deadline(n, [(day, None)]) == day + timedelta(days=90)
    assert deadline(n, [(day, Decimal(99))]) == day + timedelta(days=90)
    assert deadline(n, [(day, Decimal(100))]) == day + timedelta(days=180)
    assert deadline(n, [(day, Decimal("299.99"))]) == day + timedelta(days=180)
    assert deadline(n, [(day, Decimal(1000))]) == day + timedelta(days=365)


def test_max_ahead_caps_stacking():
    n = rolling("extend", max_ahead=365)
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(4)]
    assert deadline(n, [(d, None) for d in days]) == days[-1] + timedelta(days=365)


def test_min_amount_skips_small_renewals_but_counts_those_without_an_amount():
    n = rolling(min_amount=Decimal(100))
    first = (date(2026, 1, 1), None)
    assert deadline(n, [first, (date(2026, 2, 1), Decimal(50))]) == date(2026, 6, 30)
    assert deadline(n, [first, (date(2026, 2, 1), Decimal(100))]) == date(2026, 7, 31)
    assert deadline(n, [first, (date(2026, 2, 1), None)]) == date(2026, 7, 31)


# -- properties --------------------------------------------------------------------------------

DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31))
AMOUNTS = st.one_of(st.none(), st.integers(1, 500).map(Decimal))
HISTORY = st.lists(st.tuples(DAYS, AMOUNTS), min_size=1, max_size=12)
CYCLES = st.sampled_from(["every 30 days", "every 180 days", "monthly", "every 6 months"])
TIERS = st.lists(
    st.tuples(st.integers(1, 400), st.sampled_from(["every 90 days", "every 365 days", "yearly"])),
    max_size=3,
    unique_by=lambda t: t[0],
)


def _shape(cycle: str, tiers, max_ahead, minimum) -> dict:
    return {
        "cycle": parse_cycle(cycle),
        "validity": tuple(Tier(Decimal(f), parse_cycle(c)) for f, c in sorted(tiers)),
        "max_ahead": max_ahead,
        "min_amount": None if minimum is None else Decimal(minimum),
    }


MAX_AHEAD = st.one_of(st.none(), st.integers(1, 800))
MINIMUM = st.one_of(st.none(), st.integers(1, 300))


@settings(max_examples=300, deadline=None)
@given(HISTORY, CYCLES, TIERS, MAX_AHEAD, MINIMUM)
def test_extend_is_never_earlier_than_later_which_is_never_earlier_than_reset(
    history, cycle, tiers, max_ahead, minimum
):
    shape = _shape(cycle, tiers, max_ahead, minimum)
    reset, later, extend = (deadline(rolling(r, **shape), history) for r in RENEWAL_ORDER)
    if reset is None:
        assert later is None and extend is None
        return
    assert extend >= later >= reset


RENEWAL_ORDER = ("reset", "later", "extend")


@settings(max_examples=300, deadline=None)
@given(HISTORY, CYCLES, TIERS, st.integers(1, 800), MINIMUM, st.sampled_from(RENEWAL_ORDER))
def test_a_deadline_never_exceeds_its_renewal_plus_max_ahead(
    history, cycle, tiers, max_ahead, minimum, rule
):
    n = rolling(rule, **_shape(cycle, tiers, max_ahead, minimum))
    found = deadline(n, history)
    counted = [d for d, a in history if minimum is None or a is None or a >= minimum]
    if not counted:
        assert found is None
        return
    assert found <= max(counted) + timedelta(days=max_ahead)


@settings(max_examples=300, deadline=None)
@given(HISTORY, DAYS, CYCLES, TIERS, MAX_AHEAD, st.integers(2, 300), st.sampled_from(RENEWAL_ORDER))
def test_a_renewal_below_min_amount_changes_nothing(
    history, day, cycle, tiers, max_ahead, minimum, rule
):
    n = rolling(rule, **_shape(cycle, tiers, max_ahead, minimum))
    small = Decimal(minimum) - Decimal("0.01")
    assert deadline(n, [*history, (day, small)]) == deadline(n, history)


# -- message texts ----------------------------------------------------------------------------


def _item(days_left: int, kind: str = "overdue") -> Item:
    return Item(
        kind=kind,
        name="TW",
        number="+886912345678",
        carrier="Chunghwa",
        deadline=date(2026, 12, 1),
        days_left=days_left,
        stages=((0, "receive only"), (90, "number recycled")),
        renew_url="https://example.com/topup",
    )


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_stage_texts_are_complete_in_both_languages(language):
    assert set(stage_texts(translator(language))) == set(STAGE_TEXTS)
    texts = Texts(language)
    before = texts.item(_item(3, "renew"))
    now = texts.item(_item(-10))
    final = texts.item(_item(-86))
    for text in (before, now, final):
        assert "2027-03-01" in text and "https://example.com/topup" in text
    assert "receive only" in before and "number recycled" in before
    assert "receive only" in now
    if language == "en":
        assert "If it is missed: receive only from 2026-12-01, then number recycled" in before
        assert "Now: receive only. The number is lost on 2027-03-01 (in 80 days)." in now
        assert "FINAL WEEK: the number is lost on 2027-03-01 (in 4 days)." in final
    else:
        assert "若错过：2026-12-01 起receive only，2027-03-01 起number recycled" in before
        assert "当前：receive only。号码将于 2027-03-01 被收回（还有 80 天）。" in now
        assert "最后一周：号码将于 2027-03-01 被收回（还有 4 天）！" in final


def test_texts_without_stages_or_url_are_as_before():
    plain = Item("renew", "A", "+447911123456", "", date(2026, 12, 1), 3)
    assert Texts("en").item(plain) == "A (+44 79** ***456): renew by 2026-12-01 (Tue), 3 days left."


# -- config -----------------------------------------------------------------------------------

HEAD = """
[settings]
timezone = "Europe/London"
remind = ["1d"]
state = "state.db"
"""


def cfg(tmp_path: Path, numbers: str, head: str = HEAD) -> Path:
    return write_config(tmp_path / "config.toml", head + numbers)


@pytest.mark.parametrize(
    "entry,key,fragment",
    [
        ('plan = "giffgaf"\nlast_renewed = 2026-01-01', "plan", 'did you mean "giffgaff"'),
        ('plan = "3hk"', "last_renewed", 'plan "3hk" is a keep-alive window'),
        (
            'cycle = "monthly"\ndue = 2026-12-01\non_renewal = "extend"',
            "on_renewal",
            "applies to rolling numbers only",
        ),
        (
            'cycle = "every 30 days"\nrolling = true\nlast_renewed = 2026-01-01\n'
            'on_renewal = "extnd"',
            "on_renewal",
            'did you mean "extend"',
        ),
        ('plan = "csl"\nlast_renewed = 2026-01-01\nmin_amount = -5', "min_amount", "above 0"),
        (
            'plan = "csl"\nlast_renewed = 2026-01-01\nmin_amount = 1e12',
            "min_amount",
            "must be below 1,000,000,000",
        ),
        ('plan = "csl"\nlast_renewed = 2026-01-01\nmin_amount = nan', "min_amount", "above 0"),
        ('plan = "csl"\nlast_renewed = 2026-01-01\nmax_ahead = "4000d"', "max_ahead", "ten years"),
        ('plan = "csl"\nlast_renewed = 2026-01-01\nmax_ahead = "0d"', "max_ahead", "use 1d to"),
        (
            'plan = "csl"\nlast_renewed = 2026-01-01\n'
            'validity = [{from = 100, cycle = "every 11 years"}]',
            "validity[1].cycle",
            "10 years",
        ),
        (
            'plan = "csl"\nlast_renewed = 2026-01-01\nvalidity = [{from = 100}]',
            "validity[1].cycle",
            "missing",
        ),
        (
            'plan = "csl"\nlast_renewed = 2026-01-01\n'
            'after_deadline = [{after = "90d", state = "b"}, {after = "30d", state = "c"}]',
            "after_deadline[2].after",
            "after the stage before",
        ),
        (
            'plan = "csl"\nlast_renewed = 2026-01-01\nafter_deadline = [{after = "1d"}]',
            "after_deadline[1].state",
            "missing",
        ),
        (
            'plan = "csl"\nlast_renewed = 2026-01-01\n'
            'after_deadline = [{after = "3700d", state = "gone"}]',
            "after_deadline[1].after",
            "three years",
        ),
        (
            'plan = "csl"\nlast_renewed = 2026-01-01\nafter_deadline = "soon"',
            "after_deadline",
            "list of tables",
        ),
        ('plan = "csl"\nlast_renewed = 2026-01-01\nrenew_url = "csl.hk"', "renew_url", "web"),
    ],
)
def test_bad_new_keys_name_file_line_key_and_fix(tmp_path, env, entry, key, fragment):
    path = cfg(tmp_path, f'\n[[numbers]]\nname = "x"\nnumber = "+852 6123 4567"\n{entry}\n')
    r = sk(path, env, "check")
    assert_one_line_error(r, f"{path}:", f"numbers[1].{key}", fragment)
    assert re.search(rf"{re.escape(str(path))}:\d+:", r.stderr), r.stderr


def test_entry_keys_override_the_plan(tmp_path, env):
    path = cfg(
        tmp_path,
        """
[[numbers]]
name = "HK"
number = "+852 6123 4567"
plan = "3hk"
cycle = "every 90 days"
carrier = "3 Hong Kong"
min_amount = 50
last_renewed = 2026-10-01
""",
    )
    [d] = json.loads(ok(path, env, "upcoming", "--format", "json", "--now", "2026-11-25"))
    assert d["deadline"] == "2026-12-30" and d["carrier"] == "3 Hong Kong"
    out = ok(
        path, env, "renewed", "HK", "--date", "2026-11-20", "--amount", "60", "--now", "2026-11-25"
    )
    assert "next deadline 2027-02-18" in out


# -- renewed --date --amount, topup, upcoming --format json ---------------------------------------

HK3 = """
[[numbers]]
name = "3HK"
number = "+852 6123 4567"
plan = "3hk"
last_renewed = 2026-07-01
cost = 50
"""


def upcoming(path: Path, env, now: str, days: str = "400") -> list[dict]:
    return json.loads(ok(path, env, "upcoming", "--format", "json", "--days", days, "--now", now))


def test_a_renewal_below_min_amount_is_kept_but_moves_nothing(tmp_path, env):
    path = cfg(tmp_path, HK3)
    now = "2026-11-25T12:00"
    assert [d["deadline"] for d in upcoming(path, env, now)] == ["2026-12-28"]
    out = ok(path, env, "renewed", "3HK", "--date", "2026-11-20", "--amount", "50", "--now", now)
    assert out == (
        "recorded: 3HK renewed on 2026-11-20; 50 is below min_amount 100 HKD, so the deadline "
        "stays 2026-12-28\n"
    )
    assert [d["deadline"] for d in upcoming(path, env, now)] == ["2026-12-28"]
    history = ok(path, env, "history", "3HK", "--format", "json")
    assert [(e["event"], e["amount"]) for e in json.loads(history)] == [("renewal", "50")]
    out = ok(path, env, "renewed", "3HK", "--date", "2026-11-21", "--amount", "100", "--now", now)
    assert out.strip().endswith(f"next deadline {date(2026, 11, 21) + timedelta(days=180)}")
    # A top-up counts as a renewal on a keep-alive line, by the same rules.
    out = ok(path, env, "topup", "3HK", "20", "--date", "2026-11-24", "--now", now)
    assert "20 is below min_amount 100 HKD, so the deadline stays 2027-05-20" in out
    out = ok(path, env, "topup", "3HK", "150", "--date", "2026-11-24", "--now", now)
    assert out.strip().endswith("next deadline 2027-05-23")


def test_summary_charges_at_least_min_amount(tmp_path, env):
    path = cfg(tmp_path, HK3)
    # 50 is below min_amount, so each renewal costs 100; every 180 days is 2 a year.
    assert json.loads(ok(path, env, "summary", "--format", "json", "--now", "2026-11-25")) == {
        "HKD": "200"
    }


STACKING = """
[[numbers]]
name = "Stack"
number = "+44 7911 123456"
cycle = "every 90 days"
rolling = true
last_renewed = 2026-10-01
on_renewal = "{rule}"
currency = "GBP"
validity = [{{from = 100, cycle = "every 365 days"}}]
max_ahead = "400d"
"""


@pytest.mark.parametrize(
    "rule,after_100,after_plain",
    [
        # extend: max(2026-12-30, Nov 1) + 365 = 2027-12-30, capped at Nov 1 + 400 = 2027-12-06;
        # then + 90 from 2027-12-06, capped at Nov 2 + 400 = 2027-12-07.
        ("extend", "2027-12-06", "2027-12-07"),
        # later: max(2026-12-30, Nov 1 + 365); then max(2027-11-01, Nov 2 + 90).
        ("later", "2027-11-01", "2027-11-01"),
        # reset: Nov 1 + 365; then Nov 2 + 90.
        ("reset", "2027-11-01", "2027-01-31"),
    ],
)
def test_renewed_with_amount_by_rule_tier_and_cap(tmp_path, env, rule, after_100, after_plain):
    path = cfg(tmp_path, STACKING.format(rule=rule))
    now = "2026-11-25T12:00"
    assert [d["deadline"] for d in upcoming(path, env, now)] == ["2026-12-30"]
    out = ok(path, env, "renewed", "Stack", "--date", "2026-11-01", "--amount", "100", "--now", now)
    assert out == f"recorded: Stack renewed on 2026-11-01; next deadline {after_100}\n"
    out = ok(path, env, "renewed", "Stack", "--date", "2026-11-02", "--now", now)
    assert out == f"recorded: Stack renewed on 2026-11-02; next deadline {after_plain}\n"


def test_min_amount_on_a_fixed_schedule_marks_nothing_done(tmp_path, env):
    path = cfg(
        tmp_path,
        """
[[numbers]]
name = "Fixed"
number = "+44 7911 123456"
cycle = "monthly"
due = 2026-12-10
min_amount = 10
currency = "GBP"
""",
    )
    now = "2026-12-01T12:00"
    out = ok(path, env, "renewed", "Fixed", "--amount", "5", "--now", now)
    assert out == (
        "recorded: Fixed renewed on 2026-12-01; 5 is below min_amount 10 GBP, so no deadline "
        "is marked done\n"
    )
    assert upcoming(path, env, now, "20")[0]["deadline"] == "2026-12-10"
    out = ok(path, env, "renewed", "Fixed", "--amount", "10", "--now", now)
    assert out == "recorded: Fixed renewed on 2026-12-01; deadline 2026-12-10 done\n"
    assert upcoming(path, env, now, "20") == []


# -- stages: upcoming, alerts, calendar ---------------------------------------------------------

# Deadline 2026-12-01 (2026-06-04 + 180 days); warning period from then, lost on 2027-03-01.
VODAFONE = """
[[numbers]]
name = "Voda"
number = "+44 7911 123456"
plan = "vodafone-uk"
last_renewed = 2026-06-04
overdue_every = "2w"
"""


def test_upcoming_json_and_table_show_the_stage_and_loss_date(tmp_path, env):
    path = cfg(tmp_path, VODAFONE)
    [before] = upcoming(path, env, "2026-11-25T12:00", "30")
    assert (before["deadline"], before["lost_on"], before["stage"]) == (
        "2026-12-01",
        "2027-03-01",
        None,
    )
    assert before["renew_url"] == "https://www.vodafone.co.uk/"
    [late] = upcoming(path, env, "2027-01-10T12:00", "30")
    assert (late["days_left"], late["lost_on"], late["stage"]) == (
        -40,
        "2027-03-01",
        "warning period",
    )
    [gone] = upcoming(path, env, "2027-03-02T12:00", "30")
    assert gone["stage"] == "disconnected"
    table = ok(path, env, "upcoming", "--now", "2027-01-10T12:00")
    assert "STAGE / LOST" in table.splitlines()[0]
    assert "warning period; lost 2027-03-01" in table


def test_a_config_without_stages_keeps_its_table_and_null_json(tmp_path, env):
    path = cfg(
        tmp_path,
        '\n[[numbers]]\nname = "A"\nnumber = "+44 7911 123456"\ndue = 2026-12-01\n',
    )
    assert "STAGE" not in ok(path, env, "upcoming", "--now", "2026-11-25")
    [d] = upcoming(path, env, "2026-11-25", "30")
    assert (d["lost_on"], d["stage"], d["renew_url"]) == (None, None, None)


def test_reminders_say_what_follows_and_alerts_name_the_stage_until_the_last(
    tmp_path, env, http_receiver
):
    head = HEAD + f'\n[[notify]]\nname = "hook"\nurl = "{http_receiver.json_url()}"\n'
    path = cfg(tmp_path, VODAFONE, head)
    assert send_due(path, env, "2026-11-30T09:00") == "sent: hook"
    [before] = http_receiver.messages
    assert "renew by 2026-12-01 (Tue), 1 day left." in before
    assert (
        "If it is missed: warning period from 2026-12-01, then disconnected from 2027-03-01; "
        "the number is lost on 2027-03-01." in before
    )
    assert "lost on 2027-03-01. Top up: https://www.vodafone.co.uk/ Note: Any" in before
    # Day 42 after the deadline: past overdue_for (30d), but the number is not lost yet.
    assert send_due(path, env, "2027-01-12T09:00") == "sent: hook"
    alert = http_receiver.messages[-1]
    assert alert.startswith("OVERDUE Voda")
    assert "Now: warning period. The number is lost on 2027-03-01 (in 48 days)." in alert
    # The final week: every day, whatever overdue_every says.
    for day, left in (("2027-02-24", 5), ("2027-02-25", 4), ("2027-03-01", 0)):
        assert send_due(path, env, f"{day}T09:00") == "sent: hook"
        when = f"in {left} days" if left else "today"
        expected = f"FINAL WEEK: the number is lost on 2027-03-01 ({when})."
        assert expected in http_receiver.messages[-1]
    count = len(http_receiver.requests)
    assert send_due(path, env, "2027-03-02T09:00") == "nothing to send"
    assert send_due(path, env, "2027-03-20T09:00") == "nothing to send"
    assert len(http_receiver.requests) == count


def test_an_overdue_alert_in_chinese_names_the_stage(tmp_path, env, http_receiver):
    head = HEAD.replace('remind = ["1d"]', 'remind = ["1d"]\nlanguage = "zh-CN"')
    head += f'\n[[notify]]\nname = "hook"\nurl = "{http_receiver.json_url()}"\n'
    path = cfg(tmp_path, VODAFONE, head)
    send_due(path, env, "2026-11-30T09:00")
    send_due(path, env, "2027-01-12T09:00")
    alert = http_receiver.messages[-1]
    assert alert.startswith("已逾期 Voda")
    assert "当前：warning period。号码将于 2027-03-01 被收回（还有 48 天）。" in alert
    assert "充值：https://www.vodafone.co.uk/" in alert


def test_a_balance_that_runs_out_gets_the_plans_stages(tmp_path, env):
    path = cfg(
        tmp_path,
        """
[[numbers]]
name = "Ultra"
number = "+1 415 555 2671"
plan = "ultra-paygo"
due = 2026-12-03
balance = 7.00
balance_date = 2026-11-20
""",
    )
    found = upcoming(path, env, "2026-11-25T12:00", "80")
    # $3 every 30 days: 7.00 covers Dec 3 and Jan 2; Feb 1 is the first charge it cannot.
    assert [(d["deadline"], d["kind"], d["lost_on"]) for d in found] == [
        ("2026-12-03", "renew", None),
        ("2027-01-02", "renew", None),
        ("2027-02-01", "renew", "2027-03-03"),
        ("2027-02-01", "topup", "2027-03-03"),
    ]
    assert [d["paid_from_balance"] for d in found] == [True, True, False, False]


def test_the_calendar_has_an_event_on_the_loss_date(tmp_path, env):
    path = cfg(tmp_path, VODAFONE)
    ics = ok(path, env, "calendar", "--now", "2026-11-25T12:00", "--days", "30")
    events = re.sub(r"\r?\n ", "", ics).split("BEGIN:VEVENT")[1:]
    assert len(events) == 2
    lost = next(e for e in events if "Lost if not renewed" in e)
    assert "DTSTART;VALUE=DATE:20270301" in lost
    assert "2026-12-01: warning period" in lost and "2027-03-01: disconnected" in lost
    assert "URL:https://www.vodafone.co.uk/" in lost
    renew = next(e for e in events if "Lost if not" not in e)
    assert "DTSTART;VALUE=DATE:20261201" in renew and "URL:https://www.vodafone.co.uk/" in renew


# -- plans --------------------------------------------------------------------------------------

ONE = '\n[[numbers]]\nname = "x"\nnumber = "+852 6123 4567"\nplan = "{plan}"\n{when}\n'
REQUIRED = [
    "giffgaff",
    "three-uk",
    "vodafone-uk",
    "ee",
    "asda-mobile",
    "lycamobile-uk",
    "ultra-paygo",
    "us-mobile",
    "mint-3m",
    "mint-6m",
    "mint-12m",
    "cmhk",
    "3hk",
    "csl",
    "ctm",
    "chunghwa-prepaid",
    "o2-uk",
]
CHECKED = {"o2-uk": "2026-12-07"}  # plans added after the first summary, and when


def test_plans_lists_every_plan_with_its_source(tmp_path, env):
    path = cfg(tmp_path, "")
    listed = json.loads(ok(path, env, "plans", "--format", "json"))
    by_name = {p["name"]: p for p in listed}
    assert set(REQUIRED) <= set(by_name)
    for p in listed:
        assert p["source"] and p["checked"] == CHECKED.get(p["name"], "2026-11-25"), p["name"]
        how = (
            "the carrier's published pages" if p["official"] else "customer forum and blog reports"
        )
        assert p["checked_how"] == f"summary of {how}"
        assert p["official"] == p["source"].startswith("https://"), p["name"]
    for third_party in ("asda-mobile", "lycamobile-uk", "cmhk", "3hk", "chunghwa-prepaid", "o2-uk"):
        assert by_name[third_party]["official"] is False
    assert by_name["mint-3m"]["third_party"] == ["after_deadline"]
    # Months where the carrier says months, days where it says days.
    assert by_name["giffgaff"]["keys"]["cycle"] == "every 6 months"
    assert by_name["mint-12m"]["keys"]["cycle"] == "every 12 months"
    assert by_name["ultra-paygo"]["keys"]["cycle"] == "every 30 days"
    table = ok(path, env, "plans")
    for name in REQUIRED:
        assert re.search(rf"^{re.escape(name)} ", table, re.M), name
    assert "third-party" in table and "carrier's own" in table


@pytest.mark.parametrize("name", sorted(builtin_plans()))
def test_every_plan_loads(tmp_path, env, name):
    keys = builtin_plans()[name].keys
    when = "last_renewed = 2026-06-01" if keys.get("rolling") else "due = 2026-12-01"
    path = cfg(
        tmp_path, f'\n[[numbers]]\nname = "x"\nnumber = "+852 6123 4567"\nplan = "{name}"\n{when}\n'
    )
    assert ok(path, env, "check").endswith("OK, 1 number(s)\n")


def test_stage_dataclass_is_ordered_in_config(tmp_path):
    from simkeeper.config import load as config_mod

    path = cfg(
        tmp_path,
        ONE.format(plan="asda-mobile", when="last_renewed = 2026-01-01"),
    )
    [n] = config_mod.load(path).numbers
    assert n.after_deadline == (
        Stage(0, "restricted"),
        Stage(90, "credit removed"),
        Stage(180, "number deleted"),
    )
    assert n.renew_url == "https://mobile.asda.com/" and n.plan == "asda-mobile"
