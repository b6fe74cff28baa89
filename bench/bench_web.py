"""The web face at 1k, 10k and 100k numbers: what a request costs as the config grows.

For each size (``--sizes``, default ``1000,10000,100000``) it writes a config of that many
numbers (monthly, yearly, rolling and quarterly plans, one json:// target on a closed port of
127.0.0.1, a ``[web]`` table on a free port), and a state database with one pass and a renewal
recorded for every tenth number (through :class:`simkeeper.state.store.Store`, no delivery). Then it
starts the real ``simkeeper web`` process and measures, each request over a new connection
(http.client, 127.0.0.1 only):

- the action page (``GET /r/<token>``, "I renewed it" of one number): requests per second over
  ``--requests`` sequential requests (default 50), one client;
- the status page's first screen (``GET /?token=``, its first page of numbers): the median time
  to the last byte and its size;
- ``/metrics``: the median time;
- the web process's resident memory after all of them (VmRSS, and VmHWM, its peak);
- the first status page's time: it builds the board (every number's next deadline), which the
  later requests only bring up to date.

Before the web face starts, ``simkeeper check`` runs on the config, as after any edit: the web
face then reads the validated-config cache instead of parsing 100,000 tables again.

    python bench/bench_web.py [--sizes 1000,10000,100000] [--requests 50] [--pages 5]

Targets (issue 20): the action page's rate at 100k within 1.5x of its rate at 1k; the status
page's first screen and /metrics each under 1 s at 100k; the web process under 150 MiB at 100k.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

BIN = Path(sys.executable).parent
SIMKEEPER = BIN / "simkeeper"
HOST = "127.0.0.1"
NOW = "2026-12-12T09:00"
PLANS = [
    'cycle = "monthly"\ndue = 2026-12-{day:02d}',
    'cycle = "yearly"\ndue = 2027-0{month}-{day:02d}',
    'cycle = "every 180 days"\nrolling = true\nlast_renewed = 2026-0{month}-{day:02d}',
    'cycle = "every 3 months"\ndue = 2026-11-{day:02d}\nremind = ["7d", "1d"]\n'
    'after_deadline = [{{ after = "0d", state = "grace" }}, {{ after = "30d", state = "lost" }}]',
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def get(port: int, path: str) -> tuple[int, float, int]:
    """One GET over a new connection: its status, seconds to the last byte, and size."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=600)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        return response.status, time.perf_counter() - start, len(body)
    finally:
        conn.close()


def memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of ``pid`` in MiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0]) / 1024
    return out


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"simkeeper web exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit("simkeeper web did not start")


def make_config(folder: Path, count: int, port: int) -> Path:
    """``count`` numbers on four kinds of plan, one json:// target, and ``[web]``."""
    parts = [
        f'[settings]\ntimezone = "Europe/London"\nstate = "{folder / "state.db"}"\n\n'
        f'[[notify]]\nname = "hook"\nurl = "json://{HOST}:9/x"\n'
    ]
    for i in range(count):
        plan = PLANS[i % len(PLANS)].format(day=i % 28 + 1, month=i % 9 + 1)
        parts.append(
            f'[[numbers]]\nname = "line {i}"\nnumber = "+44 74{i // 1000000:02d} {i % 1000000:06d}"'
            f'\ncarrier = "Carrier {i % 7}"\n{plan}\n'
        )
    parts.append(f'[web]\nlisten = "{HOST}:{port}"\nbase_url = "https://sims.example.com"\n')
    path = folder / "config.toml"
    path.write_text("\n".join(parts), encoding="utf-8")
    path.chmod(0o600)
    return path


def make_state(config_path: Path) -> tuple[str, str]:
    """One pass and a renewal for every tenth number in the state database; the action link
    of number 5 and the status page's path."""
    from simkeeper import app
    from simkeeper.engine.deadlines import local_today
    from simkeeper.engine.upcoming import upcoming
    from simkeeper.send.links import action_links, load_key, page_token

    now = datetime.fromisoformat(NOW).replace(tzinfo=UTC)
    config = app.load(config_path, lambda line: None, for_sending=False)
    with app.open_state(config) as store:
        store.record_pass("send-due", now, 0.5, "ok")
        for n in config.numbers[::10]:
            store.add_history(n.number, n.name, "renewal", local_today(n, now), now)
    assert config.web is not None
    key = load_key(config.path, app.state_path(config).parent, env={})
    number = config.numbers[min(5, len(config.numbers) - 1)]
    [first] = [d for d in upcoming((number,), now, 400) if d.kind == "renew"][:1]
    stages = tuple(s.after for s in number.after_deadline)
    [(_, renew), _] = action_links("", key, number.number, first.date, stages)
    return urlsplit(renew).path, f"/?token={page_token(key, 'status')}"


def median(values: list[float]) -> float:
    return statistics.median(values)


def measure(count: int, requests: int, pages: int) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="bench-web-"))
    try:
        port = free_port()
        config = make_config(folder, count, port)
        env = {**os.environ, "STATE_DIRECTORY": str(folder), "HOME": str(folder)}
        env.pop("SIMKEEPER_CONFIG", None)
        os.environ["STATE_DIRECTORY"] = str(folder)
        action, status = make_state(config)
        # As after any command on this config (`simkeeper check` after an edit, the daemon's
        # start): the validated-config cache is written, and the web face reads it.
        subprocess.run(
            [SIMKEEPER, "-q", "--config", str(config), "check"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        proc = subprocess.Popen(
            [SIMKEEPER, "-q", "--config", str(config), "web", "--now", NOW],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_listening(port, proc)
            first = {}
            for path in (action, status, "/metrics"):  # the first of each builds the board
                code, seconds, _ = get(port, path)
                assert code == 200, (path, code)
                first[path] = seconds
            start = time.perf_counter()
            for _ in range(requests):
                code, _, _ = get(port, action)
                assert code == 200, code
            rate = requests / (time.perf_counter() - start)
            status_times, size = [], 0
            for _ in range(pages):
                code, seconds, size = get(port, status)
                assert code == 200, code
                status_times.append(seconds)
            metric_times = []
            for _ in range(pages):
                code, seconds, _ = get(port, "/metrics")
                assert code == 200, code
                metric_times.append(seconds)
            mem = memory(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
        return {
            "rate": rate,
            "status": median(status_times),
            "size": size / 1024,
            "metrics": median(metric_times),
            "first": first[status],
            "rss": mem["VmRSS"],
            "peak": mem["VmHWM"],
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="numbers per config")
    parser.add_argument("--requests", type=int, default=50, help="action page requests")
    parser.add_argument("--pages", type=int, default=5, help="status page and /metrics requests")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"simkeeper web, --now {NOW}, a new connection per request")
    print(
        f"{'numbers':>8} | {'action page':>12} | {'status 1st screen':>17} | {'size':>8} | "
        f"{'/metrics':>9} | {'RSS':>9} | {'peak':>9} | {'first status page':>17}"
    )
    for count in sizes:
        r = measure(count, args.requests, args.pages)
        print(
            f"{count:>8} | {r['rate']:>8.1f} r/s | {r['status'] * 1000:>14.0f} ms | "
            f"{r['size']:>5.0f} KB | {r['metrics'] * 1000:>6.0f} ms | {r['rss']:>5.1f} MiB | "
            f"{r['peak']:>5.1f} MiB | {r['first'] * 1000:>14.0f} ms",
            flush=True,
        )


if __name__ == "__main__":
    main()
