"""Every URL that reaches Apprise, the heartbeat or a reminder passes one guard
(:mod:`simkeeper.core.urls`): a malformed one is a config error (exit 2, file, line, key path and a
fix), never ``internal error: ValueError``."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import assert_one_line_error, sk, write_config

from simkeeper.core.urls import BadUrl, split_url, url_syntax_problem

NUMBER = """
[[numbers]]
name = "a"
number = "+44 7911 123456"
cycle = "monthly"
due = 2026-12-15
{extra}
"""

# (where the URL goes, the config around it, the key path named, the line it is on)
PLACES = [
    ('[[notify]]\nname = "x"\nurl = "{url}"\n', "notify[1].url", 3),
    ('[settings]\nheartbeat = "{url}"\n', "settings.heartbeat", 2),
    ('[settings]\nheartbeat_fail = "{url}"\n', "settings.heartbeat_fail", 2),
    ('[web]\nlisten = "127.0.0.1:9"\nbase_url = "{url}"\n', "web.base_url", 3),
]
MALFORMED = [
    "json://[::1:9/x",
    "http://[::1:9/x",
    "https://]example.com/",
    "https://example.com:99999/ping",
    "https://example.com:port/ping",
    "json://[::1]:70000/x",
]


def _fuzzed(n: int) -> list[str]:
    """Malformed URLs of the kinds urllib refuses: unpaired brackets and bad ports, anywhere."""
    rng = random.Random(24)
    out = []
    for _ in range(n):
        host = rng.choice(["[::1", "::1]", "[fe80::1", "h[", "]h", "[::1]:", "h:"])
        port = rng.choice(["", ":-1", ":65536", ":1x", ":" + "9" * 8])
        out.append(f"{rng.choice(['http', 'https'])}://{host}{port}/p{rng.randrange(99)}")
    return [u for u in out if url_syntax_problem(u)]


@pytest.mark.parametrize("url", MALFORMED)
@pytest.mark.parametrize(("place", "key", "line"), PLACES)
def test_a_malformed_url_is_a_config_error_with_file_line_key_and_fix(
    tmp_path: Path, env: dict[str, str], url: str, place: str, key: str, line: int
) -> None:
    config = write_config(tmp_path / "c.toml", place.format(url=url) + NUMBER.format(extra=""))
    result = sk(config, env, "check")
    assert_one_line_error(result, f"{config}:{line}: {key}", "is not a valid URL", "json://[::1]")
    assert "internal error" not in result.stderr and url not in result.stderr


def test_fuzzed_malformed_notify_urls_never_escape_as_internal_errors(
    tmp_path: Path, env: dict[str, str]
) -> None:
    urls = _fuzzed(60)
    assert len(urls) >= 30  # the generator makes what it is meant to
    for i, url in enumerate(urls):
        place = PLACES[i % 2][0]
        config = write_config(tmp_path / "c.toml", place.format(url=url) + NUMBER.format(extra=""))
        for command in ("check", "upcoming"):
            result = sk(config, env, command)
            assert result.returncode == 2, (url, command, result.stderr)
            assert "internal error" not in result.stderr and "Traceback" not in result.stderr


def test_the_guard_reads_every_part_so_later_reads_cannot_raise() -> None:
    for url in MALFORMED + _fuzzed(40):
        with pytest.raises(BadUrl):
            split_url(url)
    parts = split_url("json://user:pw@[::1]:8080/x?a=1")
    assert (parts.hostname, parts.port) == ("::1", 8080)
