"""Slow clients do not starve the web face (issue 24, item 3): with 150 half-open connections
dribbling their headers held open, ``/healthz`` and a valid link still get their answers from a
real ``simkeeper web`` process; a client whose headers outgrow the limit is answered and cut off,
so memory stays bounded.

Proved by outcome, not by a stopwatch: under waitress's defaults (100 connections) the server
stopped accepting for its 120 s channel timeout, so these requests, with a generous 15 s client
timeout, got no answer at all."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from conftest import write_config
from receivers import HOST
from webface import free_port, request, web_config, web_process

from simkeeper.send.links import Claim, sign

SLOW = 150
NOW = "2026-12-12T10:00"
CONFIG = """
[settings]
timezone = "Europe/Berlin"
remind = ["3d"]
state = "{state}"

[[notify]]
name = "screen"
url = "console://"

[[numbers]]
name = "UK backup"
number = "+44 7911 123456"
cycle = "monthly"
due = 2026-12-15
"""


@contextmanager
def dribblers(port: int, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections each part-way through its request headers, held open."""
    with ExitStack() as stack:
        socks = []
        for i in range(count):
            s = stack.enter_context(socket.create_connection((HOST, port), timeout=15))
            s.sendall(f"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow-{i}: a".encode())
            socks.append(s)
        for s in socks:  # one more byte each: still talking, never done
            s.sendall(b"b")
        yield socks


def test_healthz_and_a_valid_link_answer_while_150_slow_clients_are_held(
    tmp_path: Path, env: dict[str, str]
) -> None:
    port = free_port()
    config = write_config(
        tmp_path / "config.toml", CONFIG.format(state=tmp_path / "state.db") + web_config(port)
    )
    with web_process(config, env, port, NOW):
        key = bytes.fromhex((tmp_path / "web.key").read_text().strip())
        link = "/r/" + sign(
            key,
            Claim("+447911123456", date(2026, 12, 15), "renewed", datetime(2027, 2, 1, tzinfo=UTC)),
        )
        with dribblers(port, SLOW) as held:
            health = request(port, "/healthz")
            assert health.status in (200, 503) and health.body  # an answer, whichever it is
            renewed = request(port, link, "POST", b"")
            assert renewed.status == 200
            assert "Done: UK backup is recorded as renewed today." in renewed.text
            for s in held:  # ... and they were all still open, waiting on their headers
                s.setblocking(False)
                with pytest.raises(BlockingIOError):  # nothing to read: not answered, not closed
                    s.recv(1)
    with sqlite3.connect(tmp_path / "state.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM history").fetchone() == (1,)


def test_headers_beyond_the_limit_are_answered_and_the_connection_closed(
    tmp_path: Path, env: dict[str, str]
) -> None:
    port = free_port()
    config = write_config(
        tmp_path / "config.toml", CONFIG.format(state=tmp_path / "state.db") + web_config(port)
    )
    with web_process(config, env, port, NOW):
        with socket.create_connection((HOST, port), timeout=15) as s:
            # 9 KiB of one header, past the 8 KiB allowed; all of it read before the answer
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9216)
            answer = b""
            with suppress(ConnectionResetError):  # closed with some of the 9 KiB unread
                while chunk := s.recv(65536):  # ends: the server closes the connection
                    answer += chunk
        # Cut off, not held (a TimeoutError above): with its 431 answer when it got out first.
        assert answer == b"" or answer.split(b" ", 2)[1] == b"431", answer[:200]
        assert request(port, "/healthz").body  # and the face goes on answering
