"""The application layer: the steps every edge (the CLI, the daemon, a later web face) takes.

Load the config and hand its warnings to the edge, set up the secret redactor, find and open the
state database (read-only or read-write), run one send pass and refresh the calendar feed,
record a renewal or a top-up or undo one, build the status report. Each function takes ``now``
from its caller: only the edges read the clock, and only they print or log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from simkeeper.app.balance import reading_metrics as readings
from simkeeper.app.stores import backup_state as backup_state
from simkeeper.app.stores import restore_state as restore_state
from simkeeper.app.stores import state_location, state_shown
from simkeeper.config import load as config_mod
from simkeeper.core.errors import Problem, UsageError
from simkeeper.core.model import EMPTY_LEDGER, Config, Ledger, Number, Target
from simkeeper.core.redact import Redactor
from simkeeper.engine.deadlines import counts, occurrence_to_mark, occurrences
from simkeeper.engine.lookup import find_number as find_number
from simkeeper.host import paths

if TYPE_CHECKING:
    from simkeeper.core.kinds import EntryKind
    from simkeeper.present.board import Board
    from simkeeper.present.probes import Health, Metric
    from simkeeper.present.report import StatusReport
    from simkeeper.send.autopilot import Planned as KeepalivePlan
    from simkeeper.send.autopilot import Result as KeepaliveResult
    from simkeeper.send.autopilot import Spend as KeepaliveSpend
    from simkeeper.send.delivery import PassReport, PassSteps
    from simkeeper.send.notifier import Outcome
    from simkeeper.send.preview import Preview
    from simkeeper.state.rows import Entry
    from simkeeper.state.store import Store
    from simkeeper.texts.i18n import Translator

Warn = Callable[[str], None]


def load(path: Path, warn: Warn, *, for_sending: bool = True, cache: Path | None = None) -> Config:
    """Load the config exactly as the daemon does, passing each warning to ``warn``.

    ``for_sending`` checks each notify URL with Apprise and requires every secret; commands that
    never send go without (their URLs are only shown redacted). ``cache``: the folder of the
    validated-config cache (:mod:`simkeeper.config.cache`), for one-shot commands.
    """
    url_check = None
    if for_sending:
        from simkeeper.send.notifier import url_problem

        url_check = url_problem
    config = config_mod.load(path, url_check=url_check, require_secrets=for_sending, cache=cache)
    from simkeeper.host.logs import set_zone

    set_zone(config.settings.timezone)  # log lines stamped as every other time is shown
    for warning in config.warnings:
        warn(warning)
    return config


def use_secrets(config: Config) -> Redactor:
    """The redactor for ``config``'s secrets, also taught to the installed log handlers (with
    the config's time zone, which their stamps use)."""
    from simkeeper.host.logs import set_redactor, set_zone

    redact = Redactor(config.secrets)
    set_redactor(redact)
    set_zone(config.settings.timezone)
    return redact


def state_path(config: Config) -> Path:
    """Where the SQLite state of ``config`` lives (or its lock: see :mod:`.stores`)."""
    return paths.default_state_path(config.settings.state)


def open_state(config: Config) -> Store:
    """The state database, opened read-write, created (or migrated) when needed."""
    from simkeeper.state.store import open_store

    store = open_store(state_location(config))
    assert store is not None  # create=True never gives None
    return store


def open_state_readonly(config: Config) -> Store | None:
    """The state database if there is one, opened read-only: reading never creates or writes
    it, so a user who may only read it can still look.

    The store (and sqlite-utils) is imported only when the file exists, so ``check`` and
    ``upcoming`` on a machine without a database stay quick.
    """
    location = state_location(config)
    if isinstance(location, Path) and not location.exists():
        return None
    from simkeeper.state.store import open_store

    return open_store(location, create=False, readonly=True)


def read_ledger(config: Config) -> Ledger:
    """The ledger from the database if there is one; reading never creates it."""
    store = open_state_readonly(config)
    if store is None:
        return EMPTY_LEDGER
    with store:
        return store.ledger()


# -- one pass -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PassDone:
    """A send pass and what became of the calendar feed after it.

    ``calendar_key`` is what the feed shows (hand it back so an unchanged feed is not
    rewritten); ``calendar_problem`` says why the feed could not be written, or is None.
    """

    report: PassReport
    calendar_key: tuple[object, ...] | None = None
    calendar_problem: str | None = None


def send_pass(
    config: Config,
    store: Store,
    now: datetime,
    redact: Redactor,
    steps: PassSteps | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> PassReport:
    """Record and deliver what is due at ``now``: one pass, by ``steps`` (the daemon's index
    and worker; by default ``send-due``'s full pass, see
    :class:`~simkeeper.send.delivery.PassSteps`)."""
    from simkeeper.send.delivery import FULL_PASS, run_pass

    return run_pass(config, store, now, redact, steps or FULL_PASS, stop)


def refresh_calendar(
    config: Config, store: Store, now: datetime, last: tuple[object, ...] | None = None
) -> tuple[tuple[object, ...] | None, str | None]:
    """Rewrite the calendar feed (unless it still shows ``last``): what it shows, and why it
    could not be written (None when it was, or when no feed is configured)."""
    from simkeeper.host.writable import explain
    from simkeeper.present.calendar import refresh_feed

    path = config.settings.calendar
    if not path:
        return last, None
    try:
        return refresh_feed(config, store.ledger(), now, last), None
    except OSError as e:
        return last, explain(path, e)


def pass_and_calendar(
    config: Config,
    store: Store,
    now: datetime,
    redact: Redactor,
    *,
    calendar_key: tuple[object, ...] | None = None,
) -> PassDone:
    """``send-due``'s pass, then the calendar feed refreshed. The autopilot's pass goes first
    (in this process: the daemon runs it in its worker), so a fallback reminder it records goes
    out in this one."""
    if autopilot_work(config, store, now):
        keepalive_pass(config, store, now, redact)
    report = send_pass(config, store, now, redact)
    key, problem = refresh_calendar(config, store, now, calendar_key)
    return PassDone(report, key, problem)


def preview_pass(config: Config, now: datetime, redact: Redactor) -> Preview:
    """Exactly what a pass at ``now`` would send, recording nothing (``send-due --dry-run``):
    see :func:`simkeeper.send.preview.preview_pass`."""
    from simkeeper.send.preview import preview_pass

    return preview_pass(config, state_path(config), now, redact)


# -- status ---------------------------------------------------------------------------------


def status(config: Config, now: datetime) -> StatusReport:
    """The status report at ``now``, read from the state database without writing it."""
    from simkeeper.present.report import build_status

    store = open_state_readonly(config)
    shown = state_shown(config) if config.settings.state_url else ""
    if store is None:
        return build_status(config, None, state_path(config), now, shown)
    with store:
        return build_status(config, store, state_path(config), now, shown)


# -- what a monitor asks (/healthz, /metrics) ---------------------------------------------


def board_status(config: Config, board: Board, now: datetime) -> StatusReport:
    """The status report at ``now`` for the numbers that can need a person (see
    :meth:`~simkeeper.present.board.Board.focus`), with ``board`` brought up to date first: what
    :func:`status` says of them, at the cost of those numbers alone."""
    from dataclasses import replace

    refresh_board(config, board, now)
    # Kept for the rest of the minute unless the change log moves: the status page, /healthz
    # and /metrics all read it, and at 100,000 numbers tens of thousands can be in their
    # reminder window at once.
    key = (board.seq, now.replace(second=0, microsecond=0))
    held = board.report
    if held is not None and held[0] == key:
        return held[1]
    report = status(replace(config, numbers=board.focus()), now)
    board.report = (key, report)
    return report


def health(
    config: Config, now: datetime, t: Translator | None = None, board: Board | None = None
) -> Health:
    """Whether reminders are getting out at ``now`` (see :mod:`simkeeper.present.probes`), its
    reasons in the language of ``t``; ``board``: the web face's, kept between requests."""
    from simkeeper.present.board import Board
    from simkeeper.present.probes import health as judge
    from simkeeper.texts.i18n import ENGLISH

    return judge(board_status(config, board or Board(config.numbers), now), now, t or ENGLISH)


def metrics(config: Config, now: datetime, board: Board | None = None) -> tuple[Metric, ...]:
    """The Prometheus figures at ``now``, read from the state database without writing it;
    ``board``: the web face's, kept between requests."""
    from simkeeper.present.board import Board
    from simkeeper.present.probes import keepalive_metrics, next_deadlines
    from simkeeper.present.probes import metrics as figures

    board = board or Board(config.numbers)
    report = board_status(config, board, now)
    deadlines = next_deadlines(board.deadlines())
    spend = keepalive_spend(config, now)
    extra = (keepalive_metrics(spend.spent, spend.by_state) if spend else ()) + readings(config)
    store = open_state_readonly(config)
    if store is None:
        return figures(config, report, deadlines, {}, now) + extra
    with store:
        return figures(config, report, deadlines, store.counts_by_target(), now) + extra


# -- what the user did ----------------------------------------------------------------------


def check_amount(value: str | None, what: str) -> Decimal | None:
    """An amount typed by the user (``10``, ``10.50``): above 0 and finite, or a UsageError."""
    from decimal import InvalidOperation

    if value is None:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise UsageError(f'{what} "{value}" is not an amount', "e.g. 10 or 10.50") from None
    if not amount.is_finite() or amount <= 0:
        raise UsageError(f"{what} must be above 0, not {value}")
    return amount


@dataclass(frozen=True)
class Recorded:
    """A renewal or top-up written to the history, and the ledger after it."""

    covers: date | None
    ledger: Ledger


def record_entry(
    store: Store,
    number: Number,
    kind: EntryKind,
    on: date,
    now: datetime,
    amount: Decimal | None = None,
    note: str = "",
    *,
    again: bool = False,
    unless_done: date | None = None,
    source: str = "",
) -> Recorded | None:
    """The one step that records what the user did (``renewed``, ``topup``, a web link, any
    later automatic source): the check and the write in one write transaction.

    A renewal is refused (UsageError) when it looks like an accident (see
    :func:`renewal_refused`); with ``unless_done``, nothing is written and None is returned when
    that deadline is already renewed. Both are judged under the write lock (BEGIN IMMEDIATE),
    so of two taps on one link, or a tap racing ``simkeeper renewed`` in another process, the
    second waits for the first and then sees it: one renewal, never two.
    """
    with store.transaction():
        if unless_done and deadline_done(number, unless_done, store.ledger_for([number.number])):
            return None
        covers = None
        if kind == "renewal":
            covers = (
                occurrence_to_mark(number, on, store.ledger()) if counts(number, amount) else None
            )
            recorded = store.entries(number.number, "renewal")
            refusal = renewal_refused(number, on, covers, recorded, again)
            if refusal:
                raise refusal
        store.add_history(
            number.number, number.name, kind, on, now, amount, number.currency, note, covers, source
        )
        return Recorded(covers, store.ledger())


def record_renewal(
    store: Store,
    number: Number,
    on: date,
    now: datetime,
    cost: Decimal | None,
    note: str = "",
    again: bool = False,
) -> Recorded:
    """Record that ``number`` was renewed on ``on`` (:func:`record_entry`); refuse
    (UsageError) what looks like an accident (see :func:`renewal_refused`)."""
    done = record_entry(store, number, "renewal", on, now, cost, note, again=again)
    assert done is not None  # None only with unless_done
    return done


# -- the web face's signed links --------------------------------------------------------------


def deadline_done(number: Number, deadline: date, ledger: Ledger) -> bool:
    """Whether ``deadline`` of ``number`` is already renewed: a fixed occurrence marked done, or
    a rolling deadline that a recorded renewal has moved past."""
    from simkeeper.engine.deadlines import rolling_deadline

    if not number.rolling:
        return (number.number, deadline) in ledger.done
    current = rolling_deadline(number, ledger)
    return current is not None and current > deadline and number.number in ledger.renewed_on


def renew_by_link(config: Config, number: Number, deadline: date, now: datetime) -> Recorded | None:
    """ "I renewed it" from a reminder's link: a renewal today, recorded exactly as
    ``simkeeper renewed NAME`` records it (and its refusals), the calendar feed refreshed.
    None, and nothing written, when ``deadline`` is already renewed."""
    from simkeeper.engine.deadlines import local_today

    with open_state(config) as store:
        on = local_today(number, now)
        done = record_entry(store, number, "renewal", on, now, unless_done=deadline)
        if done:
            refresh_calendar(config, store, now)
        return done


def snooze_until(config: Config, number: Number, now: datetime) -> datetime:
    """When "remind me tomorrow" sends its reminder: tomorrow at ``remind_at`` in the number's
    zone (UTC)."""
    from simkeeper.engine.deadlines import local_today
    from simkeeper.engine.reminders import local_instant

    tomorrow = local_today(number, now) + timedelta(days=1)
    return local_instant(tomorrow, config.settings.remind_at, number.timezone)


@dataclass(frozen=True)
class Snoozed:
    """A "remind me tomorrow": until when, and whether this request held it (False: it was
    already held that long, or the deadline is already renewed: see ``renewed``)."""

    until: datetime
    new: bool
    renewed: bool = False


def snooze_by_link(config: Config, number: Number, deadline: date, now: datetime) -> Snoozed:
    """ "Remind me tomorrow" from a reminder's link: hold the deadline's reminders until
    tomorrow's reminder time, when one goes out."""
    until = snooze_until(config, number, now)
    with open_state(config) as store:
        if deadline_done(number, deadline, store.ledger_for([number.number])):
            return Snoozed(until, False, renewed=True)
        return Snoozed(until, store.snooze(number.number, deadline, until, now))


def number_by_e164(config: Config, e164: str) -> Number | None:
    """The configured number with this E.164 number, if it is still in the config (an index
    built once per loaded config: no scan of every number)."""
    return config.by_e164.get(e164)


def read_ledger_for(config: Config, numbers: list[str]) -> Ledger:
    """The ledger of just these numbers (read-only; no database: the empty ledger)."""
    store = open_state_readonly(config)
    if store is None:
        return EMPTY_LEDGER
    with store:
        return store.ledger_for(numbers)


def refresh_board(config: Config, board: Board, now: datetime) -> None:
    """Bring ``board`` up to date at ``now``: in full when a day has begun in one of the
    numbers' zones (or the database was replaced), else only the numbers the change log names
    since it was last brought up to date. Read-only."""
    with board.lock:
        store = open_state_readonly(config)
        if store is None:
            if board.seq != 0 or board.days != board.days_at(now):
                board.rebuild(EMPTY_LEDGER, now, 0)
            return
        with store:
            seq = store.last_change()
            if board.days != board.days_at(now) or seq < board.seq or board.seq < 0:
                board.rebuild(store.ledger(), now, seq)
            elif seq > board.seq:
                seq, changed = store.changed_since(board.seq)
                board.update(changed, store.ledger_for(changed), now, seq)


def record_topup(store: Store, number: Number, on: date, now: datetime, amount: Decimal) -> Ledger:
    """Record a top-up of ``amount`` on ``number`` (:func:`record_entry`); the ledger after."""
    done = record_entry(store, number, "topup", on, now, amount)
    assert done is not None  # None only with unless_done
    return done.ledger


def undo_last(config: Config, number: Number) -> tuple[Entry, Ledger]:
    """Remove the renewal or top-up recorded last for ``number``: it, and the ledger after."""
    if not config.settings.state_url and not state_path(config).exists():
        raise UsageError(f"nothing is recorded for {number.name}", "no state database yet")
    with open_state(config) as store:
        row = store.remove_last_entry(number.number)
        if row is None:
            raise UsageError(f"nothing is recorded for {number.name}")
        return row, store.ledger()


def renewal_refused(
    number: Number, on: date, covers: date | None, recorded: list[Entry], again: bool
) -> UsageError | None:
    """Why recording a renewal of ``number`` on ``on`` looks like an accident, if it does.

    Refused: a date before the renewal recorded last (always), and unless ``again`` a second
    renewal on the same day, or one whose deadline due next is already marked renewed (the
    renewal would silently mark a later one).
    """
    before = _before_last(number, on, recorded)
    if before or again:
        return before
    hint = f"add --again to record another renewal, or 'simkeeper undo \"{number.name}\"'"
    return _same_day(number, on, recorded, hint) or _marks_later(number, on, covers, recorded, hint)


def _before_last(number: Number, on: date, recorded: list[Entry]) -> UsageError | None:
    """A renewal dated before the one recorded last is always refused."""
    if not recorded:
        return None
    last = max(date.fromisoformat(r.date) for r in recorded)
    if on >= last:
        return None
    return UsageError(
        f"{number.name}: --date {on} is before the renewal already recorded on {last}",
        f"'simkeeper undo \"{number.name}\"' removes that one first",
    )


def _same_day(number: Number, on: date, recorded: list[Entry], hint: str) -> UsageError | None:
    """A second renewal on one day (one below min_amount moved nothing, so it does not count)."""
    same_day = [
        r
        for r in recorded
        if r.date == on.isoformat() and counts(number, Decimal(r.amount) if r.amount else None)
    ]
    if same_day:
        done = f" (deadline {same_day[-1].covers} done)" if same_day[-1].covers else ""
        return UsageError(f"{number.name}: a renewal on {on} is already recorded{done}", hint)
    return None


def _marks_later(
    number: Number, on: date, covers: date | None, recorded: list[Entry], hint: str
) -> UsageError | None:
    """A renewal that would mark a later deadline because the next one is already marked."""
    nxt = next(occurrences(number, on, on + timedelta(days=3660)), None)
    if covers and nxt and covers > nxt:
        by = [r.date for r in recorded if r.covers == nxt.isoformat()]
        when = f" on {by[-1]}" if by else ""
        return UsageError(
            f"{number.name}: deadline {nxt} is already recorded as renewed{when}; this would "
            f"mark {covers} too",
            hint,
        )
    return None


# -- messages outside a pass, and the state file as a whole ------------------------------------


def send_test(
    config: Config, targets: list[Target], redact: Redactor
) -> list[tuple[Target, Outcome]]:
    """Send the test message to each of ``targets`` (``simkeeper test``); each one's outcome,
    in the order they answered."""
    from simkeeper.send.notifier import send_all
    from simkeeper.texts.templates import Texts

    message = Texts(config.settings.language, config.templates).test()
    jobs = [(t, message) for t in targets]
    return list(send_all(jobs, config.settings.send_timeout, redact))


def load_for_alert(path: Path) -> tuple[Config, tuple[Problem, ...]]:
    """The config at ``path`` as far as it is valid, and its problems: a failure alert goes
    out through the targets that are still valid (a broken config is a common reason for the
    failure it reports)."""
    from simkeeper.send.notifier import url_problem

    return config_mod.load_partial(path, url_check=url_problem)


def send_failure_alert(config: Config, unit: str, redact: Redactor) -> list[tuple[Target, Outcome]]:
    """Tell every target of ``config`` that the systemd unit ``unit`` failed."""
    from simkeeper.send.notifier import send_all
    from simkeeper.texts.templates import Texts

    message = Texts(config.settings.language, config.templates).failure(unit)
    jobs = [(t, message) for t in config.targets]
    return list(send_all(jobs, config.settings.send_timeout, redact))


# -- the autopilot (settings.keepalive_budget, [[gateways]], a number's keepalive) -----------


def autopilot_work(config: Config, store: Store, now: datetime) -> bool:
    """Whether the autopilot has anything to do at ``now`` (no gateway client is imported)."""
    from simkeeper.send.autopilot import work_to_do

    return work_to_do(config, store, now)


def keepalive_pass(
    config: Config, store: Store, now: datetime, redact: Redactor, only: Number | None = None
) -> list[KeepaliveResult]:
    """The autopilot's pass: settle open texts, send due ones (``only``: that number's now),
    record fallback reminders. Imports the gateway clients: the daemon runs it in its worker."""
    from simkeeper.send.autopilot import run

    return run(config, store, now, redact, only=only)


def keepalive_plan(config: Config, now: datetime, only: Number | None) -> list[KeepalivePlan]:
    """What the autopilot would do at ``now`` (``keepalive --dry-run``), read without writing."""
    from simkeeper.send.autopilot import plan

    store = open_state_readonly(config)
    if store is None:
        return plan(config, None, now, only)
    with store:
        return plan(config, store, now, only)


def keepalive_spend(config: Config, now: datetime) -> KeepaliveSpend | None:
    """What the autopilot spent and tried (None when it is off), read without writing."""
    if config.settings.keepalive_budget is None:
        return None  # off: nothing of the autopilot is imported
    from simkeeper.send.autopilot import spend

    store = open_state_readonly(config)
    if store is None:
        return spend(config, None, now)
    with store:
        return spend(config, store, now)
