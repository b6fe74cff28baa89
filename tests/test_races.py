"""Exactly once under races: parallel taps on one "I renewed it" link against a real
``simkeeper web`` process, racing ``simkeeper renewed`` subprocesses for the same deadline.

Every round starts the racers together (a barrier, no sleeps) and ends with exactly one renewal
recorded; ``simkeeper undo`` then clears it for the next round."""

from __future__ import annotations

import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from conftest import SIMKEEPER, ok, unmeasured, write_config
from pg import query
from webface import free_port, request, web_config, web_process

from simkeeper.send.links import Claim, sign

NOW = "2026-12-12T10:00"
ROUNDS = 12
TAPS = 20  # parallel POSTs of one link per round
CLIS = 2  # ``simkeeper renewed`` processes racing them

CONFIG = """
[settings]
timezone = "Europe/Berlin"
remind = ["3d"]
state = "{state}"

[[notify]]
name = "screen"
url = "console://"

[[numbers]]
name = "keepalive"
number = "+44 7911 123457"
cycle = "every 30 days"
rolling = true
on_renewal = "extend"
last_renewed = 2026-11-15
"""


def renewals(db: str) -> int:
    return int(query(db, "SELECT COUNT(*) FROM history WHERE kind = 'renewal'")[0][0])


def test_parallel_taps_and_cli_renewals_record_exactly_one_renewal_every_round(
    tmp_path: Path, env: dict[str, str], store_url: str
) -> None:
    port = free_port()
    config = write_config(
        tmp_path / "config.toml", CONFIG.format(state=store_url) + web_config(port)
    )
    db = store_url
    cli = [SIMKEEPER, "--config", str(config), "renewed", "keepalive", "--now", NOW]
    plain = unmeasured(env)  # many short processes: coverage's start-up is not what is raced
    counted = []
    with web_process(config, env, port, NOW):
        # beside the SQLite file; with PostgreSQL in the state folder (STATE_DIRECTORY)
        folder = tmp_path / "state" if "://" in store_url else tmp_path
        key = bytes.fromhex((folder / "web.key").read_text().strip())
        link = "/r/" + sign(
            key,
            Claim("+447911123457", date(2026, 12, 15), "renewed", datetime(2027, 2, 1, tzinfo=UTC)),
        )
        with ThreadPoolExecutor(TAPS + CLIS) as pool:
            for _ in range(ROUNDS):
                start = threading.Barrier(TAPS + CLIS)

                def tap(start: threading.Barrier = start) -> int:
                    start.wait(timeout=30)
                    return request(port, link, "POST", b"").status

                def renew(start: threading.Barrier = start) -> int:
                    start.wait(timeout=30)
                    return subprocess.run(
                        cli, env=plain, capture_output=True, timeout=60
                    ).returncode

                taps = [pool.submit(tap) for _ in range(TAPS)]
                clis = [pool.submit(renew) for _ in range(CLIS)]
                statuses = [f.result(timeout=90) for f in taps]
                codes = [f.result(timeout=90) for f in clis]
                assert set(statuses) <= {200, 409}, statuses  # recorded, already done, refused
                assert codes.count(0) <= 1, codes  # at most one CLI renewal got through
                counted.append(renewals(db))
                assert counted[-1] == 1, (counted, statuses, codes)
                ok(config, env, "undo", "keepalive", "--now", NOW)
                assert renewals(db) == 0
    assert counted == [1] * ROUNDS
    # The deadline moved once: the last renewal undone, it is the configured one again.
    assert "2026-12-15" in ok(config, env, "upcoming", "--now", NOW, "--days", "60")


OPEN = "import sys; from pathlib import Path; from simkeeper.state.store import open_store; "
OPEN += "where = sys.argv[1]; open_store(where if '://' in where else Path(where)).close()"


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_processes_creating_a_fresh_database_together_all_open_it(
    tmp_path: Path, env: dict[str, str], engine: str, request: pytest.FixtureRequest
) -> None:
    # Creating and migrating used to race: "table reminders already exists", "database is
    # locked" for one of eight processes in about one round of three. On PostgreSQL the
    # migrations run under an advisory lock, each in one transaction with its record.
    python = str(Path(SIMKEEPER).with_name("python"))
    plain = unmeasured(env)
    cluster = request.getfixturevalue("pg_cluster") if engine == "postgresql" else None
    for n in range(6):
        db = cluster.new_database() if cluster else str(tmp_path / f"state{n}.db")
        procs = [
            subprocess.Popen([python, "-c", OPEN, str(db)], env=plain, stderr=subprocess.PIPE)
            for _ in range(8)
        ]
        errors = [p.communicate(timeout=60)[1] for p in procs]
        assert [p.returncode for p in procs] == [0] * 8, errors
