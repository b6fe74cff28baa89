"""``simkeeper backup`` and ``restore``: a consistent copy of the state database, and back.

A backup is taken with SQLite's online backup API, so it is consistent while the daemon runs and
writes; the copy is one self-contained file (no ``-wal``) of mode 0600, written atomically.
Restoring checks that the file is a simkeeper database this build understands, and refuses
while a daemon holds the state: every daemon holds a shared lock on the state folder for its
whole life, and ``restore`` needs it exclusively.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from simkeeper.core.errors import StateError, UsageError
from simkeeper.state.problems import cannot_create

MIGRATIONS_TABLE = "_sqlite_migrations"


@dataclass(frozen=True)
class Copied:
    """What a backup or restore copied."""

    path: Path
    reminders: int
    history: int


def _known_migrations() -> list[str]:
    from simkeeper.state.migrations import migrations

    return [m.name for m in migrations._migrations]


def _counts(conn: sqlite3.Connection) -> tuple[int, int]:
    reminders = conn.execute("SELECT COUNT(*) FROM reminders").fetchone()[0]
    history = conn.execute("SELECT COUNT(*) FROM history").fetchone()[0]
    return int(reminders), int(history)


def _private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 (whatever the umask), replacing nothing."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)
    os.close(fd)


def copy_database(source: sqlite3.Connection, dest: Path) -> None:
    """Write a consistent copy of ``source`` to ``dest`` (mode 0600, atomically replaced)."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    _private_file(tmp)
    try:
        target = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode = DELETE")  # one file, no -wal beside it
        finally:
            target.close()
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def backup(state: Path, dest: Path) -> Copied:
    """Copy the state database at ``state`` to ``dest`` while anything may be writing it."""
    if not state.exists():
        raise UsageError(f"there is no state database at {state} yet", "nothing to back up")
    if dest.is_dir():
        raise UsageError(f"{dest} is a folder", "give the backup's file name, e.g. simkeeper.db")
    if dest.resolve() == state.resolve():
        raise UsageError("the backup file is the state database itself", "pick another path")
    try:
        source = sqlite3.connect(str(state), timeout=30)
        try:
            source.execute("PRAGMA busy_timeout = 30000")
            copy_database(source, dest)
            with contextlib.closing(sqlite3.connect(str(dest))) as copy:
                reminders, history = _counts(copy)
        finally:
            source.close()
    except OSError as e:
        raise StateError(f"cannot write the backup {dest}: {e.strerror or e}") from None
    except sqlite3.Error as e:
        raise StateError(f"cannot back up {state}: {e}") from None
    return Copied(dest, reminders, history)


def check_backup(path: Path) -> None:
    """Raise :class:`UsageError` unless ``path`` is a simkeeper database this build reads."""
    if not path.is_file():
        raise UsageError(f"{path} is not a file", "give the path of a file made by backup")
    known = _known_migrations()
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise UsageError(f"{path} is damaged (SQLite's quick_check failed)")
            rows = conn.execute(
                f"SELECT name FROM {MIGRATIONS_TABLE} WHERE migration_set = 'simkeeper'"
            ).fetchall()
            _counts(conn)
    except sqlite3.DatabaseError:
        raise UsageError(
            f"{path} is not a simkeeper database", "give a file made by 'simkeeper backup'"
        ) from None
    applied = [name for (name,) in rows]
    newer = [name for name in applied if name not in known]
    if newer:
        raise UsageError(
            f"{path} was made by a newer simkeeper (database changes {', '.join(newer)})",
            "upgrade simkeeper on this machine first",
        )
    if not applied:
        raise UsageError(f"{path} is not a simkeeper database", "it has no simkeeper tables")


@contextlib.contextmanager
def state_lock(state: Path, exclusive: bool) -> Iterator[None]:
    """Hold the lock on the state folder: shared for a daemon, exclusive for ``restore``.

    Raises :class:`StateError` when ``exclusive`` and a daemon holds it.
    """
    folder = state.parent
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as e:
        raise cannot_create(state, e) from None
    try:
        if exclusive:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StateError(
                    f"a simkeeper daemon is using {state}: stop it first (sudo systemctl stop "
                    f"simkeeper, or systemctl --user stop simkeeper), restore, then start it"
                ) from None
        else:
            fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def _drop_journal(state: Path) -> None:
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{state}{suffix}").unlink()


def restore(source: Path, state: Path) -> tuple[Copied, Path | None]:
    """Put the backup ``source`` in place as the state database ``state``.

    The database it replaces is kept beside it (``STATE.before-restore``), whose path is
    returned with what was restored.
    """
    check_backup(source)
    with state_lock(state, exclusive=True):
        kept = None
        try:
            if state.exists():
                kept = state.with_name(state.name + ".before-restore")
                with contextlib.closing(sqlite3.connect(str(state), timeout=30)) as old:
                    copy_database(old, kept)
            _drop_journal(state)  # closing the old database emptied it; a stale one would apply
            with contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src:
                copy_database(src, state)
            _drop_journal(state)
        except OSError as e:
            raise StateError(f"cannot write {state}: {e.strerror or e}") from None
        except sqlite3.Error as e:
            raise StateError(f"cannot restore into {state}: {e}") from None
        from simkeeper.state.store import open_store

        store = open_store(state)  # applies this build's migrations to an older backup
        assert store is not None
        with store:
            reminders, history = _counts(store.db.conn)  # type: ignore[arg-type]
    return Copied(state, reminders, history), kept
