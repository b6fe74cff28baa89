"""A synchronous reload: ``simkeeper reload PID`` signals the daemon and waits for its answer.

systemd 252 has no ``Type=notify-reload``, and ``ExecReload=kill -HUP`` returns before the daemon
has read the new config, and returns 0 when the daemon rejects it. So the daemon writes, after
each reload, a small answer file ``reload-PID.json`` in its runtime folder (``$RUNTIME_DIRECTORY``
under systemd, which ``ExecReload=`` shares with ``ExecStart=``): a counter, whether the config
was taken, and the reasons when it was not. ``simkeeper reload`` reads the counter, sends SIGHUP,
and waits (with a timeout) until the counter moves.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Answer:
    """What the daemon said about one reload."""

    seq: int
    ok: bool
    lines: tuple[str, ...] = ()


class ReloadFailed(Exception):
    """No answer could be had: no such daemon, or none within the timeout."""


def runtime_folder(env: Mapping[str, str] | None = None) -> Path:
    """``$RUNTIME_DIRECTORY`` (systemd's ``RuntimeDirectory=``), else
    ``$XDG_RUNTIME_DIR/simkeeper``, else a folder of this user's own in the temp folder."""
    env = os.environ if env is None else env
    if env.get("RUNTIME_DIRECTORY"):
        return Path(env["RUNTIME_DIRECTORY"].split(":")[0])
    if env.get("XDG_RUNTIME_DIR"):
        return Path(env["XDG_RUNTIME_DIR"]) / "simkeeper"
    return Path(tempfile.gettempdir()) / f"simkeeper-{os.getuid()}"


def answer_path(pid: int, env: Mapping[str, str] | None = None) -> Path:
    """Where the daemon with ``pid`` writes its reload answers."""
    return runtime_folder(env) / f"reload-{pid}.json"


def write_answer(path: Path, answer: Answer) -> None:
    """Replace the answer file at once (write a temporary file, then rename it)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = json.dumps({"seq": answer.seq, "ok": answer.ok, "lines": list(answer.lines)})
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_answer(path: Path) -> Answer | None:
    """The last answer written there, or None when there is none (yet)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Answer(int(data["seq"]), bool(data["ok"]), tuple(str(x) for x in data["lines"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_answer(path: Path) -> None:
    """Forget the answers of a daemon that is starting or stopping."""
    with contextlib.suppress(OSError):
        path.unlink()


def request_reload(pid: int, timeout: float, env: Mapping[str, str] | None = None) -> Answer:
    """Send SIGHUP to ``pid`` and wait for its answer; raise :class:`ReloadFailed` when there is
    no such process or no answer within ``timeout`` seconds."""
    path = answer_path(pid, env)
    before = read_answer(path)
    seen = before.seq if before else 0
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        raise ReloadFailed(f"no process {pid}: is simkeeper running?") from None
    except PermissionError:
        raise ReloadFailed(f"not allowed to signal process {pid} (run as its user)") from None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = read_answer(path)
        if answer and answer.seq > seen:
            return answer
        if not _alive(pid):
            raise ReloadFailed(f"simkeeper (pid {pid}) exited during the reload")
        time.sleep(POLL_SECONDS)
    raise ReloadFailed(
        f"no answer from simkeeper (pid {pid}) within {timeout:g} s; looked for {path}"
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
