"""Kill -9 at every step of an autopilot attempt, against the real gateway peers: shared by
tests/test_autopilot_crash.py (each step once per gateway kind) and
bench/bench_autopilot_kills.py (many rounds, printing the figures).

A round: a fresh state database; ``simkeeper send-due`` runs as a real process with
``SIMKEEPER_CRASH_AT=<step>`` (the process SIGKILLs itself there) until one pass dies, or the
test kills it with SIGKILL while the gateway holds the call (``during-call``); then passes
without the crash point until the attempt is settled. Counted: double sends (a number texted
more than once for one deadline), lost sends (a text the gateway has that the database does
not know, or an attempt still open at the end), renewals without proof (a renewal whose message
the gateway does not report delivered or sent).

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

from gateway_peers import ModemManagerPeer, SmsGatewayPeer

SIMKEEPER = str(Path(sys.executable).parent / "simkeeper")
ANDROID_STEPS = ("claimed", "during-call", "sent", "accepted", "asked", "proved")
MODEM_STEPS = ("claimed", "ref", "during-call", "sent", "accepted", "proved")
DUE = "2026-11-01T10:00:00Z"
LATER = ("2026-11-01T10:01:00Z", "2026-11-01T10:02:00Z", "2026-11-01T17:00:00Z")


@dataclass
class Figures:
    """What the rounds came to."""

    kills: int = 0
    attempts: int = 0
    sends: int = 0
    double_sends: int = 0
    lost_sends: int = 0
    unproved_renewals: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, other: Figures) -> None:
        for name in ("kills", "attempts", "sends", "double_sends", "lost_sends"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.unproved_renewals += other.unproved_renewals
        for k, v in other.outcomes.items():
            self.outcomes[k] = self.outcomes.get(k, 0) + v


def _config(folder: Path, gateway: str, timeout: str) -> Path:
    path = folder / "config.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            [settings]
            timezone = "Europe/London"
            send_timeout = {timeout}
            state = "{folder / "state.db"}"
            keepalive_budget = {{ GBP = 2.00, per = "365d" }}

            {gateway}

            [[notify]]
            name = "console"
            url = "console://"

            [[numbers]]
            name = "giffgaff"
            number = "+44 7911 123456"
            plan = "giffgaff"
            last_renewed = 2026-06-01
            keepalive = {{ via = "gw", to = "+447700900123", text = "hi", cost = 0.10 }}
            """
        )
    )
    return path


def _pass(
    config: Path, env: dict[str, str], now: str, crash: str | None
) -> subprocess.Popen[bytes]:
    extra = {"SIMKEEPER_CRASH_AT": crash} if crash and crash != "during-call" else {}
    return subprocess.Popen(
        [SIMKEEPER, "--config", str(config), "send-due", "--now", now],
        env={**env, **extra},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _rows(db: Path, sql: str) -> list[tuple]:
    if not db.exists():
        return []
    with sqlite3.connect(db, timeout=10) as conn:
        try:
            return conn.execute(sql).fetchall()
        except sqlite3.OperationalError:  # the tables are still being made
            return []


def android_round(folder: Path, env: dict[str, str], step: str) -> Figures:
    """One round through SMS Gateway for Android's API, killed at ``step``."""
    folder.mkdir(parents=True)
    mode = "hang" if step == "during-call" else "deliver"
    with SmsGatewayPeer(folder / "posts.jsonl", mode=mode) as peer:
        gateway = (
            f'[[gateways]]\nname = "gw"\nkind = "android-sms-gateway"\nurl = "{peer.url}"\n'
            'user = "sms"\npassword = "pw"'
        )
        config = _config(folder, gateway, "10")

        def in_call() -> bool:
            return len(peer.posts()) > 0

        figures = _run(config, env, step, in_call)
        peer.mode = "deliver"
        peer.release.set()
        for now in LATER:
            subprocess.run(
                [SIMKEEPER, "--config", str(config), "send-due", "--now", now],
                env=env,
                capture_output=True,
                timeout=60,
            )
        posts = peer.posts()
        proven = {i for i, m in peer.messages.items() if m["state"] in ("Delivered", "Sent")}
        return _count(folder / "state.db", figures, [p["id"] for p in posts], proven, by_id=True)


def modem_round(folder: Path, env: dict[str, str], step: str) -> Figures:
    """One round through ModemManager on a private bus, killed at ``step``."""
    folder.mkdir(parents=True)
    mode = "stall" if step == "during-call" else "ok"
    with ModemManagerPeer(folder, mode=mode) as mm:
        menv = {**env, "DBUS_SYSTEM_BUS_ADDRESS": mm.address}
        gateway = '[[gateways]]\nname = "gw"\nkind = "modemmanager"\nmodem = "any"'
        config = _config(folder, gateway, "10")

        def in_call() -> bool:
            return bool(
                _rows(folder / "state.db", "SELECT 1 FROM keepalive_attempts WHERE ref IS NOT NULL")
            )

        figures = _run(config, menv, step, in_call)
        deadline = time.monotonic() + 10
        while step == "during-call" and not mm.sent() and time.monotonic() < deadline:
            time.sleep(0.1)  # the stalled Send finishes after the kill
        for now in LATER:
            subprocess.run(
                [SIMKEEPER, "--config", str(config), "send-due", "--now", now],
                env=menv,
                capture_output=True,
                timeout=60,
            )
        paths = [s["path"] for s in mm.sent()]
        return _count(folder / "state.db", figures, paths, set(paths), by_id=False)


def _run(config: Path, env: dict[str, str], step: str, in_call: object) -> Figures:
    """Passes with the crash point until one is killed (at most three)."""
    figures = Figures()
    for now in (DUE, *LATER[:2]):
        proc = _pass(config, env, now, step)
        if step == "during-call":
            deadline = time.monotonic() + 20
            while not in_call() and proc.poll() is None and time.monotonic() < deadline:  # type: ignore[operator]
                time.sleep(0.02)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
        code = proc.wait(timeout=60)
        if code == -signal.SIGKILL:
            figures.kills += 1
            break
    return figures


def _count(db: Path, figures: Figures, sent: list[str], proven: set[str], by_id: bool) -> Figures:
    """The figures of a round: ``sent`` lists the gateway's sends (message ids, or SMS object
    paths), ``proven`` those it reports delivered or sent."""
    attempts = _rows(db, "SELECT msg_id, ref, state, history_id FROM keepalive_attempts")
    figures.attempts = len(attempts)
    figures.sends = len(sent)
    figures.double_sends = max(0, len(sent) - 1)  # one number, one deadline: one text at most
    known = {a[0] if by_id else a[1] for a in attempts}
    figures.lost_sends = sum(1 for s in sent if s not in known)
    figures.lost_sends += sum(1 for a in attempts if a[2] in ("sending", "accepted"))
    renewals = _rows(db, "SELECT id FROM history WHERE kind = 'renewal'")
    proved = [a for a in attempts if a[2] == "proved"]
    figures.unproved_renewals = sum(1 for a in proved if (a[0] if by_id else a[1]) not in proven)
    figures.unproved_renewals += max(0, len(renewals) - len(proved))
    for a in attempts:
        figures.outcomes[a[2]] = figures.outcomes.get(a[2], 0) + 1
    return figures
