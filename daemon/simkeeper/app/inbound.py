"""The carrier's own texts (issue 26): take a received text, match it against the number's
patterns and record what it says, once.

Texts come two ways, both ending in :func:`take`: SMS Gateway for Android posts them to the
web face (:func:`webhook`, after its signature is checked), and the daemon's worker asks the
gateways that keep them (:func:`poll`, every :data:`POLL_EVERY`, for the gateways some number
listens on). A match records a top-up or a renewal through :func:`simkeeper.app.record_entry`
(its guard against a second renewal for one deadline included) with source ``carrier-sms``
and the text's own day; an unmatched text from the carrier is kept for ``history --inbound``
and never acted on; a text from anyone else is counted, its words not kept.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from simkeeper.core.errors import UsageError
from simkeeper.core.model import Config, Gateway, Number
from simkeeper.core.numbertable import having
from simkeeper.core.redact import Redactor
from simkeeper.core.schema_gateways import INBOUND
from simkeeper.engine.deadlines import local_today
from simkeeper.engine.inbound import from_carrier, match, owner

if TYPE_CHECKING:
    from simkeeper.present.probes import Metric
    from simkeeper.send.gateways.client import Inbound
    from simkeeper.state.inbound import InboundText
    from simkeeper.state.store import Store

log = logging.getLogger(__name__)
SOURCE = "carrier-sms"
POLL_EVERY = timedelta(minutes=10)
LOOK_BACK = timedelta(days=1)  # a poll asks for texts this much before the last answer
SHORT_SENDER = 6  # digits: a short code is kept whole, a longer number masked


@dataclass(frozen=True)
class Taken:
    """What one received text came to: its outcome (``duplicate`` when it was kept before),
    the number it belongs to, and what it recorded."""

    outcome: str
    name: str | None = None
    kind: str = ""
    amount: str = ""


def _short(sender: str) -> bool:
    """Whether ``sender`` is an alphanumeric id or a short code (a service, not a person)."""
    return sum(c.isdigit() for c in sender) <= SHORT_SENDER


def shown_sender(sender: str) -> str:
    """A sender as kept and shown: an alphanumeric id or short code whole, a number masked."""
    from simkeeper.texts.templates import mask_number

    if _short(sender):
        return sender.strip()[:40]
    return mask_number(sender if sender.startswith("+") else "+" + sender.lstrip("0"))


def take(config: Config, store: Store, gateway: Gateway, text: Inbound, now: datetime) -> Taken:
    """Keep ``text`` (received on ``gateway``) and act on it when it matches, all in one
    transaction: a text seen before is a ``duplicate`` and changes nothing."""
    number = owner(having(config.numbers, "inbound"), gateway.name, text.sim)
    carrier = number is not None and from_carrier(number, text.sender)
    # Nobody's business but the owner's: a text from a person is counted, its words not kept.
    words = text.text if carrier or (number is None and _short(text.sender)) else ""
    at = min(text.at, now)  # a phone's clock ahead of ours dates nothing in the future
    with store.transaction():
        row = store.keep_inbound(
            gateway.name, text.ref[:200], text.sim, shown_sender(text.sender), words, at, now
        )
        if row is None:
            return Taken("duplicate", number.name if number else None)
        if number is None:
            store.settle_inbound(row, None, None, "unmatched")
            return Taken("unmatched")
        if not carrier:
            store.settle_inbound(row, number.number, number.name, "ignored")
            return Taken("ignored", number.name)
        return _act(store, number, row, text, at, now)


def _act(
    store: Store, number: Number, row: int, text: Inbound, at: datetime, now: datetime
) -> Taken:
    from simkeeper.app import record_entry

    found = match(number, text.sender, text.text)
    if found is None:
        store.settle_inbound(row, number.number, number.name, "unmatched")
        return Taken("unmatched", number.name)
    on = local_today(number, at)
    try:
        record_entry(store, number, found.kind, on, now, found.amount, source=SOURCE)
    except UsageError as e:  # a second renewal for one deadline, or one dated before the last
        log.info("%s: a carrier text matched, not recorded: %s", number.name, e)
        store.settle_inbound(row, number.number, number.name, "refused")
        return Taken("refused", number.name, found.kind)
    outcome = f"matched-{found.kind}"
    store.settle_inbound(row, number.number, number.name, outcome, store.last_history_id())
    amount = str(found.amount) if found.amount is not None else ""
    return Taken(outcome, number.name, found.kind, amount)


# -- SMS Gateway for Android's webhook, through the web face --------------------------------


@dataclass(frozen=True)
class Hooked:
    """The web face's answer to one webhook: its HTTP status and outcome (for the log)."""

    status: int
    outcome: str


def webhook_url(config: Config, gateway: Gateway) -> str:
    """Where ``gateway`` posts what it receives (``simkeeper webhook NAME``): the web face's
    ``/hooks/NAME/SECRET``. A secret: shown to the owner only."""
    from simkeeper.send.gateways.webhook import path_secret

    base = config.web.base_url if config.web else ""
    return f"{base}/hooks/{gateway.name}/{path_secret(gateway)}"


def webhook(
    config: Config, path: str, headers: Mapping[str, str], body: bytes, now: datetime
) -> Hooked:
    """One POST to ``/hooks/NAME/SECRET``: refused (404 an unknown address, 4xx unsigned,
    badly signed, stale or malformed; counted as ``rejected``), else the text taken."""
    from simkeeper.app import open_state
    from simkeeper.send.gateways.webhook import Rejected, path_secret, verify

    name, _, secret = path.partition("/")
    gateway = config.gateway(name)
    known = (
        gateway is not None
        and INBOUND.get(gateway.kind) == "webhook"
        and bool(gateway.signing_key)
        and hmac.compare_digest(secret.encode(), path_secret(gateway).encode())
    )
    with open_state(config) as store:
        if gateway is None or not known:
            store.tally_inbound("rejected")
            return Hooked(404, "rejected: unknown address")
        try:
            event = verify(gateway, dict(headers), body, now)
        except Rejected as e:
            store.tally_inbound("rejected")
            return Hooked(e.status, f"rejected: {e.reason}")
        if event.text is None:
            return Hooked(200, f"ignored: {event.event}")
        taken = take(config, store, gateway, event.text, now)
    return Hooked(200, taken.outcome)


# -- the daemon's polls ---------------------------------------------------------------------


def polled(config: Config) -> list[Gateway]:
    """The gateways whose texts are asked for (their kind keeps them, some number listens)."""
    listened = {n.inbound.via for n in having(config.numbers, "inbound") if n.inbound}
    return [g for g in config.gateways if g.name in listened and INBOUND.get(g.kind) == "poll"]


def poll_due(config: Config, store: Store, now: datetime, force: bool = False) -> list[Gateway]:
    """The polled gateways not asked within :data:`POLL_EVERY` (every one, with ``force``);
    no gateway client imported: the daemon asks this on its passes."""
    gateways = polled(config)
    if not gateways or force:
        return gateways
    from simkeeper.state.rows import parse_stamp

    last = store.polls()
    return [
        g
        for g in gateways
        if g.name not in last or now - parse_stamp(last[g.name].polled_at) >= POLL_EVERY
    ]


def poll(
    config: Config, store: Store, now: datetime, redact: Redactor, force: bool = False
) -> list[Taken]:
    """Ask each due gateway (each one, with ``force``) for the texts it received since a day
    before its last answer (its first poll: a day before now, so an old text in a modem's
    memory records nothing the owner recorded long ago) and take them; a gateway that fails
    is recorded (and asked again next time), never raised."""
    from simkeeper.send.gateways import GatewayError, client_for
    from simkeeper.state.rows import parse_stamp

    taken: list[Taken] = []
    last = store.polls()
    for gateway in poll_due(config, store, now, force):
        answered = last[gateway.name].ok_at if gateway.name in last else None
        since = (parse_stamp(answered) if answered else now) - LOOK_BACK
        try:
            texts = client_for(gateway, config.settings.send_timeout).received(since)
        except GatewayError as e:
            error = redact(str(e))
            log.warning("inbound: %s did not answer: %s", gateway.name, error)
            store.note_poll(gateway.name, now, error)
            continue
        taken += [take(config, store, gateway, t, now) for t in texts]
        store.note_poll(gateway.name, now, None)
    return taken


# -- what history and /metrics show ---------------------------------------------------------


def inbound_history(config: Config, number: Number | None, limit: int) -> list[InboundText]:
    """The texts kept, newest first (``number``'s and the unclaimed ones), read-only."""
    from simkeeper.app import open_state_readonly

    store = open_state_readonly(config)
    if store is None:
        return []
    with store:
        return store.inbound_texts(number.number if number else None, limit)


def inbound_metrics(
    counts: Mapping[str, int], failing: Mapping[str, bool] | None = None
) -> tuple[Metric, ...]:
    """``simkeeper_inbound_texts_total`` by outcome (every outcome, 0 when none yet), and
    ``simkeeper_inbound_poll_failing`` per polled gateway (1 when its last poll failed)."""
    from simkeeper.present.probes import Metric
    from simkeeper.state.inbound import OUTCOMES

    samples = [((("outcome", o),), float(counts.get(o, 0))) for o in OUTCOMES]
    help_ = "Carrier texts received (and webhooks refused) by outcome."
    texts = Metric("simkeeper_inbound_texts_total", "counter", help_, samples)
    if not failing:
        return (texts,)
    polls = [((("gateway", g),), float(bad)) for g, bad in sorted(failing.items())]
    help_ = "Whether the last poll of a gateway for its received texts failed."
    return (texts, Metric("simkeeper_inbound_poll_failing", "gauge", help_, polls))


def inbound_figures(config: Config) -> tuple[Metric, ...]:
    """The inbound metrics read from the state database (none when nothing can receive)."""
    from simkeeper.app import open_state_readonly

    if not any(INBOUND.get(g.kind) for g in config.gateways):
        return ()
    store = open_state_readonly(config)
    if store is None:
        return inbound_metrics({})
    with store:
        polls = store.polls()
        failing = {g.name: bool(polls[g.name].error) for g in polled(config) if g.name in polls}
        return inbound_metrics(store.inbound_counts(), failing)
