"""A year of daily ``send-due`` passes on 1,000 numbers: how big the state database grows, and
whether the pass on day 365 is slower than the one on day 1 (issue 14, part 3).

The numbers mix plans, with overdue alerts on (every day for 30 days after a missed deadline):

* half are monthly and never renewed, so every deadline goes overdue and is alerted daily;
* a fifth are monthly and renewed two days after each deadline (overdue, then settled);
* a tenth are yearly, never renewed;
* a tenth are keep-alive lines (``rolling``, every 90 days) renewed every 85 days;
* a tenth renew every 30 days, with ``after_deadline`` stages (grace, then lost at 45 days).

Every day: the renewals of that day are recorded (in this process, through
``simkeeper.app.record_renewal``, as ``simkeeper renewed`` does), ``--daemon-passes`` pass rows
are added (the daemon records one pass a minute: 1,440 a day), then ``simkeeper send-due --now
DAY`` runs as a real process, delivering to a json:// receiver on 127.0.0.1. The timings are the
process's wall time and the pass's own seconds (as it records them in the ``passes`` table),
as medians of ``--window`` days (one pass is too noisy on a shared machine): the first days (the
very first pass, creating the database, left out), the days after the first month (a fresh
install has no overdue alerts yet: from then on every plan is in its cycle, and a pass records
about as many reminders as at the end), and the last days. Each daily pass here also compacts
the database (the daemon does that in one pass a day).

    python bench/bench_year.py [--numbers 1000] [--days 365] [--daemon-passes 1440]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import suppress
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BIN = Path(sys.executable).parent
SIMKEEPER = BIN / "simkeeper"
START = date(2026, 12, 1)
TIMEOUT = 600
BASELINE = {"size_mb": 218.0, "rows": 363_457, "ratio": 1.54}  # 0.1 (3ecd8c1), issue 14
GOAL_MB_PER_1K = 20.0
GOAL_RATIO = 1.2


class Receiver:
    """A json:// endpoint on 127.0.0.1 that counts the messages it gets."""

    def __init__(self) -> None:
        self.messages = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 30  # bounded: a stuck client never holds a thread for long

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.messages += 1
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

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def group(i: int) -> str:
    """Which plan number ``i`` has (see the module docstring)."""
    return {0: "monthly", 5: "monthly-renewed", 7: "yearly", 8: "rolling", 9: "stages"}[
        max(k for k in (0, 5, 7, 8, 9) if k <= i % 10)
    ]


def number_entry(i: int) -> str:
    kind = group(i)
    head = f'[[numbers]]\nname = "line {i:04d}"\nnumber = "+44 7400 {i:06d}"\n'
    due = START + timedelta(days=i % 28)
    if kind in ("monthly", "monthly-renewed"):
        return head + f'cycle = "monthly"\ndue = {due.isoformat()}\n'
    if kind == "yearly":
        return head + f'cycle = "yearly"\ndue = {(due + timedelta(days=i % 300)).isoformat()}\n'
    if kind == "rolling":
        last = START - timedelta(days=60 + i % 28)
        return head + f'cycle = "every 90 days"\nrolling = true\nlast_renewed = {last}\n'
    stages = '[{ after = "0d", state = "grace" }, { after = "45d", state = "lost" }]'
    return head + f'cycle = "every 30 days"\ndue = {due.isoformat()}\nafter_deadline = {stages}\n'


def make_config(folder: Path, url: str, numbers: int) -> Path:
    parts = [
        '[settings]\ntimezone = "Europe/London"\nremind_at = "09:00"\n'
        'remind = ["14d", "3d", "1d"]\noverdue_every = "1d"\noverdue_for = "30d"\n'
        f'send_timeout = 60\nstate = "{folder / "state.db"}"\n\n'
        f'[[notify]]\nname = "hook"\nurl = "{url}"\n'
    ]
    parts += [number_entry(i) for i in range(numbers)]
    path = folder / "config.toml"
    path.write_text("\n".join(parts))
    path.chmod(0o600)
    return path


def renewals_on(day: date, numbers: int) -> list[int]:
    """The numbers renewed on ``day``: monthly ones two days after their deadline, keep-alive
    lines every 85 days."""
    return [i for i in range(numbers) if renewed_on(i, day)]


def renewed_on(i: int, day: date) -> bool:
    kind = group(i)
    if kind == "monthly-renewed":
        return day.day == (START + timedelta(days=i % 28)).day + 2
    return kind == "rolling" and (day - START).days % 85 == 84 - (i % 28)


def record_renewals(config_path: Path, day: date, picks: list[int]) -> None:
    """Record renewals as ``simkeeper renewed`` does, in this process (one process each would
    take longer than the year itself)."""
    from simkeeper import app
    from simkeeper.core.errors import UsageError

    config = app.load(config_path, lambda _w: None)
    by_name = {n.name: n for n in config.numbers}
    now = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=12)
    with app.open_state(config) as store:
        for i in picks:
            # a renewal the guard refuses is not the bench's concern
            with suppress(UsageError):
                app.record_renewal(store, by_name[f"line {i:04d}"], day, now, None)


def add_daemon_passes(db: Path, day: date, count: int) -> None:
    """``count`` pass rows on ``day``, as the daemon's minute passes write them."""
    if count <= 0 or not db.exists():
        return
    conn = sqlite3.connect(db, timeout=30)
    try:
        with conn:
            base = datetime.combine(day, datetime.min.time(), UTC)
            conn.executemany(
                "INSERT INTO passes (source, ran_at, seconds, outcome, sent, failed)"
                " VALUES ('daemon', ?, 0.01, 'ok', 0, 0)",
                [
                    ((base + timedelta(minutes=m)).replace(tzinfo=UTC).isoformat(),)
                    for m in range(count)
                ],
            )
    finally:
        conn.close()


def send_due(config: Path, day: date, env: dict[str, str]) -> float:
    args = [str(SIMKEEPER), "--config", str(config), "-q", "send-due", "--now"]
    started = time.perf_counter()
    result = subprocess.run(
        [*args, f"{day.isoformat()}T09:00"], env=env, capture_output=True, text=True,
        timeout=TIMEOUT,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if result.returncode not in (0, 1):  # 1: a target failed, which the receiver never does
        raise SystemExit(f"send-due failed ({result.returncode}): {result.stderr[-800:]}")
    return wall


def pass_seconds(db: Path) -> float:
    conn = sqlite3.connect(db, timeout=30)
    try:
        row = conn.execute(
            "SELECT seconds FROM passes WHERE source = 'send-due' ORDER BY id DESC LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    return float(row[0])


def recorded_at(db: Path, day: date) -> int:
    """How many reminders the pass on ``day`` recorded (they are still in the outbox)."""
    conn = sqlite3.connect(db, timeout=30)
    try:
        stamp = f"{day.isoformat()}T09:00:00+00:00"  # Europe/London in winter; BST is 08:00
        row = conn.execute(
            "SELECT COUNT(*) FROM reminders WHERE created_at IN (?, ?)",
            (stamp, stamp.replace("T09:", "T08:")),
        ).fetchone()
    finally:
        conn.close()
    return int(row[0])


def table_rows(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db, timeout=30)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: conn.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        conn.close()


def size_of(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*") if "reserve" not in p.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--daemon-passes", type=int, default=1440, help="pass rows added a day")
    parser.add_argument("--window", type=int, default=7, help="days in each timing median")
    parser.add_argument(
        "--keep",
        type=Path,
        help="copy the config and the state database into this folder before the pass of each"
        " of --keep-days (day-N.db: to replay and profile that pass)",
    )
    parser.add_argument("--keep-days", default="33,120", help="days to keep (1 is the first)")
    opts = parser.parse_args()
    keep_days = {int(d) for d in opts.keep_days.split(",")} if opts.keep else set()
    receiver = Receiver()
    walls: list[float] = []
    inner: list[float] = []
    recorded: list[float] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {
            **os.environ,
            "HOME": tmp,
            "XDG_CONFIG_HOME": f"{tmp}/.config",
            "XDG_STATE_HOME": f"{tmp}/.state",
            "STATE_DIRECTORY": tmp,
            "NO_COLOR": "1",
        }
        config = make_config(folder, receiver.url(), opts.numbers)
        db = folder / "state.db"
        try:
            for k in range(opts.days):
                day = START + timedelta(days=k)
                picks = renewals_on(day, opts.numbers)
                if picks and db.exists():
                    record_renewals(config, day, picks)
                add_daemon_passes(db, day, opts.daemon_passes)
                if k + 1 in keep_days:
                    opts.keep.mkdir(parents=True, exist_ok=True)
                    shutil.copy(config, opts.keep / "config.toml")
                    shutil.copy(db, opts.keep / f"day-{k + 1}.db")
                before = receiver.messages
                walls.append(send_due(config, day, env))
                if receiver.messages - before != 1:
                    print(f"  {day}: {receiver.messages - before} messages", file=sys.stderr)
                inner.append(pass_seconds(db))
                recorded.append(recorded_at(db, day))
                if k % 30 == 29:
                    print(
                        f"  day {k + 1}: {size_of(db) / 1e6:.1f} MB, pass {inner[-1]:.3f} s",
                        file=sys.stderr,
                    )
            rows = table_rows(db)
            size = size_of(db)
        finally:
            receiver.close()
    total = time.perf_counter() - started
    mb = size / 1e6
    goal_mb = GOAL_MB_PER_1K * opts.numbers / 1000
    print(
        f"A year of daily passes: {opts.numbers:,} numbers, {opts.days} days, "
        f"{opts.daemon_passes} daemon pass rows a day, {receiver.messages} messages sent "
        f"({total:.0f} s in all)"
    )
    print(f"{'figure':<48} {'this run':>10} {'0.1':>10} {'goal':>10}")
    print(f"{'state database after the run (MB)':<48} {mb:>10.1f} {BASELINE['size_mb']:>10.0f}"
          f" {'<= ' + format(goal_mb, '.0f'):>10}")  # fmt: skip
    print(f"{'reminder rows':<48} {rows.get('reminders', 0):>10,} {BASELINE['rows']:>10,}")
    for name in sorted(set(rows) - {"reminders"}):
        if not name.startswith(("_", "sqlite")):
            print(f"{name + ' rows':<48} {rows[name]:>10,}")
    w = max(1, min(opts.window, (len(walls) - 1) // 3))
    windows = {
        f"days 2-{w + 1} (fresh: no overdue alerts yet)": slice(1, 1 + w),
        f"days 32-{31 + w} (every plan in its cycle)": slice(31, 31 + w),
        f"the last {w} days": slice(len(walls) - w, len(walls)),
    }
    medians = {}
    for label, part in windows.items():
        if not walls[part]:
            continue
        medians[label] = [statistics.median(x[part]) for x in (walls, inner, recorded)]
        wall, seconds, count = medians[label]
        print(f"{'pass on ' + label:<48} wall {wall:.3f} s, pass {seconds:.3f} s, "
              f"{count:.0f} reminders recorded")  # fmt: skip
    labels = list(medians)
    for base in labels[:-1]:
        ratio = [medians[labels[-1]][k] / medians[base][k] for k in (0, 1)]
        label = "  last / " + base.split(" (")[0]
        print(f"{label:<48} {ratio[0]:>10.2f} {BASELINE['ratio']:>10.2f}"
              f" {'<= ' + str(GOAL_RATIO):>10}  (wall; pass seconds {ratio[1]:.2f})")  # fmt: skip
    print(json.dumps({"size_mb": round(mb, 2), "rows": rows, "medians": medians}))


if __name__ == "__main__":
    main()
