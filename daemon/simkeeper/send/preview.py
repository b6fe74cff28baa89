"""A pass that sends nothing: what ``send-due --dry-run`` shows.

The real pass runs (the same outbox, retries, digest and problem alerts) on a private copy of
the state database, with a transport that keeps each message instead of sending it.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from simkeeper.core.model import Config, Target
from simkeeper.core.redact import Redactor
from simkeeper.engine.deadlines import Failure
from simkeeper.send.delivery import deliver, record_due
from simkeeper.send.links import KEY_FILE
from simkeeper.send.notifier import Outcome
from simkeeper.state.backup import copy_database
from simkeeper.state.store import open_store
from simkeeper.texts.templates import Message


@dataclass(frozen=True)
class Preview:
    """What a pass at an instant would send: each target's message, in the order a pass sends
    them, and the numbers that could not be worked out."""

    messages: tuple[tuple[str, Message], ...]
    broken: tuple[Failure, ...]


def preview_pass(config: Config, real: Path, now: datetime, redact: Redactor) -> Preview:
    """Exactly what a pass at ``now`` would send, recording nothing (``send-due --dry-run``);
    ``real`` is the state database of ``config``.

    The pass runs for real (the same outbox, retries, digest and problem alerts) on a private
    copy of the state database in a temporary folder, with a transport that keeps each message
    instead of sending it; the copy is then deleted. So no outbox row, no pass record, no
    heartbeat and no calendar write reaches the real state, whatever ``now`` is.
    """
    kept: list[tuple[str, Message]] = []

    def keep(
        jobs: list[tuple[Target, Message]], timeout: float, redact: Redactor
    ) -> list[tuple[Target, Outcome]]:
        kept.extend((target.name, message) for target, message in jobs)
        return [(target, Outcome(True)) for target, _ in jobs]

    with tempfile.TemporaryDirectory(prefix="simkeeper-preview-") as folder:
        copy = Path(folder) / real.name
        if config.settings.state_url:  # a PostgreSQL state: copied into a private SQLite file
            _copy_postgresql(config.settings.state_url, copy)
        elif real.exists():
            source = sqlite3.connect(f"file:{real}?mode=ro", uri=True, timeout=30)
            try:
                copy_database(source, copy)
            finally:
                source.close()
        if (real.parent / KEY_FILE).exists():  # the links signed as the real pass signs them
            shutil.copy2(real.parent / KEY_FILE, Path(folder) / KEY_FILE)
        store = open_store(copy)
        assert store is not None
        delivery_log = logging.getLogger("simkeeper.delivery")
        was = delivery_log.disabled
        delivery_log.disabled = True  # its "sent ..." lines would claim what did not happen
        try:
            broken: list[Failure] = []
            record_due(config, store, now, broken, redact)
            deliver(config, store, now, redact, transport=keep)
        finally:
            delivery_log.disabled = was
            store.close()
    return Preview(tuple(kept), tuple(broken))


def _copy_postgresql(url: str, copy: Path) -> None:
    """Every table of the PostgreSQL state at ``url`` into a new SQLite file ``copy``."""
    from simkeeper.state.transfer import copy_state

    source, dest = open_store(url), open_store(copy)
    assert source is not None and dest is not None
    try:
        copy_state(source, dest)
    finally:
        source.close()
        dest.close()
