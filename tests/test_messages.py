"""Messages as a real mail client shows them: the MIME message a real SMTP server (aiosmtpd on
127.0.0.1) received, both its text/plain and text/html parts, and the subject of each kind of
message, in both languages."""

from __future__ import annotations

import html
import re
from email.message import Message
from pathlib import Path

from conftest import send_due, write_config

pytest_plugins = ["receivers"]

NUMBERS = """
[[numbers]]
name = "UK backup"
number = "+44 7911 123456"
carrier = "AT&T <Prepaid>"
cycle = "monthly"
due = 2026-12-15
note = "<b>STOP</b> & 发一条短信"

[[numbers]]
name = "US line"
number = "+1 206 555 0100"
carrier = "T-Mobile"
cycle = "monthly"
due = 2026-12-15
"""


def make_config(tmp_path: Path, url: str, language: str = "en") -> Path:
    text = (
        f"""
[settings]
timezone = "Europe/Berlin"
remind = ["3d"]
language = "{language}"
state = "{tmp_path / "state.db"}"

[[notify]]
name = "mail"
url = "{url}"
"""
        + NUMBERS
    )
    return write_config(tmp_path / "config.toml", text)


def parts(message: Message) -> dict[str, str]:
    """Every leaf part of a MIME message by content type, decoded."""
    out = {}
    for part in message.walk():
        if not part.is_multipart():
            payload = part.get_payload(decode=True) or b""
            out[part.get_content_type()] = payload.decode(part.get_content_charset() or "utf-8")
    return out


def test_two_reminders_read_right_in_both_parts_and_config_text_is_escaped(
    tmp_path, env, smtp_server
):
    path = make_config(tmp_path, smtp_server.url())
    assert send_due(path, env, "2026-12-12T09:00") == "sent: mail"
    [mail] = smtp_server.mails
    got = parts(mail.message)
    assert set(got) == {"text/plain", "text/html"}

    # Plain text: each reminder on a line of its own, the note and carrier as written.
    plain = [line for line in got["text/plain"].splitlines() if line.strip()]
    uk = [line for line in plain if "UK backup" in line]
    us = [line for line in plain if "US line" in line]
    assert len(uk) == 1 and len(us) == 1 and uk != us
    assert "<b>STOP</b> & 发一条短信" in uk[0] and "AT&T <Prepaid>" in uk[0]
    assert "US line" not in uk[0]

    # HTML: config text escaped (no bold, no injected tags), each reminder its own list item.
    page = got["text/html"]
    assert "<b>STOP</b>" not in page and "<Prepaid>" not in page
    assert "&lt;b&gt;STOP&lt;/b&gt; &amp; 发一条短信" in page
    assert "AT&amp;T &lt;Prepaid&gt;" in page
    items = re.findall(r"<li>(.*?)</li>", page, re.S)
    assert len(items) == 2
    assert "US line" in items[0] + items[1] and "UK backup" in items[0] + items[1]
    assert all("\n" not in item for item in items)
    # What a browser shows, tags dropped and entities decoded, is the plain text.
    shown = [html.unescape(re.sub(r"<[^>]+>", "", item)) for item in items]
    assert any("<b>STOP</b> & 发一条短信" in s for s in shown)


def test_overdue_alert_has_its_own_subject_in_both_languages(tmp_path, env, smtp_server):
    subjects = {}
    for language in ("en", "zh-CN"):
        folder = tmp_path / language
        folder.mkdir()
        path = make_config(folder, smtp_server.url(), language)
        smtp_server.mails.clear()
        send_due(path, env, "2026-12-12T09:00")  # the 3-day reminder
        send_due(path, env, "2026-12-16T09:30")  # the deadline passed unrenewed
        reminder, alert = smtp_server.mails
        subjects[language] = (reminder.subject, alert.subject)
        assert reminder.subject != alert.subject
    assert subjects["en"][0] == "simkeeper reminder: UK backup, US line"
    assert subjects["en"][1] == "OVERDUE: renew UK backup, US line now or lose the number"
    assert subjects["zh-CN"][0] == "simkeeper 提醒：UK backup、US line 需要处理"
    assert subjects["zh-CN"][1] == "已逾期：请立即为 UK backup、US line 续费，否则号码可能被收回"
