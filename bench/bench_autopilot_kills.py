"""Kill -9 at every step of an autopilot attempt, many times over: the figures of issue 21.

Each round is a fresh state database, one giffgaff-style number whose keep-alive text is due,
a real gateway peer (SMS Gateway for Android's API on 127.0.0.1, or python-dbusmock's
ModemManager on a private dbus-daemon bus) and real ``simkeeper send-due`` processes: one is
killed with SIGKILL at a step of the attempt (before the call, during it, after the gateway
accepted it, during confirmation, after the proof), then passes run until the attempt settles.
Printed: kills, attempts, sends, double sends, lost sends, renewals recorded without proof, and
how the attempts ended.

    python bench/bench_autopilot_kills.py [--rounds 10] [--kinds android,modemmanager]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from autopilot_kills import (
    ANDROID_STEPS,
    MODEM_STEPS,
    Figures,
    android_round,
    modem_round,
)
from gateway_peers import dbus_available


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="rounds per step and kind")
    parser.add_argument("--kinds", default="android,modemmanager")
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMKEEPER_")}
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        env.update(HOME=tmp, XDG_CACHE_HOME=f"{tmp}/cache", TZ="Pacific/Chatham")
        for kind in kinds:
            if kind == "modemmanager" and dbus_available():
                print(f"modemmanager: skipped ({dbus_available()})")
                continue
            steps, one_round = (
                (ANDROID_STEPS, android_round) if kind == "android" else (MODEM_STEPS, modem_round)
            )
            total = Figures()
            for step in steps:
                per_step = Figures()
                for i in range(args.rounds):
                    per_step.add(one_round(Path(tmp) / kind / step / str(i), env, step))
                total.add(per_step)
                print(
                    f"{kind:13} {step:12} kills {per_step.kills:3}  sends {per_step.sends:3}  "
                    f"double {per_step.double_sends}  lost {per_step.lost_sends}  "
                    f"renewals without proof {per_step.unproved_renewals}  {per_step.outcomes}"
                )
            print(
                f"{kind}: {total.kills} kills, {total.attempts} attempts, {total.sends} sends, "
                f"{total.double_sends} double sends, {total.lost_sends} lost sends, "
                f"{total.unproved_renewals} renewals without proof; outcomes {total.outcomes}"
            )
    print(f"{time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
