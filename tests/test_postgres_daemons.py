"""Three real ``simkeeper run`` daemons sharing one PostgreSQL state (issue 25).

1,000 reminders are due at once, to 20 json:// targets on one local receiver that answers
slowly (so sends are on the wire for a while). The three daemons plan the same reminders
(idempotent: one outbox row each) and claim deliveries with row locks (``FOR UPDATE SKIP
LOCKED``). Once the receiver has requests, the daemon holding claims is killed with SIGKILL,
its worker with it (a host that dies); PostgreSQL is then restarted under the two left. The
claims proven: every reminder reaches its target; a reminder arrives twice only if it was in
a message in flight when its daemon died, and at most one such message per target; the two
daemons left reconnect and take the dead one's claims over; the outbox ends all sent.

No sleeps as synchronisation: every wait polls for its condition under a bounded deadline.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import SIMKEEPER, unmeasured, write_config
from pg import Cluster, query
from receivers import HTTPReceiver, wait_for

from simkeeper.state.store import open_store

NUMBERS = 1000
TARGETS = 20
NAME = re.compile(r"\bline-\d{4}\b")


@pytest.fixture
def cluster():
    """A cluster of its own: this test restarts it."""
    c = Cluster()
    try:
        yield c
    finally:
        c.remove()


def make_config(tmp_path: Path, receiver: HTTPReceiver, url: str) -> Path:
    """1,000 numbers due tomorrow with a 1-day lead at 00:00 UTC: every reminder is due now
    and stays sendable until the deadline, whenever today the test runs."""
    due = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    targets = "".join(
        f'\n[[notify]]\nname = "hook{k:02d}"\nurl = "json://127.0.0.1:{receiver.port}/hook{k:02d}"'
        f'\ntags = ["t{k:02d}"]\n'
        for k in range(TARGETS)
    )
    numbers = "".join(
        f'\n[[numbers]]\nname = "line-{i:04d}"\nnumber = "+1 206 55{i // 10000} {i % 10000:04d}"'
        f'\ncycle = "yearly"\ndue = {due}\nnotify = ["t{i % TARGETS:02d}"]\n'
        for i in range(NUMBERS)
    )
    return write_config(
        tmp_path / "config.toml",
        f"""
[settings]
timezone = "UTC"
remind_at = "00:00"
remind = ["1d"]
send_timeout = 20
state = "{url}"
{targets}
{numbers}
""",
    )


class Daemon:
    """``simkeeper run`` in a session of its own, so a kill takes its worker with it."""

    def __init__(self, config: Path, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.err = open(log, "w")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            [SIMKEEPER, "--config", str(config), "run"],
            env=unmeasured(env),  # a SIGKILLed process never writes its coverage data
            stdout=subprocess.DEVNULL,
            stderr=self.err,
            start_new_session=True,
        )

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.err.close()
        return self.proc.returncode


def holders(url: str) -> Counter[int]:
    """pid of each process holding claims -> how many (claimed_by is host:pid:start)."""
    rows = query(url, "SELECT claimed_by FROM deliveries WHERE state = 'sending'")
    return Counter(int(token.split(":")[1]) for (token,) in rows)


def owner(daemons: list[Daemon], pid: int) -> Daemon | None:
    """The daemon whose session the process ``pid`` (it or its worker) belongs to."""
    try:
        sid = os.getsid(pid)
    except ProcessLookupError:
        return None
    return next((d for d in daemons if d.proc.pid == sid), None)


def received(receiver: HTTPReceiver) -> Counter[tuple[str, str]]:
    """(target, number name) -> how many messages carried it."""
    found: Counter[tuple[str, str]] = Counter()
    for r in list(receiver.requests):
        found.update((r.route.strip("/"), n) for n in set(NAME.findall(r.text)))
    return found


def repeated_messages(receiver: HTTPReceiver) -> Counter[str]:
    """target -> messages carrying a number that an earlier message to it carried."""
    seen: dict[str, set[str]] = {}
    repeats: Counter[str] = Counter()
    for r in sorted(receiver.requests, key=lambda r: r.at):
        names, target = set(NAME.findall(r.text)), r.route.strip("/")
        repeats[target] += bool(names & seen.setdefault(target, set()))
        seen[target] |= names
    return +repeats


def test_three_daemons_share_one_postgresql_state(tmp_path, env, cluster):
    url = cluster.new_database()
    open_store(url).close()  # the schema in place, so the test's own queries find it
    with HTTPReceiver(delay=1.5) as hooks:
        config = make_config(tmp_path, hooks, url)
        daemons = [Daemon(config, env, tmp_path / f"daemon-{k}.log") for k in range(3)]
        try:
            # Every daemon plans; the first claims land. Then kill the one holding claims.
            assert wait_for(lambda: holders(url) and len(hooks.requests) > 0, timeout=60)
            held = holders(url)
            victim = next(d for pid in held if (d := owner(daemons, pid)))
            token_pids = {pid for pid in held if owner(daemons, pid) is victim}
            victim.kill()
            killed_at = time.monotonic()
            # What it held when it died (the two left release it at their next pass, not sooner:
            # a pass starts on the minute)
            in_flight = {
                (t, n)
                for t, n in query(
                    url,
                    "SELECT d.target, r.name FROM deliveries d JOIN reminders r"
                    " ON r.id = d.reminder_id WHERE d.state = 'sending'"
                    f" AND ({' OR '.join(['d.claimed_by LIKE ?'] * len(token_pids))})",
                    tuple(f"%:{pid}:%" for pid in token_pids),
                )
            }
            cluster.restart()  # under the two left, between their passes or in one
            left = [d for d in daemons if d is not victim]
            done = wait_for(
                lambda: (
                    query(url, "SELECT COUNT(*) FROM deliveries WHERE state = 'sent'")
                    == [(NUMBERS,)]
                ),
                timeout=180,
                step=0.2,
            )
            takeover = time.monotonic() - killed_at
            assert done, [d.log.read_text()[-2000:] for d in left]
            assert all(d.proc.poll() is None for d in left), "a daemon died with PostgreSQL"
        finally:
            codes = [d.stop() for d in daemons]
        got = received(hooks)
        messages = len(hooks.requests)
        repeats = repeated_messages(hooks)
    assert codes[daemons.index(victim)] == -signal.SIGKILL
    assert all(c == 0 for d, c in zip(daemons, codes, strict=True) if d is not victim)

    wanted = {(f"hook{i % TARGETS:02d}", f"line-{i:04d}") for i in range(NUMBERS)}
    assert set(got) == wanted  # nothing lost, nothing to the wrong target
    twice = {k for k, n in got.items() if n > 1}
    assert all(got[k] == 2 for k in twice)
    assert twice <= in_flight  # a duplicate only of what the dead daemon had on the wire
    # ... and at most one message repeated per target: the one in flight at the kill.
    assert max(repeats.values(), default=0) <= 1, repeats
    assert query(url, "SELECT COUNT(*) FROM reminders") == [(NUMBERS,)]  # planned once
    assert query(url, "SELECT COUNT(*) FROM deliveries WHERE state != 'sent'") == [(0,)]
    report = (
        f"due {NUMBERS}, delivered {len(got)}, duplicates {len(twice)}"
        f" (in flight at the kill: {len(in_flight)}), kills 1, messages {messages},"
        f" takeover {takeover:.1f} s after the kill (PostgreSQL restarted in between)"
    )
    print(report)
    (tmp_path / "figures.txt").write_text(report + "\n")


def test_a_daemon_on_postgresql_hears_a_renewal_at_once(tmp_path, env, pg_cluster):
    """A renewal recorded by another process (here the CLI; another host alike) is NOTIFY'd:
    the daemon wakes and works it out then, not at its next minute's pass."""
    url = pg_cluster.new_database()
    open_store(url).close()
    due = (datetime.now(UTC) + timedelta(days=20)).date().isoformat()
    config = write_config(
        tmp_path / "config.toml",
        f"""
[settings]
timezone = "UTC"
state = "{url}"

[[notify]]
name = "screen"
url = "json://127.0.0.1:9/hook"

[[numbers]]
name = "travel"
number = "+44 7911 123456"
cycle = "monthly"
due = {due}
""",
    )
    log = tmp_path / "daemon.log"
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [SIMKEEPER, "--config", str(config), "-v", "run"], env=env, stderr=err
        )
        try:
            assert wait_for(lambda: query(url, "SELECT COUNT(*) FROM daemons") == [(1,)], 60)
            renewed = subprocess.run(
                [SIMKEEPER, "--config", str(config), "renewed", "travel"],
                env=env,
                capture_output=True,
                text=True,
            )
            assert renewed.returncode == 0, renewed.stderr
            assert wait_for(lambda: "another process recorded a change" in log.read_text(), 50)
        finally:
            proc.terminate()
            assert proc.wait(timeout=20) == 0
    assert query(url, "SELECT COUNT(*) FROM daemons") == [(0,)]  # it said goodbye
