"""Canary secrets, planted everywhere an Apprise URL keeps them, never show up: not in the output
of any command at any verbosity, on success or on failure, and not in the database file.

The canaries really are in use: the receivers check that each one reached them (the SMTP login,
the json header, the ntfy bearer token, the SMSEagle access token and recipient), so a test
cannot pass because a secret silently went missing.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from conftest import run, write_config
from receivers import HTTPReceiver, RefusingPort, SMTPReceiver

# aiosmtpd warns about its own deprecated attribute when a client logs in.
pytestmark = pytest.mark.filterwarnings("ignore:Session.login_data is deprecated")

PASSWORD = "CANARYPASS123"
HEADER = "CANARYHEADER456"
NTFY_TOKEN = "CANARYTOKEN789"
SMS_TOKEN = "CANARYSMSTOKEN"
SMS_TO = "+1-555-555-0123"  # written with dashes; Apprise prints it as +15555550123
FROM_ENV = "CANARYENV321"
FROM_CREDENTIALS = "CANARYCRED654"
CANARIES = {
    "smtp password": PASSWORD,
    "json header": HEADER,
    "ntfy token": NTFY_TOKEN,
    "smseagle token": SMS_TOKEN,
    "sms recipient": "15555550123",  # digits only: catches +15555550123 and 1-555-... alike
    "sms recipient (as written)": "555-555-0123",
    "secret from env": FROM_ENV,
    "secret from $CREDENTIALS_DIRECTORY": FROM_CREDENTIALS,
}
VERBOSITIES = {"quiet": ["-q"], "default": [], "verbose": ["-v"], "debug": ["-vv"]}


def leaks(text: str) -> list[str]:
    """Which canaries ``text`` contains (also with separators stripped out of numbers)."""
    squeezed = re.sub(r"(?<=\d)[\s().-]+(?=\d)", "", text)
    return [kind for kind, c in CANARIES.items() if c in text or c in squeezed]


def make_config(tmp_path: Path, smtp_port: int, ports: dict[str, int]) -> Path:
    return write_config(
        tmp_path / "config.toml",
        f"""
        [settings]
        timezone = "Europe/Berlin"
        remind = ["3d", "1d"]
        send_timeout = 2
        state = "{tmp_path / "state.db"}"

        [[notify]]
        name = "mail"
        url = "mailto://owner:{PASSWORD}@127.0.0.1:{smtp_port}?to=me@example.com&from=sk@example.com&mode=insecure"

        [[notify]]
        name = "webhook"
        url = "json://127.0.0.1:{ports["json"]}/hook?+X-Token={HEADER}"

        [[notify]]
        name = "push"
        url = "ntfy://127.0.0.1:{ports["ntfy"]}/sims?token={NTFY_TOKEN}"

        [[notify]]
        name = "sms"
        url = "smseagle://{SMS_TOKEN}@127.0.0.1:{ports["sms"]}/{SMS_TO}"

        [[notify]]
        name = "env"
        url = "json://127.0.0.1:{ports["json"]}/env?+Authorization=${{HOOK_SECRET}}"

        [[notify]]
        name = "cred"
        url = "json://127.0.0.1:{ports["json"]}/cred?+Authorization=${{CRED_SECRET}}"

        [[numbers]]
        name = "UK backup"
        number = "+44 7911 123456"
        cycle = "monthly"
        due = 2026-12-15
        """,
    )


def secret_env(tmp_path: Path, env: dict[str, str]) -> dict[str, str]:
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "CRED_SECRET").write_text(FROM_CREDENTIALS + "\n")
    return {**env, "HOOK_SECRET": FROM_ENV, "CREDENTIALS_DIRECTORY": str(creds)}


def every_command(path: Path, env: dict[str, str], verbosity: list[str]) -> list:
    base = ["--config", str(path), *verbosity]
    status = ["status", "--now", "2026-12-14T09:02"]
    return [
        run([*base, "check"], env),
        run([*base, "send-due", "--now", "2026-12-14T09:00"], env),
        run([*base, "send-due", "--now", "2026-12-14T09:01:05"], env),  # retries after backoff
        run([*base, "test"], env),
        run([*base, *status], env),
        run([*base, *status, "--format", "json"], env),
        run([*base, "history"], env),
        run([*base, "history", "--format", "json"], env),
        run([*base, "upcoming", "--now", "2026-12-14T09:02"], env),
    ]


def assert_nothing_leaked(results, tmp_path: Path) -> None:
    for result in results:
        command = " ".join(result.args[3:])
        assert "Traceback" not in result.stderr, result.stderr
        assert leaks(result.stdout) == [], f"stdout of {command}:\n{result.stdout}"
        assert leaks(result.stderr) == [], f"stderr of {command}:\n{result.stderr}"
    files = [p for p in tmp_path.glob("state.db*") if p.is_file()]
    assert tmp_path / "state.db" in files
    for f in files:
        assert leaks(f.read_bytes().decode("latin-1")) == [], f"secret in {f.name}"


@pytest.mark.parametrize("verbosity", VERBOSITIES.values(), ids=VERBOSITIES.keys())
def test_no_secret_leaks_when_every_send_succeeds(tmp_path, env, verbosity):
    env = secret_env(tmp_path, env)
    with (
        SMTPReceiver(users={"owner": PASSWORD}) as smtp,
        HTTPReceiver() as hook,
        HTTPReceiver() as push,
        HTTPReceiver(sms_token=SMS_TOKEN) as gateway,
    ):
        ports = {"json": hook.port, "ntfy": push.port, "sms": gateway.port}
        path = make_config(tmp_path, smtp.port, ports)
        results = every_command(path, env, verbosity)
        check, first, retry, test = results[:4]
        assert check.returncode == 0, check.stderr
        assert first.returncode == 0, first.stdout + first.stderr
        assert len(first.stdout.splitlines()) == 6 and "failed" not in first.stdout
        assert retry.stdout.strip() == "nothing to send"
        assert test.returncode == 0 and test.stdout.count(": ok") == 6
        # Every canary reached its receiver, twice (the reminder and the test message).
        assert smtp.logins == [("owner", PASSWORD)] * 2 and len(smtp.mails) == 2
        by_route = {route: hook.to(route) for route in ("/hook", "/env", "/cred")}
        assert [r.headers["X-Token"] for r in by_route["/hook"]] == [HEADER] * 2
        assert [r.headers["Authorization"] for r in by_route["/env"]] == [FROM_ENV] * 2
        assert [r.headers["Authorization"] for r in by_route["/cred"]] == [FROM_CREDENTIALS] * 2
        assert [r.headers["Authorization"] for r in push.requests] == [f"Bearer {NTFY_TOKEN}"] * 2
        assert [r.json()["params"]["to"] for r in gateway.requests] == ["+15555550123"] * 2
        assert [r.json()["params"]["access_token"] for r in gateway.requests] == [SMS_TOKEN] * 2
    assert_nothing_leaked(results, tmp_path)


@pytest.mark.parametrize("verbosity", VERBOSITIES.values(), ids=VERBOSITIES.keys())
def test_no_secret_leaks_when_receivers_answer_500(tmp_path, env, verbosity):
    env = secret_env(tmp_path, env)
    with (
        SMTPReceiver() as smtp,  # no AUTH offered: the login with the password fails
        HTTPReceiver(status=500) as hook,
        HTTPReceiver(status=500) as push,
        HTTPReceiver(status=500) as gateway,
    ):
        ports = {"json": hook.port, "ntfy": push.port, "sms": gateway.port}
        path = make_config(tmp_path, smtp.port, ports)
        results = every_command(path, env, verbosity)
        _, first, retry, test = results[:4]
        for result in (first, retry):
            assert result.returncode == 1
            assert len(re.findall(r"^failed: ", result.stdout, re.M)) == 6, result.stdout
        assert test.returncode == 1 and test.stdout.count("FAILED") == 6
        # The secrets were sent, and rejected: the error paths really ran with them.
        assert len(hook.to("/hook")) == 3 and hook.to("/hook")[0].headers["X-Token"] == HEADER
        assert len(push.requests) == 3 and len(gateway.requests) == 3
        assert smtp.mails == []
    errors = [
        e
        for (e,) in sqlite3.connect(tmp_path / "state.db").execute(
            "SELECT last_error FROM deliveries"
        )
    ]
    assert len(errors) == 6 and all(errors)
    assert any("****" in e for e in errors), "the SMS error names the recipient, masked"
    assert_nothing_leaked(results, tmp_path)


@pytest.mark.parametrize("verbosity", VERBOSITIES.values(), ids=VERBOSITIES.keys())
def test_no_secret_leaks_when_connections_are_refused(tmp_path, env, verbosity):
    env = secret_env(tmp_path, env)
    with RefusingPort() as down:
        ports = {"json": down.port, "ntfy": down.port, "sms": down.port}
        path = make_config(tmp_path, down.port, ports)
        results = every_command(path, env, verbosity)
    _, first, retry, test = results[:4]
    for result in (first, retry):
        assert result.returncode == 1
        assert len(re.findall(r"^failed: ", result.stdout, re.M)) == 6, result.stdout
    assert test.returncode == 1 and test.stdout.count("FAILED") == 6
    assert_nothing_leaked(results, tmp_path)


def test_url_problems_reported_by_check_do_not_show_the_secret(tmp_path, env):
    path = write_config(
        tmp_path / "config.toml",
        f"""
        [[notify]]
        name = "sms"
        url = "smseagle://{SMS_TOKEN}@127.0.0.1:8080/{SMS_TO}?priority=bogus"

        [[notify]]
        name = "push"
        url = "ntfy://{NTFY_TOKEN}@127.0.0.1:8080/?token={NTFY_TOKEN}&mode=bogus"

        [[notify]]
        name = "hook"
        url = "jsonn://127.0.0.1/{HEADER}"

        [[numbers]]
        name = "a"
        number = "+44 7911 123456"
        due = 2026-12-15
        """,
    )
    for verbosity in VERBOSITIES.values():
        result = run(["--config", str(path), *verbosity, "check"], env)
        assert result.returncode == 2
        for i in (1, 2, 3):
            assert f"notify[{i}].url" in result.stderr, result.stderr
        assert leaks(result.stdout + result.stderr) == [], result.stderr


# -- warnings about inline secrets in readable files ----------------------------------------------

INLINE = {
    "mailto password": f"mailtos://me:{PASSWORD}@smtp.example.com?to=me@example.com",
    "json header token": f"json://127.0.0.1:8080/hook?+X-Token={HEADER}",
    "ntfy token query": f"ntfy://127.0.0.1:8080/sims?token={NTFY_TOKEN}",
    "ntfy token as user": f"ntfy://{NTFY_TOKEN}@127.0.0.1:8080/sims?auth=token",
    "smseagle token": f"smseagle://{SMS_TOKEN}@127.0.0.1:8080/+15555550123",
}
THROUGH_VAR = {
    "mailto password": "mailtos://me:${SECRET}@smtp.example.com?to=me@example.com",
    "json header token": "json://127.0.0.1:8080/hook?+X-Token=${SECRET}",
    "ntfy token query": "ntfy://127.0.0.1:8080/sims?token=${SECRET}",
    "ntfy token as user": "ntfy://${SECRET}@127.0.0.1:8080/sims?auth=token",
    "smseagle token": "smseagle://${SECRET}@127.0.0.1:8080/+15555550123",
}


def single_target(tmp_path: Path, url: str) -> Path:
    return write_config(
        tmp_path / "config.toml",
        f"""
        [[notify]]
        name = "target"
        url = "{url}"

        [[numbers]]
        name = "a"
        number = "+44 7911 123456"
        due = 2026-12-15
        """,
    )


@pytest.mark.parametrize("kind", INLINE.keys())
def test_inline_secret_in_a_readable_config_is_warned_about(tmp_path, env, kind):
    path = single_target(tmp_path, INLINE[kind])
    private = run(["--config", str(path), "check"], env)
    assert private.returncode == 0, private.stderr
    assert "warning" not in private.stderr
    for mode in (0o640, 0o604, 0o644):
        path.chmod(mode)
        loud = run(["--config", str(path), "check"], env)
        assert loud.returncode == 0, loud.stderr
        assert "warning" in loud.stderr and "readable by others" in loud.stderr, (mode, kind)
        assert f"chmod 600 {path}" in loud.stderr and "${VAR}" in loud.stderr
        assert leaks(loud.stdout + loud.stderr) == []


@pytest.mark.parametrize("kind", THROUGH_VAR.keys())
def test_secret_through_a_variable_is_not_warned_about(tmp_path, env, kind):
    path = single_target(tmp_path, THROUGH_VAR[kind])
    path.chmod(0o644)
    result = run(["--config", str(path), "check"], {**env, "SECRET": FROM_ENV})
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr
    assert leaks(result.stdout + result.stderr) == []


def test_the_user_part_beside_a_password_is_secret_too(tmp_path, env):
    """Issue 10: a Twilio URL's account SID sits in the user part beside the token; check's
    reason from Apprise quoted it."""
    sid = "ACxxxxSECRETSID"
    path = single_target(tmp_path, f"twilio://{sid}:tokenSECRET123@+15551234567")
    result = run(["--config", str(path), "check"], env)
    assert result.returncode == 2, result.stderr
    assert "notify[1].url" in result.stderr
    assert "ACxx" not in result.stdout + result.stderr, result.stderr
    assert "tokenSECRET" not in result.stdout + result.stderr
    from simkeeper.core.redact import url_secrets

    shown = url_secrets("mailtos://someuser:pw123@smtp.example.com/path/TOKEN123?to=x&key=k123")
    assert {"someuser", "pw123", "TOKEN123", "k123"} <= set(shown)
