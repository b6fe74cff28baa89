"""Three real daemons on one PostgreSQL state, a SIGKILL and a PostgreSQL restart under them:
the figures of issue 25.

Each round runs tests/test_postgres_daemons.py's three-daemon test (a throwaway cluster,
1,000 reminders due to 20 json:// targets, one daemon killed with its worker while it holds
claims, PostgreSQL restarted, the two left take over) and prints its line: due, delivered,
duplicates (and how many deliveries the dead daemon had on the wire), kills, messages, and
the takeover time from the kill to the last delivery sent (a pass starts on the minute, so
it is up to a minute plus the restart).

    python bench/bench_postgres.py [--rounds 1]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEST = "tests/test_postgres_daemons.py::test_three_daemons_share_one_postgresql_state"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    for r in range(args.rounds):
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", TEST],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("due ")]
        if done.returncode != 0 or not lines:
            print(done.stdout[-3000:], done.stderr[-2000:], sep="\n")
            sys.exit(f"round {r + 1} failed")
        print(f"round {r + 1}: {lines[0]}")


if __name__ == "__main__":
    main()
