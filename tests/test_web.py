"""The web face through a real ``simkeeper web`` process on 127.0.0.1 and real HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ok, run, write_config
from webface import free_port, request, web_config, web_process

from simkeeper.weblinks import page_token

NOW = "2026-12-12T10:00"

BASE = """
[settings]
timezone = "Europe/Berlin"
remind = ["3d"]
state = "{state}"

[[numbers]]
name = "UK backup"
number = "+44 7911 123456"
carrier = "giffgaff"
cycle = "monthly"
due = 2026-12-15
after_deadline = [{{ after = "0d", state = "grace period" }}, \
{{ after = "30d", state = "number recycled" }}]
"""

HEADERS = {
    "content-security-policy": "default-src 'none'",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}


def make_config(tmp_path: Path, port: int, extra: str = "", language: str = "en") -> Path:
    text = BASE.format(state=tmp_path / "state.db") + web_config(port) + extra
    text = text.replace("[settings]\n", f'[settings]\nlanguage = "{language}"\n', 1)
    return write_config(tmp_path / "config.toml", text)


def key_of(tmp_path: Path) -> bytes:
    return bytes.fromhex((tmp_path / "web.key").read_text().strip())


def assert_headers(headers: dict[str, str]) -> None:
    for name, value in HEADERS.items():
        assert value in headers.get(name, ""), (name, headers)


def test_without_web_table_web_exits_2_with_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    text = BASE.format(state=tmp_path / "state.db")
    config = write_config(tmp_path / "config.toml", text)
    result = run(["--config", str(config), "web"], env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "[web]" in result.stderr


def test_status_page_needs_its_token_and_every_response_has_the_headers(
    tmp_path: Path, env: dict[str, str]
) -> None:
    port = free_port()
    config = make_config(tmp_path, port)
    ok(config, env, "send-due", "--now", NOW)
    with web_process(config, env, port, NOW):
        key = key_of(tmp_path)
        assert oct((tmp_path / "web.key").stat().st_mode & 0o777) == "0o600"
        for path in ("/", "/?token=nope", "/nowhere", "/r/forged.token"):
            r = request(port, path)
            assert r.status in (403, 404), path
            assert_headers(r.headers)
            assert "UK backup" not in r.text
        page = request(port, f"/?token={page_token(key, 'status')}")
        assert page.status == 200
        assert_headers(page.headers)
        assert "UK backup" in page.text
        assert "text/html" in page.headers["content-type"]
        css = request(port, "/style.css")
        assert css.status == 200 and css.headers["content-type"].startswith("text/css")
        assert_headers(css.headers)
        # a token for another page does not open this one
        assert request(port, f"/?token={page_token(key, 'calendar')}").status == 403


@pytest.mark.parametrize("bad", ["127.0.0.1", "127.0.0.1:0", "localhost:99999", "[::1]"])
def test_bad_listen_is_a_config_error(tmp_path: Path, env: dict[str, str], bad: str) -> None:
    text = BASE.format(state=tmp_path / "state.db") + f'\n[web]\nlisten = "{bad}"\n'
    config = write_config(tmp_path / "config.toml", text)
    result = run(["--config", str(config), "check"], env)
    assert result.returncode == 2
    assert "web.listen" in result.stderr
