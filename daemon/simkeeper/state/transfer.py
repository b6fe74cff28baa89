"""``simkeeper state migrate``: every table of one state copied into another, SQLite to
PostgreSQL or back, row for row (ids kept, so the links and history that name them still do).

The copy is one transaction on the destination: a failure leaves it as empty as it was. The
destination must hold nothing yet, and no daemon may run on either side (see
:func:`running_daemons`): a pass writing during the copy would be lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from simkeeper.core.errors import UsageError
from simkeeper.state.dialect import TABLES
from simkeeper.state.rows import DaemonRecord, parse_stamp
from simkeeper.state.store import Store

# A daemon that ran a pass this recently may still be running (passes run every minute).
RUNNING_WITHIN = timedelta(minutes=5)
# The columns whose values PostgreSQL's identity sequences hand out next.
_IDENTITIES = (
    ("reminders", "id"),
    ("deliveries", "id"),
    ("history", "id"),
    ("passes", "id"),
    ("changes", "seq"),
    ("keepalive_attempts", "id"),
    ("balance_readings", "id"),
    ("inbound_texts", "id"),
)


@dataclass(frozen=True)
class Copied:
    """Rows copied, per table, in :data:`~simkeeper.state.dialect.TABLES` order."""

    rows: tuple[tuple[str, int], ...]

    def count(self, table: str) -> int:
        """How many rows of ``table`` were copied."""
        return dict(self.rows).get(table, 0)


def running_daemons(store: Store, now: datetime) -> list[DaemonRecord]:
    """The daemons that noted a pass on ``store`` within :data:`RUNNING_WITHIN` of ``now``."""
    return [
        d
        for d in store.daemons()
        if d.last_pass and abs(now - parse_stamp(d.last_pass)) < RUNNING_WITHIN
    ]


def columns(store: Store, table: str) -> list[str]:
    """The columns of ``table`` in ``store``, in their order."""
    if store.dialect.postgresql:
        rows = store.db.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema ="
            " current_schema() AND table_name = ? ORDER BY ordinal_position",
            (table,),
        )
        return [r[0] for r in rows]
    return [r[1] for r in store.db.execute(f"PRAGMA table_info({table})")]


def _holds_rows(store: Store) -> list[str]:
    return [t for t in TABLES if store.db.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()]


def copy_state(source: Store, dest: Store) -> Copied:
    """Copy every table of ``source`` into the empty ``dest``, in one transaction."""
    full = _holds_rows(dest)
    if full:
        raise UsageError(
            f"the destination already holds a state ({', '.join(full)})",
            "migrate into a new, empty database (or file)",
        )
    counts = []
    with dest.transaction():
        for table in TABLES:
            shared = [c for c in columns(source, table) if c in set(columns(dest, table))]
            names = ", ".join(shared)
            rows = source.db.execute(f"SELECT {names} FROM {table}").fetchall()
            marks = ", ".join("?" * len(shared))
            dest.db.conn.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({marks})", [tuple(r) for r in rows]
            )
            counts.append((table, len(rows)))
        if dest.dialect.postgresql:
            for table, column in _IDENTITIES:  # the next id is past every id copied
                dest.db.execute(
                    f"SELECT setval(pg_get_serial_sequence(?, ?), COALESCE((SELECT MAX({column})"
                    f" FROM {table}), 0) + 1, false)",
                    (table, column),
                )
    return Copied(tuple(counts))
