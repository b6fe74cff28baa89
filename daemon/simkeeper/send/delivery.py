"""One send pass: record the reminders due now in the outbox, then deliver what is ready.

``simkeeper send-due`` runs one pass; the daemon runs the same pass on its timer. Data flows one
way: config -> due reminders (pure) -> outbox rows (store) -> messages -> Apprise (notifier) ->
outcomes back into the outbox.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from simkeeper.core.model import Config, Ledger, Number, Target
from simkeeper.core.redact import Redactor
from simkeeper.engine.balances import Projection, money
from simkeeper.engine.deadlines import (
    Failure,
    local_today,
    projection,
    risk_start,
    unique_failures,
)
from simkeeper.engine.reminders import Reminder, digest_due_at, due_reminders
from simkeeper.engine.upcoming import upcoming
from simkeeper.send import heartbeat
from simkeeper.state.diskfull import disk_full
from simkeeper.state.outbox import process_token
from simkeeper.state.retention import compact_if_due
from simkeeper.state.rows import Claimed, OutboxItem
from simkeeper.state.store import Store
from simkeeper.texts.templates import Item, Message, Texts

if TYPE_CHECKING:
    from simkeeper.send.notifier import Outcome

log = logging.getLogger("simkeeper.delivery")
DIGEST_DAYS = 30
# Records what is due at a pass: (config, store, now, failures, redact) -> how many were new.
Recorder = Callable[[Config, Store, datetime, list[Failure], Redactor], int]


@dataclass(frozen=True)
class DigestSlot:
    """The weekly digest as an outbox entry: one per digest instant."""

    due_at: datetime
    expires_at: datetime

    @property
    def key(self) -> tuple[str, str, str, int]:
        return ("", self.due_at.date().isoformat(), "digest", 0)


@dataclass(frozen=True)
class ProblemSlot:
    """The alert that a number cannot be worked out: one per number, ever (the outbox key)."""

    number: str
    due_at: datetime
    expires_at: datetime

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.number, "", "problem", 0)


@dataclass
class PassReport:
    """What a pass did, for logs and the command's output."""

    recorded: int = 0
    sent: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    broken: list[Failure] = field(default_factory=list)  # numbers that could not be worked out


def payload(number: Number, deadline: date, kind: str, balance: str = "") -> dict[str, Any]:
    """What the outbox keeps to render a reminder later, even after the config changed."""
    data: dict[str, Any] = {
        "kind": kind,
        "name": number.name,
        "number": number.number,
        "carrier": number.carrier,
        "note": number.note,
        "deadline": deadline.isoformat(),
        "cycle": number.cycle_text,
        "timezone": number.timezone_name,
        "balance": balance,
        "currency": number.currency,
    }
    if number.after_deadline:
        data["stages"] = [[s.after, s.state] for s in number.after_deadline]
    if number.renew_url:
        data["renew_url"] = number.renew_url
    return data


def targets_for(config: Config, reminder: Reminder) -> list[str]:
    """The targets a reminder goes to: the number's tags, plus ``escalate`` when overdue."""
    n = reminder.number
    picked = [t.name for t in config.targets if t.matches(n.notify)]
    if reminder.kind == "overdue" and n.escalate:
        picked += [t.name for t in config.targets if t.matches(n.escalate) and t.name not in picked]
    return picked


def item_from(data: dict[str, Any], now: datetime) -> Item:
    """Rebuild a message item from a stored payload, with days left as of ``now``."""
    deadline = date.fromisoformat(data["deadline"])
    try:
        today = now.astimezone(ZoneInfo(data.get("timezone") or "UTC")).date()
    except (ValueError, KeyError):
        today = now.date()
    return Item(
        kind=data["kind"],
        name=data["name"],
        number=data["number"],
        carrier=data.get("carrier", ""),
        deadline=deadline,
        days_left=(deadline - today).days,
        note=data.get("note", ""),
        cycle=data.get("cycle", ""),
        balance=data.get("balance", ""),
        currency=data.get("currency", ""),
        stages=tuple((int(a), str(s)) for a, s in data.get("stages", ())),
        renew_url=data.get("renew_url", ""),
    )


Links = Callable[[dict[str, Any]], tuple[tuple[str, str], ...]]
"""The web face's signed links of a stored reminder payload, as (action, URL)."""

ACTION_KINDS = ("renew", "overdue")  # the reminders that carry the web face's links


def web_links(config: Config, store: Store) -> Links | None:
    """The link maker when ``[web]`` is set (its key read, or made, beside the database).
    A key that cannot be read or made costs the links, never the reminders: it is logged."""
    if config.web is None:
        return None
    from simkeeper.send.links import action_links, load_key

    try:
        key = load_key(config.path, store.path.parent)
    except OSError as e:
        log.warning("reminders go out without their web links: %s", e)
        return None
    base = config.web.base_url

    def links(data: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        stages = tuple(int(after) for after, _ in data.get("stages", ()))
        return action_links(base, key, data["number"], date.fromisoformat(data["deadline"]), stages)

    return links


def render(
    texts: Texts, claimed: list[Claimed], now: datetime, links: Links | None = None
) -> Message:
    """One message for one target from every delivery claimed for it; renewal reminders and
    overdue alerts carry the web face's links when ``links`` is given."""
    problems = [c.payload for c in claimed if c.kind == "problem"]
    message = _render(texts, [c for c in claimed if c.kind != "problem"], now, links)
    if not problems and message is not None:
        return message
    lines = [texts.problem(p["name"], p["number"], p.get("error", "")) for p in problems]
    if message is None:
        return Message(texts.alert_title(), "\n".join(lines))
    return Message(message.title, "\n\n".join([message.body, *lines]))


def _render(
    texts: Texts, claimed: list[Claimed], now: datetime, links: Links | None = None
) -> Message | None:
    digests = [c for c in claimed if c.kind == "digest"]
    reminders = [
        _with_links(item_from(c.payload, now), c.payload, links)
        for c in claimed
        if c.kind != "digest"
    ]
    if not claimed:
        return None
    if reminders:
        message = texts.message(reminders)
        if digests:
            extra = texts.digest([item_from(p, now) for p in digests[-1].payload["items"]])
            message = message.followed_by(extra)
        return message
    return texts.digest([item_from(p, now) for p in digests[-1].payload["items"]])


def _with_links(item: Item, data: dict[str, Any], links: Links | None) -> Item:
    if links is None or item.kind not in ACTION_KINDS:
        return item
    return replace(item, actions=links(data))


def record_due(
    config: Config,
    store: Store,
    now: datetime,
    failures: list[Failure] | None = None,
    redact: Redactor | None = None,
) -> int:
    """Write every reminder due at ``now`` (and a due digest) into the outbox.

    A number that cannot be worked out is left out, appended to ``failures``, logged, and
    alerted to its targets once (an outbox entry of its own); every other number goes on.
    """
    failures = [] if failures is None else failures
    ledger = store.ledger(since=risk_start(config.numbers, now))  # not every year's reminders
    due = due_reminders(config.numbers, config.settings, now, ledger, failures)
    entries = reminder_entries(config, due, now, ledger)
    digest = digest_entry(config, now, ledger, failures)
    if digest:
        entries.append(digest)
    return record_entries(config, store, now, entries, failures, redact)


def record_entries(
    config: Config,
    store: Store,
    now: datetime,
    entries: list[OutboxItem],
    failures: list[Failure],
    redact: Redactor | None = None,
) -> int:
    """Write ``entries`` into the outbox, then alert each broken number of ``failures`` once;
    how many entries were new."""
    recorded = store.record(entries, now) if entries else 0
    failures[:] = unique_failures(failures)
    _record_problems(config, store, now, failures, redact or Redactor(config.secrets))
    return recorded


def reminder_entries(
    config: Config, due: list[Reminder], now: datetime, ledger: Ledger
) -> list[OutboxItem]:
    """The outbox entries of due reminders: payload (with the balance of a top-up) and targets."""
    entries: list[OutboxItem] = []
    for r in due:
        proj = None
        if r.kind == "topup":
            proj = projection(r.number, local_today(r.number, now), ledger)
        balance = _balance(proj)
        entries.append((r, payload(r.number, r.deadline, r.kind, balance), targets_for(config, r)))
    return entries


def digest_slot(config: Config, now: datetime) -> DigestSlot | None:
    """The weekly digest due at ``now`` (within a day of its instant), if any."""
    digest_at = digest_due_at(config.settings, now)
    if digest_at and now - digest_at < timedelta(days=1) and config.targets:
        return DigestSlot(digest_at, digest_at + timedelta(days=1))
    return None


def digest_entry(
    config: Config, now: datetime, ledger: Ledger, failures: list[Failure]
) -> OutboxItem | None:
    """The weekly digest's outbox entry when one is due at ``now``."""
    slot = digest_slot(config, now)
    if slot is None:
        return None
    # What needs doing: a charge the balance pays by itself is left out.
    items = [
        payload(d.number, d.date, d.reminder_kind, _balance(d.projection))
        for d in upcoming(config.numbers, now, DIGEST_DAYS, ledger, failures)
        if not d.paid_from_balance
    ]
    data = {"kind": "digest", "name": "digest", "items": items}
    return (slot, data, [t.name for t in config.targets])


def _record_problems(
    config: Config, store: Store, now: datetime, failures: list[Failure], redact: Redactor
) -> None:
    """Alert each broken number's targets once (the outbox keeps it once); log it."""
    for f in failures:
        n = f.number
        error = redact(f.error)
        slot = ProblemSlot(n.number, now, now + timedelta(days=1))
        data = {"kind": "problem", "name": n.name, "number": n.number, "error": error}
        targets = [t.name for t in config.targets if t.matches(n.notify)]
        new = store.record([(slot, data, targets)], now)
        level = logging.ERROR if new else logging.DEBUG
        log.log(
            level,
            "cannot work out the deadlines of %s (%s); the other numbers go on",
            n.name,
            error,
        )


def _balance(proj: Projection | None) -> str:
    return money(proj.balance) if proj else ""


# Sends (target, message) jobs with a timeout; yields each target's outcome.
Transport = Callable[
    [list[tuple[Target, Message]], float, Redactor], Iterable[tuple[Target, "Outcome"]]
]


def deliver(
    config: Config,
    store: Store,
    now: datetime,
    redact: Redactor,
    stop: Callable[[], bool] = lambda: False,
    transport: Transport | None = None,
) -> PassReport:
    """Claim every delivery ready at ``now``, send one message per target, record outcomes.
    ``transport`` sends the messages (Apprise's :func:`~simkeeper.send.notifier.send_all`; a
    preview's collects them instead)."""
    if transport is None:
        from simkeeper.send.notifier import (
            send_all,  # here: the daemon runs this step in a worker process
        )

        transport = send_all

    report = PassReport()
    store.ensure_reserve()  # no room to record an outcome: send nothing
    store.release_stale(now)
    store.expire(now)
    token = process_token()
    targets = {t.name: t for t in config.targets}
    texts = Texts(config.settings.language, config.templates)
    links = web_links(config, store)
    batches: dict[str, list[Claimed]] = {}
    for name in store.due_targets(now):
        if stop():
            break
        if name not in targets:
            log.debug("target %s is no longer configured; its deliveries wait", name)
            continue
        claimed = store.claim(name, now, token)
        if claimed:
            batches[name] = claimed
            _warn_repeats(name, claimed)
    jobs = [
        (targets[name], render(texts, claimed, now, links)) for name, claimed in batches.items()
    ]
    for target, outcome in transport(jobs, config.settings.send_timeout, redact):
        store.settle(batches[target.name], token, now, outcome.error)
        count = len(batches[target.name])
        if outcome.ok:
            report.sent.append(target.name)
            log.info("sent %d reminder(s) to %s", count, target.name)
        else:
            report.failed.append((target.name, outcome.error or "failed"))
            log.warning(
                "could not send %d reminder(s) to %s: %s", count, target.name, outcome.error
            )
    if store.reserve_used:  # every outcome is recorded; now say that the disk is full
        raise disk_full(store.path)
    return report


def _warn_repeats(target: str, claimed: list[Claimed]) -> None:
    """Log a resend after a timeout: the target may have got it the first time (README,
    "Delivery guarantees")."""
    from simkeeper.send.notifier import timed_out

    again = sum(1 for c in claimed if timed_out(c.last_error))
    if again:
        log.warning(
            "sending %d reminder(s) to %s again after a timeout: may be a repeat", again, target
        )


Deliver = Callable[[Config, Store, datetime, Redactor, Callable[[], bool]], PassReport]


@dataclass(frozen=True)
class PassSteps:
    """How a pass records what is due and delivers it, built once by whoever runs passes and
    handed down. The defaults are ``simkeeper send-due``'s full pass (every number worked out,
    sent from this process); the daemon brings its index's recorder and a deliver step that
    sends from a worker process."""

    record: Recorder = record_due
    deliver: Deliver = deliver
    source: str = "send-due"  # who ran the pass, as ``status`` shows it


FULL_PASS = PassSteps()


def run_pass(
    config: Config,
    store: Store,
    now: datetime,
    redact: Redactor,
    steps: PassSteps = FULL_PASS,
    stop: Callable[[], bool] = lambda: False,
) -> PassReport:
    """Record what is due, then deliver (:class:`PassSteps`): one pass.

    Every pass, however it ends, is recorded in the store (for ``status``) and reported to the
    heartbeat URL if one is configured: ``ok``, ``failed`` (a target failed) or ``error``.
    """
    started = time.monotonic()
    source = steps.source
    try:
        store.ensure_reserve()
        broken: list[Failure] = []
        recorded = steps.record(config, store, now, broken, redact)
        if recorded:
            log.info("%d new reminder(s) due", recorded)
        report = steps.deliver(config, store, now, redact, stop)
        if not stop():  # a daemon asked to stop leaves it to the next pass
            compact_if_due(config, store, now)
        report.recorded = recorded
        report.broken = broken
    except Exception as e:
        error = redact(f"{type(e).__name__}: {e}")
        with suppress(Exception):  # the store itself may be what failed
            store.record_pass(source, now, time.monotonic() - started, "error", error=error)
        heartbeat.ping(config.settings, ok=False)
        raise
    outcome = "failed" if report.failed else "ok"
    seconds = time.monotonic() - started
    store.record_pass(source, now, seconds, outcome, len(report.sent), len(report.failed))
    heartbeat.ping(config.settings, ok=not report.failed)
    return report
