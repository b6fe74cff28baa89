"""A full disk tells the truth and never makes simkeeper resend (issue 10, item 3).

The state database lives on a tiny tmpfs this test mounts (it needs root, as CI has). Forty
numbers come due at once for two json targets; the first receiver to get its message fills the
filesystem to the last byte before answering, so the disk is full between the send and the
record of its outcome. The outcome must still be recorded (in the room of the reserve file),
the command must say "disk full" with the path and free space and exit 3, and once space is
back nothing is sent again. The daemon, on a full disk, tells the targets once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import SIMKEEPER, query, run, write_config
from receivers import HTTPReceiver, wait_for

NUMBERS = 40
NOW = "2027-02-15T09:30"  # 14 days before every deadline


def fill(folder: Path) -> Path:
    """Write a file in ``folder`` until the filesystem has no byte left."""
    filler = folder / "filler"
    with open(filler, "ab", buffering=0) as f:
        for size in (1 << 16, 4096, 512, 1):
            try:
                while True:
                    f.write(b"x" * size)
            except OSError:
                continue
    return filler


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB tmpfs mounted for this test only."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tiny tmpfs needs root (CI runs the tests as root)")
    where = tmp_path / "fs"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"root, but cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def make_config(tmp_path: Path, fs: Path, ports: list[int]) -> Path:
    targets = "".join(
        f'\n[[notify]]\nname = "hook{k}"\nurl = "json://127.0.0.1:{port}/hook{k}"\n'
        for k, port in enumerate(ports)
    )
    numbers = "".join(
        f'\n[[numbers]]\nname = "sim-{i:02d}"\nnumber = "+1 206 555 {100 + i:04d}"\n'
        f'cycle = "yearly"\ndue = 2027-03-01\n'
        for i in range(NUMBERS)
    )
    return write_config(
        tmp_path / "config.toml",
        f"""
[settings]
timezone = "UTC"
remind = ["14d"]
send_timeout = 10
state = "{fs / "state.db"}"
{targets}{numbers}""",
    )


def test_disk_full_between_send_and_record_resends_nothing(tmp_path, env, tiny_fs):
    hooks = [HTTPReceiver().start() for _ in range(2)]
    filled: list[Path] = []

    lock = threading.Lock()

    def fill_then_reply(request, status, original):
        with lock:  # one filler: the other request waits until the disk is full
            if not filled:
                filled.append(fill(tiny_fs))
        return original(request, status)

    for hook in hooks:
        hook.reply = lambda r, s, o=hook.reply: fill_then_reply(r, s, original=o)
    try:
        config = make_config(tmp_path, tiny_fs, [h.port for h in hooks])
        db = tiny_fs / "state.db"

        full = run(["--config", str(config), "-q", "send-due", "--now", NOW], env)
        assert filled, "the receivers never filled the disk"
        assert full.returncode == 3, (full.returncode, full.stdout, full.stderr)
        lines = full.stderr.strip().splitlines()
        assert len(lines) == 1, full.stderr
        assert f"the disk holding {db} is full" in lines[0] and " free" in lines[0]
        assert "move it aside" not in full.stderr and "internal error" not in full.stderr
        sent = sum(len(h.requests) for h in hooks)
        recorded = query(db, "SELECT COUNT(*) FROM deliveries WHERE state = 'sent'")[0][0]
        states = query(db, "SELECT state, target, COUNT(*) FROM deliveries GROUP BY 1, 2")
        assert sent == 2 and recorded == 2 * NUMBERS, (sent, recorded, states, full.stderr)

        # Filled to the last byte: send-due sends nothing (no room for the reserve it gave up)
        # and status works or says so in one line; neither says to move the database aside.
        more = fill(tiny_fs)
        again = run(["--config", str(config), "send-due", "--now", NOW], env)
        assert again.returncode == 3, (again.stdout, again.stderr)
        assert f"the disk holding {db} is full (0 bytes free)" in again.stderr
        status = run(["--config", str(config), "status", "--now", NOW], env)
        assert status.returncode == 1, (status.stdout, status.stderr)  # it needs attention
        first = status.stdout.split("needs attention:\n", 1)[1].splitlines()[0]
        assert f"the disk holding {db} is full (0 bytes free)" in first, status.stdout
        assert "move it aside" not in status.stderr
        more.unlink()
        assert sum(len(h.requests) for h in hooks) == 2

        # Space comes back: nothing is sent again.
        later = run(["--config", str(config), "send-due", "--now", NOW], env)
        assert later.returncode == 0, later.stderr
        assert later.stdout.strip() == "nothing to send"
        resent = sum(len(h.requests) for h in hooks) - sent
        assert resent == 0
        assert (tiny_fs / "state.db-reserve").stat().st_size >= 1 << 20
        print(f"full disk: {sent} messages sent, {recorded} deliveries recorded, {resent} resent")
    finally:
        for h in hooks:
            h.stop()


def pass_errors(log: Path) -> int:
    """How many passes logged that the disk is full."""
    return log.read_text().count("ERROR the disk holding")


def test_the_daemon_tells_the_targets_once_that_the_disk_is_full(tmp_path, env, tiny_fs):
    today = datetime.now(UTC).date()  # the daemon runs on the real clock
    due_today = (
        f'\n[[numbers]]\nname = "today"\nnumber = "+44 7911 123456"\ndue = {today}\n'
        'remind = ["0d"]\n'
    )
    with HTTPReceiver() as hook:
        config = write_config(
            tmp_path / "config.toml",
            f"""
[settings]
timezone = "UTC"
remind_at = "00:00"
state = "{tiny_fs / "state.db"}"

[[notify]]
name = "hook"
url = "json://127.0.0.1:{hook.port}/hook"
""",
        )
        log = tmp_path / "daemon.log"
        with open(log, "w") as err:
            proc = subprocess.Popen(
                [SIMKEEPER, "--config", str(config), "run"], env=env, stderr=err
            )
        try:
            assert wait_for(lambda: "simkeeper started" in log.read_text(), 20), log.read_text()
            assert wait_for(lambda: (tiny_fs / "state.db-reserve").exists(), 20)
            filler = fill(tiny_fs)
            # A number comes due while the disk is full: it cannot even be recorded.
            config.write_text(config.read_text() + due_today)
            # A pass logs "ERROR the disk holding ..." (a reload that cannot record the changed
            # config logs "reload failed: ..." besides: not counted). The loop runs one job at a
            # time, so once the second pass has logged, the first one's alert is out.
            for passes in (1, 2):  # SIGHUP reloads and runs a pass
                proc.send_signal(signal.SIGHUP)
                assert wait_for(lambda n=passes: pass_errors(log) >= n, 20), log.read_text()
            assert len(hook.requests) == 1, (hook.messages, log.read_text())
            assert "is full" in hook.messages[0] and str(tiny_fs) in hook.messages[0]
            # Space comes back: the reminder goes out on the next pass.
            filler.unlink()
            proc.send_signal(signal.SIGHUP)
            assert wait_for(lambda: len(hook.requests) == 2, 20), log.read_text()
            assert "today" in hook.messages[1] and "due today" in hook.messages[1]
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0
        assert "Traceback" not in log.read_text()


def test_status_on_a_full_disk_shows_all_it_reads_the_full_disk_first(
    tmp_path: Path, env: dict[str, str], tiny_fs: Path
) -> None:
    # It only reads: on a full disk it shows the last pass, the deliveries, the targets and
    # what is due, with the full disk as its first attention line (it used to exit 3 saying
    # only that the disk was full).
    config = write_config(
        tmp_path / "config.toml",
        f"""
[settings]
timezone = "UTC"
remind = ["14d"]
state = "{tiny_fs / "state.db"}"

[[notify]]
name = "screen"
url = "console://"

[[numbers]]
name = "kept"
number = "+1 206 555 0100"
cycle = "monthly"
due = 2027-03-01
""",
    )
    db = tiny_fs / "state.db"
    assert run(["--config", str(config), "send-due", "--now", NOW], env).returncode == 0
    original = config.read_text()
    filler = fill(tiny_fs)
    try:
        for language, heading in (("en", "needs attention:"), ("zh-CN", "需要处理：")):
            text = original.replace("[settings]\n", f'[settings]\nlanguage = "{language}"\n')
            config.write_text(text)
            status = run(["--config", str(config), "status", "--now", NOW], env)
            assert status.returncode == 1, (status.stdout, status.stderr)
            assert status.stderr == ""
            out = status.stdout
            assert "send-due" in out and "screen" in out and "kept" in out, out
            assert "2027-04-01" in out, out  # the next reminder, worked out from the ledger
            attention = out.split(heading + "\n", 1)[1].splitlines()
            assert str(db) in attention[0] and "0 bytes" in attention[0], out
        as_json = run(["--config", str(config), "status", "--now", NOW, "--format", "json"], env)
        assert as_json.returncode == 1 and f"the disk holding {db} is full" in as_json.stdout
    finally:
        filler.unlink()
