"""The daemon: ``simkeeper run``, a foreground service loop for systemd (Type=notify).

The ``schedule`` library is the tick: a send pass every minute, and a watchdog ping on every
wake-up; each pass reads the wall clock afresh. ``schedule`` keeps a job's next run in wall-clock
time, so after the clock stepped back two hours it would run no pass, and so no heartbeat, for
two hours: a step of the wall clock against the monotonic one (NTP, a VM restore, a suspend) is
noticed on the next wake-up (:class:`ClockWatch`), logged once, runs a pass at once and plans
the jobs afresh from the new time. Due times themselves live in SQLite and the pure core, so
between ticks the loop sleeps until the next reminder or retry is due (at most a minute, and at
most half the watchdog interval; the sleep itself is monotonic), woken early by signals
through a self-pipe.
A pass looks only at the numbers whose time has come or whose inputs changed (a reload, the
store's change log): see :mod:`simkeeper.service.duework`; ``send-due`` keeps the full pass.
Every job is wrapped: one failure is logged, the daemon goes on. SIGHUP reloads the config (a
broken one is rejected, the old one kept); SIGTERM and SIGINT finish the delivery in flight and
exit 0. Whatever needs Apprise (a pass's deliveries, the disk-full alert, checking notify URLs)
runs in a forked worker (:mod:`simkeeper.service.worker`) that the loop waits on like a sleep, still
serving signals and the watchdog: the idle daemon never loads Apprise.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import hashlib
import logging
import os
import select
import signal
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import schedule

from simkeeper import app
from simkeeper.app import stores
from simkeeper.config import cache as configcache
from simkeeper.core.errors import ConfigError, DiskFullError, SimkeeperError
from simkeeper.core.model import Config
from simkeeper.core.redact import Redactor
from simkeeper.engine.reminders import Reminder, next_digest_at
from simkeeper.host.sdnotify import Notifier
from simkeeper.send.delivery import PassReport, PassSteps
from simkeeper.service import worker
from simkeeper.service.diskalert import DiskFullAlert
from simkeeper.service.duework import DueWork, tabled
from simkeeper.service.feed import CalendarFeed
from simkeeper.service.reloadack import Answer, answer_path, remove_answer, write_answer
from simkeeper.state.backup import state_lock
from simkeeper.state.store import Store, open_store

if TYPE_CHECKING:
    from simkeeper.state.postgres import Listener

log = logging.getLogger("simkeeper.service")
MAX_SLEEP = 60.0
PASS_EVERY = 60
STEP_TOLERANCE = 10.0  # seconds the wall clock may drift from the monotonic one per wake-up


class ClockWatch:
    """Notices the wall clock stepping against the monotonic clock between two looks."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.monotonic = monotonic
        self.last: tuple[datetime, float] | None = None

    def step(self, wall: datetime) -> float:
        """Seconds the wall clock moved beyond the monotonic clock since the last look (< 0:
        back), or 0.0 within :data:`STEP_TOLERANCE`. Each step is told once."""
        mono = self.monotonic()
        last, self.last = self.last, (wall, mono)
        if last is None:
            return 0.0
        drift = (wall - last[0]).total_seconds() - (mono - last[1])
        return drift if abs(drift) > STEP_TOLERANCE else 0.0


@contextlib.contextmanager
def quiet_gc() -> Iterator[None]:
    """Cyclic garbage collection off while a batch of long-lived objects is built (a config,
    the index of a first pass), which it would otherwise scan again and again; what exists
    then is frozen out of later collections (reference counting still frees it), and the heap
    the batch freed is handed back (:func:`trim_heap`). The cycles the batch left as garbage
    are collected first: frozen, they would stay for the daemon's life (a collection is cheap
    now that the numbers are a few columns, not a million objects)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.collect()
        gc.freeze()
        trim_heap()
        if enabled:
            gc.enable()


def trim_heap() -> None:
    """Return the free memory at the top of the C heap to the system. glibc keeps what a batch
    freed (a parsed TOML text, a first pass's work) as part of the idle daemon's resident size
    until it is asked with ``malloc_trim``; a libc without it (musl, macOS) is left alone."""
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is not None:
        trim(0)


def utc_now() -> datetime:
    """The real clock; the only place the daemon reads it."""
    return datetime.now(UTC)


class Service:
    """One daemon process: config, store, scheduler and signal handling."""

    def __init__(
        self,
        config_path: Path,
        verbosity: int = 0,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] | None = None,
    ):
        self.config_path = config_path
        self.verbosity = verbosity
        self.clock = clock
        # An injected clock (tests) is its own monotonic clock unless one is given too.
        if monotonic is None:
            monotonic = time.monotonic if clock is utc_now else lambda: clock().timestamp()
        self.sd = Notifier()
        self.config: Config | None = None
        self.store: Store | None = None
        self.started = clock()  # when the state was opened (noted with each pass, for status)
        self.listener: Listener | None = None  # PostgreSQL: hears other processes' changes
        self.redact = Redactor()
        self.next_due: datetime | None = None
        self.next_reminder: tuple[datetime, Reminder] | None = None
        self.stopping = False
        self.reload_requested = False
        self.feed = CalendarFeed()
        self.work = DueWork()  # the index: each pass looks only at the numbers due or changed
        # The daemon's pass: recorded through the index, sent from a worker process.
        self.steps = PassSteps(record=self.work.record, deliver=self.deliver, source="daemon")
        self.config_digest: bytes | None = None
        self.reloads = 0
        self.answers = answer_path(os.getpid())
        self.disk_full = DiskFullAlert()
        self._wake_r, self._wake_w = socket.socketpair()
        self.clock_watch = ClockWatch(monotonic)
        self.scheduler = schedule.Scheduler()
        self.state_lock = contextlib.ExitStack()

    # -- start and stop -----------------------------------------------------------------------

    def load(self) -> Config:
        """Load the config as ``simkeeper check`` does; Apprise checks the URLs in a worker,
        and the numbers are validated in one (see :func:`worker.validate_apart`) into the
        config cache (``$CACHE_DIRECTORY``, else the folder the commands use), from which the
        daemon takes them while the file is unchanged; a cache that cannot be written is
        skipped and the daemon validates them itself."""
        config = worker.load_checked(
            self.config_path, self.warn, self.wait_for, cache=configcache.folder()
        )
        return tabled(config)  # held as columns (from the cache they already are)

    @staticmethod
    def warn(line: str) -> None:
        """A config warning, logged."""
        log.warning("%s", line)

    def run(self) -> int:
        """Run until SIGTERM/SIGINT; return the exit status."""
        try:
            self.config_digest = file_digest(self.config_path)
            with quiet_gc():
                self.config = self.load()
            self.work.use(self.config)
            self.apply_secrets()
            path = app.state_path(self.config)
            # Held for the daemon's life: `simkeeper restore` refuses while any daemon holds it.
            self.state_lock.enter_context(state_lock(path, exclusive=False))
            self.store = open_store(stores.state_location(self.config))
            self.started = self.clock()
        except SimkeeperError as e:
            for line in e.lines():
                log.error("%s", line)
            self.state_lock.close()
            return e.exit_code
        log.info(
            "simkeeper started: %d number(s), %d target(s), state %s",
            len(self.config.numbers),
            len(self.config.targets),
            stores.state_shown(self.config),
        )
        remove_answer(self.answers)
        self.install_signals()
        # No watchdog job of its own: loop() pings on every wake-up and sleep_seconds() caps
        # the sleep at half the watchdog interval (a job of its own would drift apart from the
        # pass and cost an extra wake-up, and a second ping, each time).
        self.sd.ready("started")
        self.plan()
        with quiet_gc():  # the first pass builds the index of every number
            self.guarded(self.send_pass)()
        try:
            self.loop()
        finally:
            self.sd.stopping()
            remove_answer(self.answers)
            if self.listener:
                self.listener.close()
            if self.store:
                with contextlib.suppress(SimkeeperError, sqlite3.Error):
                    self.store.forget_daemon()  # status lists the daemons sharing the state
                self.store.close()
            self.state_lock.close()
            log.info("simkeeper stopped")
        return 0

    def install_signals(self) -> None:
        self._wake_w.setblocking(False)
        signal.set_wakeup_fd(self._wake_w.fileno(), warn_on_full_buffer=False)
        signal.signal(signal.SIGTERM, self.on_stop)
        signal.signal(signal.SIGINT, self.on_stop)
        signal.signal(signal.SIGHUP, self.on_reload)

    def on_stop(self, signum: int, frame: object) -> None:
        self.stopping = True

    def on_reload(self, signum: int, frame: object) -> None:
        self.reload_requested = True

    # -- the loop -----------------------------------------------------------------------------

    def plan(self) -> None:
        """Plan the periodic jobs from the wall clock now: a send pass every minute (the
        heartbeat, calendar, compaction and change log ride on it)."""
        self.scheduler.clear()
        self.scheduler.every(PASS_EVERY).seconds.do(self.guarded(self.send_pass))

    def loop(self) -> None:
        while not self.stopping:
            if self.reload_requested:
                self.reload_requested = False
                self.guarded(self.reload)()
            now = self.clock()
            stepped = self.clock_watch.step(now)
            if stepped:
                log.warning(
                    "the clock stepped %s by %s (NTP, a restored VM or a suspend): a send pass "
                    "now, and every minute on",
                    "forward" if stepped > 0 else "back",
                    _duration(abs(stepped)),
                )
                self.plan()  # the jobs' next runs were planned on the clock before the step
            if stepped or (self.next_due and self.next_due <= now):
                self.guarded(self.send_pass)()
            self.scheduler.run_pending()
            if self.sd.watchdog_interval:
                self.sd.watchdog()
            self.sleep(self.sleep_seconds())

    def sleep_seconds(self) -> float:
        """Until the next reminder, retry or scheduled job; never more than a minute."""
        idle = self.scheduler.idle_seconds
        wait = MAX_SLEEP if idle is None else min(MAX_SLEEP, max(0.0, idle))
        if self.sd.watchdog_interval:
            wait = min(wait, self.sd.watchdog_interval / 2)
        if self.next_due:
            wait = min(wait, max(0.0, (self.next_due - self.clock()).total_seconds()))
        return wait

    def listen(self) -> None:
        """On a PostgreSQL state, LISTEN to the change log (again, after a lost connection);
        without it the change log is still read every pass."""
        if self.listener is None and self.store is not None:
            try:
                self.listener = self.store.change_listener()
            except SimkeeperError as e:
                log.debug("not listening for changes (%s): read every pass", e)

    def heard(self) -> None:
        """Another process recorded a change: a pass now works it out (not in a minute)."""
        assert self.listener is not None
        try:
            if self.listener.heard():
                log.debug("another process recorded a change: a pass now")
                self.next_due = self.clock()
        except SimkeeperError:
            self.listener.close()
            self.listener = None  # polling until the next pass listens again

    def _listening(self) -> list[int]:
        """The listener's socket to wait on too (none when there is none, or it was lost)."""
        if self.listener is None:
            return []
        try:
            return [self.listener.fileno()]
        except SimkeeperError:
            self.listener = None  # polling until the next pass listens again
            return []

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less if a signal arrives (or, on PostgreSQL, a change)."""
        if self.stopping or self.reload_requested:
            return
        heard = self._listening()
        ready, _, _ = select.select([self._wake_r.fileno(), *heard], [], [], seconds)
        if heard and heard[0] in ready:
            self.heard()
        if self._wake_r.fileno() in ready:
            with contextlib.suppress(BlockingIOError):
                self._wake_r.recv(4096)

    def wait_for(self, child: worker.Worker) -> None:
        """Wait until a worker has answered, serving signals and the watchdog meanwhile: a
        stop request is passed on to it (it finishes what it is sending)."""
        while not child.done:
            if self.stopping:
                child.terminate()
            if child.overdue():
                child.kill()
            timeout = max(0.0, min(MAX_SLEEP, child.deadline - time.monotonic()))
            if self.sd.watchdog_interval:
                timeout = min(timeout, self.sd.watchdog_interval / 2)
            ready, _, _ = select.select([child.fd, self._wake_r.fileno()], [], [], timeout)
            if self._wake_r.fileno() in ready:
                with contextlib.suppress(BlockingIOError):
                    self._wake_r.recv(4096)
            if child.fd in ready:
                child.read()
            if self.sd.watchdog_interval:
                self.sd.watchdog()

    def deliver(
        self,
        config: Config,
        store: Store,
        now: datetime,
        redact: Redactor,
        stop: Callable[[], bool],
    ) -> PassReport:
        """The deliver step of the daemon's passes: in a worker, so Apprise never loads here."""
        return worker.deliver_apart(config, store, now, redact, stop, self.wait_for)

    def guarded(self, job: Callable[[], object]) -> Callable[[], None]:
        """Wrap a job so an error is logged and the daemon goes on."""

        def run_job() -> None:
            try:
                job()
            except Exception as e:  # the daemon must outlive any one failed job
                log.error(
                    "%s failed: %s",
                    getattr(job, "__name__", "job"),
                    self.redact(f"{type(e).__name__}: {e}"),
                    exc_info=self.verbosity > 0,
                )

        run_job.__name__ = getattr(job, "__name__", "job")
        return run_job

    # -- jobs ---------------------------------------------------------------------------------

    def send_pass(self) -> None:
        """Record and deliver what is due, then work out when to wake next."""
        assert self.config and self.store
        now = self.clock()
        try:
            # Balance checks first (a reading moves the projection this pass works from), then
            # the autopilot: a fallback reminder it records goes out in this pass.
            worker.balance_apart(self.config, self.store, now, self.redact, self.wait_for)
            worker.keepalive_apart(self.config, self.store, now, self.redact, self.wait_for)
            worker.inbound_apart(self.config, self.store, now, self.redact, self.wait_for)
            app.send_pass(
                self.config, self.store, now, self.redact, self.steps, lambda: self.stopping
            )
        except DiskFullError as e:
            log.error("%s", e)
            self.sd.status("state disk full: sending paused")
            self.next_due = None  # retry on the next minute's pass
            self.disk_full.alert(e, self.config, self.redact, self.wait_for)
            return
        except worker.WorkerDied:  # logged, its claims handed back: they go out next minute
            self.sd.status("the sending worker died: retrying on the next pass")
            self.next_due = None
            return
        self.disk_full.clear()
        self.store.note_daemon(self.started, now)  # who shares the state, for status
        self.listen()
        self.plan_next(now)
        assert self.config and self.store
        self.feed.refresh(self.config, self.store, self.work, now)
        self.work.prune_changes(self.store, now)
        self.sd.status(status_line(self.next_reminder))

    def plan_next(self, now: datetime) -> None:
        """When to wake: the next reminder of any number (from the index), retry or digest."""
        assert self.config and self.store
        candidates = [self.store.next_retry_at(now), next_digest_at(self.config.settings, now)]
        # A number that cannot be worked out is reported by the pass; the others are planned.
        reminder = self.work.next_reminder()
        nxt = (reminder.due_at, reminder) if reminder and reminder.due_at > now else None
        self.next_reminder = nxt
        if nxt:
            candidates.append(nxt[0])
        future = [c for c in candidates if c is not None]
        self.next_due = min(future) if future else None

    def reload(self) -> None:
        """Load the config again; keep the running one if the new one has problems.

        Whatever happens, systemd hears READY=1 again (a unit left ``reloading`` blocks every
        later reload) and ``simkeeper reload`` gets its answer before the pass that follows.
        """
        self.sd.reloading()
        self.reloads += 1
        answer = Answer(self.reloads, False, ("reload failed: see the daemon's log",))
        try:
            answer = self.take_new_config()
            trim_heap()  # the old config is gone only now, after the load's own trim
        finally:
            self.sd.ready(status_line(self.next_reminder))
            tell_reload(self.answers, answer)
        if answer.ok:
            self.guarded(self.send_pass)()

    def take_new_config(self) -> Answer:
        """Load and apply the config; the answer for ``simkeeper reload``."""
        try:
            raw = file_digest(self.config_path)
            with quiet_gc():
                config = self.load()
        except ConfigError as e:
            log.error("reload rejected, still running on the previous config:")
            for line in e.lines():
                log.error("%s", line)
            return Answer(self.reloads, False, tuple(e.lines()))
        if self.config and config.settings.state != self.config.settings.state:
            log.warning("settings.state changed: restart simkeeper to move the database")
        self.config = config
        unchanged = raw is not None and raw == self.config_digest == file_digest(self.config_path)
        self.work.use(config, unchanged_file=unchanged)
        self.config_digest = raw
        self.apply_secrets()
        self.feed = CalendarFeed()  # written afresh for the new config
        log.info(
            "config reloaded: %d number(s), %d target(s)", len(config.numbers), len(config.targets)
        )
        return Answer(self.reloads, True)

    def apply_secrets(self) -> None:
        assert self.config
        self.redact = app.use_secrets(self.config)


def status_line(nxt: tuple[datetime, Reminder] | None) -> str:
    """What ``systemctl status`` shows of the daemon: its next reminder."""
    if not nxt:
        return "running; no reminder scheduled"
    at, reminder = nxt
    return (
        f"next reminder {at.astimezone(UTC).strftime('%Y-%m-%d %H:%M UTC')} for "
        f"{reminder.number.name} (deadline {reminder.deadline.isoformat()})"
    )


def file_digest(path: Path) -> bytes | None:
    """The SHA-256 of the config file's bytes (None when unreadable): a reload from the same
    bytes leaves every number's index entry as it is. Only the digest is held, not the text
    (1.3 MB at 10,000 numbers)."""
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except OSError:
        return None


def tell_reload(where: Path, answer: Answer) -> None:
    """Tell a waiting ``simkeeper reload`` how it went; a failure here is only logged."""
    try:
        write_answer(where, answer)
    except OSError as e:
        log.warning("cannot write the reload answer %s: %s", where, e.strerror)


def _duration(seconds: float) -> str:
    """``7200`` as ``2 h 0 min``, ``75`` as ``1 min 15 s``: a clock step as people read it."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"
