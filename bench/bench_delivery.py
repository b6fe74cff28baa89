"""Delivering 1,000 reminders to a local json:// receiver: simkeeper against the cron-script way.

Three ways of doing the same work (1,000 reminders reach one HTTP endpoint on 127.0.0.1):

1. ``simkeeper send-due`` once, with all 1,000 reminders due: grouping sends them as ONE message
   listing every number (the outbox records 1,000 reminders and 1,000 deliveries first).
2. ``simkeeper send-due`` once a day for 50 days, 20 reminders due each day: 50 passes, each one
   process start, outbox work and one grouped message.
3. The ``apprise`` CLI run once per reminder, as a cron script would: one process and one message
   per reminder. Only the first ``--apprise-runs`` (default 100) are run and timed; the figure for
   1,000 is extrapolated from them, and the output says so.

Wall times include process start-up. Everything is sent to 127.0.0.1 and every subprocess has a
timeout.

    python bench/bench_delivery.py [--reminders 1000] [--days 50] [--apprise-runs 100]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BIN = Path(sys.executable).parent
SIMKEEPER = BIN / "simkeeper"
APPRISE = BIN / "apprise"
FIRST_DEADLINE = date(2026, 12, 15)
TIMEOUT = 600


class Receiver:
    """A json:// endpoint on 127.0.0.1 that counts messages and the reminder lines in them."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.messages.append(json.loads(body).get("message", ""))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def reminders(self) -> int:
        """Reminder lines received: a grouped message lists one per line."""
        return sum(len(m.splitlines()) for m in self.messages)

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def make_config(folder: Path, url: str, reminders: int, days: int) -> Path:
    """``reminders`` numbers whose 1-day reminders come due spread over ``days`` days."""
    per_day = -(-reminders // days)
    parts = [
        f'[settings]\ntimezone = "Europe/London"\nremind_at = "09:00"\nremind = ["1d"]\n'
        f'overdue_for = "0d"\nsend_timeout = 60\nstate = "{folder / "state.db"}"\n\n'
        f'[[notify]]\nname = "hook"\nurl = "{url}"\n'
    ]
    for i in range(reminders):
        due = FIRST_DEADLINE + timedelta(days=i // per_day)
        parts.append(
            f'[[numbers]]\nname = "line {i:04d}"\nnumber = "+44 7400 {i:06d}"\n'
            f'carrier = "Carrier {i % 7}"\ncycle = "yearly"\ndue = {due.isoformat()}\n'
        )
    path = folder / "config.toml"
    path.write_text("\n".join(parts))
    path.chmod(0o600)
    return path


def run(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    if result.returncode != 0:
        raise SystemExit(f"{args[0]} failed ({result.returncode}): {result.stderr[-800:]}")


def simkeeper_passes(
    folder: Path, receiver: Receiver, env: dict, reminders: int, days: int
) -> tuple[float, int, int]:
    """Run one send-due per day over ``days`` days; return wall s, messages, reminder lines."""
    folder.mkdir()
    config = make_config(folder, receiver.url(), reminders, days)
    receiver.reset()
    started = time.perf_counter()
    for day in range(days):
        now = (FIRST_DEADLINE - timedelta(days=1) + timedelta(days=day)).isoformat() + "T09:00"
        run([str(SIMKEEPER), "--config", str(config), "-q", "send-due", "--now", now], env)
    wall = time.perf_counter() - started
    return wall, len(receiver.messages), receiver.reminders()


def apprise_per_reminder(receiver: Receiver, env: dict, runs: int) -> tuple[float, int]:
    """Run the apprise CLI ``runs`` times, one reminder each; return wall s and messages."""
    receiver.reset()
    started = time.perf_counter()
    for i in range(runs):
        body = f"line {i:04d} (+44 74** ***{i % 1000:03d}, Carrier {i % 7}): renew by 2026-12-15"
        title = f"simkeeper: line {i:04d} needs attention"
        run([str(APPRISE), "-t", title, "-b", body, receiver.url()], env)
    return time.perf_counter() - started, len(receiver.messages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=1000)
    parser.add_argument("--days", type=int, default=50)
    parser.add_argument("--apprise-runs", type=int, default=100)
    opts = parser.parse_args()
    n = opts.reminders
    if not APPRISE.exists():
        raise SystemExit(f"no apprise CLI next to {sys.executable}")
    receiver = Receiver()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "HOME": tmp,
            "XDG_CONFIG_HOME": f"{tmp}/.config",
            "XDG_STATE_HOME": f"{tmp}/.state",
            "STATE_DIRECTORY": tmp,
            "NO_COLOR": "1",
        }
        try:
            wall, msgs, lines = simkeeper_passes(Path(tmp) / "one", receiver, env, n, 1)
            assert (msgs, lines) == (1, n), (msgs, lines)
            rows.append(("simkeeper send-due: 1 pass, all due (grouped)", n, msgs, wall, ""))

            wall, msgs, lines = simkeeper_passes(Path(tmp) / "daily", receiver, env, n, opts.days)
            assert (msgs, lines) == (opts.days, n), (msgs, lines)
            label = f"simkeeper send-due: {opts.days} daily passes, {n // opts.days} due each"
            rows.append((label, n, msgs, wall, ""))

            runs = min(opts.apprise_runs, n)
            wall, msgs = apprise_per_reminder(receiver, env, runs)
            assert msgs == runs, msgs
            rows.append(
                (
                    "apprise CLI, once per reminder (cron script)",
                    n,
                    n,
                    wall * n / runs,
                    f"extrapolated from {runs} runs ({wall:.1f} s)" if runs < n else "",
                )
            )
        finally:
            receiver.close()

    print(f"Delivering {n:,} reminders to a json:// receiver on 127.0.0.1 (wall, incl. start-up)")
    head = ("method", "reminders", "messages", "wall s", "rem/s", "msg/s")
    print("{:<54} {:>9} {:>8} {:>8} {:>8} {:>7}".format(*head))
    for label, reminders, messages, wall, note in rows:
        print(
            f"{label:<54} {reminders:>9,} {messages:>8,} {wall:>8.2f} {reminders / wall:>8.1f}"
            f" {messages / wall:>7.2f}" + (f"  ({note})" if note else "")
        )
    cli = rows[-1][3]
    for label, _, _, wall, _ in rows[:-1]:
        print(f"{label}: {cli / wall:.1f}x the reminders/s of the apprise CLI per reminder")
    daily = rows[1][3] / rows[1][2]
    print(
        f"per process: a simkeeper pass over {n:,} numbers takes {daily:.2f} s, one apprise CLI "
        f"run {cli / n:.2f} s; per message sent the apprise CLI is {daily / (cli / n):.1f}x faster"
    )
    print(
        "Note: simkeeper groups reminders due in the same pass into one message per target, so "
        "it sends far fewer messages; the per-pass cost (process start, config, outbox) is what "
        "the daily row shows."
    )


if __name__ == "__main__":
    main()
