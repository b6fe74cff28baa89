"""Canary secrets planted in every kind of place an Apprise URL keeps them must never show up:
not in output, logs, ``status`` or the database, at any verbosity, on success or failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run, write_config
from local_receivers import HTTPReceiver, SMTPReceiver, free_port

CANARIES = {
    "password": "CanaryPass8812",
    "header": "CanaryHeader5531",
    "token": "CanaryNtfyTok4471",
    "sms_token": "CanarySmsTok9931",
    "recipient": "+15555550123",
    "from_env": "CanaryEnv7723",
    "from_credentials": "CanaryCred6619",
}


def make_config(tmp_path: Path, smtp_port: int, good: int, bad: int) -> Path:
    c = CANARIES
    return write_config(
        tmp_path / "config.toml",
        f"""
        [settings]
        timezone = "UTC"
        send_timeout = 2
        state = "{tmp_path / "state.db"}"

        [[notify]]
        name = "mail"
        url = "mailto://owner:{c["password"]}@127.0.0.1:{smtp_port}?to=me@example.com&from=sk@example.com&mode=insecure"

        [[notify]]
        name = "hook"
        url = "json://127.0.0.1:{good}/hook?+X-Token={c["header"]}"

        [[notify]]
        name = "push"
        url = "ntfy://127.0.0.1:{bad}/sims?token={c["token"]}"

        [[notify]]
        name = "sms"
        url = "smseagle://{c["sms_token"]}@127.0.0.1:{bad}/{c["recipient"]}"

        [[notify]]
        name = "env"
        url = "json://127.0.0.1:{bad}/x?+Authorization=${{HOOK_SECRET}}"

        [[notify]]
        name = "cred"
        url = "json://127.0.0.1:{free_port()}/y?+Authorization=${{CRED_SECRET}}"

        [[numbers]]
        name = "giffgaff"
        number = "+44 7911 123456"
        cycle = "monthly"
        due = 2026-12-15
        """,
    )


def assert_clean(text: str, where: str) -> None:
    for kind, canary in CANARIES.items():
        assert canary not in text, f"{kind} secret leaked in {where}"
    # The recipient must not leak in another spelling either.
    assert "15555550123" not in text, f"recipient leaked in {where}"


@pytest.mark.parametrize("verbosity", [["-q"], [], ["-v"], ["-vv"]], ids=["q", "0", "v", "vv"])
def test_no_secret_anywhere(tmp_path, env, verbosity):
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "CRED_SECRET").write_text(CANARIES["from_credentials"] + "\n")
    env = {**env, "HOOK_SECRET": CANARIES["from_env"], "CREDENTIALS_DIRECTORY": str(creds)}
    # "bad" answers 500 so the failure paths (and their error texts) are exercised; the SMTP
    # server has no AUTH, so the password login fails; "cred" points at a closed port.
    with SMTPReceiver() as smtp, HTTPReceiver() as good, HTTPReceiver(status=500) as bad:
        path = make_config(tmp_path, smtp.port, good.port, bad.port)
        base = ["--config", str(path), *verbosity]
        outputs = [
            run([*base, "check"], env),
            run([*base, "send-due", "--now", "2026-12-14T09:00"], env),
            run([*base, "send-due", "--now", "2026-12-14T09:10"], env),
            run([*base, "test"], env),
            run([*base, "status", "--now", "2026-12-14T09:10"], env),
            run([*base, "status", "--format", "json", "--now", "2026-12-14T09:10"], env),
            run([*base, "history", "--format", "json"], env),
        ]
        assert len(good.requests) >= 2, "the healthy target must have received messages"
        assert bad.requests, "the failing target must have been tried"
        assert good.requests[0].headers.get("X-Token") == CANARIES["header"]
    for result in outputs:
        assert "Traceback" not in result.stderr
        assert_clean(result.stdout, f"stdout of {result.args}")
        assert_clean(result.stderr, f"stderr of {result.args}")
    failed = outputs[1]
    assert failed.returncode == 1 and "failed: push" in failed.stdout
    for name in ("state.db", "state.db-wal"):
        f = tmp_path / name
        if f.exists():
            assert_clean(f.read_bytes().decode("latin-1"), name)


def test_inline_secret_in_a_readable_file_is_warned_about(tmp_path, env):
    path = write_config(
        tmp_path / "config.toml",
        f"""
        [[notify]]
        name = "mail"
        url = "mailtos://me:{CANARIES["password"]}@smtp.example.com?to=me@example.com"

        [[numbers]]
        name = "a"
        number = "+44 7911 123456"
        due = 2026-12-15
        """,
    )
    quiet = run(["--config", str(path), "check"], env)
    assert quiet.returncode == 0 and "warning" not in quiet.stderr
    path.chmod(0o644)
    loud = run(["--config", str(path), "check"], env)
    assert loud.returncode == 0
    assert "readable by others" in loud.stderr and "chmod 600" in loud.stderr
    assert_clean(loud.stderr + loud.stdout, "check warning")
    via_var = path.read_text().replace(CANARIES["password"], "${SMTP_PASSWORD}")
    path.write_text(via_var)
    ok = run(["--config", str(path), "check"], {**env, "SMTP_PASSWORD": "x" * 12})
    assert ok.returncode == 0 and "warning" not in ok.stderr
