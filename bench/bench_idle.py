"""The idle daemon: wake-ups, context switches, CPU seconds and resident memory of `simkeeper run`.

Starts the real daemon (``simkeeper --config CFG run``) in a temporary folder, with a config whose
reminders are all months away and one json:// target on 127.0.0.1 (a port nothing listens on: no
traffic should happen). ``NOTIFY_SOCKET`` points at a datagram socket this script owns and
``WATCHDOG_USEC`` is set (30 s by default), as under systemd with ``WatchdogSec=30``. After
``READY=1`` the daemon is left alone for the idle window while this script reads /proc.

Wake-ups are counted from the kernel's context-switch counters: a thread that blocks (the
daemon's select(), a futex, a blocking fsync) makes one *voluntary* switch, and every wake-up is
followed by exactly one such block, so voluntary switches over all threads = wake-ups. The
sd_notify datagrams show what each wake-up did: datagrams less than 0.25 s apart come from the
same wake-up, and a wake-up that sent nothing but ``WATCHDOG=1`` exists only for the watchdog.
Those are subtracted; a wake-up that also ran a send pass (it sends ``STATUS=``) still counts.
Involuntary switches (preemption) are printed but are not wake-ups.

If ``strace`` is installed, a second window follows with ``strace -f -c -p PID`` attached (it is
not attached during the /proc window: every traced syscall stops the tracee and would add
context switches of its own), and the wait/sleep syscalls in its summary are counted.

Targets (issue 4): at most one wake-up per minute while idle besides watchdog pings, and under
60 MiB resident.

Then the figures of issue 14 (part 4), beside their 0.1 values and goals: the idle daemon's
resident memory on ``config.example.toml`` and on 10,000 numbers with one json:// target (a
local receiver that answers 200), read from /proc once the first pass has ended; and the
start-up of ``check``, ``send-due`` (wall time of the whole command, medians) and ``run`` (until
``READY=1``) on the example config. ``--figures-only`` prints only those.

    python bench/bench_idle.py [--seconds 180 | --quick] [--watchdog 30] [--strace-seconds 60]
                               [--figures-only] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BIN = Path(sys.executable).parent
SIMKEEPER = BIN / "simkeeper"
TICK = os.sysconf("SC_CLK_TCK")
SAME_WAKE = 0.25  # datagrams closer than this come from one wake-up of the daemon
WAKE_TARGET = 1.0  # per minute, besides watchdog pings
RSS_TARGET = 60.0  # MiB
EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
# Issue 14's table: (figure, 0.1, goal in the unit of the figure).
RSS_EXAMPLE = ("daemon idle RSS, example config", "54.5 MiB", 30.0)
RSS_10K = ("daemon idle RSS, 10k numbers + one target", "72.5 MiB", 40.0)
STARTUP_01 = "0.30 s"  # `check`, `send-due`, `run` start-up on the example, 0.1
SLEEP_CALLS = {"select", "pselect6", "poll", "ppoll", "epoll_wait", "epoll_pwait", "epoll_pwait2"}
SLEEP_CALLS |= {"nanosleep", "clock_nanosleep"}
WAIT_CALLS = SLEEP_CALLS | {"futex", "wait4", "waitid"}


class NotifySocket:
    """Stands in for systemd: a datagram socket that timestamps every message the daemon sends."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="ski")  # short: AF_UNIX paths are limited
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, list[str]]] = []
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while self.running:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            with self.lock:
                self.messages.append((time.monotonic(), data.decode().split("\n")))

    def between(self, start: float, end: float) -> list[tuple[float, list[str]]]:
        with self.lock:
            return [(t, f) for t, f in self.messages if start <= t < end]

    def wait_for(self, field: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if any(field in f for _, f in self.messages):
                    return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()
        os.unlink(self.path)
        os.rmdir(self.dir)


def make_config(folder: Path, port: int) -> Path:
    """Five numbers whose nearest reminder is months away, and one json:// target."""
    today = datetime.now(UTC).date()
    parts = [
        f'[settings]\ntimezone = "UTC"\nremind_at = "09:00"\nremind = ["14d", "1d"]\n'
        f'send_timeout = 5\nstate = "{folder / "state.db"}"\n\n'
        f'[[notify]]\nname = "hook"\nurl = "json://127.0.0.1:{port}/x"\n'
    ]
    for i in range(5):
        due = today + timedelta(days=150 + 20 * i)
        parts.append(
            f'[[numbers]]\nname = "line {i}"\nnumber = "+44 7400 {i:06d}"\n'
            f'carrier = "Carrier {i}"\ncycle = "yearly"\ndue = {due.isoformat()}\n'
        )
    path = folder / "config.toml"
    path.write_text("\n".join(parts))
    path.chmod(0o600)
    return path


def free_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_fields(pid: int | str, task: str | None = None) -> dict[str, str]:
    path = f"/proc/{pid}/status" if task is None else f"/proc/{pid}/task/{task}/status"
    out = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def tasks(pid: int) -> dict[str, tuple[int, int]]:
    """Voluntary and involuntary context switches of every thread, by thread id."""
    found = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            s = status_fields(pid, tid)
        except OSError:  # the thread ended between listdir and open
            continue
        found[tid] = (int(s["voluntary_ctxt_switches"]), int(s["nonvoluntary_ctxt_switches"]))
    return found


def cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (all threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def mib(value: str) -> float:
    return int(value.split()[0]) / 1024


def wake_groups(messages: list[tuple[float, list[str]]]) -> list[list[str]]:
    """Datagrams grouped into the daemon wake-ups that sent them."""
    groups: list[list[str]] = []
    last = None
    for t, fields in messages:
        if last is None or t - last > SAME_WAKE:
            groups.append([])
        groups[-1].extend(fields)
        last = t
    return groups


def filesystem(path: Path) -> str:
    best, kind = "", "?"
    with open("/proc/self/mounts") as f:
        for line in f:
            parts = line.split()
            mount = parts[1]
            inside = str(path) == mount or str(path).startswith(mount.rstrip("/") + "/")
            if inside and len(mount) >= len(best):
                best, kind = mount, parts[2]
    return kind


def strace_window(pid: int, seconds: float, out: Path) -> tuple[str, dict[str, int]] | None:
    """``strace -f -c -p PID`` for ``seconds``; the summary text and calls per syscall."""
    strace = shutil.which("strace")
    if not strace:
        return None
    proc = subprocess.Popen(
        [strace, "-f", "-c", "-o", str(out), "-p", str(pid)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(seconds)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    if not out.exists() or proc.returncode not in (0, -signal.SIGINT, 130):
        return f"strace failed ({proc.returncode}): {err.strip()[-300:]}", {}
    text = out.read_text()
    calls = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[-1].isidentifier() and parts[3].isdigit():
            calls[parts[-1]] = int(parts[3])
    return text.rstrip(), calls


def verdict(ok: bool) -> str:
    return "PASS" if ok else "OVER"


# -- issue 14: idle memory and start-up --------------------------------------------------------


class Receiver:
    """A local HTTP receiver answering 200 to everything (the json:// target)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def make_big_config(folder: Path, count: int, port: int) -> Path:
    """``count`` numbers on monthly, yearly, rolling and quarterly plans; one json:// target."""
    plans = [
        'cycle = "monthly"\ndue = 2026-12-{day:02d}',
        'cycle = "yearly"\ndue = 2027-0{month}-{day:02d}',
        'cycle = "every 180 days"\nrolling = true\nlast_renewed = 2026-0{month}-{day:02d}',
        'cycle = "every 3 months"\ndue = 2026-11-{day:02d}\nremind = ["7d", "1d"]',
    ]
    parts = [
        f'[settings]\ntimezone = "Europe/London"\nstate = "{folder / "big.db"}"\n\n'
        f'[[notify]]\nname = "hook"\nurl = "json://127.0.0.1:{port}/x"\n'
    ]
    for i in range(count):
        plan = plans[i % len(plans)].format(day=i % 28 + 1, month=i % 9 + 1)
        parts.append(
            f'[[numbers]]\nname = "line {i}"\nnumber = "+44 74{i // 1000000:02d} {i % 1000000:06d}"'
            f'\ncarrier = "Carrier {i % 7}"\n{plan}\n'
        )
    path = folder / "big.toml"
    path.write_text("\n".join(parts))
    path.chmod(0o600)
    return path


def bench_env(tmp: str, notify: NotifySocket | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "HOME": tmp,
        "XDG_CONFIG_HOME": f"{tmp}/.config",
        "XDG_STATE_HOME": f"{tmp}/.state",
        "STATE_DIRECTORY": tmp,
        "NO_COLOR": "1",
    }
    for key in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM"):
        env.pop(key, None)
    if notify:
        env["NOTIFY_SOCKET"] = notify.path
    return env


def idle_rss(config: Path, tmp: str, settle: float = 2.0) -> tuple[float, float, float]:
    """VmRSS and VmHWM (MiB) of ``simkeeper run`` once its first pass has ended, and the
    seconds from start to READY=1."""
    notify = NotifySocket()
    started = time.monotonic()
    daemon = subprocess.Popen(
        [str(SIMKEEPER), "--config", str(config), "run"],
        env=bench_env(tmp, notify),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp,
    )
    try:
        if not notify.wait_for("READY=1", 300):
            raise SystemExit(f"no READY=1: {daemon.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        ready = time.monotonic() - started
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # the pass's own status: a datagram of STATUS alone
            with notify.lock:
                if any(len(f) == 1 and f[0].startswith("STATUS=") for _, f in notify.messages):
                    break
            time.sleep(0.05)
        time.sleep(settle)
        status = status_fields(daemon.pid)
        return mib(status["VmRSS"]), mib(status["VmHWM"]), ready
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        notify.close()


def timed(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    """Median wall and CPU (user + system) seconds of a whole command, after one unmeasured
    run. CPU time is the steadier figure on a shared machine."""
    walls, cpus = [], []
    for i in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        took = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if i:
            walls.append(took)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


ALL_PLUGINS = (
    "import apprise; from apprise.manager_plugins import NotificationManager;"
    "NotificationManager().load_modules(); apprise.Apprise.instantiate('json://127.0.0.1/x')"
)
CONFIG_PLUGINS = (
    "from simkeeper.send.notifier import url_problem; url_problem('json://127.0.0.1/x')"
)


def issue14_figures(runs: int, count: int) -> None:
    """Idle memory and start-up, beside 0.1 and the goals."""
    with tempfile.TemporaryDirectory() as tmp:
        env = bench_env(tmp)
        example = [str(SIMKEEPER), "--config", str(EXAMPLE)]
        check = timed([*example, "check"], env, runs)
        send_due = timed([*example, "-q", "send-due"], env, runs)
        bare = timed([sys.executable, "-c", "import apprise"], env, runs)
        every = timed([sys.executable, "-c", ALL_PLUGINS], env, runs)
        used = timed([sys.executable, "-c", CONFIG_PLUGINS], env, runs)
        readies = []
        rss_example = hwm_example = 0.0
        for _ in range(runs):
            rss_example, hwm_example, ready = idle_rss(EXAMPLE, tmp)
            readies.append(ready)
        receiver = Receiver()
        try:
            big = make_big_config(Path(tmp), count, receiver.port)
            rss_big, hwm_big, ready_big = idle_rss(big, tmp)
        finally:
            receiver.close()
    print(f"issue 14, part 4 (medians of {runs} runs; memory read from /proc after the first pass)")
    print(f"{'figure':<52} {'0.1':>9} {'now':>10} {'goal':>11}")
    for (name, before, goal), value, peak in (
        (RSS_EXAMPLE, rss_example, hwm_example),
        ((RSS_10K[0].replace("10k", f"{count:,}"), *RSS_10K[1:]), rss_big, hwm_big),
    ):
        print(
            f"{name:<52} {before:>9} {value:>6.1f} MiB {'<= ' + format(goal, 'g') + ' MiB':>11}"
            f"  {verdict(value <= goal)} (peak {peak:.1f} MiB)"
        )
    print(f"{'start-up (whole commands)':<52} {'0.1':>9} {'wall':>10} {'CPU':>9}")
    for name, before, (took, cpu) in (
        ("`check` on the example", STARTUP_01, check),
        ("`send-due` on the example", STARTUP_01, send_due),
        ("bare `python -c 'import apprise'`", "0.094 s", bare),
        ("Apprise: every plugin loaded, one json:// URL", "", every),
        ("Apprise: the config's plugins only (simkeeper)", "", used),
    ):
        print(f"{name:<52} {before:>9} {took:>8.3f} s {cpu:>7.3f} s")
    print(
        f"{'`run` on the example, start to READY=1':<52} {STARTUP_01:>9} "
        f"{statistics.median(readies):>8.3f} s"
    )
    print(f"`run` on {count} numbers, start to READY=1: {ready_big:.2f} s")
    print("goal: start-up loads only the Apprise schemes the config uses")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="idle window (180)")
    parser.add_argument("--quick", action="store_true", help="a 60 s window")
    parser.add_argument(
        "--watchdog", type=float, default=30.0, help="WATCHDOG_USEC in s (30; 0 = unset)"
    )
    parser.add_argument(
        "--strace-seconds", type=float, help="strace window after the idle window (60; 0 = off)"
    )
    parser.add_argument(
        "--figures-only", action="store_true", help="only issue 14's memory and start-up figures"
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per start-up figure (5)")
    parser.add_argument("--numbers", type=int, default=10_000, help="the big config (10000)")
    opts = parser.parse_args()
    if opts.figures_only:
        issue14_figures(opts.runs, opts.numbers)
        return
    seconds = 60.0 if opts.quick else opts.seconds
    strace_seconds = opts.strace_seconds
    if strace_seconds is None:
        strace_seconds = min(60.0, seconds)
    notify = NotifySocket()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = make_config(folder, free_port())
        env = {
            **os.environ,
            "HOME": tmp,
            "XDG_CONFIG_HOME": f"{tmp}/.config",
            "XDG_STATE_HOME": f"{tmp}/.state",
            "STATE_DIRECTORY": tmp,
            "NOTIFY_SOCKET": notify.path,
            "WATCHDOG_USEC": str(int(opts.watchdog * 1_000_000)),
            "NO_COLOR": "1",
        }
        if opts.watchdog <= 0:
            del env["WATCHDOG_USEC"]
        env.pop("WATCHDOG_PID", None)
        env.pop("JOURNAL_STREAM", None)
        log_path = folder / "daemon.log"
        with open(log_path, "w") as log:
            started = time.monotonic()
            daemon = subprocess.Popen(
                [str(SIMKEEPER), "--config", str(config), "run"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
                cwd=tmp,
            )
            try:
                if not notify.wait_for("READY=1", 60):
                    raise SystemExit(f"no READY=1 within 60 s:\n{log_path.read_text()[-2000:]}")
                ready_after = time.monotonic() - started
                time.sleep(2)  # let the first send pass finish
                pid = daemon.pid
                before_tasks = tasks(pid)
                before_cpu = cpu_seconds(pid)
                begin = time.monotonic()
                time.sleep(seconds)
                end = time.monotonic()
                after_tasks = tasks(pid)
                after_cpu = cpu_seconds(pid)
                status = status_fields(pid)
                if daemon.poll() is not None:
                    raise SystemExit(f"the daemon exited ({daemon.returncode}) while idle")
                messages = notify.between(begin, end)
                traced = None
                if strace_seconds > 0:
                    traced = strace_window(pid, strace_seconds, folder / "strace.txt")
                stop_at = time.monotonic()
                daemon.send_signal(signal.SIGTERM)
                try:
                    code = daemon.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    daemon.kill()
                    code = daemon.wait()
                exit_after = time.monotonic() - stop_at
            finally:
                if daemon.poll() is None:
                    daemon.kill()
                    daemon.wait()
        stopping = notify.wait_for("STOPPING=1", 1)
        notify.close()
        log_text = log_path.read_text()
        fs = filesystem(folder)

    minutes = (end - begin) / 60
    rows = []
    for tid in sorted(set(before_tasks) | set(after_tasks), key=int):
        v0, n0 = before_tasks.get(tid, (0, 0))
        v1, n1 = after_tasks.get(tid, (v0, n0))
        life = "" if tid in before_tasks and tid in after_tasks else " (started/ended in window)"
        name = "main" if tid == str(pid) else "thread"
        rows.append((tid, name + life, v1 - v0, n1 - n0))
    voluntary = sum(r[2] for r in rows)
    involuntary = sum(r[3] for r in rows)
    groups = wake_groups(messages)
    pings = sum(f.count("WATCHDOG=1") for f in (m[1] for m in messages))
    ping_only = sum(1 for g in groups if g and all(f == "WATCHDOG=1" for f in g))
    passes = sum(1 for g in groups if any(f.startswith("STATUS=") for f in g))
    besides = max(0, voluntary - ping_only)
    per_min = besides / minutes
    rss, hwm = mib(status["VmRSS"]), mib(status["VmHWM"])
    wd = f"{opts.watchdog:g} s" if opts.watchdog > 0 else "unset"

    print(
        f"simkeeper run, idle for {end - begin:.0f} s ({minutes:.2f} min) after READY=1 "
        f"(READY came {ready_after:.2f} s after start); WATCHDOG_USEC = {wd}; "
        f"state on {fs}"
    )
    print(f"threads at the end of the window: {len(after_tasks)}")
    print(f"{'thread id':>10}  {'':<34} {'vol':>6} {'invol':>6} {'vol/min':>8} {'invol/min':>9}")
    for tid, name, v, n in rows:
        print(f"{tid:>10}  {name:<34} {v:>6} {n:>6} {v / minutes:>8.2f} {n / minutes:>9.2f}")
    print(
        f"{'all':>10}  {'':<34} {voluntary:>6} {involuntary:>6} {voluntary / minutes:>8.2f}"
        f" {involuntary / minutes:>9.2f}"
    )
    print(
        f"context switches (voluntary + involuntary, all threads): {voluntary + involuntary} = "
        f"{(voluntary + involuntary) / minutes:.2f}/min"
    )
    print(
        f"sd_notify in the window: {len(messages)} datagrams, {pings} WATCHDOG=1 "
        f"({pings / minutes:.2f}/min), sent from {len(groups)} wake-ups: {ping_only} sent only "
        f"WATCHDOG=1, {passes} ran a send pass (STATUS=)"
    )
    print(
        "wake-ups = voluntary context switches of all threads (each wake-up ends with one block);"
        " minus the wake-ups that only sent WATCHDOG=1 (datagrams < "
        f"{SAME_WAKE} s apart = one wake-up): {voluntary} - {ping_only} = {besides}"
    )
    print(
        f"wake-ups per minute besides watchdog pings: {per_min:.2f}   "
        f"target <= {WAKE_TARGET:g}/min   {verdict(per_min <= WAKE_TARGET + 0.05)}"
    )
    print(f"watchdog pings per minute (reported apart): {pings / minutes:.2f}")
    cpu = after_cpu - before_cpu
    print(
        f"CPU seconds (utime + stime, all threads) in the window: {cpu:.2f} s "
        f"({cpu / minutes:.3f} s/min, {100 * cpu / (end - begin):.3f} % of one core; "
        f"/proc counts in ticks of {1 / TICK:g} s)"
    )
    print(
        f"VmRSS {rss:.1f} MiB, VmHWM {hwm:.1f} MiB   target < {RSS_TARGET:g} MiB resident   "
        f"{verdict(rss < RSS_TARGET)} (peak {verdict(hwm < RSS_TARGET)})"
    )
    if strace_seconds <= 0:
        print("strace: skipped (--strace-seconds 0)")
    elif traced is None:
        print("strace: skipped (not installed)")
    else:
        text, calls = traced
        sleeps = sum(n for name, n in calls.items() if name in SLEEP_CALLS)
        waits = sum(n for name, n in calls.items() if name in WAIT_CALLS)
        per = strace_seconds / 60
        print(f"strace -f -c -p {pid} for a further {strace_seconds:.0f} s:")
        print("\n".join("    " + line for line in text.splitlines()))
        print(
            f"sleep calls (select/poll/nanosleep...): {sleeps} = {sleeps / per:.2f}/min; "
            f"all wait/sleep calls (also futex, wait4): {waits} = {waits / per:.2f}/min"
        )
    print(
        f"SIGTERM: exit code {code} after {exit_after:.2f} s; STOPPING=1 "
        f"{'received' if stopping else 'NOT received'}"
    )
    problems = [line for line in log_text.splitlines() if "ERROR" in line or "Traceback" in line]
    if problems:
        print("daemon log errors:\n" + "\n".join(problems[-10:]))
    print()
    issue14_figures(opts.runs, opts.numbers)


if __name__ == "__main__":
    main()
