"""Crash safety: ``send-due`` killed with SIGKILL at random moments, round after round.

40 numbers come due a few at a time over 25 rounds (``--now`` moves a day per round). Each round
starts a real ``simkeeper send-due`` subprocess and kills it with SIGKILL: either blindly (0-300 ms
after it started) or aimed (0-60 ms after a receiver saw its first request, so the kill often lands
while a message is on the wire and before the outcome is written). The two json receivers answer
slowly (20-50 ms) to widen that window. After each kill the database says which deliveries the
dead process had in flight (state ``sending``, claimed by its pid).

Then one clean pass. Grouping sends one message per target per pass listing every number due, so
receipts are counted per (target, number name) from the received bodies. The claims proven:
every reminder reached every target; a (target, number) pair was received more than once only if
it was in flight at a kill, and at most once more per such kill; every delivery ends ``sent``.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from conftest import SIMKEEPER, run, unmeasured, write_config
from pg import query
from receivers import HTTPReceiver, wait_for

from simkeeper.state.dialect import is_url

NUMBERS = 40
ROUNDS = 25
SEED = 20261215
FIRST_DEADLINE = date(2027, 3, 1)
LEAD_DAYS = 60
NAME = re.compile(r"\bsim-\d\d\b")


def deadline_of(i: int) -> date:
    return FIRST_DEADLINE + timedelta(days=i * 3 // 5)  # 0..23 days after the first


def make_config(tmp_path: Path, ports: list[int], state: str) -> Path:
    numbers = "".join(
        f"""
[[numbers]]
name = "sim-{i:02d}"
number = "+1 206 555 {100 + i:04d}"
cycle = "yearly"
due = {deadline_of(i).isoformat()}
"""
        for i in range(NUMBERS)
    )
    targets = "".join(
        f'\n[[notify]]\nname = "hook{k}"\nurl = "json://127.0.0.1:{port}/hook{k}"\n'
        for k, port in enumerate(ports)
    )
    return write_config(
        tmp_path / "config.toml",
        f"""
[settings]
timezone = "Asia/Tokyo"
remind_at = "09:00"
remind = ["{LEAD_DAYS}d"]
send_timeout = 5
state = "{state}"
{targets}
{numbers}
""",
    )


def round_now(r: int) -> str:
    """Round r: the reminders of every deadline up to FIRST_DEADLINE + r days are due."""
    day = FIRST_DEADLINE - timedelta(days=LEAD_DAYS) + timedelta(days=r)
    return f"{day.isoformat()}T09:30"


def test_sigkill_at_random_moments_loses_nothing_and_duplicates_only_in_flight(
    tmp_path, env, store_url
):
    rng = random.Random(SEED)
    db = store_url  # an SQLite file, then a PostgreSQL database: the same proof on both
    hooks = [HTTPReceiver(delay=(0.02, 0.05)).start() for _ in range(2)]
    try:
        path = make_config(tmp_path, [h.port for h in hooks], store_url)
        kills = 0
        aimed = 0
        in_flight: Counter[tuple[str, str]] = Counter()  # (target, name) -> kills in flight
        kills_in_flight = 0
        target_kills: Counter[str] = Counter()  # target -> kills with its delivery in flight
        started = time.monotonic()
        for r in range(ROUNDS):
            before = sum(len(h.requests) for h in hooks)
            proc = subprocess.Popen(
                [SIMKEEPER, "--config", str(path), "-q", "send-due", "--now", round_now(r)],
                env=unmeasured(env),  # a SIGKILLed process never writes its coverage data
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                pick = rng.random()
                if pick < 0.4:  # blind: any moment of the run, mostly start-up and claiming
                    time.sleep(rng.uniform(0, 0.3))
                else:  # aimed: once a message is on the wire; "late" ones may let it finish
                    aimed += 1
                    wait_for(
                        lambda proc=proc, before=before: (
                            proc.poll() is not None or sum(len(h.requests) for h in hooks) > before
                        ),
                        timeout=10,
                        step=0.005,
                    )
                    time.sleep(rng.uniform(0, 0.06) if pick < 0.8 else rng.uniform(0.06, 0.3))
                if proc.poll() is None:
                    os.kill(proc.pid, signal.SIGKILL)
                    kills += 1
                _, err = proc.communicate(timeout=30)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
            tables = query(
                db,
                "SELECT 1 FROM information_schema.tables WHERE table_name = 'deliveries'"
                if is_url(db)
                else "SELECT 1 FROM sqlite_master WHERE name = 'deliveries'",
            )
            if proc.returncode == -signal.SIGKILL and tables:
                held = query(
                    db,
                    "SELECT d.target, r.name FROM deliveries d JOIN reminders r"
                    " ON r.id = d.reminder_id WHERE d.state = 'sending' AND d.claimed_by LIKE ?",
                    (f"%:{proc.pid}:%",),  # host:pid:start
                )
                in_flight.update(held)
                kills_in_flight += bool(held)
                target_kills.update({t for t, _ in held})
            elif proc.returncode != -signal.SIGKILL:
                assert proc.returncode == 0, err
        took = time.monotonic() - started  # reported below; speed is bench/'s business

        final = run(["--config", str(path), "send-due", "--now", round_now(ROUNDS + 5)], env)
        assert final.returncode == 0, final.stdout + final.stderr
        again = run(["--config", str(path), "send-due", "--now", round_now(ROUNDS + 5)], env)
        assert again.stdout.strip() == "nothing to send"
    finally:
        for h in hooks:
            h.stop()

    # The kills really happened, and some landed mid-send (else this test proves little).
    assert kills >= ROUNDS // 2, f"only {kills} of {ROUNDS} rounds were killed"
    assert kills_in_flight >= 1, f"no kill of {kills} ({aimed} aimed) landed mid-send"
    print(
        f"{ROUNDS} rounds in {took:.1f} s: {kills} kills ({aimed} aimed),"
        f" {kills_in_flight} mid-send"
    )

    names = {f"sim-{i:02d}" for i in range(NUMBERS)}
    duplicates = 0
    for k, hook in enumerate(hooks):
        target = f"hook{k}"
        assert all(r.route == f"/{target}" for r in hook.requests)
        received = Counter(n for m in hook.messages for n in set(NAME.findall(m)))
        # Nothing lost: every number reached every target.
        assert set(received) == names, f"{target} never got {sorted(names - set(received))}"
        for name, count in received.items():
            extra = count - 1
            # A duplicate only where that delivery was in flight at a kill, once per such kill.
            assert extra <= in_flight[(target, name)], (target, name, count)
            duplicates += extra
    assert duplicates <= sum(in_flight.values())
    # Messages carrying a duplicate: at most one per target per kill that held it in flight.
    for k, hook in enumerate(hooks):
        seen: set[str] = set()
        repeated = 0
        for message in hook.messages:
            found = set(NAME.findall(message))
            repeated += bool(found & seen)
            seen |= found
        assert repeated <= target_kills[f"hook{k}"], (k, repeated, target_kills)
    messages = sum(len(h.requests) for h in hooks)
    print(f"{messages} messages, {duplicates} duplicate (target, number) receipts")

    # The outbox ends clean: every delivery sent, nothing claimed, one reminder per number.
    assert query(db, "SELECT COUNT(*) FROM reminders") == [(NUMBERS,)]
    assert query(db, "SELECT state, COUNT(*) FROM deliveries GROUP BY state") == [
        ("sent", NUMBERS * len(hooks))
    ]
    assert query(db, "SELECT COUNT(*) FROM deliveries WHERE claimed_by IS NOT NULL") == [(0,)]
    if not is_url(db):
        assert query(db, "PRAGMA integrity_check") == [("ok",)]
