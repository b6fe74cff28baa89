"""The iCalendar feed: ``simkeeper calendar`` end to end, parsed back with ``icalendar``; and the
daemon keeping ``settings.calendar`` current."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import SIMKEEPER, run, write_config
from icalendar import Calendar

NOW = "2026-12-01T20:00:00Z"  # Dec 1 in Los Angeles, Dec 2 in Shanghai

CONFIG = """
[settings]
timezone = "Asia/Shanghai"
remind = ["2w", "3d", "0d"]

[[numbers]]
name = "US T-Mobile"
number = "+1 206 555 0100"
carrier = "T-Mobile Prepaid"
cycle = "monthly"
due = 2026-12-15
note = "Refill $3 online"
remind = ["7d", "1d"]
timezone = "America/Los_Angeles"

[[numbers]]
name = "giffgaff"
number = "+44 7911 123456"
cycle = "every 180 days"
rolling = true
last_renewed = 2026-07-01
note = "Send one text; top up £10, then \\"renewed\\""

[[numbers]]
name = "Ultra PayGo"
number = "+1 415 555 2671"
cycle = "monthly"
due = 2026-12-03
cost = 3.00
currency = "USD"
balance = 10.00
balance_date = 2026-11-20
"""

# (DTSTART, SUMMARY) of every event at NOW with --days 100, in order.
# 10.00 pays the Dec, Jan and Feb charges of 3.00 by itself: those are shown without alarms.
EVENTS_100 = [
    (date(2026, 12, 3), "Charge Ultra PayGo (+1 41* *** *671)"),
    (date(2026, 12, 15), "Renew US T-Mobile (+1 20* *** *100)"),
    (date(2026, 12, 28), "Renew giffgaff (+44 79** ***456)"),  # 2026-07-01 + 180 days
    (date(2027, 1, 3), "Charge Ultra PayGo (+1 41* *** *671)"),
    (date(2027, 1, 15), "Renew US T-Mobile (+1 20* *** *100)"),
    (date(2027, 2, 3), "Charge Ultra PayGo (+1 41* *** *671)"),
    (date(2027, 2, 15), "Renew US T-Mobile (+1 20* *** *100)"),
    (date(2027, 3, 3), "Renew Ultra PayGo (+1 41* *** *671)"),  # day 91 in Shanghai
    # 10.00 covers Dec, Jan and Feb at 3.00; March's charge is the one it cannot cover.
    (date(2027, 3, 3), "Top up Ultra PayGo (+1 41* *** *671)"),
]
LEADS = {  # lead times in days per number: its own remind, else settings.remind
    "US T-Mobile": [7, 1],
    "giffgaff": [14, 3, 0],
    "Ultra PayGo": [14, 3, 0],
}
NOTES = {"US T-Mobile": "Refill $3 online", "giffgaff": 'Send one text; top up £10, then "renewed"'}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path / "config.toml", CONFIG)


def calendar(config: Path, env: dict[str, str], out: Path, now: str, days: int = 100) -> bytes:
    args = ["--config", str(config), "calendar", "--out", str(out), "--days", str(days)]
    r = run([*args, "--now", now], env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"wrote {out}\n"
    return out.read_bytes()


def events(data: bytes) -> list:
    return Calendar.from_ical(data).walk("VEVENT")


def name_of(event) -> str:
    summary = str(event["SUMMARY"])
    return summary.split(" ", 2 if summary.startswith("Top up") else 1)[-1].rsplit(" (", 1)[0]


def uids(data: bytes) -> dict[tuple[date, str], str]:
    found = {(e["DTSTART"].dt, str(e["SUMMARY"])): str(e["UID"]) for e in events(data)}
    assert len(found) == len(events(data))
    return found


def test_calendar_file_has_one_all_day_event_per_deadline(config, env, tmp_path):
    data = calendar(config, env, tmp_path / "out.ics", NOW)
    cal = Calendar.from_ical(data)
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["PRODID"]).strip()
    evs = cal.walk("VEVENT")
    assert [(e["DTSTART"].dt, str(e["SUMMARY"])) for e in evs] == EVENTS_100
    for e in evs:
        start = e["DTSTART"].dt
        assert type(start) is date  # all-day: a DATE, not a DATE-TIME
        assert e["DTSTART"].params.get("VALUE") == "DATE"
        assert e["DTEND"].dt == start + timedelta(days=1)
        assert e["DTSTAMP"].dt == datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
        description = str(e["DESCRIPTION"])
        assert f"by {start.isoformat()}" in description
        if name_of(e) in NOTES:
            assert NOTES[name_of(e)] in description  # survives ; , " escaping
        else:
            assert "Note" not in description
    # The same deadlines as `upcoming`, one event each.
    r = run(
        ["--config", str(config), "upcoming", "--days", "100", "--now", NOW, "--format", "json"],
        env,
    )
    found = json.loads(r.stdout)
    listed = [(date.fromisoformat(d["deadline"]), d["name"], d["kind"]) for d in found]
    kinds = [("topup" if str(e["SUMMARY"]).startswith("Top up") else "renew") for e in evs]
    assert [(e["DTSTART"].dt, name_of(e), k) for e, k in zip(evs, kinds, strict=True)] == listed


def test_calendar_alarms_at_each_lead_time(config, env, tmp_path):
    for e in events(calendar(config, env, tmp_path / "out.ics", NOW)):
        alarms = e.walk("VALARM")
        leads = [] if str(e["SUMMARY"]).startswith("Charge") else LEADS[name_of(e)]
        # At remind_at (09:00 by default) on each lead day, like the reminders themselves.
        expected = [timedelta(hours=9) - timedelta(days=n) for n in leads]
        assert [a["TRIGGER"].dt for a in alarms] == expected
        for a, lead in zip(alarms, leads, strict=True):
            assert a["TRIGGER"].params.get("RELATED", "START") == "START"
            assert str(a["ACTION"]) == "DISPLAY"
            assert name_of(e) in str(a["DESCRIPTION"])
            assert f"{lead} day(s) left" in str(a["DESCRIPTION"])


def test_calendar_is_valid_rfc_5545_text(config, env, tmp_path):
    data = calendar(config, env, tmp_path / "out.ics", NOW)
    assert data.startswith(b"BEGIN:VCALENDAR\r\n")
    assert data.endswith(b"END:VCALENDAR\r\n")
    lines = data.split(b"\r\n")[:-1]
    assert all(len(line) <= 75 for line in lines)  # folded at 75 octets
    assert b"\n" not in b"".join(lines)  # CRLF only
    for e in events(data):
        for prop in ("UID", "DTSTAMP", "DTSTART", "SUMMARY"):
            assert prop in e


def test_uids_are_stable_and_distinct(config, env, tmp_path):
    first = uids(calendar(config, env, tmp_path / "a.ics", NOW, days=60))
    later = uids(calendar(config, env, tmp_path / "b.ics", "2026-12-20T20:00:00Z", days=60))
    shared = first.keys() & later.keys()
    assert sorted(shared) == [
        (date(2026, 12, 28), "Renew giffgaff (+44 79** ***456)"),
        (date(2027, 1, 3), "Charge Ultra PayGo (+1 41* *** *671)"),
        (date(2027, 1, 15), "Renew US T-Mobile (+1 20* *** *100)"),
    ]
    for key in shared:
        assert first[key] == later[key], key
    everything = {**first, **later}
    assert len(set(everything.values())) == len(everything)  # one UID per (number, deadline)
    # The renew and top-up events on the same day are different events.
    both = uids(calendar(config, env, tmp_path / "c.ics", NOW))
    march = [uid for (day, _), uid in both.items() if day == date(2027, 3, 3)]
    assert len(march) == 2 and march[0] != march[1]
    assert all(uid.endswith("@simkeeper") for uid in both.values())


def test_uids_survive_editing_the_note(config, env, tmp_path):
    before = uids(calendar(config, env, tmp_path / "a.ics", NOW))
    config.write_text(CONFIG.replace("Refill $3 online", "Refill $5 in the app"))
    data = calendar(config, env, tmp_path / "b.ics", NOW)
    assert uids(data) == before
    us = [e for e in events(data) if name_of(e) == "US T-Mobile"]
    assert all("Refill $5 in the app" in str(e["DESCRIPTION"]) for e in us)


def test_calendar_is_written_atomically(config, env, tmp_path):
    folder = tmp_path / "feeds" / "sub"  # created when missing
    out = folder / "renewals.ics"
    old = calendar(config, env, out, NOW)
    assert sorted(p.name for p in folder.iterdir()) == ["renewals.ics"]
    # Names, notes and deadlines: private unless the config asks for a group (issue 10).
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    old_inode = out.stat().st_ino
    with out.open("rb") as reader:
        new = calendar(config, env, out, "2026-12-20T20:00:00Z")
        # Replaced, not rewritten in place: a reader that had it open still sees the whole
        # old file, and nothing is left behind.
        assert reader.read() == old
    assert new != old
    assert out.stat().st_ino != old_inode
    assert out.read_bytes() == new
    assert sorted(p.name for p in folder.iterdir()) == ["renewals.ics"]


def test_calendar_mode_0640_for_a_web_server_group(config, env, tmp_path):
    text = config.read_text()
    assert "[settings]\n" in text
    config.write_text(text.replace("[settings]\n", '[settings]\ncalendar_mode = "0640"\n', 1))
    out = tmp_path / "shared.ics"
    calendar(config, env, out, NOW)
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    config.write_text(text.replace("[settings]\n", '[settings]\ncalendar_mode = "0644"\n', 1))
    bad = run(["--config", str(config), "check"], env)
    assert bad.returncode == 2 and "settings.calendar_mode" in bad.stderr
    assert '"0640"' in bad.stderr


def test_calendar_without_out_prints_to_stdout(config, env, tmp_path):
    written = calendar(config, env, tmp_path / "out.ics", NOW)
    r = subprocess.run(
        [SIMKEEPER, "--config", str(config), "calendar", "--days", "100", "--now", NOW],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml", "home", "out.ics"]


def test_calendar_default_reaches_a_year(config, env):
    r = subprocess.run(
        [SIMKEEPER, "--config", str(config), "calendar", "--now", NOW],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert r.returncode == 0
    starts = [e["DTSTART"].dt for e in events(r.stdout)]
    us = [d for d, e in zip(starts, events(r.stdout), strict=True) if name_of(e) == "US T-Mobile"]
    # Dec 1 in Los Angeles + 365 days = 2027-12-01: Dec 15 2026 through Nov 15 2027.
    assert us == [date(2026, 12, 15)] + [date(2027, m, 15) for m in range(1, 12)]


@pytest.mark.parametrize("days", ["0", "3661", "x"])
def test_calendar_bad_days(config, env, tmp_path, days):
    out = tmp_path / "out.ics"
    r = run(["--config", str(config), "calendar", "--out", str(out), "--days", days], env)
    assert r.returncode == 2
    assert "--days" in r.stderr
    assert not out.exists()


# -- the daemon keeps settings.calendar current --------------------------------------------------


def wait_until(predicate, timeout: float = 15.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def _event_keys(path: Path) -> list[tuple[date, str]]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    return [(e["DTSTART"].dt, name_of(e)) for e in events(data)]


def test_daemon_keeps_the_calendar_file_current(tmp_path, env):
    # The daemon runs on the real clock: dates are relative to today (UTC, the config's zone),
    # and far enough from every lead time that nothing is due to be sent.
    today = datetime.now(UTC).date()
    feed = tmp_path / "published" / "renewals.ics"
    text = f"""
[settings]
timezone = "UTC"
remind = ["7d"]
state = "{tmp_path / "state.db"}"
calendar = "{feed}"
calendar_days = 40

[[numbers]]
name = "fixed"
number = "+44 7911 123456"
cycle = "monthly"
due = {today + timedelta(days=20)}

[[numbers]]
name = "rolling"
number = "+44 7911 123457"
cycle = "every 30 days"
rolling = true
last_renewed = {today - timedelta(days=5)}
"""
    cfg = write_config(tmp_path / "config.toml", text)
    log_path = tmp_path / "daemon.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [SIMKEEPER, "--config", str(cfg), "run"], env=env, stdout=log, stderr=log
    )
    try:
        expected = [(today + timedelta(days=20), "fixed"), (today + timedelta(days=25), "rolling")]
        assert wait_until(lambda: _event_keys(feed) == expected), log_path.read_text()
        # A config reload (SIGHUP) adds a number: the file follows without a restart.
        added = '[[numbers]]\nname = "added"\nnumber = "+44 7911 123458"\n'
        added += f"due = {today + timedelta(days=30)}\n"
        cfg.write_text(text + added)
        proc.send_signal(signal.SIGHUP)
        expected.append((today + timedelta(days=30), "added"))
        assert wait_until(lambda: _event_keys(feed) == expected), log_path.read_text()
        assert sorted(p.name for p in feed.parent.iterdir()) == ["renewals.ics"]
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        status = proc.wait(timeout=15)
        log.close()
    assert status == 0, log_path.read_text()


def test_send_due_keeps_the_calendar_file_current_for_cron_users(tmp_path, env):
    feed = tmp_path / "public" / "renewals.ics"
    text = CONFIG.replace(
        "[settings]\n", f'[settings]\ncalendar = "{feed}"\nstate = "{tmp_path / "s.db"}"\n'
    )
    config = write_config(tmp_path / "config.toml", text)
    r = run(["--config", str(config), "send-due", "--now", NOW], env)
    assert r.returncode == 0, r.stderr
    first = {(e["DTSTART"].dt, str(e["SUMMARY"])) for e in events(feed.read_bytes())}
    assert set(EVENTS_100[:3]) <= first  # the default window is a year
    # A renewal moves giffgaff's window; the next pass rewrites the feed.
    run(["--config", str(config), "renewed", "giffgaff", "--now", NOW], env)
    run(["--config", str(config), "send-due", "--now", NOW], env)
    days = {day for day, summary in events_of(feed) if "giffgaff" in summary}
    assert days == {date(2027, 5, 31)}  # renewed Dec 2 in Shanghai, + 180 days


def events_of(path: Path) -> list[tuple[date, str]]:
    return [(e["DTSTART"].dt, str(e["SUMMARY"])) for e in events(path.read_bytes())]
