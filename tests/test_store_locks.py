"""SQLite's own locks survive simkeeper opening the same database again.

POSIX record locks belong to the process, not to the descriptor: closing *any* descriptor of
the database file drops every lock the process holds on it. A second ``open_store`` in a
process that already has the database open (the daemon's pass, the web face's request) once
opened and closed the file itself; the daemon's shared lock vanished, the next short-lived
command believed it was the last connection and removed the write-ahead log under it, and every
pass after that failed with "disk I/O error"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from simkeeper.state.store import open_store

WRITER = """
import sys
from pathlib import Path
from simkeeper.state.store import open_store
store = open_store(Path(sys.argv[1]))
store.db.execute("CREATE TABLE IF NOT EXISTS probe (n INTEGER)")
store.db.execute("INSERT INTO probe VALUES (2)")
store.close()
"""


def test_a_second_open_in_one_process_keeps_the_first_connections_locks(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = open_store(path)
    assert first is not None
    first.db.execute("CREATE TABLE probe (n INTEGER)")
    first.db.execute("INSERT INTO probe VALUES (1)")
    again = open_store(path)  # what a later pass or request does while ``first`` is open
    assert again is not None
    # Another process writes and closes: it must see ``first`` is still there and leave the
    # write-ahead log alone.
    done = subprocess.run([sys.executable, "-c", WRITER, str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert Path(f"{path}-wal").exists()
    first.db.execute("INSERT INTO probe VALUES (3)")
    assert [n for (n,) in first.db.execute("SELECT n FROM probe ORDER BY n")] == [1, 2, 3]
    again.close()
    first.close()
