"""/healthz and /metrics as computed by the application layer (simkeeper.app.health and
.metrics, simkeeper.probes): real SQLite state written by real `send-due` passes to real
receivers on 127.0.0.1. Times are parameters; the config's zone is Europe/Berlin (UTC+1)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from conftest import ok, sk, write_config

from simkeeper import app
from simkeeper.present.probes import PASS_STALE, Metric, exposition
from simkeeper.texts.i18n import translator

pytest_plugins = ["receivers"]

# The 3-day reminders fall at 2026-12-12 09:00 Berlin (08:00 UTC); the deadlines are on the 15th.
NUMBERS = """
[[numbers]]
name = "UK backup"
number = "+44 7911 123456"
cycle = "monthly"
due = 2026-12-15

[[numbers]]
name = "Travel \\"eSIM\\""
number = "+49 1512 3456789"
timezone = "Asia/Shanghai"
cycle = "monthly"
due = 2026-12-15
"""


def make_config(tmp_path: Path, targets: dict[str, str], numbers: str = NUMBERS) -> Path:
    notify = "".join(f'\n[[notify]]\nname = "{n}"\nurl = "{u}"\n' for n, u in targets.items())
    text = f"""
[settings]
timezone = "Europe/Berlin"
remind = ["3d"]
send_timeout = 3
state = "{tmp_path / "state.db"}"
{notify}
{numbers}
"""
    return write_config(tmp_path / "config.toml", text)


def at(text: str) -> datetime:
    """A UTC moment."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def load(path: Path):
    return app.load(path, lambda w: None, for_sending=False)


def samples(families: tuple[Metric, ...]) -> dict[str, list]:
    return {m.name: list(m.samples) for m in families}


def test_health_follows_the_last_pass_and_what_is_due_unsent(tmp_path, env, http_receiver):
    path = make_config(tmp_path, {"hook": http_receiver.json_url()})
    config = load(path)
    # No database, no pass: unhealthy, saying why.
    first = app.health(config, at("2026-12-01T10:00"))
    assert not first.ok and first.reasons == (
        "no send pass is recorded yet: is the daemon running?",
    )
    ok(path, env, "send-due", "--now", "2026-12-01T11:00")  # 10:00 UTC, nothing due
    assert app.health(config, at("2026-12-01T10:00")).ok
    assert app.health(config, at("2026-12-01T10:00") + PASS_STALE).ok
    stale = app.health(config, at("2026-12-01T10:04"))
    assert stale.reasons == (
        "the last send pass ran 4 minutes ago (2026-12-01T10:00:00+00:00): is the daemon running?",
    )
    # In zh-CN when asked.
    [zh] = app.health(config, at("2026-12-01T10:04"), translator("zh-CN")).reasons
    assert "4" in zh and "2026-12-01T10:00:00+00:00" in zh and "is the daemon" not in zh


def test_a_reminder_left_unsent_is_unhealthy(tmp_path, env, make_http_receiver):
    bad = make_http_receiver(status=500)
    uk_only = NUMBERS.split("\n\n[[numbers]]")[0]
    path = make_config(tmp_path, {"bad": bad.json_url()}, uk_only)
    config = load(path)
    # 08:00 UTC: due now, the pass fails to deliver it (the receiver answers 500).
    assert sk(path, env, "send-due", "--now", "2026-12-12T09:00").returncode == 1
    # Passes keep running (recent), but the reminder stays unsent: within the grace still ok.
    assert sk(path, env, "send-due", "--now", "2026-12-12T09:03").returncode == 1
    assert app.health(config, at("2026-12-12T08:03")).ok
    sk(path, env, "send-due", "--now", "2026-12-12T09:04")
    late = app.health(config, at("2026-12-12T08:04"))
    assert late.reasons == (
        "1 reminder is due and not sent (the oldest due at 2026-12-12T08:00:00+00:00)",
    )
    bad.status = 200
    # The retry (after its backoff) delivers it: healthy again.
    assert ok(path, env, "send-due", "--now", "2026-12-12T09:30").strip() == "sent: bad"
    assert app.health(config, at("2026-12-12T08:30")).ok


def test_metrics_name_numbers_and_targets_never_phone_numbers_or_urls(
    tmp_path, env, http_receiver, make_http_receiver
):
    bad = make_http_receiver(status=500)
    path = make_config(tmp_path, {"hook": http_receiver.json_url(), "down": bad.json_url()})
    config = load(path)
    # Before any pass: figures from the config alone, no last pass.
    before = samples(app.metrics(config, at("2026-12-01T10:00")))
    assert before["simkeeper_numbers"] == [((), 2)]
    assert before["simkeeper_last_pass_timestamp_seconds"] == []
    assert before["simkeeper_reminders_sent"] == [
        ((("target", "hook"),), 0),
        ((("target", "down"),), 0),
    ]
    sk(path, env, "send-due", "--now", "2026-12-12T09:00")
    now = at("2026-12-12T08:01")
    figures = samples(app.metrics(config, now))
    assert figures["simkeeper_numbers"] == [((), 2)]
    # The end of 2026-12-15 in each number's zone: Berlin (UTC+1) and Shanghai (UTC+8).
    assert figures["simkeeper_next_deadline_timestamp_seconds"] == [
        ((("name", "UK backup"),), at("2026-12-15T23:00").timestamp()),
        ((("name", 'Travel "eSIM"'),), at("2026-12-15T16:00").timestamp()),
    ]
    assert figures["simkeeper_reminders_sent"] == [
        ((("target", "hook"),), 2),
        ((("target", "down"),), 0),
    ]
    assert figures["simkeeper_reminders_failed"] == [
        ((("target", "hook"),), 0),
        ((("target", "down"),), 2),
    ]
    assert figures["simkeeper_reminders_due_unsent"] == [((), 2)]
    assert figures["simkeeper_last_pass_timestamp_seconds"] == [
        ((), at("2026-12-12T08:00").timestamp())
    ]
    assert figures["simkeeper_overdue_numbers"] == [((), 0)]
    # Past the deadline, unrenewed: both overdue, their deadline in the past.
    later = samples(app.metrics(config, at("2026-12-17T08:00")))
    assert later["simkeeper_overdue_numbers"] == [((), 2)]
    text = exposition(app.metrics(config, now))
    end = int(at("2026-12-15T16:00").timestamp())
    assert f'simkeeper_next_deadline_timestamp_seconds{{name="Travel \\"eSIM\\""}} {end}\n' in text
    assert 'simkeeper_reminders_failed{target="down"} 2' in text
    # No phone number (its digits in any spacing), no URL, no port of a receiver.
    digits = re.sub(r"\D", "", text)
    for number in ("447911123456", "4915123456789", "7911123456", "15123456789"):
        assert number not in digits
    assert "127.0.0.1" not in text and "json://" not in text
    assert str(bad.port) not in text and str(http_receiver.port) not in text


def test_exposition_is_the_prometheus_text_format():
    text = exposition(
        (
            Metric("simkeeper_a", "gauge", "A.", (((), 1),)),
            Metric("simkeeper_b", "gauge", "B.", (((("name", 'x\\y\n"z"'),), 1.5),)),
            Metric("simkeeper_c", "gauge", "C.", ()),
        )
    )
    assert text == (
        "# HELP simkeeper_a A.\n# TYPE simkeeper_a gauge\nsimkeeper_a 1\n"
        "# HELP simkeeper_b B.\n# TYPE simkeeper_b gauge\n"
        'simkeeper_b{name="x\\\\y\\n\\"z\\""} 1.5\n'
        "# HELP simkeeper_c C.\n# TYPE simkeeper_c gauge\n"
    )
