"""Delivery end to end: ``simkeeper send-due`` as a subprocess, through Apprise, to real
receivers on 127.0.0.1 (aiosmtpd, json, ntfy, an SMSEagle gateway), with the outbox in a real
SQLite file. Time is given with ``--now`` in the config's zone (Europe/Berlin, UTC+1 in
December), so stored UTC stamps are one hour behind the local times written here.
"""

from __future__ import annotations

import json
import re
import sqlite3
import stat
import subprocess
from pathlib import Path

from conftest import SIMKEEPER, run, write_config
from receivers import RefusingPort, wait_for

pytest_plugins = ["receivers"]

# Deadline 2026-12-15 (a Tuesday); reminders 14d, 3d and 1d before, at 09:00 Berlin time.
GIFFGAFF = """
[[numbers]]
name = "UK backup"
number = "+44 7911 123456"
carrier = "giffgaff"
cycle = "monthly"
due = 2026-12-15
note = "Send one text from it"
"""
TMOBILE = """
[[numbers]]
name = "US line"
number = "+1 206 555 0100"
carrier = "T-Mobile Prepaid"
cycle = "monthly"
due = 2026-12-15
"""


def make_config(
    tmp_path: Path,
    targets: list[tuple[str, str]],
    numbers: str = GIFFGAFF,
    extra: str = "",
    tail: str = "",
    send_timeout: float = 2,
) -> Path:
    head = f"""
[settings]
timezone = "Europe/Berlin"
remind_at = "09:00"
remind = ["14d", "3d", "1d"]
send_timeout = {send_timeout}
state = "{tmp_path / "state.db"}"
{extra}
"""
    notify = "".join(f'\n[[notify]]\nname = "{n}"\nurl = "{u}"\n' for n, u in targets)
    return write_config(tmp_path / "config.toml", head + notify + numbers + tail)


def send(path: Path, env: dict[str, str], now: str, timeout: float = 60):
    return run(["--config", str(path), "send-due", "--now", now], env, timeout=timeout)


def query(tmp_path: Path, sql: str, args: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(tmp_path / "state.db", timeout=10)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def states(tmp_path: Path, target: str) -> list[tuple]:
    return query(
        tmp_path,
        "SELECT state, attempts, next_attempt_at FROM deliveries WHERE target = ? ORDER BY id",
        (target,),
    )


# -- what arrives -------------------------------------------------------------------------------


def test_email_reminder_names_the_number_masks_it_and_says_what_to_do(tmp_path, env, smtp_server):
    path = make_config(tmp_path, [("email", smtp_server.url("owner@example.com"))])
    result = send(path, env, "2026-12-12T09:30")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["sent: email"]
    assert len(smtp_server.mails) == 1
    mail = smtp_server.mails[0]
    assert mail.recipients == ["owner@example.com"]
    assert "UK backup" in mail.subject
    body = mail.body
    assert "UK backup" in body
    assert "+44 79** ***456" in body
    assert "giffgaff" in body
    assert "2026-12-15" in body and "Tue" in body
    assert "3 days left" in body
    assert "Send one text from it" in body
    # The full number appears in no spelling.
    flat = re.sub(r"\D", "", mail.raw.decode("utf-8", "replace"))
    assert "7911123456" not in flat


def test_json_ntfy_and_smseagle_receive_the_reminder(tmp_path, env, make_http_receiver):
    hook = make_http_receiver()
    push = make_http_receiver()
    gateway = make_http_receiver(sms_token="gatewaytoken")
    targets = [
        ("hook", hook.json_url("hook")),
        ("push", push.ntfy_url("sims")),
        ("sms", gateway.smseagle_url("gatewaytoken", "+447700900123")),
    ]
    path = make_config(tmp_path, targets)
    result = send(path, env, "2026-12-14T09:00")
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(result.stdout.splitlines()) == ["sent: hook", "sent: push", "sent: sms"]

    [post] = hook.requests
    assert (post.method, post.route) == ("POST", "/hook")
    data = post.json()
    assert "UK backup" in data["title"]
    assert "UK backup (+44 79** ***456, giffgaff)" in data["message"]
    assert "1 day left" in data["message"]

    [publish] = push.requests
    data = publish.json()
    assert publish.route == "/" and data["topic"] == "sims"
    assert "UK backup" in data["message"] and "1 day left" in data["message"]

    [rpc] = gateway.requests
    data = rpc.json()
    assert rpc.route == "/jsonrpc/sms"
    assert data["method"] == "sms.send_sms"
    assert data["params"]["to"] == "+447700900123"
    assert data["params"]["access_token"] == "gatewaytoken"
    assert "UK backup" in data["params"]["message"] and "1 day left" in data["params"]["message"]
    # Every delivery is recorded as sent.
    assert query(tmp_path, "SELECT target, state FROM deliveries ORDER BY target") == [
        ("hook", "sent"),
        ("push", "sent"),
        ("sms", "sent"),
    ]


def test_a_wrong_gateway_token_is_a_failed_delivery(tmp_path, env, make_http_receiver):
    gateway = make_http_receiver(sms_token="right-token")
    path = make_config(tmp_path, [("sms", gateway.smseagle_url("wrongtoken", "+447700900123"))])
    result = send(path, env, "2026-12-14T09:00")
    assert result.returncode == 1
    assert result.stdout.startswith("failed: sms")
    assert len(gateway.requests) == 1
    assert [s for s, _, _ in states(tmp_path, "sms")] == ["failed"]


def test_numbers_due_in_the_same_pass_go_out_as_one_message(tmp_path, env, make_http_receiver):
    hook = make_http_receiver()
    gateway = make_http_receiver()
    path = make_config(
        tmp_path,
        [("hook", hook.json_url()), ("sms", gateway.smseagle_url())],
        numbers=GIFFGAFF + TMOBILE,
    )
    assert send(path, env, "2026-12-12T09:00").returncode == 0
    for receiver in (hook, gateway):
        [request] = receiver.requests
        message = request.message
        assert "UK backup" in message and "US line" in message
        assert "+44 79** ***456" in message and "+1 20" in message
        assert message.count("3 days left") == 2
    assert "UK backup" in hook.requests[0].title and "US line" in hook.requests[0].title
    # Two reminders, each with a delivery per target, all sent in that one message per target.
    assert query(tmp_path, "SELECT COUNT(*) FROM reminders") == [(2,)]
    assert query(tmp_path, "SELECT state, COUNT(*) FROM deliveries GROUP BY state") == [("sent", 4)]


def test_catch_up_sends_only_the_latest_lead_time_once(tmp_path, env, http_receiver):
    path = make_config(tmp_path, [("hook", http_receiver.json_url())])
    # Nothing ran since before the 14d slot (Dec 1); the 3d slot (Dec 12) has passed too.
    first = send(path, env, "2026-12-13T10:00")
    assert first.returncode == 0 and first.stdout.strip() == "sent: hook"
    [message] = http_receiver.messages
    assert "2 days left" in message and "14 days" not in message and "12 days" not in message
    assert query(tmp_path, "SELECT kind, offset FROM reminders") == [("renew", 3)]
    again = send(path, env, "2026-12-13T22:00")
    assert again.returncode == 0 and again.stdout.strip() == "nothing to send"
    assert len(http_receiver.requests) == 1
    # The next lead time still comes, once.
    assert send(path, env, "2026-12-14T09:00").stdout.strip() == "sent: hook"
    assert send(path, env, "2026-12-14T09:05").stdout.strip() == "nothing to send"
    assert len(http_receiver.requests) == 2 and "1 day left" in http_receiver.messages[1]


def test_no_days_left_reminder_for_a_deadline_already_passed(tmp_path, env, http_receiver):
    path = make_config(tmp_path, [("hook", http_receiver.json_url())])
    result = send(path, env, "2026-12-16T10:00")
    assert result.returncode == 0 and result.stdout.strip() == "nothing to send"
    assert http_receiver.requests == []
    assert query(tmp_path, "SELECT COUNT(*) FROM reminders") == [(0,)]
    # The same setup a day earlier does send: it is the passed deadline that stops it.
    control = tmp_path / "control"
    control.mkdir()
    other = make_config(control, [("hook", http_receiver.json_url())])
    assert send(other, env, "2026-12-14T23:00").stdout.strip() == "sent: hook"
    assert "1 day left" in http_receiver.messages[0]


# -- failures, retries, timeouts ----------------------------------------------------------------


def test_failed_target_backs_off_retries_and_never_resends_to_healthy_ones(
    tmp_path, env, make_http_receiver
):
    good = make_http_receiver()
    bad = make_http_receiver(status=500)
    path = make_config(tmp_path, [("good", good.json_url()), ("bad", bad.json_url())])

    first = send(path, env, "2026-12-14T09:00")  # 08:00 UTC
    assert first.returncode == 1
    assert "sent: good" in first.stdout and "failed: bad" in first.stdout
    assert "will retry" in first.stdout
    assert (len(good.requests), len(bad.requests)) == (1, 1)
    assert states(tmp_path, "good") == [("sent", 1, "2026-12-14T08:00:00+00:00")]
    assert states(tmp_path, "bad") == [("failed", 1, "2026-12-14T08:01:00+00:00")]
    [(error,)] = query(tmp_path, "SELECT last_error FROM deliveries WHERE target = 'bad'")
    assert "500" in error

    # Before the 1-minute backoff is over nothing is sent to anyone.
    early = send(path, env, "2026-12-14T09:00:40")
    assert early.returncode == 0 and early.stdout.strip() == "nothing to send"
    assert (len(good.requests), len(bad.requests)) == (1, 1)

    # After it: retried, fails again, and the next wait is 5 minutes.
    retry = send(path, env, "2026-12-14T09:01:05")
    assert retry.returncode == 1 and retry.stdout.strip().startswith("failed: bad")
    assert (len(good.requests), len(bad.requests)) == (1, 2)
    assert states(tmp_path, "bad") == [("failed", 2, "2026-12-14T08:06:05+00:00")]
    assert send(path, env, "2026-12-14T09:06").stdout.strip() == "nothing to send"
    assert len(bad.requests) == 2

    # The receiver is fixed: the reminder arrives there exactly once, and never again at good.
    bad.status = 200
    fixed = send(path, env, "2026-12-14T09:06:10")
    assert fixed.returncode == 0 and fixed.stdout.strip() == "sent: bad"
    assert (len(good.requests), len(bad.requests)) == (1, 3)
    assert "1 day left" in bad.requests[-1].json()["message"]
    for later in ("2026-12-14T10:00", "2026-12-14T20:00"):
        assert send(path, env, later).stdout.strip() == "nothing to send"
    assert (len(good.requests), len(bad.requests)) == (1, 3)
    assert states(tmp_path, "bad") == [("sent", 3, "2026-12-14T08:06:05+00:00")]
    assert states(tmp_path, "good") == [("sent", 1, "2026-12-14T08:00:00+00:00")]


def test_retries_stop_when_the_deadline_has_passed(tmp_path, env, make_http_receiver):
    bad = make_http_receiver(status=500)
    path = make_config(tmp_path, [("bad", bad.json_url())], extra='overdue_for = "0d"')
    send(path, env, "2026-12-14T09:00")
    assert len(bad.requests) == 1
    assert send(path, env, "2026-12-16T09:00").stdout.strip() == "nothing to send"
    assert len(bad.requests) == 1
    assert query(tmp_path, "SELECT DISTINCT state FROM deliveries") == [("expired",)]


def test_a_refused_connection_is_a_failure_too(tmp_path, env, http_receiver):
    with RefusingPort() as down:
        path = make_config(
            tmp_path,
            [("good", http_receiver.json_url()), ("down", f"json://127.0.0.1:{down.port}/x")],
        )
        result = send(path, env, "2026-12-14T09:00")
    assert result.returncode == 1
    assert "sent: good" in result.stdout and "failed: down" in result.stdout
    assert len(http_receiver.requests) == 1
    assert states(tmp_path, "down") == [("failed", 1, "2026-12-14T08:01:00+00:00")]


def test_a_hanging_target_is_cut_off_by_send_timeout(tmp_path, env, make_http_receiver):
    good = make_http_receiver()
    slow = make_http_receiver(hang=12)
    path = make_config(tmp_path, [("good", good.json_url()), ("slow", slow.json_url())])
    result = send(path, env, "2026-12-14T09:00", timeout=30)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "sent: good" in result.stdout
    # send_timeout = 2 cut the slow target off: had the pass waited for its answer (after
    # 12 s), it would have been sent, not failed with a timeout ...
    assert re.search(r"failed: slow: .*time", result.stdout), result.stdout
    # ... and the healthy target was not held up by the hanging one: it was reached before
    # the hanging receiver would have answered.
    [slow_request] = slow.requests
    assert len(good.requests) == 1 and good.requests[0].at < slow_request.at + 12
    assert len(slow.requests) == 1
    assert [s for s, _, _ in states(tmp_path, "slow")] == ["failed"]
    assert [s for s, _, _ in states(tmp_path, "good")] == ["sent"]


# -- language and templates ---------------------------------------------------------------------


def test_chinese_reminder(tmp_path, env, http_receiver):
    path = make_config(tmp_path, [("hook", http_receiver.json_url())], extra='language = "zh-CN"')
    assert send(path, env, "2026-12-12T09:00").returncode == 0
    [request] = http_receiver.requests
    assert request.title == "simkeeper 提醒：UK backup 需要处理"
    message = request.message
    assert "请在 2026-12-15（周二）前续费" in message
    assert "还剩 3 天" in message
    assert "备注：Send one text from it" in message
    assert "+44 79** ***456" in message
    assert "days left" not in message


def test_template_overrides_are_used(tmp_path, env, smtp_server):
    templates = """
[templates]
title = "SIM ALERT: {names} ({count})"
renew = "{name} | {number} | {carrier} | {deadline} {weekday} | {days_left} | {when} |{note}"
"""
    path = make_config(tmp_path, [("mail", smtp_server.url())], tail=templates)
    assert send(path, env, "2026-12-12T09:00").returncode == 0
    [mail] = smtp_server.mails
    assert mail.subject == "SIM ALERT: UK backup (1)"
    assert mail.body.strip() == (
        "UK backup | +44 79** ***456 | , giffgaff | 2026-12-15 Tue | 3 | 3 days left |"
        " Note: Send one text from it"
    )


# -- the test and status commands ---------------------------------------------------------------


def test_test_command_says_ok_or_failed_per_target(tmp_path, env, make_http_receiver):
    good = make_http_receiver()
    bad = make_http_receiver(status=500)
    with RefusingPort() as down:
        path = make_config(
            tmp_path,
            [
                ("good", good.json_url()),
                ("bad", bad.json_url()),
                ("down", f"json://127.0.0.1:{down.port}/x"),
            ],
        )
        result = run(["--config", str(path), "test"], env)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "good (json://127.0.0.1): ok"
    assert lines[1].startswith("bad (json://127.0.0.1): FAILED") and "500" in lines[1]
    assert lines[2].startswith("down (json://127.0.0.1): FAILED")
    assert len(good.requests) == 1 and len(bad.requests) == 1
    assert good.requests[0].json()["message"] == "simkeeper test message: this target works."
    # Only the working one: exit 0.
    only_good = run(["--config", str(path), "test", "--tag", "good"], env)
    assert only_good.returncode == 0, only_good.stdout
    assert only_good.stdout.strip() == "good (json://127.0.0.1): ok"
    assert len(good.requests) == 2 and len(bad.requests) == 1
    # test records nothing: no reminder, no delivery.
    assert not (tmp_path / "state.db").exists() or query(
        tmp_path, "SELECT COUNT(*) FROM deliveries"
    ) == [(0,)]


def test_status_shows_waiting_deliveries_and_each_targets_last_outcome(
    tmp_path, env, make_http_receiver
):
    good = make_http_receiver()
    bad = make_http_receiver(status=500)
    slow = make_http_receiver(hang=12)
    targets = [("good", good.json_url()), ("bad", bad.json_url()), ("slow", slow.json_url())]
    path = make_config(tmp_path, targets, send_timeout=4)
    status_args = ["--config", str(path), "status", "--now", "2026-12-14T09:00"]
    before = run(status_args, env)
    assert before.returncode == 0 and "not created yet" in before.stdout

    busy = subprocess.Popen(
        [SIMKEEPER, "--config", str(path), "send-due", "--now", "2026-12-14T09:00"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(lambda: slow.requests and good.requests and bad.requests, timeout=10)
        # The pass has settled "good" and "bad" (their answers came) and waits on "slow".
        settled = lambda t: [s[0] for s in states(tmp_path, t)] not in ([], ["sending"])  # noqa: E731
        assert wait_for(lambda: settled("good") and settled("bad"), timeout=10)
        # While the pass waits on "slow", status shows its delivery in flight.
        during = json.loads(run([*status_args, "--format", "json"], env).stdout)
        in_flight = {(w["target"], w["state"]) for w in during["waiting"]}
        assert ("slow", "sending") in in_flight
        assert ("good", "sending") not in in_flight
        out, _ = busy.communicate(timeout=30)
    finally:
        if busy.poll() is None:
            busy.kill()
            busy.communicate()
    assert busy.returncode == 1 and "failed: bad" in out and "failed: slow" in out

    status = run(status_args, env)
    assert status.returncode == 1, status.stderr  # failing targets need attention
    out = status.stdout
    assert "deliveries: failed 2, sent 1" in out
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    # Times in the configured zone (Berlin) with their offset.
    assert rows["good"].split()[1:4] == ["json://127.0.0.1", "2026-12-14T09:00+01:00", "-"]
    assert rows["bad"].split()[1:4] == ["json://127.0.0.1", "-", "2026-12-14T09:00+01:00"]
    assert "500" in rows["bad"]
    assert rows["slow"].split()[2:4] == ["-", "2026-12-14T09:00+01:00"]
    waiting = [line.split() for line in out.splitlines() if re.match(r"\s*\d+\s", line)]
    assert sorted((w[1], w[2], w[3], w[4]) for w in waiting) == [
        ("bad", "failed", "1", "2026-12-14T09:01+01:00"),
        ("slow", "failed", "1", "2026-12-14T09:01+01:00"),
    ]
    assert all("UK backup" in " ".join(w) and "2026-12-15" in w for w in waiting)

    data = json.loads(run([*status_args, "--format", "json"], env).stdout)
    assert data["counts"] == {"failed": 2, "sent": 1}
    assert sorted((w["target"], w["state"], w["attempts"]) for w in data["waiting"]) == [
        ("bad", "failed", 1),
        ("slow", "failed", 1),
    ]
    info = {t["name"]: t for t in data["targets"]}
    assert info["good"]["last_success_at"] == "2026-12-14T09:00:00+01:00"
    assert info["good"]["last_error"] is None
    assert info["bad"]["last_success_at"] is None
    assert info["bad"]["last_error_at"] == "2026-12-14T09:00:00+01:00"
    assert "500" in info["bad"]["last_error"]
    assert all(t["url"] == "json://127.0.0.1" for t in data["targets"])


def test_status_shows_a_killed_pass_as_interrupted_and_the_next_pass_resends(
    tmp_path, env, make_http_receiver
):
    slow = make_http_receiver(hang=12)
    path = make_config(tmp_path, [("slow", slow.json_url())], send_timeout=10)
    status_args = ["--config", str(path), "status", "--now", "2026-12-14T09:00", "--format"]
    busy = subprocess.Popen(
        [SIMKEEPER, "--config", str(path), "send-due", "--now", "2026-12-14T09:00"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_for(lambda: slow.requests, timeout=10)
        during = json.loads(run([*status_args, "json"], env).stdout)
        assert [w["state"] for w in during["waiting"]] == ["sending"]
    finally:
        busy.kill()
        busy.wait(timeout=10)
    after = json.loads(run([*status_args, "json"], env).stdout)
    assert [w["state"] for w in after["waiting"]] == ["interrupted"]
    slow.hang = 0
    assert send(path, env, "2026-12-14T09:01").returncode == 0
    assert len(slow.requests) == 2  # the one in flight at the kill, sent again
    assert query(tmp_path, "SELECT state FROM deliveries") == [("sent",)]


# -- the database ------------------------------------------------------------------------------


def test_database_is_private_and_in_wal_mode(tmp_path, env, http_receiver):
    path = make_config(tmp_path, [("hook", http_receiver.json_url())])
    assert send(path, env, "2026-12-12T09:00").returncode == 0
    db = tmp_path / "state.db"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    for suffix in ("-wal", "-shm"):
        side = Path(f"{db}{suffix}")
        if side.exists():
            assert stat.S_IMODE(side.stat().st_mode) & 0o077 == 0, side
    assert query(tmp_path, "PRAGMA journal_mode") == [("wal",)]
    assert query(tmp_path, "PRAGMA integrity_check") == [("ok",)]
    # The default location (no settings.state): $STATE_DIRECTORY, created private too.
    config = make_config(tmp_path, [("hook", http_receiver.json_url())])
    config.write_text(re.sub(r'(?m)^state = ".*"\n', "", config.read_text()))
    assert send(config, env, "2026-12-14T09:00").returncode == 0
    default = Path(env["STATE_DIRECTORY"]) / "simkeeper.db"
    assert stat.S_IMODE(default.stat().st_mode) == 0o600
    conn = sqlite3.connect(default)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchall() == [("wal",)]
    finally:
        conn.close()


def test_weekly_digest_goes_out_once_a_week(tmp_path, env, http_receiver):
    path = make_config(
        tmp_path,
        [("hook", http_receiver.json_url())],
        numbers=GIFFGAFF + TMOBILE,
        extra='digest = "mon 09:00"',
    )
    assert send(path, env, "2026-11-30T08:59").stdout.strip() == "nothing to send"
    for now in ("2026-11-30T09:10", "2026-11-30T15:00", "2026-12-01T08:00"):  # Mon, Mon, Tue
        send(path, env, now)
    assert len(http_receiver.requests) == 1
    body = http_receiver.requests[0].json()
    assert body["title"] == "simkeeper: the next 30 days (2 deadlines)"
    assert "UK backup" in body["message"] and "US line" in body["message"]
    assert "15 days left" in body["message"]
    send(path, env, "2026-12-01T09:05")  # the 14-day reminder, one message for both numbers
    assert len(http_receiver.requests) == 2
    send(path, env, "2026-12-07T09:05")  # the next Monday: the next digest
    assert len(http_receiver.requests) == 3
    assert http_receiver.requests[-1].json()["title"].startswith("simkeeper: the next 30 days")
    assert "8 days left" in http_receiver.requests[-1].json()["message"]


def test_a_target_named_like_its_url_path_is_still_named(tmp_path, env, make_http_receiver):
    bad = make_http_receiver(status=500)
    path = make_config(tmp_path, [("hook", bad.json_url("hook") + "?-X-Token=s3cr3tvalue")])
    result = run(["--config", str(path), "-v", "send-due", "--now", "2026-12-14T09:00"], env)
    assert result.returncode == 1
    assert "failed: hook" in result.stdout
    assert "could not send 1 reminder(s) to hook:" in result.stderr
    status = run(["--config", str(path), "status", "--now", "2026-12-14T09:00"], env)
    assert "hook" in status.stdout
    assert "s3cr3tvalue" not in result.stdout + result.stderr + status.stdout + status.stderr
