"""The autopilot's budget is never exceeded and no deadline gets two texts, for any sequence of
claims, outcomes, restarts and config reloads (issue 21).

A property test over the real store (a real SQLite file, reopened for a "restart"): each step
is a claim for some number's deadline at some cost under the cap the config has then (a reload
may lower or raise it), an outcome of an open attempt (accepted, failed, expired, proved), a
restart, or time passing. After every step: what the window holds of sent (non-refused)
attempts never goes past the cap in force when the newest of them was claimed, refused
attempts cost nothing, and each (number, deadline) has at most one attempt that may have been
sent.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from simkeeper.state.store import Store, open_store

START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
PER = timedelta(days=365)
NUMBERS = ("+447700900001", "+447700900002", "+447700900003")
DEADLINES = (date(2026, 12, 1), date(2027, 1, 1), date(2027, 6, 1))

claim = st.tuples(
    st.just("claim"),
    st.sampled_from(NUMBERS),
    st.sampled_from(DEADLINES),
    st.sampled_from([Decimal("0.10"), Decimal("0.25"), Decimal("1.00")]),
    st.booleans(),  # the owner's own `keepalive NAME` (again)
)
outcome = st.tuples(
    st.just("outcome"),
    st.sampled_from(["accepted", "failed", "expired", "proved"]),
    st.integers(0, 9),
)
reload = st.tuples(
    st.just("reload"), st.sampled_from([Decimal("0.30"), Decimal("1.00"), Decimal("2.00")])
)
step = st.one_of(
    claim,
    outcome,
    reload,
    st.tuples(st.just("restart")),
    st.tuples(st.just("wait"), st.integers(1, 400)),
)


def sent_in_window(store: Store, now: datetime) -> Decimal:
    since = now - PER
    return sum(
        (
            a.cost
            for a in store.keepalive_attempts()
            if a.state != "refused" and a.currency == "GBP" and a.claimed > since
        ),
        Decimal(0),
    )


@settings(max_examples=60)
@given(st.lists(step, max_size=30))
def test_the_budget_holds_and_no_deadline_is_texted_twice(steps):
    with tempfile.TemporaryDirectory(prefix="simkeeper-budget-") as folder:
        path = Path(folder) / "state.db"
        store = open_store(path)
        assert store is not None
        now, cap = START, Decimal("1.00")
        try:
            for s in steps:
                kind = s[0]
                if kind == "claim":
                    _, number, deadline, cost, again = s
                    got = store.claim_keepalive(
                        number=number,
                        name=number[-4:],
                        deadline=deadline,
                        gateway="phone",
                        sim=1,
                        msg_id=f"sk-{number[-4:]}-{deadline}",
                        cost=cost,
                        currency="GBP",
                        cap=cap,
                        since=now - PER,
                        now=now,
                        again=again,
                    )
                    if got.outcome == "claimed":
                        assert sent_in_window(store, now) <= cap, "claimed past the cap"
                elif kind == "outcome":
                    _, state, pick = s
                    open_ = [a for a in store.keepalive_attempts(("sending", "accepted"))]
                    if open_:
                        a = open_[pick % len(open_)]
                        if state == "accepted":
                            store.keepalive_accepted(a.id, f"ref-{a.id}")
                        elif state == "proved":
                            store.keepalive_proved(a, now.date(), now, "auto", None)
                        else:
                            store.keepalive_ended(a.id, state, "test", now)
                elif kind == "reload":
                    cap = s[1]
                elif kind == "restart":
                    store.close()
                    store = open_store(path)
                    assert store is not None
                else:
                    now += timedelta(days=s[1])
                attempts = store.keepalive_attempts()
                for a in attempts:
                    if a.state == "refused":
                        assert a.reason == "budget"
                maybe_sent = [(a.number, a.deadline) for a in attempts if a.state != "refused"]
                assert len(maybe_sent) == len(set(maybe_sent)), "a deadline texted twice"
        finally:
            store.close()
