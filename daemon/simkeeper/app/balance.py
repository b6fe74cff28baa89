"""The application steps of balance checks by USSD (a number's ``balance_check``): read one
now (``simkeeper balance NAME``), run the due ones (the daemon's worker, ``send-due``), and what
``status``, ``history`` and ``/metrics`` show of them. Each takes ``now`` from its caller.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from simkeeper.app.stores import state_location  # not simkeeper.app: it imports this module
from simkeeper.core.errors import UsageError
from simkeeper.core.model import Config, Number
from simkeeper.core.numbertable import having
from simkeeper.core.redact import Redactor

if TYPE_CHECKING:
    from simkeeper.present.probes import Metric
    from simkeeper.send.balance import Checked, ClientFor
    from simkeeper.state.store import Store


def balance_work(config: Config, store: Store, now: datetime) -> bool:
    """Whether a balance check is due at ``now`` (asked without importing a gateway client)."""
    if not having(config.numbers, "balance_check"):
        return False  # off: nothing of the checks is imported
    from simkeeper.send.balance import due

    return bool(due(config, store, now))


def balance_pass(
    config: Config, store: Store, now: datetime, redact: Redactor, clients: ClientFor | None = None
) -> list[Checked]:
    """Run every due check and record its reading; no outcome raises (see
    :mod:`simkeeper.send.balance`)."""
    from simkeeper.send.balance import run
    from simkeeper.send.gateways import client_for

    return run(config, store, now, redact, clients or client_for)


def read_balance(config: Config, number: Number, now: datetime) -> Checked:
    """``simkeeper balance NAME``: read ``number``'s balance now and record the reading."""
    from simkeeper.send.balance import read_now
    from simkeeper.state.store import open_store

    if number.balance_check is None:
        raise UsageError(
            f"{number.name} has no balance_check",
            'add balance_check = { via = "modem" } to the number (a modemmanager gateway)',
        )
    store = open_store(state_location(config))
    assert store is not None  # create=True never gives None
    with store:
        return read_now(config, store, number, now, Redactor(config.secrets))


def reading_counts(config: Config) -> dict[str, int]:
    """Readings by outcome, all time (for ``/metrics``), read without writing."""
    location = state_location(config)
    if isinstance(location, Path) and not location.exists():
        return {}
    from simkeeper.state.store import open_store

    store = open_store(location, create=False, readonly=True)
    if store is None:
        return {}
    with store:
        return store.reading_counts()


def reading_metrics(config: Config) -> tuple[Metric, ...]:
    """``simkeeper_balance_readings_total`` by outcome (none when no number checks)."""
    if not having(config.numbers, "balance_check"):
        return ()
    from simkeeper.present.probes import reading_metrics as figures

    return figures(reading_counts(config))
