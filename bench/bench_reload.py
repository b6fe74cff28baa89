"""What a load costs after an edit (issue 23): cold, warm, and after editing 1% of the tables.

For each size (``--sizes``, default ``10000,100000``) it writes a config of that many numbers
(the plans of ``bench_upcoming.py``), then runs ``simkeeper check`` as a fresh process, each
time with the same cache folder:

* cold: no cache entry (every number parsed and validated);
* warm: the same text again (the numbers from the cache entry);
* 1% edit: every hundredth table's due date moved (the numbers of the other tables taken from
  the entry, table by table);
* and ``simkeeper upcoming --days 30`` after one more 1% edit, the command a user runs next.

It prints the CPU seconds (user + system) of each run and its peak RSS, and the goal: after a
1% edit at 100k, at most 1.5 s CPU.

    python bench/bench_reload.py [--sizes 10000,100000]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_upcoming import make_files

ROOT = Path(__file__).resolve().parent.parent
SIMKEEPER = str(Path(sys.executable).parent / "simkeeper")
NOW = "2026-11-23T09:00"


def cpu(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """CPU seconds (user + system) and peak RSS (MiB) of one run in a fresh child."""
    code = (
        "import resource, subprocess, sys;"
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE);"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN);"
        "sys.stderr.write(r.stderr.decode()[-500:]) if r.returncode else None;"
        "print(u.ru_utime + u.ru_stime, u.ru_maxrss / 1024, r.returncode)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env
    )
    used, mem, rc = out.stdout.split()
    if rc != "0":
        raise SystemExit(f"{args} failed: {out.stderr}")
    return float(used), float(mem)


_DUE = re.compile(r"^due = (\d{4})-(\d{2})-(\d{2})$", re.M)


def edit_percent(config: Path, turn: int) -> int:
    """Move the due date of every hundredth table (offset by ``turn``); how many moved."""
    tables = config.read_text().split("[[numbers]]")
    moved = 0
    for i in range(1 + turn, len(tables), 100):
        tables[i] = _DUE.sub(
            lambda m: f"due = {m.group(1)}-{m.group(2)}-{turn % 27 + 1:02d}", tables[i]
        )
        moved += 1
    config.write_text("[[numbers]]".join(tables))
    return moved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="numbers per config")
    args = parser.parse_args()
    print(f"simkeeper {SIMKEEPER}: CPU seconds (user+system) and peak RSS of one fresh process")
    print(
        f"{'numbers':>9} | {'cold check':>17} | {'warm check':>17} | {'1% edit, check':>17} |"
        f" {'1% edit, upcoming':>17}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="simkeeper-bench-reload-") as folder:
            home = Path(folder)
            config = home / "config.toml"
            make_files(config, home / "reminders.rem", size)
            config.chmod(0o600)
            env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache")}
            check = [SIMKEEPER, "--config", str(config), "check"]
            upcoming = [
                SIMKEEPER,
                "--config",
                str(config),
                "upcoming",
                "--days",
                "30",
                "--now",
                NOW,
            ]
            cold = cpu(check, env)
            warm = cpu(check, env)
            edit_percent(config, 1)
            edited = cpu(check, env)
            edit_percent(config, 2)
            after = cpu(upcoming, env)
            cells = [f"{c:6.2f} s {m:6.0f} MiB" for c, m in (cold, warm, edited, after)]
            print(f"{size:>9} | " + " | ".join(cells))
    print("goal (issue 23): after a 1% edit at 100k, at most 1.5 s CPU")


if __name__ == "__main__":
    main()
