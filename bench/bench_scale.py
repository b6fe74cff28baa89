"""simkeeper end to end at 10k, 100k and 1M numbers, beside ``remind -s2`` (issue 23).

For each size (``--sizes``, default ``10000,100000,1000000``) it writes a config of that many
numbers (the plans of ``bench_upcoming.py``, which ``remind`` can express too, and one json://
target on a receiver of this script's on 127.0.0.1) and the remind file of the same plans,
then runs, each as a fresh process and each bounded by ``--timeout`` (600 s):

* ``check`` and ``upcoming --days 60`` with no config cache (cold), ``remind -s2`` on the same
  deadlines in the same run (paired: the ratios are CPU over CPU), and both again warm;
* ``check`` after editing 1% of the ``[[numbers]]`` tables (what a reload costs);
* the daemon (``simkeeper run`` with the ``Environment=`` of ``systemd/simkeeper.service``,
  NOTIFY_SOCKET on a socket of this script's): from its start to
  READY=1 and to the end of its first pass, its resident memory once idle, then a SIGHUP after
  another 1% edit, until READY=1 again and the pass after it;
* one day of reminders: ``send-due --now 2026-11-23T09:00`` on a fresh state, its grouped
  messages delivered to the receiver (the count is printed).

Each figure is CPU seconds (user + system, the process and the children it waited for), wall
seconds and peak RSS (MiB). CPU is the figure to compare on a shared machine; wall is there
to show nothing waits. ``--src DIR`` runs the ``simkeeper`` package found in ``DIR`` (another
checkout's ``daemon/``) instead of the installed one: before and after with one script.

    python bench/bench_scale.py [--sizes 10000,100000,1000000] [--src DIR] [--timeout 600]
    make bench-scale
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_idle import NotifySocket, status_fields
from bench_reload import edit_percent
from bench_upcoming import plan

NOW = "2026-11-23"
REMIND_DATE = ["23", "Nov", "2026"]
TICK = os.sysconf("SC_CLK_TCK")
GOALS = {  # issue 23
    "cold check / remind": "<= 1.0 at 100k",
    "cold upcoming / remind": "<= 1.0 at 100k",
    "warm upcoming": "1M: < 8 s CPU, < 400 MiB",
    "1% edit, check": "100k: <= 1.5 s CPU",
    "daemon idle RSS": "10k < 40, 100k < 60, 1M < 400 MiB",
    "every step": "< 600 s, within 24 GiB",
}


@dataclass(frozen=True)
class Run:
    """One measured process: CPU seconds, wall seconds, peak RSS in MiB (None: timed out)."""

    cpu: float | None
    wall: float
    mib: float

    def __str__(self) -> str:
        if self.cpu is None:
            return f"timeout {self.wall:.0f} s"
        return f"{self.cpu:.2f}/{self.wall:.2f} s {self.mib:.0f} MiB"


class Receiver:
    """A json:// receiver on 127.0.0.1 that answers 200 and counts messages and lines."""

    def __init__(self) -> None:
        receiver = self
        self.messages = 0
        self.lines = 0
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                text = json.loads(body).get("message", "")
                with receiver.lock:
                    receiver.messages += 1
                    receiver.lines += len(text.splitlines())
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self) -> tuple[int, int]:
        """Messages and lines received since the last call."""
        with self.lock:
            got = (self.messages, self.lines)
            self.messages = self.lines = 0
        return got

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def make_files(config: Path, reminders: Path, count: int, url: str) -> None:
    """The config (one json:// target at ``url``) and the remind file of ``count`` numbers."""
    parts = [f'[settings]\ntimezone = "UTC"\n\n[[notify]]\nname = "hook"\nurl = "{url}"\n']
    rems = []
    for i in range(count):
        toml, rem = plan(i)
        parts.append(
            f'[[numbers]]\nname = "line {i}"\nnumber = "+44 74{i // 1000000:02d} {i % 1000000:06d}"'
            f'\ncarrier = "Carrier {i % 7}"\n{toml}\n'
        )
        rems.append(f"{rem} MSG line {i} due %b\n")
    config.write_text("\n".join(parts))
    config.chmod(0o600)
    reminders.write_text("".join(rems))


def measure(args: list[str], env: dict[str, str], timeout: float) -> Run:
    """One fresh process, through a wrapper whose children's rusage is that process's."""
    code = (
        "import resource, subprocess, sys, time;"
        "t = time.perf_counter();"
        "r = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,"
        " timeout=float(sys.argv[1]));"
        "w = time.perf_counter() - t;"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN);"
        "sys.stderr.write(r.stderr.decode()[-800:]) if r.returncode not in (0, 1) else None;"
        "print(u.ru_utime + u.ru_stime, w, u.ru_maxrss / 1024, r.returncode)"
    )
    started = time.perf_counter()
    try:
        out = subprocess.run(
            [sys.executable, "-c", code, str(timeout), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout + 60,
        )
    except subprocess.TimeoutExpired:
        return Run(None, time.perf_counter() - started, 0.0)
    if "TimeoutExpired" in out.stderr:
        return Run(None, time.perf_counter() - started, 0.0)
    used, wall, mem, rc = out.stdout.split()
    if rc not in ("0", "1"):  # 1: a target failed in send-due, still a measured pass
        raise SystemExit(f"{args} failed ({rc}): {out.stderr}")
    return Run(float(used), float(wall), float(mem))


def proc_cpu(pid: int) -> float:
    """utime + stime of ``pid`` and of the children it waited for."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(fields[k]) for k in (11, 12, 13, 14)) / TICK


def wait_for(notify: NotifySocket, since: int, test, timeout: float) -> bool:
    """Whether a datagram after the first ``since`` ones passes ``test`` within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with notify.lock:
            if any(test(fields) for _, fields in notify.messages[since:]):
                return True
        time.sleep(0.02)
    return False


def first_pass_done(fields: list[str]) -> bool:
    """The STATUS datagram a pass ends with (alone: READY=1 comes with a STATUS too)."""
    return len(fields) == 1 and fields[0].startswith("STATUS=")


UNIT = Path(__file__).resolve().parent.parent / "systemd" / "simkeeper.service"


def unit_environment(unit: Path = UNIT) -> dict[str, str]:
    """The ``Environment=`` the shipped unit gives the daemon (PYTHONMALLOC among them)."""
    found = {}
    for line in unit.read_text().splitlines():
        if line.startswith("Environment="):
            key, _, value = line.removeprefix("Environment=").partition("=")
            found[key] = value
    return found


def daemon(sk: list[str], config: Path, env: dict[str, str], timeout: float) -> dict[str, str]:
    """The daemon's start, idle memory and a reload after a 1% edit, as table cells; run as
    the shipped unit runs it (its ``Environment=``)."""
    env = {**env, **unit_environment()}
    notify = NotifySocket()
    started, cells = time.monotonic(), {}
    proc = subprocess.Popen(
        [*sk, "--config", str(config), "run"],
        env={**env, "NOTIFY_SOCKET": notify.path},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ready = wait_for(notify, 0, lambda f: "READY=1" in f, timeout)
        at_ready, cpu_ready = time.monotonic() - started, proc_cpu(proc.pid)
        passed = ready and wait_for(notify, 0, first_pass_done, timeout)
        at_pass, cpu_pass = time.monotonic() - started, proc_cpu(proc.pid)
        if not passed:
            return {"daemon start": f"timeout {at_pass:.0f} s"}
        time.sleep(3)  # settled: the worker reaped, the heap trimmed
        status = status_fields(proc.pid)
        rss, hwm = (
            float(status["VmRSS"].split()[0]) / 1024,
            float(status["VmHWM"].split()[0]) / 1024,
        )
        cells["daemon start to READY=1"] = f"{cpu_ready:.2f}/{at_ready:.2f} s"
        cells["daemon start to first pass end"] = f"{cpu_pass:.2f}/{at_pass:.2f} s {hwm:.0f} MiB"
        cells["daemon idle RSS"] = f"{rss:.1f} MiB"
        edit_percent(config, 3)
        with notify.lock:
            since = len(notify.messages)
        before, t0 = proc_cpu(proc.pid), time.monotonic()
        proc.send_signal(signal.SIGHUP)
        back = wait_for(notify, since, lambda f: "READY=1" in f, timeout)
        at_back, cpu_back = time.monotonic() - t0, proc_cpu(proc.pid) - before
        wait_for(notify, since, first_pass_done, timeout)
        at_after, cpu_after = time.monotonic() - t0, proc_cpu(proc.pid) - before
        time.sleep(3)
        rss = float(status_fields(proc.pid)["VmRSS"].split()[0]) / 1024
        if back:
            cells["daemon reload (1% edit) to READY=1"] = f"{cpu_back:.2f}/{at_back:.2f} s"
            cells["daemon reload and its pass"] = f"{cpu_after:.2f}/{at_after:.2f} s"
            cells["daemon idle RSS after reload"] = f"{rss:.1f} MiB"
        else:
            cells["daemon reload (1% edit) to READY=1"] = f"timeout {at_back:.0f} s"
        return cells
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        notify.close()


def one_size(size: int, sk: list[str], base: dict[str, str], opts, receiver) -> dict[str, str]:
    """Every figure of one size, as table cells by row name."""
    folder = Path(tempfile.mkdtemp(prefix=f"sk-scale-{size}-"))
    cells: dict[str, str] = {}
    try:
        config, rems = folder / "config.toml", folder / "reminders.rem"
        make_files(config, rems, size, receiver.url)
        cache = folder / "cache"
        env = {**base, "HOME": str(folder), "XDG_CACHE_HOME": str(cache)}
        env["STATE_DIRECTORY"] = str(folder / "state-commands")
        check = [*sk, "--config", str(config), "check"]
        upcoming = [*sk, "--config", str(config), "upcoming", "--days", "60", "--now", NOW]

        def run(label: str, args: list[str], cold: bool = False) -> Run:
            if cold:
                shutil.rmtree(cache, ignore_errors=True)
            got = measure(args, env, opts.timeout)
            cells[label] = str(got)
            print(f"  {size:>8} {label}: {got}", file=sys.stderr, flush=True)
            return got

        cold_check = run("check, cold (no cache)", check, cold=True)
        cold_upcoming = run("upcoming, cold", upcoming, cold=True)
        remind = shutil.which("remind")
        if remind:
            r = run("remind -s2 (same deadlines)", [remind, "-s2", str(rems), *REMIND_DATE])
            pairs = (("cold check / remind", cold_check), ("cold upcoming / remind", cold_upcoming))
            for label, got in pairs:
                if got.cpu is not None and r.cpu:
                    cells[label] = f"{got.cpu / r.cpu:.2f}x CPU"
        run("upcoming, warm", upcoming)
        run("check, warm", check)
        edit_percent(config, 1)
        run("1% edit, check", check)
        env["STATE_DIRECTORY"] = str(folder / "state-daemon")
        cells.update(daemon(sk, config, env, opts.timeout))
        receiver.take()
        env["STATE_DIRECTORY"] = str(folder / "state-day")
        day = [*sk, "--config", str(config), "-q", "send-due", "--now", f"{NOW}T09:00"]
        run("one day of reminders (send-due)", day)
        messages, lines = receiver.take()
        cells["  sent to 127.0.0.1"] = f"{messages} messages, {lines} lines"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return cells


_COMPILE = (
    "import compileall, pathlib, simkeeper;"
    "compileall.compile_dir(pathlib.Path(simkeeper.__file__).parent, quiet=1)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--src", type=Path, help="run the simkeeper package found here")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per step (600)")
    opts = parser.parse_args()
    sizes = [int(s) for s in opts.sizes.split(",")]
    code = "import sys; from simkeeper.cli.main import main; sys.argv[0] = 'simkeeper'; main()"
    sk = [sys.executable, "-c", code]
    base = {k: v for k, v in os.environ.items() if k not in ("CACHE_DIRECTORY", "NOTIFY_SOCKET")}
    base.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode written and reused, as installed
    base["NO_COLOR"] = "1"
    if opts.src:
        base["PYTHONPATH"] = str(opts.src.resolve())
    # Compiled first, as an installed package is: the first cold step would pay for it.
    compiled = subprocess.run([*sk[:1], "-c", _COMPILE], env=base, capture_output=True)
    if compiled.returncode:
        raise SystemExit(f"cannot compile simkeeper: {compiled.stderr.decode()[-300:]}")
    receiver = Receiver()
    try:
        columns = {size: one_size(size, sk, base, opts, receiver) for size in sizes}
    finally:
        receiver.close()
    rows = list(dict.fromkeys(label for cells in columns.values() for label in cells))
    source = opts.src or "the installed simkeeper"
    print(f"simkeeper end to end ({source}); cells: CPU/wall seconds, peak RSS")
    width = max(len(r) for r in rows) + 2
    print(f"{'':<{width}}" + "".join(f"{size:>28,}" for size in sizes) + "   goal")
    for label in rows:
        cells = "".join(f"{columns[s].get(label, '-'):>28}" for s in sizes)
        goal = next((g for k, g in GOALS.items() if label.startswith(k)), "")
        print(f"{label:<{width}}{cells}   {goal}")


if __name__ == "__main__":
    main()
