"""The engine's shortcuts for the daemon's first pass (issue 14) give what the plain rules
give: the cached plan window of a fixed plan, the cached lead-time instants, and an outlook
built from plain slot tuples."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from simkeeper.core.model import Ledger, Number, Settings
from simkeeper.core.periods import parse_cycle
from simkeeper.engine.deadlines import local_today, next_occurrence_after, renew_deadlines
from simkeeper.engine.reminders import (
    _before_times,
    _fixed_near,
    _near,
    _slots_of,
    local_instant,
    outlook,
)

ZONES = [ZoneInfo(z) for z in ("UTC", "Pacific/Apia", "America/Los_Angeles", "Pacific/Chatham")]
cycles = st.sampled_from([None, "weekly", "monthly", "quarterly", "yearly", "every 3 days"])
days = st.dates(min_value=date(2010, 1, 1), max_value=date(2040, 12, 31))
leads = st.lists(st.integers(0, 40), min_size=1, max_size=4, unique=True).map(
    lambda xs: tuple(sorted(xs, reverse=True))
)


def number(zone: ZoneInfo, **kw: object) -> Number:
    base: dict[str, object] = dict(
        name="n", number="+447911123456", timezone=zone, timezone_name=str(zone), remind=(3,)
    )
    base.update(kw)
    return Number(**base)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(cycle=cycles, due=days, start=days, span=st.integers(0, 60), done_k=st.integers(0, 3))
def test_the_plan_window_is_what_renew_deadlines_and_next_occurrence_give(
    cycle, due, start, span, done_k
):
    n = number(ZONES[0], cycle=parse_cycle(cycle) if cycle else None, due=due)
    end = start + timedelta(days=span)
    every = list(renew_deadlines(n, start, end, Ledger()))
    done = {(n.number, d) for d in every[:done_k]}  # some of them renewed
    ledger = Ledger(done=done)
    expected = (list(renew_deadlines(n, start, end, ledger)), next_occurrence_after(n, end))
    assert _fixed_near(n, start, end, ledger) == expected
    assert _fixed_near(n, start, end, ledger) == expected  # and again, from the cache


@settings(max_examples=200, deadline=None)
@given(remind=leads, day=days, zone=st.sampled_from(ZONES), at=st.sampled_from([0, 9, 23]))
def test_lead_time_slots_are_at_the_local_time_and_expire_after_the_deadline_day(
    remind, day, zone, at
):
    slots = _before_times(remind, day, "renew", time(at), zone)
    assert [s[2] for s in slots] == list(remind)
    for deadline, kind, lead, due, expires in slots:
        assert (deadline, kind) == (day, "renew")
        assert due == local_instant(day - timedelta(days=lead), time(at), zone)
        assert expires > due
        if due < local_instant(day + timedelta(days=1), time(0), zone):
            assert expires == local_instant(day + timedelta(days=1), time(0), zone)


@settings(max_examples=150, deadline=None)
@given(
    cycle=cycles,
    due=days,
    remind=leads,
    zone=st.sampled_from(ZONES),
    hours=st.integers(0, 24 * 400),
)
def test_an_outlook_keeps_the_reminders_the_slots_give(cycle, due, remind, zone, hours):
    n = number(zone, cycle=parse_cycle(cycle) if cycle else None, due=due, remind=remind)
    s = Settings(timezone=zone, timezone_name=str(zone), remind_at=time(9, 0))
    now = datetime.combine(due, time(0), UTC) - timedelta(days=200) + timedelta(hours=hours)
    ledger = Ledger()
    got = outlook(n, s, now, ledger)
    today = local_today(n, now)
    near, proj, _ = _near(n, today, ledger)
    slots = list(_slots_of(n, s, today, ledger, near, proj))
    latest = {}
    for r in slots:
        if r.due_at <= now < r.expires_at:
            key = (r.deadline, r.kind)
            if key not in latest or r.due_at > latest[key].due_at:
                latest[key] = r
    assert got.due == tuple(latest.values())
    ahead = [r for r in slots if now < r.due_at < r.expires_at]
    assert got.ahead == (min(ahead, key=lambda r: r.due_at) if ahead else None)
    assert all(r.number is n for r in got.due)
