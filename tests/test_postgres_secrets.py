"""A PostgreSQL state's password (issue 25): only ever from ``${VAR}`` (or libpq's own
~/.pgpass and services), needed by every command, and never shown: not in ``status``, the
daemon's log, an error, ``state migrate``'s output."""

from __future__ import annotations

import subprocess

from conftest import SIMKEEPER, sk, write_config
from receivers import wait_for

SECRET = "Tr0ub4dor-and-3"

CONFIG = """
[settings]
timezone = "UTC"
state = "{state}"

[[notify]]
name = "screen"
url = "json://127.0.0.1:9/hook"

[[numbers]]
name = "travel"
number = "+44 7911 123456"
cycle = "monthly"
due = 2026-12-15
"""


def with_password(url: str, password: str) -> str:
    """The cluster's URL (trust auth: any password does) with a login and ``password``."""
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{password}@")


def test_a_password_written_in_the_config_is_refused(tmp_path, env, pg_cluster):
    url = with_password(pg_cluster.new_database(), SECRET)
    config = write_config(tmp_path / "c.toml", CONFIG.format(state=url))
    r = sk(config, env, "status")
    assert r.returncode == 2 and "settings.state: holds a password" in r.stderr
    assert SECRET not in r.stdout + r.stderr


def test_the_password_comes_from_a_variable_and_never_shows(tmp_path, env, pg_cluster):
    url = with_password(pg_cluster.new_database(), "${PG_SECRET}")
    config = write_config(tmp_path / "c.toml", CONFIG.format(state=url))
    missing = sk(config, env, "status")  # the variable is not set: every command says so
    assert missing.returncode == 2 and "${PG_SECRET} is not set" in missing.stderr
    env = {**env, "PG_SECRET": SECRET}
    outputs = []
    for args in (
        ["renewed", "travel", "--now", "2026-12-10T09:00"],
        ["status", "--now", "2026-12-10T09:00"],
        ["status", "--format", "json", "--now", "2026-12-10T09:00"],
        ["-v", "history"],
        ["state", "migrate", "--to", str(tmp_path / "copy.db")],
    ):
        r = sk(config, env, *args)
        outputs.append(r.stdout + r.stderr)
        assert r.returncode in (0, 1), (args, r.stderr)
    assert "state: postgresql://localhost/" in outputs[1]
    log = tmp_path / "daemon.log"
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [SIMKEEPER, "--config", str(config), "-v", "run"], env=env, stderr=err
        )
        try:
            assert wait_for(lambda: "state postgresql://" in log.read_text(), 60)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    outputs.append(log.read_text())
    # A server that is not there: the error names the host and database, not the login.
    gone = CONFIG.format(state="postgresql://postgres:${PG_SECRET}@127.0.0.1:9/nowhere")
    r = sk(write_config(tmp_path / "gone.toml", gone), env, "status")
    assert r.returncode != 0 and "PostgreSQL state postgresql://127.0.0.1:9/nowhere" in r.stderr
    outputs.append(r.stdout + r.stderr)
    assert not [o for o in outputs if SECRET in o]
