"""The daemon's sending worker: Apprise runs in a short-lived child process, never in the daemon.

Apprise and its table of plugins take more memory than the rest of the daemon together, and an
idle daemon sends nothing. So whatever touches Apprise (a send pass's deliveries, the disk-full
alert, checking the notify URLs of a config being loaded) runs in a child forked for that job:
the child inherits the loaded config, opens its own connection to the state database, does the
job, writes its answer (JSON) into a pipe and ends with ``os._exit``; its memory goes with it.

The outbox makes this as safe as sending in the daemon: the pass is recorded before the fork,
the child claims deliveries under its own process token and settles each outcome itself. A
child that dies (SIGKILL, a crash) leaves claims behind: the daemon notices (no answer, a bad
exit status), logs it and hands them back (``release_stale``: the child's token is dead), so
they are sent again by a later pass. SIGTERM makes the child claim nothing more and finish
what it is sending, like the daemon itself.

The daemon waits through :data:`Wait`, its own sleep/wake loop, so signals and the systemd
watchdog are served while a child works.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from simkeeper import app
from simkeeper.app import balance
from simkeeper.config import load as config_mod
from simkeeper.core.errors import ConfigError, DiskFullError
from simkeeper.core.model import Config, Target
from simkeeper.core.redact import Redactor
from simkeeper.send.delivery import PassReport, deliver
from simkeeper.state.outbox import STALE_CLAIM
from simkeeper.state.store import Store, open_store
from simkeeper.texts.templates import Message

log = logging.getLogger("simkeeper.worker")
Job = Callable[[Callable[[], bool]], dict[str, Any]]
CHUNK = 65536
# A worker still busy after this long is killed (a send hung past its timeout): its claims would
# count as stale from then on anyway, and handing them back lets a later pass send them.
TIME_LIMIT = STALE_CLAIM.total_seconds()


class WorkerDied(Exception):
    """A worker ended without its answer: killed, crashed, or out of memory."""


class Worker:
    """One forked child running a job; its answer comes back through a pipe.

    ``job`` runs in the child with a function that says whether SIGTERM (or SIGINT) arrived;
    it returns a JSON-able dict. An exception in the job comes back as ``{"error": text}``.
    """

    def __init__(self, job: Job, redact: Redactor, limit: float = TIME_LIMIT) -> None:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            _child(job, write, redact)
        os.close(write)
        self.pid = pid
        self.fd = read
        self.done = False
        self.status: int | None = None
        self.terminated = False
        self.deadline = time.monotonic() + limit
        self._data = bytearray()

    def read(self) -> None:
        """Take what the child has written; :attr:`done` once it closed the pipe."""
        chunk = os.read(self.fd, CHUNK)
        if chunk:
            self._data += chunk
        else:
            self.done = True
            os.close(self.fd)

    def terminate(self) -> None:
        """Pass a stop request on: the child claims nothing more and finishes its sends."""
        if not self.terminated:
            self.terminated = True
            with suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)

    def overdue(self) -> bool:
        """Whether the worker has run past its time limit."""
        return time.monotonic() >= self.deadline

    def kill(self) -> None:
        """End a worker that hangs: SIGKILL (its claims are handed back once it is reaped)."""
        log.error(
            "the sending worker (pid %d) is still busy after its time limit: killed", self.pid
        )
        self.deadline = math.inf  # once: its end closes the pipe and wakes the daemon
        with suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    def reap(self) -> dict[str, Any]:
        """Wait for the child to end; its answer, or :class:`WorkerDied` saying how it ended."""
        _, status = os.waitpid(self.pid, 0)
        self.status = status
        answer = None
        with suppress(ValueError):
            answer = json.loads(self._data.decode("utf-8"))
        if os.waitstatus_to_exitcode(status) != 0 or not isinstance(answer, dict):
            raise WorkerDied(f"the sending worker (pid {self.pid}) {how_it_ended(status)}")
        return answer


Wait = Callable[[Worker], None]


def how_it_ended(status: int) -> str:
    """A wait status in words: ``was killed by SIGKILL``, ``exited with status 1``."""
    if os.WIFSIGNALED(status):
        return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with status {os.waitstatus_to_exitcode(status)} without an answer"


def _child(job: Job, fd: int, redact: Redactor) -> None:
    """Run ``job`` in the child, write its answer to ``fd`` and end the process."""
    code = 1
    stop = [False]

    def on_stop(signum: int, frame: object) -> None:
        stop[0] = True

    try:
        signal.set_wakeup_fd(-1)  # the daemon's self-pipe is the daemon's
        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        try:
            answer = job(lambda: stop[0])
        except DiskFullError as e:
            answer = {"disk_full": [e.path, e.free]}
        except Exception as e:  # the daemon logs it, as it would its own failed pass
            answer = {"error": redact(f"{type(e).__name__}: {e}")}
        data = json.dumps(answer).encode("utf-8")
        with open(fd, "wb", closefd=True) as pipe:
            pipe.write(data)
        code = 0
    finally:
        with suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def run(job: Job, redact: Redactor, wait: Wait) -> dict[str, Any]:
    """Run ``job`` in a worker and return its answer; :class:`WorkerDied` if it gave none.

    A job's error comes back as the exception it was (a full disk) or as a ``RuntimeError``.
    """
    worker = Worker(job, redact)
    try:
        wait(worker)
    finally:
        while not worker.done:  # the daemon is going down: the child still finishes its job
            worker.read()
    answer = worker.reap()
    if "disk_full" in answer:
        path, free = answer["disk_full"]
        raise DiskFullError(str(path), int(free))
    if "error" in answer:
        raise RuntimeError(str(answer["error"]))
    return answer


# -- the jobs ---------------------------------------------------------------------------------


def deliver_apart(
    config: Config,
    store: Store,
    now: datetime,
    redact: Redactor,
    stop: Callable[[], bool],
    wait: Wait,
) -> PassReport:
    """The deliver step of a pass, in a worker: claim, send and settle there.

    Nothing ready to send means no worker at all. A worker that dies is logged and its claims
    handed back, then :class:`WorkerDied` is raised (the pass is recorded as an error).
    """
    store.ensure_reserve()  # no room to record an outcome: send nothing (and fork nothing)
    store.release_stale(now)
    store.expire(now)
    names = {t.name for t in config.targets}
    if stop() or not any(name in names for name in store.due_targets(now)):
        return PassReport()
    path = store.location

    def job(stopping: Callable[[], bool]) -> dict[str, Any]:
        with _own_store(path) as own:
            report = deliver(config, own, now, redact, lambda: stopping() or stop())
        return {"sent": report.sent, "failed": report.failed}

    try:
        answer = run(job, redact, wait)
    except WorkerDied as e:
        released = store.release_stale(now)
        log.error("%s; %d delivery(ies) handed back to be sent again", e, released)
        raise
    return PassReport(
        sent=[str(s) for s in answer["sent"]],
        failed=[(str(t), str(e)) for t, e in answer["failed"]],
    )


def keepalive_apart(
    config: Config, store: Store, now: datetime, redact: Redactor, wait: Wait
) -> None:
    """The autopilot's pass in a worker, so no gateway client (android-sms-gateway, jeepney)
    loads in the daemon; nothing to do (asked without them) means no worker. Each step is
    recorded by the worker before the next, so a worker that dies loses nothing: the next
    pass settles what it left open by asking the gateway."""
    if not app.autopilot_work(config, store, now):
        return
    path = store.location

    def job(stopping: Callable[[], bool]) -> dict[str, Any]:
        with _own_store(path) as own:
            results = app.keepalive_pass(config, own, now, redact)
        return {"results": [[r.name, r.state] for r in results]}

    try:
        answer = run(job, redact, wait)
    except WorkerDied as e:
        log.error("%s; the autopilot settles its open texts on the next pass", e)
        return
    for name, state in answer["results"]:
        log.info("autopilot: %s: %s", name, state)


def balance_apart(
    config: Config, store: Store, now: datetime, redact: Redactor, wait: Wait
) -> None:
    """The due balance checks by USSD in a worker, like the autopilot's pass (no gateway client
    loads in the daemon); none due means no worker. Each check is claimed before its code is
    run and its reading recorded right after, so a worker that dies costs at most that one
    check, which runs again at its next due time."""
    if not balance.balance_work(config, store, now):
        return

    def work(own: Store) -> list[tuple[str, str]]:
        return [
            (c.number.name, c.row.outcome) for c in balance.balance_pass(config, own, now, redact)
        ]

    done = _apart(
        store.location, work, redact, wait, "balance check: %s; it runs again when next due"
    )
    for name, outcome in done:
        log.info("balance check: %s: %s", name, outcome)


def inbound_apart(
    config: Config, store: Store, now: datetime, redact: Redactor, wait: Wait
) -> None:
    """Ask the gateways some number listens on for the texts they received, in a worker (no
    gateway client loads in the daemon), when their poll is due (asked without them: no
    worker otherwise). A gateway that fails is recorded and asked again; a worker that dies
    is logged, and the texts it did not keep are asked for again next time."""
    from simkeeper.app import inbound

    if not inbound.poll_due(config, store, now):
        return

    def work(own: Store) -> list[tuple[str, str]]:
        return [(t.name or "", t.outcome) for t in inbound.poll(config, own, now, redact)]

    taken = _apart(
        store.location,
        work,
        redact,
        wait,
        "inbound: the poll failed (%s); it is asked again next time",
    )
    for name, outcome in taken:
        if outcome != "duplicate":
            log.info("inbound: %s: %s", name or "a number nobody claims", outcome)


def _apart(
    path: str,
    work: Callable[[Store], list[tuple[str, str]]],
    redact: Redactor,
    wait: Wait,
    failed: str,
) -> list[tuple[str, str]]:
    """Run ``work`` on the worker's own connection to the state at ``path`` (the store's
    ``location``: its file or its PostgreSQL URL), and return the (name,
    outcome) pairs it gave; a worker that died or failed is logged with ``failed`` (its error,
    redacted, for ``%s``) and gives none."""

    def job(stopping: Callable[[], bool]) -> dict[str, Any]:
        with _own_store(path) as own:
            return {"pairs": [list(pair) for pair in work(own)]}

    try:
        answer = run(job, redact, wait)
    except (WorkerDied, RuntimeError) as e:
        log.error(failed, redact(str(e)))
        return []
    return [(str(name), str(outcome)) for name, outcome in answer["pairs"]]


class _own_store:
    """The child's own connection to the state database (the daemon's is never touched)."""

    def __init__(self, path: Path | str) -> None:
        self.path = path

    def __enter__(self) -> Store:
        store = open_store(self.path)
        assert store is not None
        self.store = store
        return store

    def __exit__(self, *exc: object) -> None:
        self.store.close()


def send_apart(
    jobs: list[tuple[Target, Message]], timeout: float, redact: Redactor, wait: Wait
) -> list[tuple[str, str | None]]:
    """Send messages outside the daemon (the disk-full alert): each target's name and error
    (None when it arrived)."""

    def job(stopping: Callable[[], bool]) -> dict[str, Any]:
        from simkeeper.send.notifier import send_all

        outcomes = send_all(jobs, timeout, redact)
        return {"outcomes": [[t.name, o.error if not o.ok else None] for t, o in outcomes]}

    answer = run(job, redact, wait)
    return [
        (str(name), None if error is None else str(error)) for name, error in answer["outcomes"]
    ]


def url_problems(urls: list[str], redact: Redactor, wait: Wait) -> dict[str, str]:
    """Check notify URLs with Apprise in a worker: why each bad one cannot be used."""
    if not urls:
        return {}

    def job(stopping: Callable[[], bool]) -> dict[str, Any]:
        from simkeeper.send.notifier import url_problem

        found = {url: url_problem(url) for url in urls}
        return {"problems": {url: why for url, why in found.items() if why}}

    answer = run(job, redact, wait)
    return {str(k): str(v) for k, v in answer["problems"].items()}


@dataclass
class _Seen:
    urls: list[str]

    def __call__(self, url: str) -> str | None:
        self.urls.append(url)
        return None


def load_checked(
    path: Path, warn: Callable[[str], None], wait: Wait, cache: Path | None = None
) -> Config:
    """Load the config as :func:`simkeeper.app.load` does, its notify URLs checked by Apprise
    in a worker. Loads a second time (with the answers) only when a URL has a problem.

    With a ``cache`` folder a worker validates the numbers first (:func:`validate_apart`), so
    the daemon takes them from the cache: it never holds phonenumbers nor what parsing left."""
    if cache is not None:
        validate_apart(path, cache, wait)
    seen = _Seen([])
    try:
        config = config_mod.load(path, url_check=seen, require_secrets=True, cache=cache)
    except ConfigError:  # say the URLs' problems too, with the others, as `check` does
        problems = url_problems(seen.urls, Redactor(), wait)
        if problems:  # raises again, with every problem
            config_mod.load(path, url_check=problems.get, require_secrets=True)
        raise
    problems = url_problems(seen.urls, Redactor(config.secrets), wait)
    if problems:
        config = config_mod.load(path, url_check=problems.get, require_secrets=True, cache=cache)
    for warning in config.warnings:
        warn(warning)
    return config


def validate_apart(path: Path, cache: Path, wait: Wait) -> None:
    """Load the config in a worker, which leaves its validated numbers in ``cache`` (when the
    config is valid and the folder writable). Parsing 10,000 numbers scatters garbage over the
    heap and imports phonenumbers; in the worker, neither stays in the daemon (issue 14). Any
    failure here only means the daemon's own load does all the work, and reports it."""

    def job(stopping: Callable[[], bool]) -> dict[str, Any]:
        with suppress(ConfigError):
            config_mod.load(path, require_secrets=True, cache=cache)
        return {}

    with suppress(RuntimeError, WorkerDied):
        run(job, Redactor(), wait)
