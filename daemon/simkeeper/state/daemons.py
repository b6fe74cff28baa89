"""The daemons sharing the state: each notes itself (host, pid) after every pass, so
``status`` can say who runs, and ``state migrate`` can refuse while one does."""

from __future__ import annotations

import os
import socket
from datetime import datetime

from simkeeper.state.database import Database
from simkeeper.state.rows import DaemonRecord, stamp


class Daemons(Database):
    """The daemons half of the store."""

    def note_daemon(self, started: datetime, now: datetime) -> None:
        """This daemon (host, pid) started at ``started`` and ran a pass at ``now``."""
        with self.transaction():
            self.db.conn.execute(
                "INSERT INTO daemons (host, pid, started_at, last_pass) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (host, pid) DO UPDATE SET started_at = excluded.started_at,"
                " last_pass = excluded.last_pass",
                (socket.gethostname(), os.getpid(), stamp(started), stamp(now)),
            )

    def forget_daemon(self) -> None:
        """This daemon stops: it no longer shares the state."""
        with self.transaction():
            self.db.conn.execute(
                "DELETE FROM daemons WHERE host = ? AND pid = ?",
                (socket.gethostname(), os.getpid()),
            )

    def daemons(self) -> list[DaemonRecord]:
        """Every daemon that noted itself, latest pass first (none in a database opened
        read-only from before the table)."""
        if "daemons" not in self.db.table_names():
            return []
        rows = self.db.execute(
            "SELECT host, pid, started_at, last_pass FROM daemons"
            " ORDER BY last_pass DESC, host, pid"
        ).fetchall()
        return [DaemonRecord(h, int(p), s, last) for h, p, s, last in rows]
