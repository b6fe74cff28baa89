"""The autopilot's pass: settle open keep-alive texts, send the due ones, fall back to the owner.

Data flows one way: config -> deadline (:mod:`simkeeper.engine.keepalive`) -> a claimed attempt
(:mod:`simkeeper.state.keepalive`, written before the gateway is called) -> the gateway
(:mod:`simkeeper.send.gateways`) -> proof -> a renewal in the ledger. Every step is recorded
before the next, and nothing is sent again once it may have reached the network: an attempt
whose outcome is unknown is settled by asking the gateway for the message id it was given.
An attempt that does not end in proof (failed, refused by the budget, no proof within
``settings.keepalive_wait``) puts the normal reminder in the outbox, with a line saying why,
to the number's targets and its ``escalate`` targets.
"""

from __future__ import annotations

import logging
import os
import signal
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from simkeeper.core.model import Config, Gateway, Keepalive, Ledger, Number
from simkeeper.core.numbertable import having
from simkeeper.core.redact import Redactor
from simkeeper.engine.balances import money
from simkeeper.engine.deadlines import local_today, rolling_deadline
from simkeeper.engine.keepalive import Due, allows, due_on, keepalive_due, left, window_start
from simkeeper.send.gateways import Client, GatewayError, Outcome, client_for
from simkeeper.state.keepalive import OPEN, UNFINISHED, Attempt
from simkeeper.state.rows import OutboxItem
from simkeeper.texts.i18n import Translator, translator
from simkeeper.texts.templates import mask_number

if TYPE_CHECKING:
    from simkeeper.state.store import Store

log = logging.getLogger(__name__)
SHORT_CODE_MAX = 6  # digits: a short code is shown whole, a phone number masked

# A test hook: the step name at which the process kills itself with SIGKILL (tests/test_
# autopilot_crash.py), to prove a crash at every recorded step loses and repeats nothing.
CRASH_ENV = "SIMKEEPER_CRASH_AT"

ClientFor = Callable[[Gateway, float], Client]


def _crash_point(step: str) -> None:
    if os.environ.get(CRASH_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass(frozen=True)
class Planned:
    """What ``keepalive --dry-run`` shows of one number: what would be sent, and whether."""

    number: Number
    gateway: Gateway
    deadline: date
    due_on: date
    spent: Decimal
    left: Decimal
    would: str  # send | not-due | late | budget | done (an attempt exists for this deadline)
    attempt_state: str = ""

    @property
    def shown_to(self) -> str:
        """The recipient as the dry run shows it: a short code whole, a phone number masked."""
        to = self.number.keepalive.to if self.number.keepalive else ""
        return to if to.isdigit() and len(to) <= SHORT_CODE_MAX else mask_number(to)


@dataclass(frozen=True)
class Result:
    """What one attempt came to in this pass."""

    name: str
    state: str  # proved | accepted | sending | failed | expired | unknown | refused | exists
    reason: str = ""


@dataclass(frozen=True)
class FallbackSlot:
    """The outbox identity of an autopilot's fallback reminder: one per number and deadline."""

    number: str
    deadline: date
    due_at: datetime
    expires_at: datetime

    @property
    def key(self) -> tuple[str, str, str, int]:
        """(number, deadline, "keepalive", 0): apart from the normal reminders' keys."""
        return (self.number, self.deadline.isoformat(), "keepalive", 0)


@dataclass(frozen=True)
class Spend:
    """The autopilot's spend for ``status`` and ``/metrics``."""

    spent: dict[str, Decimal]  # per currency, in the budget's window
    caps: dict[str, Decimal]
    per_days: int
    by_state: dict[str, int]  # attempts by outcome, all time


def spend(config: Config, store: Store | None, now: datetime) -> Spend | None:
    """What the autopilot spent (None when it is off), from ``store`` (None: no state yet)."""
    budget = config.settings.keepalive_budget
    if budget is None:
        return None
    caps = dict(budget.caps)
    if store is None:
        return Spend({}, caps, budget.per_days, {})
    by_state: dict[str, int] = {}
    for a in store.keepalive_attempts():
        by_state[a.state] = by_state.get(a.state, 0) + 1
    spent = store.keepalive_spent(now - timedelta(days=budget.per_days))
    return Spend(spent, caps, budget.per_days, by_state)


def wanted(config: Config) -> list[Number]:
    """The numbers with a ``keepalive`` (the autopilot is off without a budget)."""
    if config.settings.keepalive_budget is None:
        return []
    return having(config.numbers, "keepalive")


def work_to_do(config: Config, store: Store, now: datetime) -> bool:
    """Whether a pass has anything to do: an open attempt, or a due text not yet tried. Read
    without importing a gateway client (the idle daemon asks this)."""
    if not wanted(config):
        return False
    attempts = store.keepalive_attempts()
    if any(a.state in OPEN for a in attempts):
        return True
    tried = {(a.number, a.deadline) for a in attempts}
    ledger = store.ledger()
    for number in wanted(config):
        due = keepalive_due(number, now, ledger)
        if due and (number.number, due.deadline.isoformat()) not in tried:
            return True
    return bool(_fallbacks(config, store, now, dry=True))


def plan(config: Config, store: Store | None, now: datetime, only: Number | None) -> list[Planned]:
    """What a pass would do at ``now`` (``keepalive --dry-run``), for ``only`` or every
    number with a ``keepalive``; with ``only`` a text not yet due is shown as it would go."""
    ledger = store.ledger() if store else None
    attempts = store.keepalive_attempts() if store else []
    numbers = [only] if only else having(config.numbers, "keepalive")
    out = (_planned(config, n, ledger, attempts, now, only is not None) for n in numbers)
    return [p for p in out if p is not None]


def _planned(
    config: Config,
    n: Number,
    ledger: Ledger | None,
    attempts: list[Attempt],
    now: datetime,
    asked: bool,
) -> Planned | None:
    """One number's line of :func:`plan` (None: it has no keep-alive text to plan)."""
    budget = config.settings.keepalive_budget
    ka = n.keepalive
    gateway = config.gateway(ka.via) if ka else None
    deadline = rolling_deadline(n, ledger) if ledger else rolling_deadline(n)
    if ka is None or gateway is None or deadline is None:
        return None
    spent = _spent(attempts, ka.currency, window_start(budget, now)) if budget else Decimal(0)
    key = (n.number, deadline.isoformat())
    before = next((a for a in attempts if (a.number, a.deadline) == key), None)
    would = _would(n, ka, deadline, before, allows(budget, ka.currency, spent, ka.cost), now)
    if asked and would == "not-due":
        would = "send"  # asked for one number: shown as it would go
    state = before.state if before else ""
    left_now = left(budget, ka.currency, spent)
    return Planned(n, gateway, deadline, due_on(ka, deadline), spent, left_now, would, state)


def _would(
    n: Number,
    ka: Keepalive,
    deadline: date,
    before: Attempt | None,
    affordable: bool,
    now: datetime,
) -> str:
    """What a pass at ``now`` would do with ``n``'s keep-alive text for ``deadline``."""
    if before and before.state != "refused":
        return "done"
    if not affordable:
        return "budget"
    if local_today(n, now) > deadline:
        return "late"
    if local_today(n, now) < due_on(ka, deadline):
        return "not-due"
    return "send"


def _spent(attempts: list[Attempt], currency: str, since: datetime) -> Decimal:
    return sum(
        (
            a.cost
            for a in attempts
            if a.currency == currency and a.state != "refused" and a.claimed > since
        ),
        Decimal(0),
    )


def run(
    config: Config,
    store: Store,
    now: datetime,
    redact: Redactor,
    *,
    only: Number | None = None,
    clients: ClientFor = client_for,
) -> list[Result]:
    """One autopilot pass at ``now``: settle what is open, send what is due (``only``: that
    number's text now, due or not), and put fallback reminders in the outbox."""
    results = [
        settle(config, store, a, now, redact, clients) for a in store.keepalive_attempts(OPEN)
    ]
    ledger = store.ledger()
    if only is not None:
        ka = only.keepalive
        deadline = rolling_deadline(only, ledger)
        dues = [Due(only, ka, deadline)] if ka and deadline else []
    else:
        dues = [d for n in wanted(config) if (d := keepalive_due(n, now, ledger))]
    for due in dues:
        results.append(attempt(config, store, due, now, redact, clients, again=only is not None))
    _fallbacks(config, store, now)
    return results


def attempt(
    config: Config,
    store: Store,
    due: Due,
    now: datetime,
    redact: Redactor,
    clients: ClientFor,
    again: bool = False,
) -> Result:
    """Claim, then send one due text; settle it as far as the gateway's answer goes."""
    n, ka = due.number, due.keepalive
    budget = config.settings.keepalive_budget
    gateway = config.gateway(ka.via)
    if budget is None or gateway is None:
        return Result(n.name, "refused", "autopilot off")
    claim = store.claim_keepalive(
        number=n.number,
        name=n.name,
        deadline=due.deadline,
        gateway=gateway.name,
        sim=ka.sim,
        msg_id=f"simkeeper-{uuid.uuid4().hex}",
        cost=ka.cost,
        currency=ka.currency,
        cap=budget.cap(ka.currency),
        since=window_start(budget, now),
        now=now,
        again=again,
    )
    if claim.outcome == "exists":
        assert claim.attempt
        return Result(n.name, "exists", claim.attempt.state)
    if claim.outcome == "budget" or claim.attempt is None:
        log.warning("autopilot: %s: a keep-alive text would exceed the budget", n.name)
        return Result(n.name, "refused", "budget")
    a = claim.attempt
    _crash_point("claimed")
    client = clients(gateway, config.settings.send_timeout)

    def keep_ref(ref: str) -> None:
        store.keepalive_ref(a.id, ref)
        _crash_point("ref")

    try:
        outcome = client.send(a.msg_id, ka.to, ka.text, ka.sim, keep_ref)
    except GatewayError as e:
        reason = redact(str(e))
        if e.refused:  # it said no: nothing went out, and the owner may try again by hand
            store.keepalive_ref(a.id, "never")
            store.keepalive_ended(a.id, "failed", reason, now)
            log.warning("autopilot: %s: the gateway refused the text: %s", n.name, reason)
            return Result(n.name, "failed", reason)
        # It may have reached the network: never sent again; asked about by its id.
        log.warning("autopilot: %s: %s; its outcome will be asked of the gateway", n.name, reason)
        return settle(config, store, _reread(store, a.id), now, redact, clients)
    _crash_point("sent")
    if outcome.state not in ("failed", "missing"):
        store.keepalive_accepted(a.id, outcome.ref or a.msg_id)
    _crash_point("accepted")
    return _apply(config, store, _reread(store, a.id), outcome, now, redact)


def _reread(store: Store, attempt_id: int) -> Attempt:
    return next(a for a in store.keepalive_attempts() if a.id == attempt_id)


def settle(
    config: Config,
    store: Store,
    a: Attempt,
    now: datetime,
    redact: Redactor,
    clients: ClientFor = client_for,
) -> Result:
    """Ask the gateway what became of open attempt ``a`` and record it."""
    gateway = config.gateway(a.gateway)
    number = next((n for n in config.numbers if n.number == a.number), None)
    if gateway is None or number is None or number.keepalive is None:
        reason = "the gateway or the number's keepalive is no longer configured"
        store.keepalive_ended(a.id, "unknown", reason, now)
        return Result(a.name, "unknown", reason)
    try:
        outcome = clients(gateway, config.settings.send_timeout).state(
            a.msg_id, a.ref, number.keepalive.to, number.keepalive.text
        )
    except GatewayError as e:
        if _waited(config, a, now):
            reason = redact(str(e))
            store.keepalive_ended(a.id, "unknown", reason, now)
            return Result(a.name, "unknown", reason)
        return Result(a.name, a.state, redact(str(e)))
    _crash_point("asked")
    return _apply(config, store, a, outcome, now, redact)


def _waited(config: Config, a: Attempt, now: datetime) -> bool:
    return now >= a.claimed + timedelta(hours=config.settings.keepalive_wait)


def _apply(
    config: Config, store: Store, a: Attempt, outcome: Outcome, now: datetime, redact: Redactor
) -> Result:
    """Record what ``outcome`` proves of attempt ``a``."""
    if outcome.state == "delivered" or (
        outcome.state == "sent" and (not outcome.reports or _waited(config, a, now))
    ):
        return _prove(config, store, a, now)
    if outcome.state == "failed":
        reason = redact(outcome.error or "the gateway reports the text failed")
        store.keepalive_ended(a.id, "failed", reason, now)
        return Result(a.name, "failed", reason)
    if outcome.state == "missing":
        if a.ref != "never":
            store.keepalive_ref(a.id, "never")  # it never left: the owner may try by hand
        reason = "the text never reached the gateway"
        store.keepalive_ended(a.id, "failed", reason, now)
        return Result(a.name, "failed", reason)
    if _waited(config, a, now):
        reason = f"no proof within {config.settings.keepalive_wait} h"
        store.keepalive_ended(a.id, "expired", reason, now)
        return Result(a.name, "expired", reason)
    return Result(a.name, a.state)


def _prove(config: Config, store: Store, a: Attempt, now: datetime) -> Result:
    number = next(n for n in config.numbers if n.number == a.number)
    note = f"auto: {a.gateway}, message {a.msg_id}"
    if store.keepalive_proved(a, local_today(number, now), now, note, None):
        log.info("autopilot: %s kept alive (%s %s via %s)", a.name, a.cost, a.currency, a.gateway)
        _crash_point("proved")
    return Result(a.name, "proved")


# -- the owner's reminder when the autopilot did not finish -----------------------------------


def why_not(t: Translator, a: Attempt, wait_hours: int) -> str:
    """The line the fallback reminder adds: why the autopilot did not finish."""
    if a.state == "refused":
        return t.gettext(
            "The autopilot did not send the keep-alive text: its {cost} {currency} would exceed "
            "the keep-alive budget."
        ).format(cost=money(a.cost), currency=a.currency)
    if a.state == "expired":
        return t.gettext(
            "The autopilot sent the keep-alive text, but the carrier did not confirm it within "
            "{hours} h: check, and renew by hand."
        ).format(hours=wait_hours)
    if a.state == "unknown":
        return t.gettext(
            "The autopilot cannot tell whether its keep-alive text went out ({reason}): check, "
            "and renew by hand."
        ).format(reason=a.reason or "")
    return t.gettext("The autopilot's keep-alive text failed ({reason}): renew by hand.").format(
        reason=a.reason or ""
    )


def _fallbacks(config: Config, store: Store, now: datetime, dry: bool = False) -> list[OutboxItem]:
    """The fallback reminders of every unfinished attempt whose deadline is still ahead, put
    in the outbox (once each: the outbox ignores a key it holds) unless ``dry``."""
    t = translator(config.settings.language)
    by_e164 = {n.number: n for n in config.numbers}
    items: list[OutboxItem] = []
    for a in store.keepalive_attempts(UNFINISHED):
        number = by_e164.get(a.number)
        deadline = date.fromisoformat(a.deadline)
        # A number gone from the config, or a deadline already past, gets no reminder.
        if number is None or deadline < local_today(number, now):
            continue
        items.append(_fallback_item(config, t, a, number, deadline, now))
    known = store.recorded([slot.key for slot, _, _ in items]) if items else set()
    fresh = [i for i in items if i[0].key not in known]
    if fresh and not dry:
        store.record(fresh, now)
        for _, data, _ in fresh:
            log.warning("autopilot: %s: the owner gets the reminder instead", data["name"])
    return fresh


def _fallback_item(
    config: Config, t: Translator, a: Attempt, number: Number, deadline: date, now: datetime
) -> OutboxItem:
    """The fallback reminder for one unfinished attempt: the number's renew reminder, its
    note followed by why the autopilot did not renew, to its targets and escalate targets;
    due now, and expiring a day after the deadline."""
    from simkeeper.send.delivery import payload

    data = payload(number, deadline, "renew")
    line = why_not(t, a, config.settings.keepalive_wait)
    data["note"] = f"{number.note} {line}" if number.note else line
    targets = _fallback_targets(config, number)
    days = (deadline - local_today(number, now)).days + 1
    return (FallbackSlot(a.number, deadline, now, now + timedelta(days=days)), data, targets)


def _fallback_targets(config: Config, number: Number) -> list[str]:
    """The names of the targets a fallback reminder goes to: the number's own (``notify``)
    and, as the autopilot failed, its ``escalate`` ones too."""
    return [
        x.name
        for x in config.targets
        if x.matches(number.notify) or (number.escalate and x.matches(number.escalate))
    ]
