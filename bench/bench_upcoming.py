"""How fast ``simkeeper upcoming`` and ``check`` are on big configs, and how much memory they use.

Generates configs of 1,000, 10,000 and 100,000 numbers (monthly, yearly and rolling plans),
runs each command as a subprocess, and prints wall time and peak resident memory. Target:
10,000 numbers in under 1 s on one core. Also confirms neither command imports Apprise.

    python bench/bench_upcoming.py [--sizes 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = Path(sys.executable).parent / "simkeeper"
PLANS = [
    'cycle = "monthly"\ndue = 2026-12-{day:02d}',
    'cycle = "yearly"\ndue = 2027-0{month}-{day:02d}',
    'cycle = "every 180 days"\nrolling = true\nlast_renewed = 2026-0{month}-{day:02d}',
    'cycle = "every 3 months"\ndue = 2026-11-{day:02d}\nremind = ["7d", "1d"]',
]


def make_config(path: Path, count: int) -> None:
    parts = [
        '[settings]\ntimezone = "Europe/London"\n\n[[notify]]\nname = "c"\nurl = "console://"\n'
    ]
    for i in range(count):
        plan = PLANS[i % len(PLANS)].format(day=i % 28 + 1, month=i % 9 + 1)
        # UK mobile numbers: +44 7400 000000 onwards are valid and unique.
        parts.append(
            f'[[numbers]]\nname = "line {i}"\nnumber = "+44 74{i // 1000000:02d} {i % 1000000:06d}"'
            f'\ncarrier = "Carrier {i % 7}"\n{plan}\n'
        )
    path.write_text("\n".join(parts))


def timed(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one run in a fresh child."""
    code = (
        "import resource, subprocess, sys, time;"
        "t = time.perf_counter();"
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE);"
        "w = time.perf_counter() - t;"
        "m = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024;"
        "sys.stderr.write(r.stderr.decode()[-500:]) if r.returncode else None;"
        "print(w, m, r.returncode)"
    )
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    wall, mem, rc = out.stdout.split()
    if rc != "0":
        raise SystemExit(f"{args} failed: {out.stderr}")
    return float(wall), float(mem)


def imports_apprise(config: Path, command: list[str]) -> bool:
    code = (
        "import sys; from simkeeper.cli import cli\n"
        "try:\n    cli.main(sys.argv[1:], prog_name='simkeeper')\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(str('apprise' in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, "--config", str(config), *command],
        capture_output=True,
        text=True,
    )
    return out.stderr.strip().endswith("True")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    resource.setrlimit(resource.RLIMIT_CPU, (600, 600))
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["STATE_DIRECTORY"] = tmp
        print(f"{'numbers':>8}  {'command':<22}  {'wall s':>7}  {'peak MiB':>8}")
        for size in sizes:
            config = Path(tmp) / f"c{size}.toml"
            make_config(config, size)
            for command in (
                ["check"],
                ["upcoming", "--now", "2026-12-01T09:00", "--format", "json"],
            ):
                wall, mem = timed([str(BIN), "--config", str(config), *command])
                print(f"{size:>8}  {command[0]:<22}  {wall:7.2f}  {mem:8.1f}")
        small = Path(tmp) / f"c{sizes[0]}.toml"
        no_targets = Path(tmp) / "plain.toml"
        no_targets.write_text(
            small.read_text().replace('[[notify]]\nname = "c"\nurl = "console://"\n', "")
        )
        upcoming_imports = imports_apprise(small, ["upcoming", "--now", "2026-12-01"])
        print(f"upcoming imports apprise: {upcoming_imports}")
        print(f"check (no [[notify]]) imports apprise: {imports_apprise(no_targets, ['check'])}")
        print("target: 10,000 numbers under 1 s on one core")


if __name__ == "__main__":
    main()
