"""Keeping the state database small: when a pass compacts it, and with which windows.

Once a day (the first pass after :data:`~simkeeper.state.store.COMPACT_EVERY`), settled outbox
entries are folded into their compact form and what is older than ``settings.retention`` is
dropped (see :meth:`~simkeeper.state.store.Store.compact`), then the freed pages are given back to
the filesystem. Renewals and top-ups are never removed.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime, timedelta

from simkeeper.core.errors import DiskFullError
from simkeeper.core.model import Config
from simkeeper.engine.deadlines import longest_overdue_span
from simkeeper.state.rows import Compaction
from simkeeper.state.store import Store
from simkeeper.state.upkeep import COMPACT_EVERY

log = logging.getLogger("simkeeper.retention")


def compact_if_due(config: Config, store: Store, now: datetime) -> Compaction | None:
    """Compact the store at ``now`` unless that was done less than a day before (or after:
    a ``--now`` in the past); None when it was not due, or failed (a full disk: the pass
    still counts as done, and the next one tries again)."""
    last = store.last_compaction()
    if last is not None and abs(now - last) < COMPACT_EVERY:
        return None
    retention = timedelta(days=config.settings.retention)
    # "Reminded about" matters while a deadline can be overdue, and to the renewals recorded
    # with a date up to the retention window back: keep that much, and two days more.
    span = longest_overdue_span(config.numbers)
    since = (now - retention - timedelta(days=span + 2)).date()
    try:
        done = store.compact(now, retention, since)
        # The change log is read by a running daemon within a minute; with `send-due` from
        # cron alone nothing else would ever trim it.
        store.prune_changes(now, store.last_change())
    except (DiskFullError, sqlite3.Error) as e:  # rolled back; reminders go on regardless
        log.warning("state database not compacted (%s); the next pass tries again", e)
        return None
    if done.folded or done.dropped or done.forgotten:
        log.info(
            "state compacted: %d outbox entries folded, %d past the retention window dropped",
            done.folded,
            done.dropped,
        )
    if not store.shrink():
        log.warning("could not give the state database's free pages back; retrying tomorrow")
    return done
