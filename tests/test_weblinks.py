"""The web face's pure parts: signed links, page tokens, the key file, the rate limiter, the
language a page is shown in, and "remind me tomorrow" in the reminder engine."""

from __future__ import annotations

import base64
import os
import stat
import threading
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from simkeeper.app import deadline_done
from simkeeper.core.model import Ledger, Number, Settings
from simkeeper.core.periods import parse_cycle
from simkeeper.engine.reminders import due_reminders, next_due_at
from simkeeper.send import links as weblinks
from simkeeper.send.links import BadToken, Claim, expiry, page_allowed, page_token, sign, verify
from simkeeper.state.store import open_store
from simkeeper.web.ratelimit import Limiter
from simkeeper.web.wsgi import find_handler, negotiate, parse_request

KEY = bytes(range(32))
NOW = datetime(2026, 12, 12, 9, 0, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")
SETTINGS = Settings(timezone=UTC_ZONE, timezone_name="UTC", remind_at=time(9, 0))


def claim(action: weblinks.Action = "renewed", expires: datetime | None = None) -> Claim:
    return Claim("+447911123456", date(2026, 12, 15), action, expires or NOW + timedelta(days=40))


# -- tokens -----------------------------------------------------------------------------------


def test_a_signed_claim_verifies_and_round_trips() -> None:
    for action in weblinks.ACTIONS:
        c = claim(action)
        token = sign(KEY, c)
        assert verify(KEY, token, NOW) == Claim(c.number, c.deadline, action, c.expires)
        assert "/" not in token and "+" not in token and "=" not in token  # URL-safe as it is


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: sign(b"another key of thirty-two bytes!", claim()),  # forged
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # tag altered
        lambda t: t[:-2],  # cut short
        lambda t: t + "AAAA",  # lengthened
        lambda t: "",
        lambda t: "%%%%",
        lambda t: t[:30] + t[40:50] + t[30:40] + t[50:],  # bytes moved around
    ],
)
def test_forged_altered_or_malformed_tokens_are_refused(tamper) -> None:
    token = sign(KEY, claim())
    with pytest.raises(BadToken):
        verify(KEY, tamper(token), NOW)


def test_tampering_any_byte_of_a_token_is_refused() -> None:
    """Every byte of the decoded token (nonce, ciphertext, tag), flipped, is refused."""
    raw = weblinks._unb64(sign(KEY, claim()))
    for i in range(len(raw)):
        for bit in (0x01, 0x80):
            changed = raw[:i] + bytes([raw[i] ^ bit]) + raw[i + 1 :]
            with pytest.raises(BadToken):
                verify(KEY, weblinks._b64(changed), NOW)


def test_a_token_in_another_spelling_is_refused() -> None:
    """base64url has one spelling per token here: padding or the standard alphabet's forms
    are refused even where they decode to the same bytes."""
    token = sign(KEY, claim())
    raw = weblinks._unb64(token)
    for other in (token + "=", base64.b64encode(raw).decode(), token + "\n"):
        if other != token:
            with pytest.raises(BadToken):
                verify(KEY, other, NOW)


def assert_reveals_nothing(url: str, number: str, deadline: date, name: str = "") -> None:
    """Nothing of the number, its deadline, the action or the name in a link: in the URL as
    text, in its token base64-decoded (read as Latin-1 text), and in hex. Each check looks
    for what a readable encoding would hold and chance never makes (the token is random
    bytes): in the URL, runs of six of the number's digits and whole dates; in the decoded
    bytes, runs of four digits and every date spelling; in hex, the ASCII of those and the
    number and the date packed as integers."""
    token = url.rsplit("/", 1)[1]
    raw = weblinks._unb64(token)
    digits = number.removeprefix("+")
    dates = {deadline.isoformat(), deadline.strftime("%Y%m%d"), deadline.strftime("%Y/%m/%d")}
    words = {"renewed", "snooze", *([name] if name else [])}
    runs6 = {digits[i : i + 6] for i in range(len(digits) - 5)}
    runs4 = {digits[i : i + 4] for i in range(len(digits) - 3)}
    for piece in runs6 | dates | words | {"|"}:
        assert piece not in url, (piece, url)
    text = raw.decode("latin-1")
    short = {deadline.strftime("%m%d"), deadline.strftime("%m-%d"), str(deadline.year)}
    for piece in runs4 | dates | short | words:
        assert piece not in text, (piece, raw)
    packed = {
        int(digits).to_bytes(8, "big").hex(),
        deadline.toordinal().to_bytes(4, "big").hex(),
        int(deadline.strftime("%Y%m%d")).to_bytes(4, "big").hex(),
    }
    for needle in {p.encode().hex() for p in runs4 | dates | words} | packed:
        assert needle not in raw.hex(), (needle, raw.hex())


def test_a_link_reveals_nothing_of_the_number_its_deadline_or_action() -> None:
    """The URL, its token base64-decoded, in hex and as text reveal nothing; and every token
    has the same length whatever the number, so the length says nothing either."""
    number = "+8613123456789"
    deadline = date(2026, 12, 10)
    links = weblinks.action_links("https://x.example/s", KEY, number, deadline, (0, 30))
    for _, url in links:
        assert_reveals_nothing(url, number, deadline)
        assert verify(KEY, url.rsplit("/", 1)[1], NOW).number == number
    lengths = {
        len(sign(KEY, Claim(n, deadline, "renewed", NOW + timedelta(days=9))))
        for n in ("+1", "+447911123456", "+861312345678912")
    }
    assert lengths == {67}
    assert links[0][1].rsplit("/", 1)[1] != sign(KEY, claim())  # a random nonce each time


def test_legacy_signed_links_still_work_until_they_expire() -> None:
    """Links sent before the tokens were encrypted verify as they did, and expire as they
    did; altered ones are refused."""
    c = claim(expires=NOW + timedelta(days=1))
    old = weblinks.sign_legacy(KEY, c)
    assert "." in old and verify(KEY, old, NOW) == c
    with pytest.raises(BadToken, match="expired"):
        verify(KEY, old, NOW + timedelta(days=1))
    for bad in (old[:-1] + ("A" if old[-1] != "A" else "B"), old.split(".")[0], "%%%.%%%"):
        with pytest.raises(BadToken):
            verify(KEY, bad, NOW)
    swapped = weblinks.sign_legacy(KEY, claim("snooze")).split(".")[0] + "." + old.split(".")[1]
    with pytest.raises(BadToken):
        verify(KEY, swapped, NOW)


def test_a_legacy_token_with_a_valid_mac_but_bad_fields_is_refused() -> None:
    for fields in (b"+44|2026-12-15|delete|9999999999", b"+44|not-a-date|renewed|1", b"a|b"):
        token = weblinks._b64(fields) + "." + weblinks._b64(weblinks._mac(KEY, b"action:" + fields))
        with pytest.raises(BadToken):
            verify(KEY, token, NOW)


def test_a_token_expires() -> None:
    token = sign(KEY, claim(expires=NOW + timedelta(seconds=1)))
    assert verify(KEY, token, NOW).action == "renewed"
    with pytest.raises(BadToken, match="expired"):
        verify(KEY, token, NOW + timedelta(seconds=1))


def test_expiry_is_the_end_of_the_last_stage_or_the_default() -> None:
    deadline = date(2026, 12, 15)
    end = expiry(deadline, (0, 30))
    assert end > datetime(2027, 1, 14, 23, 59, tzinfo=ZoneInfo("Pacific/Kiritimati"))
    assert end - datetime(2027, 1, 14, tzinfo=UTC) <= timedelta(days=2)
    assert expiry(deadline) == expiry(deadline, (weblinks.DEFAULT_VALID_DAYS,))


def test_page_tokens_differ_by_page_and_key_and_compare() -> None:
    status, calendar = page_token(KEY, "status"), page_token(KEY, "calendar")
    assert status != calendar != page_token(b"k" * 32, "calendar")
    assert page_allowed(KEY, "status", status) and not page_allowed(KEY, "status", calendar)
    assert not page_allowed(KEY, "status", "") and not page_allowed(KEY, "status", "密码")


def test_links_carry_base_url_and_both_actions() -> None:
    links = weblinks.action_links("https://x.example/s", KEY, "+447911123456", date(2026, 12, 15))
    assert [a for a, _ in links] == ["renewed", "snooze"]
    for action, url in links:
        assert url.startswith("https://x.example/s/r/")
        assert verify(KEY, url.rsplit("/", 1)[1], NOW).action == action


# -- the key ----------------------------------------------------------------------------------


def test_the_key_file_is_made_once_0600_and_reused(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    state = tmp_path / "state"
    keys: list[bytes] = []

    def load() -> None:
        keys.append(weblinks.load_key(config, state, env={}))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(keys) == 8 and len(set(keys)) == 1 and len(keys[0]) == 32
    path = state / "web.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in state.iterdir()] == ["web.key"]  # no temporary file left
    assert weblinks.load_key(config, state, env={}) == keys[0]


def test_the_key_comes_from_a_credential_when_there_is_one(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "SIMKEEPER_WEB_KEY").write_text("a long secret from systemd\n")
    env = {"CREDENTIALS_DIRECTORY": str(creds)}
    key = weblinks.load_key(tmp_path / "config.toml", tmp_path / "state", env=env)
    assert key == weblinks.load_key(tmp_path / "c.toml", tmp_path / "other", env=env)
    assert not (tmp_path / "state" / "web.key").exists()
    from_env = weblinks.load_key(tmp_path / "config.toml", tmp_path, {"SIMKEEPER_WEB_KEY": "x"})
    assert from_env != key


def test_a_damaged_key_file_is_an_error_not_a_weak_key(tmp_path: Path) -> None:
    (tmp_path / "web.key").write_text("short\n")
    with pytest.raises(OSError, match="does not hold a key"):
        weblinks.load_key(tmp_path / "config.toml", tmp_path, env={})


# -- the limiter, languages, routing ----------------------------------------------------------


def test_the_limiter_blocks_after_the_limit_and_forgets_after_the_window() -> None:
    limiter = Limiter(limit=3, window=timedelta(minutes=10), max_addresses=2)
    for i in range(3):
        assert not limiter.blocked("a", NOW)
        limiter.bad("a", NOW + timedelta(seconds=i))
    assert limiter.blocked("a", NOW + timedelta(minutes=5))
    assert not limiter.blocked("b", NOW)
    assert not limiter.blocked("a", NOW + timedelta(minutes=10, seconds=1))
    limiter.bad("b", NOW)
    limiter.bad("c", NOW)
    limiter.bad("d", NOW)
    assert len(limiter._bad) == 2  # bounded memory


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("en-GB,zh;q=0.5", "en"),
        ("fr, zh;q=0.4, en;q=0.5", "en"),
        ("de, fr", "en"),
        ("en;q=0, zh", "zh-CN"),
        ("zh;q=bad, en", "en"),
    ],
)
def test_accept_language_picks_a_language_simkeeper_has(header: str, expected: str) -> None:
    assert negotiate(header, "en") == expected


def test_accept_language_without_one_it_has_keeps_the_config_language() -> None:
    assert negotiate("de, fr", "zh-CN") == "zh-CN"


def test_routes_take_exact_paths_and_prefixes() -> None:
    def a(site, req):
        return None

    def b(site, req):
        return None

    table = {"/": a, "/r/": b}
    assert find_handler(table, "/") is a
    assert find_handler(table, "/r/abc") is b
    assert find_handler(table, "/x") is None


def test_a_request_under_the_base_path_is_taken_without_it() -> None:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/sims/r/t", "QUERY_STRING": "a=1"}
    assert parse_request(environ, "/sims").path == "/r/t"
    assert parse_request({**environ, "PATH_INFO": "/sims"}, "/sims").path == "/"
    assert parse_request({**environ, "PATH_INFO": "/simsx"}, "/sims").path == "/simsx"
    assert parse_request(environ).query == {"a": "1"}


# -- remind me tomorrow -----------------------------------------------------------------------


def number(**kw: object) -> Number:
    base: dict[str, object] = dict(
        name="n",
        number="+447911123456",
        timezone=UTC_ZONE,
        timezone_name="UTC",
        remind=(3, 2),
        cycle=parse_cycle("monthly"),
        due=date(2026, 12, 15),
    )
    base.update(kw)
    return Number(**base)  # type: ignore[arg-type]


def test_a_snooze_holds_the_deadlines_reminders_and_sends_one_at_its_time() -> None:
    n = number()
    deadline = date(2026, 12, 15)
    until = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)  # snoozed on the 13th (after the 2d one)
    ledger = Ledger(
        reminded=frozenset({(n.number, deadline)}), snoozed={(n.number, deadline): until}
    )
    held = datetime(2026, 12, 13, 9, 30, tzinfo=UTC)  # the 2-day reminder's slot: held
    assert due_reminders([n], SETTINGS, held) and not due_reminders([n], SETTINGS, held, ledger)
    [(at, slot)] = [next_due_at([n], SETTINGS, held, ledger)]  # the daemon wakes at `until`
    assert at == until and slot.offset == 1 and slot.kind == "renew"
    [sent] = due_reminders([n], SETTINGS, until, ledger)
    assert sent.key == (n.number, "2026-12-15", "renew", 1) and sent.due_at == until


def test_a_snooze_past_the_deadline_sends_an_overdue_alert() -> None:
    n = number(overdue_every=3)
    deadline = date(2026, 12, 15)
    until = datetime(2026, 12, 17, 9, 0, tzinfo=UTC)
    ledger = Ledger(
        reminded=frozenset({(n.number, deadline)}), snoozed={(n.number, deadline): until}
    )
    [sent] = due_reminders([n], SETTINGS, until + timedelta(minutes=1), ledger)
    assert (sent.kind, sent.offset) == ("overdue", -2)
    assert not due_reminders([n], SETTINGS, until - timedelta(minutes=1), ledger)


def test_the_store_keeps_one_snooze_per_deadline_and_the_ledger_has_it(tmp_path: Path) -> None:
    until = datetime(2026, 12, 13, 9, 0, tzinfo=UTC)
    with open_store(tmp_path / "s.db") as store:  # type: ignore[union-attr]
        assert store.snooze("+44", date(2026, 12, 15), until, NOW)
        assert not store.snooze("+44", date(2026, 12, 15), until, NOW)  # already held
        assert store.snooze("+44", date(2026, 12, 15), until + timedelta(days=1), NOW)
        held = {("+44", date(2026, 12, 15)): until + timedelta(days=1)}
        assert store.ledger().snoozed == held
        assert store.ledger_for(["+44"]).snoozed == held
        assert store.ledger_for(["+1"]).snoozed == {}
        assert store.last_modified() == NOW
        # Each snooze that changed something is in the change log the daemon follows.
        assert store.changed_since(0)[1] == {"+44"}
        assert store.last_change() == 2


def test_a_rolling_deadline_counts_as_done_once_a_renewal_moved_it() -> None:
    n = number(
        rolling=True, due=None, last_renewed=date(2026, 6, 15), cycle=parse_cycle("every 6 months")
    )
    deadline = date(2026, 12, 15)
    assert not deadline_done(n, deadline, Ledger())
    moved = Ledger(
        renewed_on={n.number: date(2026, 12, 12)},
        renewals={n.number: ((date(2026, 12, 12), None),)},
    )
    assert deadline_done(n, deadline, moved)


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    weblinks.load_key(tmp_path / "c.toml", tmp_path, env={})
    assert sorted(os.listdir(tmp_path)) == ["web.key"]


# -- the WSGI application in this process -----------------------------------------------------


def test_every_answer_has_the_headers_errors_and_failures_included(tmp_path: Path) -> None:
    from io import BytesIO

    from simkeeper.config import load as config_mod
    from simkeeper.core.errors import StateError
    from simkeeper.web.wsgi import SECURITY_HEADERS, Application, Response, Site, style_sheet

    path = tmp_path / "config.toml"
    path.write_text(
        f'[settings]\ntimezone = "UTC"\nstate = "{tmp_path / "s.db"}"\n'
        '[web]\nlisten = "127.0.0.1:8787"\n'
    )
    loaded = config_mod.load(path, require_secrets=False)

    def broken(site: Site, request: object) -> Response:
        raise RuntimeError("a bug")

    def no_state(site: Site, request: object) -> Response:
        raise StateError("cannot write /var/lib/simkeeper/simkeeper.db")

    site = Site(loaded, KEY, lambda: NOW)
    application = Application(
        site, {"/broken": broken, "/style.css": style_sheet, "/state": no_state}
    )
    answers: dict[str, tuple[str, dict[str, str], bytes]] = {}
    tries = [("GET", "/broken"), ("GET", "/missing"), ("POST", "/style.css"), ("GET", "/state")]
    for method, where in tries:
        got: dict[str, object] = {}

        def start(status: str, headers: list[tuple[str, str]], got: dict = got) -> None:
            got["status"], got["headers"] = status, dict(headers)

        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": where,
            "CONTENT_LENGTH": "3",
            "wsgi.input": BytesIO(b"a=1"),
        }
        body = b"".join(application(environ, start))
        answers[where] = (str(got["status"]), got["headers"], body)  # type: ignore[assignment]
    assert answers["/broken"][0] == "500 Internal Server Error"
    assert b"a bug" not in answers["/broken"][2]
    assert answers["/missing"][0] == "404 Not Found"
    assert answers["/style.css"][0] == "405 Method Not Allowed"
    assert answers["/state"][0] == "503 Service Unavailable"
    assert b"/var/lib" not in answers["/state"][2]
    for status, headers, _ in answers.values():
        for name, value in SECURITY_HEADERS:
            assert headers[name] == value, status
        assert headers["Cache-Control"] == "no-store"


def test_last_modified_is_never_later_than_the_date_header(tmp_path) -> None:
    """The calendar feed's Last-Modified is the handler's clock, at most; the Date header came
    from waitress, the instant the request arrived, so a request that crossed a second
    boundary answered a Last-Modified one second after its Date (seen on a fresh clone's
    `make test`). The application now sends Date itself, from its clock, after the handler."""
    from email.utils import parsedate_to_datetime
    from io import BytesIO

    from simkeeper.config import load as config_mod
    from simkeeper.web.routes import routes
    from simkeeper.web.wsgi import Application, Site

    path = tmp_path / "config.toml"
    path.write_text(
        f'[settings]\ntimezone = "UTC"\nstate = "{tmp_path / "s.db"}"\n'
        '[web]\nlisten = "127.0.0.1:8787"\n'
    )
    # The handler reads the clock just before a second ends; the answer is made after it.
    ticks = iter(NOW + timedelta(microseconds=999_990 + 20 * i) for i in range(100))
    site = Site(config_mod.load(path, require_secrets=False), KEY, lambda: next(ticks))
    got: dict[str, object] = {}

    def start(status: str, headers: list[tuple[str, str]]) -> None:
        got["status"], got["headers"] = status, dict(headers)

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/calendar.ics",
        "QUERY_STRING": "token=" + page_token(KEY, "calendar"),
        "wsgi.input": BytesIO(b""),
    }
    b"".join(Application(site, routes())(environ, start))
    headers: dict[str, str] = got["headers"]  # type: ignore[assignment]
    assert got["status"] == "200 OK"

    modified = parsedate_to_datetime(headers["Last-Modified"])
    assert modified == datetime.combine(NOW.date(), time(0), UTC)  # nothing recorded: the day
    assert parsedate_to_datetime(headers["Date"]) == NOW + timedelta(seconds=1)  # after it
    assert modified <= parsedate_to_datetime(headers["Date"])
