"""The first run (issue 19): seconds from `make run` to the first reminder it prints.

Runs the real `make run` of this checkout (the venv this script runs in; ``-o`` so make never
rebuilds it) with the demo in a temporary folder, on the real clock, and reads its output until
the console:// target prints ``--- simkeeper reminder:``. Prints the seconds to that line (and to
the daemon's start), then stops the daemon. Goal: at most 10 s on any date.

    python bench/bench_first_run.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOAL = 10.0


def one_run() -> tuple[float, float, str]:
    venv = Path(sys.executable).parent.parent
    with tempfile.TemporaryDirectory() as folder:
        started = time.monotonic()
        proc = subprocess.Popen(
            [
                "make",
                "--no-print-directory",
                "-o",
                f"{venv}/bin/simkeeper",
                "run",
                f"VENV={venv}",
                f"DEMO={folder}/demo",
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
        assert proc.stdout is not None
        daemon = reminder = None
        line = ""
        try:
            for raw in proc.stdout:
                line = raw.rstrip("\n")
                now = time.monotonic() - started
                if daemon is None and "INFO simkeeper started" in line:
                    daemon = now
                if line.startswith("--- simkeeper reminder:"):
                    reminder = now
                    break
                if now > 120:
                    break
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        if reminder is None:
            raise SystemExit("no reminder within 120 s")
        return daemon or reminder, reminder, line


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    results = [one_run() for _ in range(runs)]
    to_reminder = [r for _, r, _ in results]
    print(f"make run, first reminder line: {results[-1][2]}")
    started = statistics.median(d for d, _, _ in results)
    print(f"daemon started after (median of {runs}): {started:.2f} s")
    print(
        f"first reminder after (median of {runs}): {statistics.median(to_reminder):.2f} s"
        f" (max {max(to_reminder):.2f} s; goal <= {GOAL:.0f} s)"
    )


if __name__ == "__main__":
    main()
