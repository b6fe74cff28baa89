"""Balance checks by USSD: run a number's ``balance_check`` through its gateway and record what
came back.

Data flows one way: config (the number's code and pattern) -> a claimed check
(:mod:`simkeeper.state.readings`: a conditional UPDATE, so two processes never run the same one)
-> the gateway's ``ussd`` (:mod:`simkeeper.send.gateways`) -> the reply decoded and matched
(:mod:`simkeeper.engine.ussd`) -> a reading recorded, whatever its outcome. A reply that does
not match, a timeout or a gateway error is recorded as such (the reply masked), never raised:
it changes no balance and the next check is at the next due time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from simkeeper.core.model import Config, Gateway, Number
from simkeeper.core.numbertable import having
from simkeeper.core.redact import Redactor, mask_phones
from simkeeper.engine.deadlines import local_today
from simkeeper.engine.ussd import Reading, read_reply
from simkeeper.send.gateways import Client, GatewayError, GatewayTimeout, client_for
from simkeeper.state.readings import NewReading, ReadingRow
from simkeeper.state.rows import parse_stamp

if TYPE_CHECKING:
    from simkeeper.state.store import Store

log = logging.getLogger(__name__)
ClientFor = Callable[[Gateway, float], Client]
MAX_SHOWN = 300  # characters of a reply kept: enough to fix a pattern by


@dataclass(frozen=True)
class Checked:
    """What one check came to: the reading as recorded (its reply masked)."""

    number: Number
    row: ReadingRow

    @property
    def ok(self) -> bool:
        """The reply matched: the balance is the reading's amount from now on."""
        return self.row.outcome == "ok"


def wanted(config: Config) -> list[Number]:
    """The numbers with a ``balance_check``."""
    return having(config.numbers, "balance_check")


def due(config: Config, store: Store, now: datetime) -> list[Number]:
    """The numbers whose check is due at ``now`` (never run, or its next time has come)."""
    numbers = wanted(config)
    if not numbers:
        return []
    planned = store.balance_checks_next()
    return [n for n in numbers if n.number not in planned or parse_stamp(planned[n.number]) <= now]


def run(
    config: Config,
    store: Store,
    now: datetime,
    redact: Redactor,
    clients: ClientFor = client_for,
) -> list[Checked]:
    """Every due check: claimed, run and recorded one by one."""
    done = []
    for number in due(config, store, now):
        check = number.balance_check
        assert check is not None
        if store.claim_balance_check(number.number, now, now + timedelta(days=check.every)):
            done.append(read(config, store, number, now, redact, clients))
    return done


def read_now(
    config: Config,
    store: Store,
    number: Number,
    now: datetime,
    redact: Redactor,
    clients: ClientFor = client_for,
) -> Checked:
    """``simkeeper balance NAME``: run the check now, whatever the schedule (which starts
    again from ``now``)."""
    check = number.balance_check
    assert check is not None
    store.claim_balance_check(number.number, now, now + timedelta(days=check.every), force=True)
    return read(config, store, number, now, redact, clients)


def read(
    config: Config,
    store: Store,
    number: Number,
    now: datetime,
    redact: Redactor,
    clients: ClientFor = client_for,
) -> Checked:
    """Run ``number``'s code once and record the reading (any outcome)."""
    check = number.balance_check
    assert check is not None
    outcome, reading, error = _ask(config, number, clients)
    shown = redact(mask_phones(reading.text if reading else ""))[:MAX_SHOWN]
    row = store.record_reading(
        NewReading(
            number=number.number,
            name=number.name,
            gateway=check.via,
            code=check.ussd,
            outcome=outcome,
            day=local_today(number, now),
            amount=reading.amount if reading and outcome == "ok" else None,
            currency=number.currency,
            until=reading.until if reading else "",
            reply=shown,
            error=redact(mask_phones(error)),
        ),
        now,
    )
    log.info("balance check: %s: %s", number.name, outcome)
    return Checked(number, row)


def _ask(config: Config, number: Number, clients: ClientFor) -> tuple[str, Reading | None, str]:
    """(outcome, the reply read, the error): the gateway's reply matched, or why there is
    none. Whatever goes wrong is an outcome, never an exception: a pass goes on."""
    check = number.balance_check
    assert check is not None
    gateway = config.gateway(check.via)
    if gateway is None:  # the validator sees to it; a reload may race
        return "error", None, f'no gateway is called "{check.via}"'
    try:
        raw = clients(gateway, config.settings.send_timeout).ussd(check.ussd, check.replies)
    except GatewayTimeout as e:
        return "timeout", None, str(e)
    except GatewayError as e:
        return "error", None, str(e)
    except Exception as e:  # a client library's own failure: recorded, the pass goes on
        return "error", None, f"{type(e).__name__}: {e}"
    reading = read_reply(raw, check.pattern)
    return reading.outcome, reading, ""


def amount_of(row: ReadingRow) -> Decimal | None:
    """A recorded reading's amount, if it matched."""
    return Decimal(row.amount) if row.amount is not None else None
