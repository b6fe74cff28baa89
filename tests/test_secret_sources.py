"""Secrets are found where the README puts them, by the CLI and the daemon alike, arrive exactly
as written whatever characters they hold, and no piece of them shows up anywhere.

Sources, in order: ``$CREDENTIALS_DIRECTORY`` (``VAR``, then ``simkeeper_VAR``), the folder
``credentials/`` next to the config, the file ``env`` next to the config, the environment.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import SIMKEEPER, run, write_config
from receivers import HTTPReceiver, SMTPReceiver, wait_for

pytestmark = pytest.mark.filterwarnings("ignore:Session.login_data is deprecated")

NUMBER = """
[[numbers]]
name = "giffgaff"
number = "+44 7911 123456"
cycle = "monthly"
due = 2026-12-15
"""
SOURCES = ["credentials directory", "credentials directory (prefixed)", "folder", "env file", "env"]


def hook_config(folder: Path, http: HTTPReceiver, extra: str = "") -> Path:
    """A config with one json:// target whose header value is ``${TOKEN}``."""
    folder.mkdir(parents=True, exist_ok=True)
    return write_config(
        folder / "config.toml",
        f"""
        [settings]
        timezone = "UTC"
        send_timeout = 5
        state = "{folder / "state.db"}"

        [[notify]]
        name = "hook"
        url = "json://127.0.0.1:{http.port}/hook?+X-Token=${{TOKEN}}"
        {extra}
        """
        + NUMBER,
    )


def plant(source: str, folder: Path, env: dict[str, str], value: str) -> dict[str, str]:
    """Put ``TOKEN=value`` in ``source`` for the config in ``folder``; the environment to use."""
    if source.startswith("credentials directory"):
        creds = folder / "run-credentials"
        creds.mkdir(exist_ok=True)
        name = "simkeeper_TOKEN" if "prefixed" in source else "TOKEN"
        (creds / name).write_text(value + "\n")
        return {**env, "CREDENTIALS_DIRECTORY": str(creds)}
    if source == "folder":
        (folder / "credentials").mkdir(mode=0o700, exist_ok=True)
        (folder / "credentials" / "TOKEN").write_text(value + "\n")
    elif source == "env file":
        (folder / "env").write_text(f"# secrets\nOTHER=x\nTOKEN={value}\n")
    else:
        return {**env, "TOKEN": value}
    return env


@pytest.mark.parametrize("source", SOURCES)
def test_every_command_that_sends_finds_the_secret_in_each_place(tmp_path, env, source):
    with HTTPReceiver() as http:
        config = hook_config(tmp_path / "anywhere", http)
        env = plant(source, config.parent, env, f"tok-{source}")
        check = run(["--config", str(config), "check"], env)
        assert check.returncode == 0, check.stderr
        test = run(["--config", str(config), "test"], env)
        assert test.returncode == 0, test.stdout + test.stderr
        sent = run(["--config", str(config), "send-due", "--now", "2026-12-14T09:00"], env)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert [r.headers["X-Token"] for r in http.requests] == [f"tok-{source}"] * 2


@pytest.mark.parametrize("first", range(len(SOURCES)), ids=SOURCES)
def test_the_first_place_holding_the_secret_wins(tmp_path, env, first):
    with HTTPReceiver() as http:
        config = hook_config(tmp_path / "conf", http)
        for source in SOURCES[first:]:
            env = plant(source, config.parent, env, f"tok-{source}")
        result = run(["--config", str(config), "test"], env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert [r.headers["X-Token"] for r in http.requests] == [f"tok-{SOURCES[first]}"]


def test_the_daemon_uses_the_same_lookup(tmp_path, env):
    """``run`` finds a secret in ``credentials/`` next to the config and delivers with it."""
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    with HTTPReceiver() as http:
        folder = tmp_path / "etc"
        folder.mkdir()
        config = write_config(
            folder / "config.toml",
            f"""
            [settings]
            timezone = "UTC"
            remind_at = "00:00"
            state = "{tmp_path / "state.db"}"

            [[notify]]
            name = "hook"
            url = "json://127.0.0.1:{http.port}/hook?+X-Token=${{TOKEN}}"

            [[numbers]]
            name = "giffgaff"
            number = "+44 7911 123456"
            due = {tomorrow.isoformat()}
            remind = ["1d"]
            """,
        )
        plant("folder", folder, env, "from-the-folder")
        log = tmp_path / "daemon.log"
        with open(log, "w") as stderr:
            proc = subprocess.Popen(
                [SIMKEEPER, "--config", str(config), "run"], env=env, stderr=stderr
            )
            try:
                assert wait_for(lambda: len(http.requests) == 1, 30), log.read_text()
            finally:
                proc.send_signal(signal.SIGTERM)
                assert proc.wait(timeout=20) == 0, log.read_text()
        assert http.requests[0].headers["X-Token"] == "from-the-folder"


# -- not found ------------------------------------------------------------------------------------

NEVER_SEND = [
    ["upcoming", "--now", "2026-12-01T09:00"],
    ["renewed", "giffgaff", "--now", "2026-12-14T09:00"],
    ["topup", "giffgaff", "5", "--now", "2026-12-14T09:00"],
    ["history"],
    ["summary", "--now", "2026-12-01T09:00"],
    ["calendar", "--now", "2026-12-01T09:00"],
    ["status", "--now", "2026-12-14T09:00"],
    ["status", "--now", "2026-12-14T09:00", "--format", "json"],
]


def mail_config(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_config(
        folder / "config.toml",
        f"""
        [settings]
        timezone = "UTC"
        state = "{folder / "state.db"}"

        [[notify]]
        name = "mail"
        url = "mailtos://me:${{SMTP_PASSWORD}}@smtp.example.com?to=me@example.com"
        """
        + NUMBER,
    )


@pytest.mark.parametrize("args", NEVER_SEND, ids=lambda a: " ".join(a[:2]))
def test_commands_that_never_send_work_without_the_secret(tmp_path, env, args):
    config = mail_config(tmp_path / "conf")
    result = run(["--config", str(config), *args], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SMTP_PASSWORD" not in result.stdout + result.stderr
    if args[0] == "status":
        assert "mailtos://smtp.example.com" in result.stdout
        assert "${" not in result.stdout and "me:" not in result.stdout


@pytest.mark.parametrize(
    "args", [["check"], ["test"], ["send-due", "--now", "2026-12-14T09:00"], ["run"]]
)
def test_commands_that_send_say_where_they_looked(tmp_path, env, args):
    config = mail_config(tmp_path / "conf")
    creds = tmp_path / "run-credentials"
    creds.mkdir()
    env = {**env, "CREDENTIALS_DIRECTORY": str(creds)}
    result = run(["--config", str(config), *args], env)
    assert result.returncode == 2, result.stdout + result.stderr
    text = result.stderr
    assert "notify[1].url: ${SMTP_PASSWORD} is not set" in text, text
    for place in (
        creds / "SMTP_PASSWORD",
        creds / "simkeeper_SMTP_PASSWORD",
        config.parent / "credentials" / "SMTP_PASSWORD",
        config.parent / "env",
    ):
        assert str(place) in text, (place, text)
    assert "the environment ($SMTP_PASSWORD)" in text
    assert "Traceback" not in text


def without_root_powers() -> list[str]:
    """A command prefix that makes root obey file modes (no CAP_DAC_OVERRIDE), so a folder
    closed to everyone is unreadable for it too; nothing for another user."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("setpriv (util-linux) is needed to test an unreadable folder as root")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]


def test_an_unreadable_credentials_folder_says_run_as_root(tmp_path, env):
    config = mail_config(tmp_path / "etc")
    creds = config.parent / "credentials"
    creds.mkdir(mode=0o700)
    (creds / "SMTP_PASSWORD").write_text("secret\n")
    creds.chmod(0)
    try:
        result = subprocess.run(
            [*without_root_powers(), SIMKEEPER, "--config", str(config), "check"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        creds.chmod(0o700)
    user = pwd.getpwuid(os.geteuid()).pw_name
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{creds} cannot be read by user {user}: run as root" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


# -- any character, exactly, and never a piece of it shown ----------------------------------------

SPECIAL = ["@", ":", "/", "?", "#", "%", "&", "+", "=", " ", "%41", ":ss&x=1"]
PASSWORDS = {f"u{i}": f"Qz{c}Vk{c}Wj7" for i, c in enumerate(SPECIAL)}
LATIN1 = "sécret"  # HTTP Basic auth is Latin-1
VERBOSITIES = {"quiet": ["-q"], "default": [], "verbose": ["-v"], "debug": ["-vv"]}


def pieces(secret: str) -> set[str]:
    """Every substring of 4 characters or more: none may show anywhere."""
    return {secret[i : i + 4] for i in range(len(secret) - 3)}


ALL_PIECES = set().union(*(pieces(p) for p in [*PASSWORDS.values(), LATIN1]))


def leaked(text: str) -> list[str]:
    return sorted(p for p in ALL_PIECES if p in text)


def special_config(folder: Path, smtp_port: int, http_port: int, header_port: int) -> Path:
    """Per password: a mailto:// login, a json:// Basic auth login and a json:// header."""
    folder.mkdir(parents=True, exist_ok=True)
    creds = folder / "credentials"
    creds.mkdir(mode=0o700)
    targets = []
    for user, password in PASSWORDS.items():
        (creds / f"P_{user}").write_text(password + "\n")
        targets.append(
            f'[[notify]]\nname = "mail-{user}"\nurl = "mailto://{user}:${{P_{user}}}@127.0.0.1:'
            f'{smtp_port}?to=me@example.com&from=sk@example.com&mode=insecure"\n\n'
            f'[[notify]]\nname = "basic-{user}"\n'
            f'url = "json://{user}:${{P_{user}}}@127.0.0.1:{http_port}/x{user}"\n\n'
            f'[[notify]]\nname = "header-{user}"\n'
            f'url = "json://127.0.0.1:{header_port}/x{user}?+X-Token=${{P_{user}}}"\n'
        )
    (creds / "P_latin").write_text(LATIN1 + "\n")
    targets.append(
        f'[[notify]]\nname = "basic-latin"\n'
        f'url = "json://latin:${{P_latin}}@127.0.0.1:{http_port}/xl"\n'
    )
    text = (
        f'[settings]\ntimezone = "UTC"\nsend_timeout = 5\nstate = "{folder / "state.db"}"\n\n'
        + "\n".join(targets)
        + NUMBER
    )
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def commands(config: Path, verbosity: list[str]) -> list[list[str]]:
    base = ["--config", str(config), *verbosity]
    return [
        [*base, "check"],
        [*base, "send-due", "--now", "2026-12-14T09:00"],
        [*base, "send-due", "--now", "2026-12-14T09:02"],  # the retry of a failed send
        [*base, "test"],
        [*base, "status", "--now", "2026-12-14T09:03"],
        [*base, "status", "--now", "2026-12-14T09:03", "--format", "json"],
        [*base, "history", "--format", "json"],
    ]


def assert_no_piece_anywhere(results, folder: Path) -> None:
    for r in results:
        assert "Traceback" not in r.stderr, r.stderr
        assert leaked(r.stdout + r.stderr) == [], (r.args, r.stdout, r.stderr)
    conn = sqlite3.connect(folder / "state.db")
    try:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                assert leaked(repr(row)) == [], (table, row)
    finally:
        conn.close()
    for f in folder.glob("state.db*"):
        assert leaked(f.read_bytes().decode("utf-8", "replace")) == [], f


@pytest.mark.parametrize("verbosity", VERBOSITIES.values(), ids=VERBOSITIES.keys())
def test_every_reserved_character_arrives_exactly_and_never_shows(tmp_path, env, verbosity):
    basic = {**PASSWORDS, "latin": LATIN1}
    with (
        SMTPReceiver(users=PASSWORDS) as smtp,
        HTTPReceiver(basic=basic) as http,
        HTTPReceiver() as headers,
    ):
        config = special_config(tmp_path / "conf", smtp.port, http.port, headers.port)
        results = [run(args, env) for args in commands(config, verbosity)]
        check, first, _, test = results[:4]
        assert check.returncode == 0, check.stderr
        assert first.returncode == 0 and first.stdout.count("sent: ") == 37, first.stdout
        assert test.returncode == 0 and test.stdout.count(": ok") == 37, test.stdout
        assert sorted(smtp.logins) == sorted([*PASSWORDS.items()] * 2)
        assert sorted(http.logins) == sorted([*basic.items()] * 2)
        for user, password in PASSWORDS.items():
            got = [r.headers["X-Token"] for r in headers.to(f"/x{user}")]
            assert got == [password] * 2, (user, got)
    assert_no_piece_anywhere(results, tmp_path / "conf")


@pytest.mark.parametrize("verbosity", VERBOSITIES.values(), ids=VERBOSITIES.keys())
def test_rejected_logins_never_show_a_piece_of_the_password(tmp_path, env, verbosity):
    wrong = {user: "not-it" for user in PASSWORDS}
    with (
        SMTPReceiver() as smtp,  # no AUTH offered: the login fails at once
        HTTPReceiver(basic={**wrong, "latin": "x"}) as http,
        HTTPReceiver(status=500) as headers,
    ):
        config = special_config(tmp_path / "conf", smtp.port, http.port, headers.port)
        results = [run(args, env) for args in commands(config, verbosity)]
        first, retry, test = results[1:4]
        assert first.returncode == 1 and first.stdout.count("failed: ") == 37, first.stdout
        assert retry.returncode == 1 and retry.stdout.count("failed: ") == 37, retry.stdout
        assert test.returncode == 1 and test.stdout.count("FAILED") == 37, test.stdout
        # The exact passwords were tried, and refused: the error paths really ran with them.
        assert smtp.mails == []
        assert sorted(set(http.logins)) == sorted({**PASSWORDS, "latin": LATIN1}.items())
    conn = sqlite3.connect(tmp_path / "conf" / "state.db")
    errors = [
        e for (e,) in conn.execute("SELECT last_error FROM targets WHERE last_error IS NOT NULL")
    ]
    conn.close()
    assert len(errors) == 37
    assert_no_piece_anywhere(results, tmp_path / "conf")


def test_check_says_an_smtp_password_cannot_carry_chinese(tmp_path, env):
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "credentials").mkdir(mode=0o700)
    (folder / "credentials" / "SMTP_PASSWORD").write_text("密码\n")
    (folder / "credentials" / "HOOK").write_text("密码\n")
    config = write_config(
        folder / "config.toml",
        """
        [[notify]]
        name = "hook"
        url = "json://127.0.0.1:9/hook?+X-Token=${HOOK}"

        [[notify]]
        name = "mail"
        url = "mailto://me:${SMTP_PASSWORD}@127.0.0.1:25?to=me@example.com&mode=insecure"
        """
        + NUMBER,
    )
    result = run(["--config", str(config), "check"], env)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "notify[2].url" in lines[0] and "mailto://" in lines[0], lines[0]
    assert "SMTP AUTH" in lines[0] and "ASCII" in lines[0], lines[0]
    assert "密码" not in result.stderr and "%E5" not in result.stderr.upper()
