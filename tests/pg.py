"""A throwaway PostgreSQL cluster for the tests: ``initdb`` and ``pg_ctl`` in a temp folder,
listening on a unix socket only, removed afterwards.

PostgreSQL refuses to run as root; as root (CI), the cluster runs as ``nobody`` in a folder
made for it. Without Debian's ``postgresql`` package the tests that need it are skipped, or
fail with CI=true (``.ci/run`` installs it).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

_names = itertools.count(1)


def bindir() -> Path | None:
    """Where initdb and pg_ctl are (Debian keeps them out of PATH), newest version first."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def require_postgresql() -> Path:
    """The binaries' folder; skip (fail with CI=true) when PostgreSQL is not installed."""
    found = bindir()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL (Debian's postgresql package) is needed by these tests")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    return found


class Cluster:
    """One running cluster: :meth:`url` names a database on its socket."""

    def __init__(self) -> None:
        self.bin = require_postgresql()
        self.root = Path(tempfile.mkdtemp(prefix="simkeeper-pg-"))
        self.data = self.root / "data"
        self.user: str | None = "nobody" if os.geteuid() == 0 else None
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.root.chmod(0o755)  # the tests (root, or this user) reach the socket inside
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bin / tool), *args]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, cwd=self.root)

    def start(self) -> None:
        """Start the server (and wait until it takes connections)."""
        opts = f"-k {self.root} -c listen_addresses='' -c fsync=off -c max_connections=200"
        log = str(self.root / "log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", opts, "-w", "start")

    def stop(self) -> None:
        """Stop the server (fast: open sessions are ended)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        """Restart the server under whoever is connected."""
        self.stop()
        self.start()

    def url(self, database: str = "postgres") -> str:
        """A postgresql:// URL for ``database`` on the cluster's socket."""
        return f"postgresql://postgres@/{database}?host={self.root}"

    def new_database(self) -> str:
        """A fresh empty database; its URL."""
        import psycopg

        name = f"t{os.getpid()}_{next(_names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def remove(self) -> None:
        """Stop the server and delete its folder."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def query(location: str | Path, sql: str, args: tuple = ()) -> list[tuple]:
    """Rows of ``sql`` (SQLite's SQL, ``?`` placeholders) on a state, on its own connection:
    an SQLite file, or a PostgreSQL URL (the SQL rewritten as the store rewrites it)."""
    from simkeeper.state.dialect import POSTGRESQL, is_url

    if is_url(str(location)):
        import psycopg

        with psycopg.connect(str(location), autocommit=True) as conn:
            cur = conn.execute(POSTGRESQL.sql(sql), args)
            return [tuple(r) for r in cur.fetchall()] if cur.description else []
    import sqlite3

    conn = sqlite3.connect(location, timeout=10)
    try:
        rows = conn.execute(sql, args).fetchall()
        conn.commit()  # a write through here is meant
        return rows
    finally:
        conn.close()
