"""Helpers for the web face tests: a real ``simkeeper web`` process on a free port, and HTTP."""

from __future__ import annotations

import http.client
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from conftest import SIMKEEPER
from receivers import HOST, free_port

START_TIMEOUT = 20.0


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def request(
    port: int,
    path: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """One HTTP request to the web face on 127.0.0.1:``port`` (bounded by a timeout)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=15)
    try:
        hdrs = dict(headers or {})
        if body is not None:
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def path_of(url: str) -> str:
    """The path and query of a full URL."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def web_config(port: int) -> str:
    """The ``[web]`` table for a web face on ``port``."""
    return f'\n[web]\nlisten = "{HOST}:{port}"\nbase_url = "https://sims.example.com/sk"\n'


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((HOST, port)) == 0


@contextmanager
def web_process(
    config: Path, env: dict[str, str], port: int, now: str | None = None
) -> Iterator[subprocess.Popen[str]]:
    """``simkeeper web`` running on ``port`` until the block ends (SIGTERM, then waited for).

    Its output goes to ``web.log`` beside the config (appended to, one run after another)."""
    args = [SIMKEEPER, "--config", str(config), "web"] + (["--now", now] if now else [])
    with open(config.parent / "web.log", "a") as log:
        proc = subprocess.Popen(args, env=env, stdout=log, stderr=log, text=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _listening(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"simkeeper web did not start: {proc.poll()} "
                    + (config.parent / "web.log").read_text()
                )
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


__all__ = ["free_port", "path_of", "request", "web_config", "web_process"]
