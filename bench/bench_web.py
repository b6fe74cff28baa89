"""The web face: resident memory of `simkeeper web` while serving, and the time from GET to a
rendered page.

Copies the example config into a temporary folder with a ``[web]`` table on a free port of
127.0.0.1, runs one ``send-due`` so the state database holds a pass and reminders, starts the real
``simkeeper web`` process and, after a few warm-up requests, times N GETs (default 50) of a
signed action page ("I renewed it", which reads the ledger) and of the status page (which builds
the whole status report), each over a fresh HTTP connection with http.client, from sending the
request to the last byte of the page. Prints median and 90th percentile per page, and the
process's resident memory (VmRSS, and VmHWM, its peak) after the requests.

    python bench/bench_web.py [--requests 50]
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
ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def get(port: int, path: str) -> tuple[int, float]:
    """One GET over a fresh connection: its status and seconds to the last byte."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - start
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


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"simkeeper web exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit("simkeeper web did not start")


def report(name: str, times: list[float]) -> None:
    ms = sorted(t * 1000 for t in times)
    p90 = ms[int(len(ms) * 0.9) - 1]
    print(f"{name:<14} median {statistics.median(ms):6.1f} ms   p90 {p90:6.1f} ms   n={len(ms)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()

    from simkeeper import app
    from simkeeper.deadlines import upcoming
    from simkeeper.weblinks import action_links, load_key, page_token

    folder = Path(tempfile.mkdtemp(prefix="bench-web-"))
    try:
        port = free_port()
        config = folder / "config.toml"
        text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
        config.write_text(text + f'\n[web]\nlisten = "{HOST}:{port}"\n', encoding="utf-8")
        config.chmod(0o600)
        env = {**os.environ, "STATE_DIRECTORY": str(folder / "state")}
        env.pop("SIMKEEPER_CONFIG", None)
        now = datetime.now(UTC).replace(microsecond=0)
        subprocess.run(
            [SIMKEEPER, "-q", "--config", str(config), "send-due"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        os.environ["STATE_DIRECTORY"] = env["STATE_DIRECTORY"]
        loaded = app.load(config, lambda line: None, for_sending=False)
        assert loaded.web is not None
        key = load_key(config, app.state_path(loaded).parent, env={})
        first = next(d for d in upcoming(loaded.numbers, now, 400) if d.kind == "renew")
        stages = tuple(s.after for s in first.number.after_deadline)
        [(_, renew), _] = action_links(
            loaded.web.base_url, key, first.number.number, first.date, stages
        )
        pages = {
            "action page": urlsplit(renew).path,
            "status page": f"/?token={page_token(key, 'status')}",
        }
        proc = subprocess.Popen(
            [SIMKEEPER, "-q", "--config", str(config), "web"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_listening(port, proc)
            print(f"simkeeper web on {HOST}:{port}, example config ({len(loaded.numbers)} numbers)")
            print(f"before any request: RSS {memory(proc.pid)['VmRSS']:.1f} MiB")
            for path in pages.values():
                for _ in range(3):
                    status, _ = get(port, path)
                    assert status == 200, (path, status)
            for name, path in pages.items():
                times = []
                for _ in range(args.requests):
                    status, seconds = get(port, path)
                    assert status == 200, (name, status)
                    times.append(seconds)
                report(name, times)
            mem = memory(proc.pid)
            print(f"serving: RSS {mem['VmRSS']:.1f} MiB, peak {mem['VmHWM']:.1f} MiB")
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
