"""Delivery end to end: ``simkeeper send-due`` through Apprise to real receivers on 127.0.0.1,
with the outbox in a real SQLite file."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

from conftest import run, write_config
from local_receivers import HTTPReceiver, SMTPReceiver

# 2026-12-15 is the deadline; remind 14d/3d/1d at 09:00 UTC.
NUMBERS = """
[[numbers]]
name = "giffgaff"
number = "+44 7911 123456"
carrier = "giffgaff"
cycle = "monthly"
due = 2026-12-15
note = "Send one text"

[[numbers]]
name = "US T-Mobile"
number = "+1 206 555 0100"
carrier = "T-Mobile Prepaid"
cycle = "monthly"
due = 2026-12-15
"""


def config(tmp_path: Path, targets: list[tuple[str, str]], extra: str = "", numbers=NUMBERS):
    settings = f"""
[settings]
timezone = "UTC"
remind_at = "09:00"
remind = ["14d", "3d", "1d"]
send_timeout = 2
state = "{tmp_path / "state.db"}"
{extra}
"""
    notify = "".join(f'\n[[notify]]\nname = "{n}"\nurl = "{u}"\n' for n, u in targets)
    return write_config(tmp_path / "config.toml", settings + notify + numbers)


def send(path: Path, env, now: str):
    return run(["--config", str(path), "send-due", "--now", now], env)


def db_rows(tmp_path: Path, sql: str):
    with sqlite3.connect(tmp_path / "state.db") as conn:
        return conn.execute(sql).fetchall()


def test_email_reminder_arrives_with_everything_a_person_needs(tmp_path, env):
    with SMTPReceiver() as smtp:
        path = config(tmp_path, [("email", smtp.url("owner@example.com"))])
        result = send(path, env, "2026-12-12T09:30")
        assert result.returncode == 0, result.stderr
        assert len(smtp.mails) == 1
        mail = smtp.mails[0]
    assert mail.recipients == ["owner@example.com"]
    assert "giffgaff" in mail.subject and "US T-Mobile" in mail.subject
    body = mail.body
    assert "+44 79** ***456" in body and "7911123456" not in body
    assert "giffgaff" in body and "T-Mobile Prepaid" in body
    assert "2026-12-15" in body and "3 days left" in body
    assert "Send one text" in body


def test_json_ntfy_and_sms_gateway_receive(tmp_path, env):
    with HTTPReceiver() as http:
        targets = [
            ("hook", http.json_url("hook")),
            ("push", http.ntfy_url("sims")),
            ("sms", http.smseagle_url("gatewaytoken", "+447700900123")),
        ]
        path = config(tmp_path, targets)
        result = send(path, env, "2026-12-14T09:00")
        assert result.returncode == 0, result.stderr + result.stdout
        by_path = {r.path.split("?")[0]: r for r in http.requests}
    assert set(by_path) == {"/hook", "/", "/jsonrpc/sms"}
    assert "1 day left" in by_path["/hook"].json()["message"]
    push = by_path["/"].json()
    assert push["topic"] == "sims" and "giffgaff" in push["message"]
    sms = by_path["/jsonrpc/sms"].json()
    assert sms["method"] == "sms.send_sms"
    assert sms["params"]["to"] == "+447700900123"
    assert "giffgaff" in sms["params"]["message"]


def test_one_message_per_target_lists_every_number_and_catch_up_sends_once(tmp_path, env):
    with HTTPReceiver() as http:
        path = config(tmp_path, [("hook", http.json_url())])
        # Down since before the 14d slot: 14d and 3d passed; only the 3d one goes out, once.
        first = send(path, env, "2026-12-13T10:00")
        again = send(path, env, "2026-12-13T18:00")
        assert first.returncode == 0 and again.returncode == 0
        assert len(http.requests) == 1
        message = http.requests[0].json()["message"]
        assert "giffgaff" in message and "US T-Mobile" in message
        assert "2 days left" in message
        assert "nothing to send" in again.stdout
        assert db_rows(tmp_path, "SELECT DISTINCT offset FROM reminders") == [(3,)]
        # The 1d slot comes later, once.
        send(path, env, "2026-12-14T09:00")
        send(path, env, "2026-12-14T09:05")
        assert len(http.requests) == 2


def test_no_days_left_message_after_the_deadline(tmp_path, env):
    with HTTPReceiver() as http:
        path = config(tmp_path, [("hook", http.json_url())])
        assert send(path, env, "2026-12-16T10:00").returncode == 0
        assert http.requests == []


def test_failed_target_is_retried_with_backoff_and_healthy_ones_are_not_resent(tmp_path, env):
    with HTTPReceiver() as good, HTTPReceiver(status=500) as bad:
        path = config(tmp_path, [("good", good.json_url()), ("bad", bad.json_url())])
        first = send(path, env, "2026-12-14T09:00")
        assert first.returncode == 1
        assert "failed: bad" in first.stdout and "sent: good" in first.stdout
        assert len(good.requests) == 1 and len(bad.requests) == 1
        [(state, attempts, nxt, error)] = db_rows(
            tmp_path,
            "SELECT DISTINCT state, attempts, next_attempt_at, last_error FROM deliveries "
            "WHERE target = 'bad'",
        )
        assert (state, attempts) == ("failed", 1)
        assert nxt == "2026-12-14T09:01:00+00:00"
        assert error
        # Before the backoff is over: nothing is sent anywhere.
        send(path, env, "2026-12-14T09:00:30")
        assert len(bad.requests) == 1 and len(good.requests) == 1
        # After it: retried, fails again, next wait is 5 minutes.
        send(path, env, "2026-12-14T09:01:10")
        assert len(bad.requests) == 2
        [(attempts, nxt)] = db_rows(
            tmp_path,
            "SELECT DISTINCT attempts, next_attempt_at FROM deliveries WHERE target = 'bad'",
        )
        assert (attempts, nxt) == (2, "2026-12-14T09:06:10+00:00")
        bad.status = 200
        fixed = send(path, env, "2026-12-14T09:07")
        assert fixed.returncode == 0
        assert len(bad.requests) == 3 and len(good.requests) == 1
        send(path, env, "2026-12-14T09:30")
        assert len(bad.requests) == 3 and len(good.requests) == 1
        status = run(["--config", str(path), "status", "--now", "2026-12-14T09:30"], env)
        assert "bad" in status.stdout and "2026-12-14T09:07:00+00:00" in status.stdout


def test_a_hanging_target_is_cut_off_and_the_others_still_get_theirs(tmp_path, env):
    with HTTPReceiver() as good, HTTPReceiver(hang=8) as slow:
        path = config(tmp_path, [("good", good.json_url()), ("slow", slow.json_url())])
        result = run(
            ["--config", str(path), "send-due", "--now", "2026-12-14T09:00"], env, timeout=30
        )
        assert result.returncode == 1
        assert "failed: slow" in result.stdout
        assert len(good.requests) == 1
        [(state,)] = db_rows(
            tmp_path, "SELECT DISTINCT state FROM deliveries WHERE target = 'slow'"
        )
        assert state == "failed"


def test_retries_stop_when_the_deadline_has_passed(tmp_path, env):
    with HTTPReceiver(status=500) as bad:
        path = config(tmp_path, [("bad", bad.json_url())], extra='overdue_for = "0d"')
        send(path, env, "2026-12-14T09:00")
        send(path, env, "2026-12-16T09:00")
        assert len(bad.requests) == 1
        assert db_rows(tmp_path, "SELECT DISTINCT state FROM deliveries") == [("expired",)]


def test_chinese_messages(tmp_path, env):
    with HTTPReceiver() as http:
        path = config(tmp_path, [("hook", http.json_url())], extra='language = "zh-CN"')
        send(path, env, "2026-12-12T09:00")
        message = http.requests[0].json()["message"]
    assert "请在 2026-12-15（周二）前续费" in message
    assert "还剩 3 天" in message


def test_template_override(tmp_path, env):
    with HTTPReceiver() as http:
        path = config(
            tmp_path,
            [("hook", http.json_url())],
            numbers=NUMBERS + '\n[templates]\nrenew = "RENEW {name} BY {deadline} ({days_left})"\n',
        )
        send(path, env, "2026-12-12T09:00")
        message = http.requests[0].json()["message"]
    assert "RENEW giffgaff BY 2026-12-15 (3)" in message


def test_test_command_reports_each_target(tmp_path, env):
    with HTTPReceiver() as good, HTTPReceiver(status=500) as bad:
        path = config(tmp_path, [("good", good.json_url()), ("bad", bad.json_url())])
        result = run(["--config", str(path), "test"], env)
        assert result.returncode == 1
        assert "good (json://127.0.0.1): ok" in result.stdout
        assert "bad (json://127.0.0.1): FAILED" in result.stdout
        only_good = run(["--config", str(path), "test", "--tag", "good"], env)
        assert only_good.returncode == 0
        assert len(good.requests) == 2 and len(bad.requests) == 1


def test_database_is_private_and_in_wal_mode(tmp_path, env):
    with HTTPReceiver() as http:
        path = config(tmp_path, [("hook", http.json_url())])
        send(path, env, "2026-12-12T09:00")
    db = tmp_path / "state.db"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert db_rows(tmp_path, "PRAGMA journal_mode") == [("wal",)]
    assert db_rows(tmp_path, "PRAGMA integrity_check") == [("ok",)]


def test_weekly_digest_goes_out_once(tmp_path, env):
    with HTTPReceiver() as http:
        path = config(tmp_path, [("hook", http.json_url())], extra='digest = "mon 09:00"')
        assert send(path, env, "2026-11-30T08:59").stdout.strip() == "nothing to send"
        send(path, env, "2026-11-30T09:10")  # a Monday
        send(path, env, "2026-11-30T15:00")
        send(path, env, "2026-12-01T08:00")
        assert len(http.requests) == 1
        body = http.requests[0].json()
    assert body["title"] == "simkeeper: the next 30 days (2 deadlines)"
    assert "giffgaff" in body["message"] and "US T-Mobile" in body["message"]
    assert "15 days left" in body["message"]
