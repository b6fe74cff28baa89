"""Crash safety: ``send-due`` killed with SIGKILL at random moments loses no reminder, and sends
one again only where its delivery was in flight at a kill."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from datetime import date, timedelta

from conftest import SIMKEEPER, write_config
from local_receivers import HTTPReceiver

DAYS = 14  # one round a day: new reminders due, a run killed at random, then a clean run
PER_DAY = 2
FIRST = date(2026, 12, 1)


def test_kill_9_at_random_moments_loses_nothing(tmp_path, env):
    rng = random.Random(20261124)
    receivers = [HTTPReceiver(delay=d) for d in (0.2, 0.3, 0.4)]
    names = {}
    numbers = []
    for day in range(DAYS):
        for j in range(PER_DAY):
            i = day * PER_DAY + j
            names[i] = f"line{i:02d}"
            due = FIRST + timedelta(days=day)
            numbers.append(
                f'\n[[numbers]]\nname = "{names[i]}"\nnumber = "+44 7400 0{i:05d}"\n'
                f"due = {due.isoformat()}\n"
            )
    for r in receivers:
        r.__enter__()
    try:
        notify = "".join(
            f'\n[[notify]]\nname = "t{i}"\nurl = "{r.json_url()}"\n'
            for i, r in enumerate(receivers)
        )
        config = write_config(
            tmp_path / "config.toml",
            f'[settings]\ntimezone = "UTC"\nremind = ["0d"]\noverdue_for = "0d"\nsend_timeout = 5\n'
            f'state = "{tmp_path / "state.db"}"\n' + notify + "".join(numbers),
        )
        kills = 0
        for day in range(DAYS):
            now = f"{(FIRST + timedelta(days=day)).isoformat()}T09:00"
            proc = subprocess.Popen(
                [SIMKEEPER, "--config", str(config), "-q", "send-due", "--now", now],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(rng.uniform(0.2, 1.6))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(timeout=30)
            final = subprocess.run(
                [SIMKEEPER, "--config", str(config), "send-due", "--now", now],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert final.returncode == 0, final.stderr
        assert kills >= DAYS // 3, "the kills must land often enough to prove anything"

        for index, receiver in enumerate(receivers):
            got: Counter[str] = Counter()
            for request in receiver.requests:
                message = request.json()["message"]
                got.update(n for n in names.values() if f"{n} (" in message)
            assert set(got) == set(names.values()), f"target t{index} lost reminders"
            duplicates = len(receiver.requests) - DAYS
            print(f"t{index}: {len(receiver.requests)} messages for {DAYS} days, {kills} kills")
            # A kill can leave at most one message per target in flight.
            assert 0 <= duplicates <= kills
            assert all(count <= 2 for count in got.values()), got
    finally:
        for r in receivers:
            r.__exit__(None, None, None)
    with sqlite3.connect(tmp_path / "state.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        states = dict(conn.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state"))
        assert states == {"sent": DAYS * PER_DAY * len(receivers)}
