"""The web face through a real ``simkeeper web`` process on 127.0.0.1 and real HTTP: links
from a delivered message, GET (changes nothing), POST (records once), forged, altered and
expired tokens, the rate limit, the calendar feed, the status page, headers, zh-CN."""

from __future__ import annotations

import html
import re
import sqlite3
from datetime import UTC, date, datetime
from email.message import Message
from pathlib import Path

import pytest
from conftest import ok, run, send_due, snapshot, write_config
from test_weblinks import assert_reveals_nothing
from webface import free_port, path_of, request, web_config, web_process

from simkeeper.send.links import Claim, _b64, _unb64, page_token, sign, sign_legacy

pytest_plugins = ["receivers"]

NOW = "2026-12-12T10:00"  # the 3-day reminder of 2026-12-15 went out at 09:00 (Berlin)

BASE = """
[settings]
timezone = "Europe/Berlin"
remind = ["3d"]
state = "{state}"
calendar = "{calendar}"

[[notify]]
name = "mail"
url = "{url}"

[[numbers]]
name = "UK backup"
number = "+44 7911 123456"
carrier = "AT&T <Prepaid>"
cycle = "monthly"
due = 2026-12-15
after_deadline = [{{ after = "0d", state = "grace period" }},
{{ after = "30d", state = "number recycled" }}]
"""

HEADERS = {
    "content-security-policy": "default-src 'none'",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}
LINK = re.compile(r"https://sims\.example\.com/sk/r/[A-Za-z0-9_\-]+")


def make_config(
    tmp_path: Path, port: int, url: str = "console://", language: str = "en", web: bool = True
) -> Path:
    text = BASE.format(state=tmp_path / "state.db", calendar=tmp_path / "sims.ics", url=url)
    text = text.replace("[settings]\n", f'[settings]\nlanguage = "{language}"\n', 1)
    return write_config(tmp_path / "config.toml", text + (web_config(port) if web else ""))


def key_of(tmp_path: Path) -> bytes:
    return bytes.fromhex((tmp_path / "web.key").read_text().strip())


def assert_headers(headers: dict[str, str]) -> None:
    for name, value in HEADERS.items():
        assert value in headers.get(name, ""), (name, headers)
    assert "form-action 'self'" in headers["content-security-policy"]


def parts(message: Message) -> dict[str, str]:
    out = {}
    for part in message.walk():
        if not part.is_multipart():
            payload = part.get_payload(decode=True) or b""
            out[part.get_content_type()] = payload.decode(part.get_content_charset() or "utf-8")
    return out


def renewals(db: Path) -> list[tuple[str, str | None]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT date, covers FROM history WHERE kind = 'renewal'").fetchall()


def links_in(text: str) -> list[str]:
    return LINK.findall(text)


# -- the links in a delivered message ---------------------------------------------------------


def test_a_delivered_reminder_carries_both_links_and_its_renewal_link_records_once(
    tmp_path: Path, env: dict[str, str], smtp_server
) -> None:
    port = free_port()
    config = make_config(tmp_path, port, smtp_server.url())
    assert send_due(config, env, NOW) == "sent: mail"
    [mail] = smtp_server.mails
    got = parts(mail.message)
    plain, page = got["text/plain"], got["text/html"]
    renew, snooze = links_in(plain)
    for url in (renew, snooze):  # nothing of the number, name or deadline in the link
        assert_reveals_nothing(url, "+447911123456", date(2026, 12, 15), "UK backup")
    assert f"I renewed it: {renew}" in plain and f"Remind me tomorrow: {snooze}" in plain
    # HTML: labelled buttons, no raw URL as a link's text; the text part keeps the URLs
    assert re.search(rf'<a href="{re.escape(renew)}" style="[^"]+">I renewed it</a>', page)
    assert re.search(rf'<a href="{re.escape(snooze)}" style="[^"]+">Remind me tomorrow</a>', page)
    assert f">{renew}</a>" not in page and f">{snooze}</a>" not in page
    assert "AT&amp;T &lt;Prepaid&gt;" in page  # escaping kept with the links
    assert oct((tmp_path / "web.key").stat().st_mode & 0o777) == "0o600"
    key_text = (tmp_path / "web.key").read_text().strip()
    assert key_text not in plain + page

    db = tmp_path / "state.db"
    with web_process(config, env, port, NOW) as proc:
        before = snapshot(db)
        shown = request(port, path_of(renew))  # a mail scanner or a chat preview fetches it
        assert shown.status == 200
        assert_headers(shown.headers)
        assert "UK backup" in shown.text and "Tue 15 Dec · in 3 days" in shown.text
        assert "simkeeper renewed" not in shown.text  # the product's words, not the CLI's
        assert '<form method="post">' in shown.text and "I renewed it</button>" in shown.text
        assert "AT&T" not in shown.text or "&lt;" not in shown.text
        assert request(port, path_of(renew), "HEAD").status == 200
        assert snapshot(db)[1:] == before[1:] and renewals(db) == []  # GET changed nothing

        done = request(port, path_of(renew), "POST", b"")
        assert done.status == 200
        assert_headers(done.headers)
        assert "Done: UK backup is recorded as renewed today." in done.text
        assert 'Next deadline: <span class="date">Fri 15 Jan 2027 · in 34 days</span>.' in (
            done.text
        )  # the date never breaks across lines
        assert f'href="/sk/?token={page_token(key_of(tmp_path), "status")}"' in done.text
        assert renewals(db) == [("2026-12-12", "2026-12-15")]

        again = request(port, path_of(renew), "POST", b"")
        assert again.status == 200
        assert "Already done" in again.text
        assert renewals(db) == [("2026-12-12", "2026-12-15")]
        shown_again = request(port, path_of(renew))
        assert "already recorded as renewed" in shown_again.text
        assert "<form" not in shown_again.text
        late_snooze = request(port, path_of(snooze), "POST", b"")
        assert "nothing to remind you of" in late_snooze.text
        assert "<form" not in request(port, path_of(snooze)).text
    assert proc.returncode == 0
    log = (tmp_path / "web.log").read_text()
    assert "serving the web face" in log and key_text not in log
    assert key_text not in (tmp_path / "state.db").read_bytes().decode("latin-1")

    # The same application function as `simkeeper renewed`: history, deadlines, calendar moved.
    history = ok(config, env, "history")
    assert "2026-12-12" in history and "2026-12-15" in history
    upcoming = ok(config, env, "upcoming", "--now", NOW)
    assert "2027-01-15" in upcoming and "2026-12-15" not in upcoming
    assert "DTSTART;VALUE=DATE:20261215" not in (tmp_path / "sims.ics").read_text()
    assert "DTSTART;VALUE=DATE:20270115" in (tmp_path / "sims.ics").read_text()
    # ...and a second renewal by the command is refused as for any other renewal
    assert run(["--config", str(config), "renewed", "UK backup", "--now", NOW], env).returncode == 2


def test_no_web_table_no_links(tmp_path: Path, env: dict[str, str], smtp_server) -> None:
    config = make_config(tmp_path, free_port(), smtp_server.url(), web=False)
    assert send_due(config, env, NOW) == "sent: mail"
    [mail] = smtp_server.mails
    assert "/r/" not in mail.raw.decode() and "I renewed it" not in mail.body
    assert not (tmp_path / "web.key").exists()


def test_links_in_an_overdue_alert_and_in_zh_cn(
    tmp_path: Path, env: dict[str, str], smtp_server
) -> None:
    config = make_config(tmp_path, free_port(), smtp_server.url(), language="zh-CN")
    send_due(config, env, NOW)
    send_due(config, env, "2026-12-16T09:30")  # the deadline passed unrenewed
    reminder, alert = smtp_server.mails
    for mail in (reminder, alert):
        plain = parts(mail.message)["text/plain"]
        assert len(links_in(plain)) == 2
        assert "我已续费" in plain and "明天再提醒我" in plain


# -- bad tokens -------------------------------------------------------------------------------


def test_forged_altered_and_expired_tokens_get_403_and_change_nothing(
    tmp_path: Path, env: dict[str, str]
) -> None:
    port = free_port()
    config = make_config(tmp_path, port)
    ok(config, env, "send-due", "--now", NOW)
    db = tmp_path / "state.db"
    with web_process(config, env, port, NOW):
        key = key_of(tmp_path)
        deadline = date(2026, 12, 15)
        good = sign(
            key, Claim("+447911123456", deadline, "renewed", datetime(2027, 2, 1, tzinfo=UTC))
        )
        raw = bytearray(_unb64(good))
        raw[20] ^= 1  # one ciphertext byte flipped
        flipped = _b64(bytes(raw))
        legacy = sign_legacy(
            key, Claim("+447911123456", deadline, "renewed", datetime(2027, 2, 1, tzinfo=UTC))
        )
        fields, mac = legacy.split(".")
        forged = sign(
            b"x" * 32, Claim("+447911123456", deadline, "renewed", datetime(2027, 2, 1, tzinfo=UTC))
        )
        other = sign(
            key, Claim("+447911123456", deadline, "snooze", datetime(2027, 2, 1, tzinfo=UTC))
        )
        legacy_other = sign_legacy(
            key, Claim("+447911123456", deadline, "snooze", datetime(2027, 2, 1, tzinfo=UTC))
        )
        altered = legacy_other.split(".")[0] + "." + mac  # snooze fields under the renewal's MAC
        expired = sign(
            key, Claim("+447911123456", deadline, "renewed", datetime(2026, 12, 1, tzinfo=UTC))
        )
        before = snapshot(db)
        bads = (forged, altered, expired, good[:-2], "nonsense", fields, flipped, other + "A")
        tries = [(bad, "GET") for bad in bads]
        tries += [(bad, "POST") for bad in (forged, flipped)]  # 10: the limit's last 403
        for bad, method in tries:
            r = request(port, f"/r/{bad}", method, b"" if method == "POST" else None)
            assert r.status == 403, (bad, method, r.status)
            assert_headers(r.headers)
            assert "UK backup" not in r.text
        assert snapshot(db)[1:] == before[1:]
        assert renewals(db) == []


def test_a_link_expires_at_the_end_of_the_last_stage(tmp_path: Path, env: dict[str, str]) -> None:
    port = free_port()
    config = make_config(tmp_path, port)
    ok(config, env, "send-due", "--now", NOW)
    key_holder = tmp_path / "web.key"
    with web_process(config, env, port, NOW):
        pass
    key = bytes.fromhex(key_holder.read_text().strip())
    from simkeeper.send.links import action_links

    [(_, renew), _snooze] = action_links("", key, "+447911123456", date(2026, 12, 15), (0, 30))
    with web_process(config, env, port, "2027-01-14T23:00"):  # the day the number is lost
        assert request(port, renew).status == 200
    with web_process(config, env, port, "2027-01-17T12:00"):  # after it
        assert request(port, renew).status == 403


def test_repeated_bad_tokens_from_one_address_are_rate_limited(
    tmp_path: Path, env: dict[str, str]
) -> None:
    port = free_port()
    config = make_config(tmp_path, port)
    with web_process(config, env, port, NOW):
        statuses = [request(port, f"/r/bad{i}token").status for i in range(10)]
        assert statuses == [403] * 10
        limited = request(port, "/r/badtoken")
        assert limited.status == 429
        assert_headers(limited.headers)
        assert request(port, "/?token=guess").status == 429  # a bad page token too
    with web_process(config, env, port, NOW):  # in memory: a new process starts afresh
        assert request(port, "/r/badtoken").status == 403


def test_bad_tokens_never_lock_out_a_valid_link(tmp_path: Path, env: dict[str, str]) -> None:
    """After many bad tokens from 127.0.0.1 (the owner's own address, or a proxy's that hides
    every client's), the owner's link still opens (200) and its button still records the
    renewal, and the status page still opens: only bad tokens are answered 429."""
    port = free_port()
    config = make_config(tmp_path, port)
    ok(config, env, "send-due", "--now", NOW)
    with web_process(config, env, port, NOW):
        key = key_of(tmp_path)
        from simkeeper.send.links import action_links

        [(_, renew), _] = action_links("", key, "+447911123456", date(2026, 12, 15), (0, 30))
        statuses = {request(port, f"/r/junk{i}").status for i in range(40)}
        statuses |= {request(port, f"/?token=junk{i}").status for i in range(10)}
        assert statuses == {403, 429}
        assert request(port, "/r/junk").status == 429
        shown = request(port, renew)
        assert shown.status == 200, shown.status
        pressed = request(port, renew, "POST", b"")
        assert pressed.status == 200, pressed.status
        assert request(port, f"/?token={page_token(key, 'status')}").status == 200
        assert request(port, "/r/junk").status == 429
    assert [r[0] for r in renewals(tmp_path / "state.db")] == ["2026-12-12"]


# -- snooze -----------------------------------------------------------------------------------


def test_remind_me_tomorrow_holds_the_reminders_and_sends_one_tomorrow(
    tmp_path: Path, env: dict[str, str], smtp_server
) -> None:
    port = free_port()
    config = make_config(tmp_path, port, smtp_server.url())
    send_due(config, env, NOW)
    [first] = smtp_server.mails
    _, snooze = links_in(parts(first.message)["text/plain"])
    with web_process(config, env, port, NOW):
        shown = request(port, path_of(snooze))
        assert "Remind me tomorrow</button>" in shown.text and "Sun 13 Dec, 09:00" in shown.text
        done = request(port, path_of(snooze), "POST", b"")
        assert done.status == 200
        assert 'about UK backup goes out on <span class="date">Sun 13 Dec, 09:00</span>' in (
            done.text
        )
        again = request(port, path_of(snooze), "POST", b"")
        assert "Already done" in again.text
    assert send_due(config, env, "2026-12-13T08:59") != "sent: mail"
    assert len(smtp_server.mails) == 1
    assert send_due(config, env, "2026-12-13T09:00") == "sent: mail"
    assert send_due(config, env, "2026-12-13T09:05") != "sent: mail"
    assert len(smtp_server.mails) == 2
    assert "2 days left" in smtp_server.mails[1].body
    assert len(links_in(parts(smtp_server.mails[1].message)["text/plain"])) == 2


# -- the calendar feed and the status page ----------------------------------------------------


def test_calendar_feed_has_an_etag_and_answers_304(tmp_path: Path, env: dict[str, str]) -> None:
    port = free_port()
    config = make_config(tmp_path, port)
    ok(config, env, "send-due", "--now", NOW)
    cli_feed = ok(config, env, "calendar", "--now", NOW)
    with web_process(config, env, port, NOW):
        key = key_of(tmp_path)
        assert request(port, "/calendar.ics").status == 403
        assert request(port, "/calendar.ics?token=" + page_token(key, "status")).status == 403
        path = "/calendar.ics?token=" + page_token(key, "calendar")
        feed = request(port, path)
        assert feed.status == 200
        assert feed.headers["content-type"].startswith("text/calendar")
        assert_headers(feed.headers)
        summaries = sorted(re.findall(r"^SUMMARY:.*$", feed.text.replace("\r", ""), re.M))
        assert summaries and summaries == sorted(
            re.findall(r"^SUMMARY:.*$", cli_feed.replace("\r", ""), re.M)
        )
        etag, modified = feed.headers["etag"], feed.headers["last-modified"]
        assert request(port, path).headers["etag"] == etag
        cached = request(port, path, headers={"If-None-Match": etag})
        assert cached.status == 304 and cached.body == b""
        assert cached.headers["etag"] == etag
        assert request(port, path, headers={"If-Modified-Since": modified}).status == 304
        assert request(port, path, headers={"If-None-Match": '"other"'}).status == 200
        ok(config, env, "renewed", "UK backup", "--now", NOW)
        moved = request(port, path, headers={"If-None-Match": etag})
        assert moved.status == 200 and moved.headers["etag"] != etag


def test_status_page_shows_what_status_shows_and_needs_its_token(
    tmp_path: Path, env: dict[str, str]
) -> None:
    port = free_port()
    config = make_config(tmp_path, port)
    ok(config, env, "send-due", "--now", NOW)
    ok(config, env, "send-due", "--now", "2026-12-16T09:30")  # overdue: at risk
    with web_process(config, env, port, "2026-12-16T10:00"):
        key = key_of(tmp_path)
        for path in ("/", "/?token=", "/?token=nope", "/nowhere", "/style.css/x"):
            r = request(port, path)
            assert r.status in (403, 404), path
            assert_headers(r.headers)
            assert "UK backup" not in r.text
        page = request(port, f"/?token={page_token(key, 'status')}")
        assert page.status == 200
        assert_headers(page.headers)
        text = page.text
        assert "UK backup" in text and "grace period" in text  # at risk, with its stage
        assert 'Last checked for reminders <span class="date">Wed 16 Dec, 09:30</span>.' in text
        assert "Needs attention" not in text and "target(s)" not in text
        assert text.count('class="name">UK backup<') == 1  # one card, not two lists' entries
        assert "Dates and times are in Europe/Berlin." in text and text.count("Europe/Berlin") == 1
        assert re.search(r"<svg class=\"timeline\"[^>]*>.*<rect class=\"stage\"", text, re.S)
        assert 'action="/sk/r/' in text and "I renewed it</button>" in text
        assert "Remind me tomorrow</button>" in text
        assert "mail" in text  # the target's health
        assert "<script" not in text and "http://" not in text.replace("http://www.w3", "")
        assert 'href="/sk/style.css"' in text
        css = request(port, "/sk/style.css")
        assert css.status == 200 and css.headers["content-type"].startswith("text/css")
        assert_headers(css.headers)
        assert request(port, f"/?token={page_token(key, 'status')}", "POST", b"").status == 405
    out = run(["--config", str(config), "status", "--now", "2026-12-16T10:00"], env).stdout
    assert f"https://sims.example.com/sk/?token={page_token(key, 'status')}" in out
    assert f"https://sims.example.com/sk/calendar.ics?token={page_token(key, 'calendar')}" in out


def test_pages_speak_zh_cn_by_config_or_by_browser(tmp_path: Path, env: dict[str, str]) -> None:
    port = free_port()
    config = make_config(tmp_path, port)
    ok(config, env, "send-due", "--now", NOW)
    with web_process(config, env, port, NOW):
        key = key_of(tmp_path)
        path = f"/?token={page_token(key, 'status')}"
        english = request(port, path)
        chinese = request(port, path, headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
        assert "Your numbers" in english.text and 'lang="en"' in english.text
        assert 'lang="zh-CN"' in chinese.text and "你的号码" in chinese.text
        assert "12月15日（周二）· 还有 3 天" in chinese.text
        assert_headers(chinese.headers)
        missing = request(port, "/nowhere", headers={"Accept-Language": "zh"})
        assert missing.status == 404 and 'lang="zh-CN"' in missing.text
    config = make_config(tmp_path, port, language="zh-CN")
    with web_process(config, env, port, NOW):
        assert 'lang="zh-CN"' in request(port, path).text
        assert 'lang="en"' in request(port, path, headers={"Accept-Language": "en-GB"}).text


def test_page_text_is_escaped(tmp_path: Path, env: dict[str, str]) -> None:
    port = free_port()
    config = make_config(tmp_path, port)
    text = config.read_text().replace('name = "UK backup"', 'name = "<script>x</script>"')
    config.write_text(text)
    ok(config, env, "send-due", "--now", NOW)
    ok(config, env, "send-due", "--now", "2026-12-16T09:30")
    with web_process(config, env, port, "2026-12-16T10:00"):
        page = request(port, f"/?token={page_token(key_of(tmp_path), 'status')}")
        assert "<script>" not in page.text and "&lt;script&gt;x&lt;/script&gt;" in page.text
        assert html.unescape("&lt;script&gt;") == "<script>"


def test_without_web_table_web_exits_2_with_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    config = make_config(tmp_path, free_port(), web=False)
    result = run(["--config", str(config), "web"], env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "[web]" in result.stderr
    zh = make_config(tmp_path, free_port(), language="zh-CN", web=False)
    result = run(["--config", str(zh), "web"], env)
    assert result.returncode == 2 and "[web]" in result.stderr and "网页" in result.stderr


@pytest.mark.parametrize("bad", ["127.0.0.1", "127.0.0.1:0", "localhost:99999", "[::1]", "::1:80"])
def test_bad_listen_is_a_config_error(tmp_path: Path, env: dict[str, str], bad: str) -> None:
    config = make_config(tmp_path, free_port(), web=False)
    config.write_text(config.read_text() + f'\n[web]\nlisten = "{bad}"\n')
    result = run(["--config", str(config), "check"], env)
    assert result.returncode == 2
    assert "web.listen" in result.stderr


def test_base_url_defaults_to_the_listen_address(tmp_path: Path) -> None:
    from simkeeper.config import load as config_mod

    path = make_config(tmp_path, 8787, web=False)
    path.write_text(path.read_text() + '\n[web]\nlisten = "[::1]:9000"\n')
    loaded = config_mod.load(path, require_secrets=False)
    assert loaded.web is not None
    assert (loaded.web.host, loaded.web.port, loaded.web.base_url) == (
        "::1",
        9000,
        "http://[::1]:9000",
    )


def test_a_rolling_number_renewed_from_its_link_gets_its_next_deadline(
    tmp_path: Path, env: dict[str, str], smtp_server
) -> None:
    port = free_port()
    text = f"""
[settings]
timezone = "Europe/Berlin"
remind = ["3d"]
state = "{tmp_path / "state.db"}"

[[notify]]
name = "mail"
url = "{smtp_server.url()}"

[[numbers]]
name = "keepalive"
number = "+44 7911 123457"
cycle = "every 180 days"
rolling = true
last_renewed = 2026-06-18
"""
    config = write_config(tmp_path / "config.toml", text + web_config(port))
    assert send_due(config, env, NOW) == "sent: mail"  # deadline 2026-12-15
    renew, _ = links_in(parts(smtp_server.mails[0].message)["text/plain"])
    db = tmp_path / "state.db"
    with web_process(config, env, port, NOW):
        done = request(port, path_of(renew), "POST", b"")
        assert "Done: keepalive is recorded as renewed today." in done.text
        assert '<span class="date">Thu 10 Jun 2027 · in 180 days</span>' in done.text
        assert "Already done" in request(port, path_of(renew), "POST", b"").text
    assert renewals(db) == [("2026-12-12", None)]
    assert "2027-06-10" in ok(config, env, "upcoming", "--now", NOW, "--days", "365")


def test_a_link_for_a_number_no_longer_configured_is_404(
    tmp_path: Path, env: dict[str, str]
) -> None:
    port = free_port()
    config = make_config(tmp_path, port)
    with web_process(config, env, port, NOW):
        key = key_of(tmp_path)
        gone = sign(
            key,
            Claim("+12065550100", date(2026, 12, 15), "renewed", datetime(2027, 2, 1, tzinfo=UTC)),
        )
        r = request(port, f"/r/{gone}")
        assert r.status == 404
        assert_headers(r.headers)


def test_a_key_that_cannot_be_read_costs_the_links_not_the_reminder(
    tmp_path: Path, env: dict[str, str], smtp_server
) -> None:
    config = make_config(tmp_path, free_port(), smtp_server.url())
    (tmp_path / "web.key").write_text("damaged\n")
    result = run(["--config", str(config), "send-due", "--now", NOW], env)
    assert result.returncode == 0 and "sent: mail" in result.stdout
    assert "without their web links" in result.stderr and "does not hold a key" in result.stderr
    [mail] = smtp_server.mails
    assert "UK backup" in mail.body and "/r/" not in mail.body


def test_a_renewal_the_command_would_refuse_is_refused_by_the_link_too(
    tmp_path: Path, env: dict[str, str]
) -> None:
    port = free_port()
    config = make_config(tmp_path, port)
    ok(config, env, "renewed", "UK backup", "--now", NOW)  # 2026-12-15 done today
    with web_process(config, env, port, NOW):
        later = Claim(
            "+447911123456", date(2027, 1, 15), "renewed", datetime(2027, 3, 1, tzinfo=UTC)
        )
        r = request(port, f"/r/{sign(key_of(tmp_path), later)}", "POST", b"")
        assert r.status == 409
        assert_headers(r.headers)
        assert "Nothing was recorded" in r.text and "already recorded" in r.text
    assert renewals(tmp_path / "state.db") == [("2026-12-12", "2026-12-15")]
