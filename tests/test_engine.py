"""The pure core: cycles, occurrences, rolling deadlines, time zones, reminder slots."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import example, given, settings
from hypothesis import strategies as st

from simkeeper.core.model import Ledger, Number, Settings
from simkeeper.core.periods import PeriodError, parse_cycle, parse_days
from simkeeper.engine.deadlines import occurrences, rolling_deadline
from simkeeper.engine.reminders import due_reminders, local_instant, next_due_at
from simkeeper.engine.upcoming import upcoming

UTC_ZONE = ZoneInfo("UTC")
SHANGHAI = ZoneInfo("Asia/Shanghai")
LA = ZoneInfo("America/Los_Angeles")


def number(**kw) -> Number:
    base = dict(
        name="n",
        number="+447911123456",
        timezone=UTC_ZONE,
        timezone_name="UTC",
        remind=(14, 3, 1),
    )
    base.update(kw)
    return Number(**base)


SETTINGS = Settings(timezone=UTC_ZONE, timezone_name="UTC", remind_at=time(9, 0))

cycles = st.sampled_from(
    ["weekly", "monthly", "quarterly", "yearly", "every 3 days", "every 2 months", "every 180 days"]
)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


@settings(max_examples=200)
@given(cycle=cycles, due=days, start=days, span=st.integers(0, 800))
# Clamped month ends on both sides of the window's first day.
@example(cycle="monthly", due=date(2024, 1, 31), start=date(2024, 2, 29), span=0)
@example(cycle="monthly", due=date(2024, 1, 31), start=date(2024, 3, 1), span=40)
@example(cycle="every 2 months", due=date(2023, 12, 31), start=date(2024, 2, 29), span=0)
@example(cycle="yearly", due=date(2024, 2, 29), start=date(2025, 2, 28), span=400)
def test_occurrences_increase_and_are_anchored_steps(cycle, due, start, span):
    c = parse_cycle(cycle)
    n = number(cycle=c, due=due)
    found = list(occurrences(n, start, start + timedelta(days=span)))
    assert found == sorted(set(found))
    for d in found:
        assert start <= d <= start + timedelta(days=span)
    # Each occurrence is exactly due + k*cycle computed from due itself.
    for d in found:
        if c.unit == "days":
            assert (d - due).days % c.count == 0
        else:
            k = round(((d.year - due.year) * 12 + d.month - due.month) / c.count)
            assert d == due + relativedelta(months=c.count * k)
    # Nothing in the window is missed: the step before the first is before start.
    if found:
        k = c.first_index_on_or_after(due, start)
        assert c.step(due, k) == found[0]
        assert c.step(due, k - 1) < start


def test_month_end_clamps_without_drift():
    n = number(cycle=parse_cycle("monthly"), due=date(2027, 1, 31))
    got = list(occurrences(n, date(2027, 1, 1), date(2027, 5, 31)))
    assert got == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
        date(2027, 5, 31),
    ]
    leap = list(occurrences(n, date(2028, 2, 1), date(2028, 3, 31)))
    assert leap == [date(2028, 2, 29), date(2028, 3, 31)]


def test_yearly_feb_29_falls_on_feb_28_in_common_years():
    n = number(cycle=parse_cycle("yearly"), due=date(2028, 2, 29))
    got = list(occurrences(n, date(2026, 1, 1), date(2032, 12, 31)))
    assert got == [
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
        date(2029, 2, 28),
        date(2030, 2, 28),
        date(2031, 2, 28),
        date(2032, 2, 29),
    ]


def test_quarterly_and_weekly():
    q = number(cycle=parse_cycle("quarterly"), due=date(2026, 11, 30))
    assert list(occurrences(q, date(2026, 11, 1), date(2027, 6, 1))) == [
        date(2026, 11, 30),
        date(2027, 2, 28),
        date(2027, 5, 30),
    ]
    w = number(cycle=parse_cycle("weekly"), due=date(2026, 12, 1))
    assert list(occurrences(w, date(2026, 12, 2), date(2026, 12, 16))) == [
        date(2026, 12, 8),
        date(2026, 12, 15),
    ]


def test_one_off_due_without_cycle():
    n = number(due=date(2026, 12, 24))
    assert list(occurrences(n, date(2026, 12, 1), date(2026, 12, 31))) == [date(2026, 12, 24)]
    assert list(occurrences(n, date(2026, 12, 25), date(2027, 12, 31))) == []


@pytest.mark.parametrize(
    "text, count, unit",
    [
        ("monthly", 1, "months"),
        ("every 180 days", 180, "days"),
        ("every 1 year", 12, "months"),
        ("every 2 weeks", 14, "days"),
        ("Every  3  Months", 3, "months"),
        ("weekly", 7, "days"),
    ],
)
def test_parse_cycle(text, count, unit):
    c = parse_cycle(text)
    assert (c.count, c.unit) == (count, unit)


@pytest.mark.parametrize("text", ["montly", "every 0 days", "every days", "every -1 days", ""])
def test_parse_cycle_rejects(text):
    with pytest.raises(PeriodError):
        parse_cycle(text)


def test_parse_days():
    assert [parse_days(x) for x in ("14d", "2w", "0d", "1D")] == [14, 14, 0, 1]
    for bad in ("14", "d", "1m", "-1d", "1.5d"):
        with pytest.raises(PeriodError):
            parse_days(bad)


@settings(max_examples=200)
@given(last=days, n=st.integers(1, 400), later=st.integers(0, 400))
def test_rolling_deadline_uses_latest_renewal(last, n, later):
    c = parse_cycle(f"every {n} days")
    num = number(cycle=c, rolling=True, last_renewed=last)
    assert rolling_deadline(num) == last + timedelta(days=n)
    recorded = last + timedelta(days=later)
    ledger = Ledger(renewed_on={num.number: recorded})
    assert rolling_deadline(num, ledger) == max(last, recorded) + timedelta(days=n)
    older = Ledger(renewed_on={num.number: last - timedelta(days=5)})
    assert rolling_deadline(num, older) == last + timedelta(days=n)


def test_today_is_taken_in_the_numbers_zone():
    now = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)  # already Dec 1 in Shanghai
    sh = number(
        name="sh",
        timezone=SHANGHAI,
        timezone_name="Asia/Shanghai",
        cycle=parse_cycle("monthly"),
        due=date(2026, 11, 30),
    )
    utc = number(
        name="utc", number="+12065550100", cycle=parse_cycle("monthly"), due=date(2026, 11, 30)
    )
    found = {(d.number.name, d.date, d.days_left) for d in upcoming([sh, utc], now, 5)}
    assert ("utc", date(2026, 11, 30), 0) in found
    assert not any(name == "sh" and day == date(2026, 11, 30) for name, day, _ in found)


def test_passed_rolling_deadline_is_listed_with_negative_days():
    n = number(cycle=parse_cycle("every 30 days"), rolling=True, last_renewed=date(2026, 10, 1))
    [d] = upcoming([n], datetime(2026, 11, 5, tzinfo=UTC), 60)
    assert d.date == date(2026, 10, 31) and d.days_left == -5 and d.overdue


def test_dst_gap_goes_out_at_first_instant_after():
    # 2027-03-14 02:30 does not exist in Los Angeles; clocks jump from 02:00 PST to 03:00 PDT.
    assert local_instant(date(2027, 3, 14), time(2, 30), LA) == datetime(
        2027, 3, 14, 10, 0, tzinfo=UTC
    )


def test_ambiguous_time_goes_out_at_first_occurrence():
    # 2026-11-01 01:30 happens twice in Los Angeles: first in PDT (UTC-7).
    assert local_instant(date(2026, 11, 1), time(1, 30), LA) == datetime(
        2026, 11, 1, 8, 30, tzinfo=UTC
    )


def test_catch_up_sends_only_the_latest_passed_lead_once():
    n = number(cycle=parse_cycle("monthly"), due=date(2026, 12, 15))
    now = datetime(2026, 12, 13, 12, tzinfo=UTC)  # 14d and 3d slots passed, 1d not yet
    due = due_reminders([n], SETTINGS, now)
    assert [(r.deadline, r.offset) for r in due] == [(date(2026, 12, 15), 3)]
    assert due[0].due_at == datetime(2026, 12, 12, 9, tzinfo=UTC)


def test_no_reminder_for_a_passed_deadline():
    n = number(due=date(2026, 12, 15))
    assert due_reminders([n], SETTINGS, datetime(2026, 12, 16, 10, tzinfo=UTC)) == []


def test_reminder_times_follow_the_numbers_zone():
    n = number(
        timezone=SHANGHAI, timezone_name="Asia/Shanghai", due=date(2026, 12, 15), remind=(1,)
    )
    nxt = next_due_at([n], SETTINGS, datetime(2026, 12, 1, tzinfo=UTC))
    assert nxt is not None
    assert nxt[0] == datetime(2026, 12, 14, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def test_overdue_alerts_need_a_reminder_and_stop_when_done():
    n = number(due=date(2026, 12, 15), overdue_every=1, overdue_for=3)
    later = datetime(2026, 12, 17, 10, tzinfo=UTC)
    assert due_reminders([n], SETTINGS, later) == []  # never reminded: no alarm
    reminded = Ledger(reminded=frozenset({(n.number, date(2026, 12, 15))}))
    [alert] = due_reminders([n], SETTINGS, later, reminded)
    assert (alert.kind, alert.offset) == ("overdue", -2)
    done = Ledger(reminded=reminded.reminded, done=frozenset({(n.number, date(2026, 12, 15))}))
    assert due_reminders([n], SETTINGS, later, done) == []
    past_window = datetime(2026, 12, 20, 10, tzinfo=UTC)
    assert due_reminders([n], SETTINGS, past_window, reminded) == []


def test_overdue_alerts_follow_every_and_a_pass_costs_the_same_for_any_window():
    """Issue 10: overdue_for = "700000d" made every pass walk every alert of the window. Now
    only the alerts around today are made, and they are the same alerts as before."""
    from simkeeper.engine.reminders import _slots

    deadline = date(2026, 12, 15)
    n = number(due=deadline, overdue_every=3, overdue_for=1096)
    short = number(due=deadline, overdue_every=3, overdue_for=30)
    weekly = number(due=deadline, overdue_every=3, overdue_for=1096, cycle=parse_cycle("weekly"))
    ledger = Ledger(reminded=frozenset({(n.number, deadline)}))
    for late in range(0, 40):
        now = datetime.combine(deadline + timedelta(days=late), time(9, 1), tzinfo=UTC)
        got = [(r.kind, r.offset) for r in due_reminders([n], SETTINGS, now, ledger)]
        if late < 3:
            assert ("overdue", -3) not in got and not [g for g in got if g[0] == "overdue"]
        else:
            assert got == [("overdue", -(late // 3 * 3))], (late, got)
        today = now.date()
        for m in (n, short, weekly):
            slots = list(_slots(m, SETTINGS, today, ledger))
            assert len([s for s in slots if s.kind == "overdue"]) <= 3, (late, len(slots))
            assert len(slots) <= 20, (late, len(slots))  # not some per occurrence of the window
        nxt = next_due_at([n], SETTINGS, now, ledger)
        assert nxt is not None and nxt[1].kind == "overdue"
        assert nxt[1].offset == -((late // 3 + 1) * 3), (late, nxt)


def test_a_deadline_on_a_skipped_day_is_reminded_on_the_next_day_that_exists():
    """Pacific/Apia skipped 2011-12-30 (from UTC-10 to UTC+14). The 0d reminder of a deadline
    on that day goes out at the first instant of 2011-12-31, and not before."""
    apia = ZoneInfo("Pacific/Apia")
    n = number(due=date(2011, 12, 30), remind=(1, 0), timezone=apia, timezone_name="Pacific/Apia")
    first_instant = datetime(2011, 12, 31, 0, 0, tzinfo=apia)
    assert first_instant.astimezone(UTC) == datetime(2011, 12, 30, 10, 0, tzinfo=UTC)
    just_before = first_instant.astimezone(UTC) - timedelta(seconds=1)
    assert [r.offset for r in due_reminders([n], SETTINGS, just_before)] == [1]
    for later in (timedelta(0), timedelta(hours=12), timedelta(hours=23, minutes=59)):
        at = first_instant.astimezone(UTC) + later
        [r] = due_reminders([n], SETTINGS, at)
        assert (r.offset, r.deadline, r.due_at) == (0, date(2011, 12, 30), first_instant)
    assert due_reminders([n], SETTINGS, datetime(2012, 1, 1, 0, 0, tzinfo=apia)) == []
    nxt = next_due_at([n], SETTINGS, just_before)
    assert nxt is not None and nxt[0] == first_instant and nxt[1].offset == 0


@given(
    every=st.integers(1, 30),
    span=st.integers(0, 1200),
    stages=st.booleans(),
    after=st.integers(0, 1300),
)
def test_the_next_alert_day_is_the_next_of_every_alert_day(every, span, stages, after):
    """The O(1) step through overdue alerts agrees with the list of every alert day."""
    from simkeeper.core.model import Stage
    from simkeeper.engine.reminders import _next_alert_day, overdue_days

    extra = {"after_deadline": (Stage(span, "number recycled"),)} if stages else {}
    n = number(due=date(2026, 12, 15), overdue_every=every, overdue_for=span, **extra)
    later = [d for d in overdue_days(n) if d > after]
    assert _next_alert_day(n, after) == (later[0] if later else None)
