"""The systemd units: `systemd-analyze verify` is silent, and the system unit's exposure score
from `systemd-analyze security --offline=true` is 1.5 or lower."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import SIMKEEPER, run, write_config

UNITS = Path(__file__).parent.parent / "systemd"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze not installed")


def installed_copy(tmp_path: Path, unit: str, text: str | None = None) -> Path:
    """The unit with ExecStart= and ExecReload= pointing at this checkout's real console
    script, since `verify` fails when the binary is missing."""
    assert Path(SIMKEEPER).exists(), "the simkeeper console script must be installed"
    text = text if text is not None else (UNITS / unit).read_text()
    text = re.sub(r"^(Exec\w+)=\S+/simkeeper ", rf"\1={SIMKEEPER} ", text, flags=re.M)
    path = tmp_path / unit
    path.write_text(text)
    return path


def analyze(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ANALYZE, *args], capture_output=True, text=True, timeout=60, cwd=cwd, check=False
    )


@needs_analyze
@pytest.mark.parametrize(
    "unit", ["simkeeper.service", "simkeeper-user.service", "simkeeper-failure@.service"]
)
def test_verify_is_clean(tmp_path, unit):
    path = installed_copy(tmp_path, unit)
    if "@" in unit:  # a template is verified through an instance
        path = path.rename(tmp_path / unit.replace("@", "@simkeeper.service"))
    result = analyze("verify", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


@needs_analyze
def test_verify_check_catches_a_misspelt_directive(tmp_path):
    text = (UNITS / "simkeeper.service").read_text().replace("Restart=", "Restrat=")
    path = installed_copy(tmp_path, "simkeeper.service", text)
    result = analyze("verify", str(path), cwd=tmp_path)
    assert "Restrat" in result.stderr  # exit status alone would not show it


@needs_analyze
@pytest.mark.parametrize("unit", ["simkeeper.service", "simkeeper-failure@.service"])
def test_system_unit_exposure_is_low(tmp_path, unit):
    path = installed_copy(tmp_path, unit)
    if "@" in unit:
        path = path.rename(tmp_path / unit.replace("@", "@simkeeper.service"))
    result = analyze("security", "--offline=true", str(path), cwd=tmp_path)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout[-2000:] + result.stderr
    score = float(match.group(1))
    print(f"\nsystemd-analyze security exposure of {unit}: {score}")
    assert score <= 1.5


def test_system_unit_has_what_the_service_needs():
    text = (UNITS / "simkeeper.service").read_text()
    for line in [
        "Type=notify",
        "ExecStart=/opt/simkeeper/bin/simkeeper --config /etc/simkeeper/config.toml run",
        "ExecReload=/opt/simkeeper/bin/simkeeper --config /etc/simkeeper/config.toml reload "
        "$MAINPID",
        "Restart=on-failure",
        "RestartPreventExitStatus=2",
        "OnFailure=simkeeper-failure@%n.service",
        "RuntimeDirectory=simkeeper",
        "StateDirectory=simkeeper",
        "ConfigurationDirectory=simkeeper",
        "CacheDirectory=simkeeper",
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "SystemCallFilter=@system-service",
        "CapabilityBoundingSet=",
    ]:
        assert re.search(rf"^{re.escape(line)}$", text, re.M), line
    assert re.search(r"^WatchdogSec=\S+", text, re.M)
    # The whole folder: a secret added there needs no unit edit, and none is ever required.
    assert re.search(r"^LoadCredential=simkeeper:/etc/simkeeper/credentials$", text, re.M)


def test_secrets_loaded_the_way_the_unit_loads_them_fill_in_the_config(tmp_path, env):
    """systemd names each file NAME of a LoadCredential=ID:FOLDER folder ID_NAME; ${NAME} in
    the config must find it there."""
    text = (UNITS / "simkeeper.service").read_text()
    [(cred_id, folder)] = re.findall(r"^LoadCredential=(\w+):(\S+)$", text, re.M)
    assert folder == "/etc/simkeeper/credentials"
    creds = tmp_path / "creds"  # what systemd makes of the folder at start
    creds.mkdir()
    (creds / f"{cred_id}_HOOK_TOKEN").write_text("tok3n-from-systemd\n")
    config = write_config(
        tmp_path / "config.toml",
        """
        [[notify]]
        name = "hook"
        url = "json://127.0.0.1:9/${HOOK_TOKEN}"

        [[numbers]]
        name = "a"
        number = "+44 7911 123456"
        due = 2027-01-01
        """,
    )
    found = run(["--config", str(config), "check"], {**env, "CREDENTIALS_DIRECTORY": str(creds)})
    assert found.returncode == 0, found.stderr
    assert "tok3n" not in found.stdout + found.stderr
    missing = run(["--config", str(config), "check"], env)
    assert missing.returncode == 2
    assert "${HOOK_TOKEN} is not set" in missing.stderr


def test_user_unit_uses_xdg_paths():
    text = (UNITS / "simkeeper-user.service").read_text()
    assert "--config %E/simkeeper/config.toml run" in text
    assert "Type=notify" in text and "WantedBy=default.target" in text


def test_failure_unit_alerts_through_the_same_config_and_secrets():
    text = (UNITS / "simkeeper-failure@.service").read_text()
    system = (UNITS / "simkeeper.service").read_text()
    assert re.search(
        r"^ExecStart=/opt/simkeeper/bin/simkeeper --config /etc/simkeeper/config.toml "
        r"notify-failure %i$",
        text,
        re.M,
    )
    [loaded] = re.findall(r"^LoadCredential=.*$", system, re.M)
    assert re.search(rf"^{re.escape(loaded)}$", text, re.M)
    assert re.search(r"^Type=oneshot$", text, re.M) and "DynamicUser=yes" in text


def test_user_unit_leaves_the_state_folder_to_simkeeper():
    """systemd before 254 puts a user unit's StateDirectory= in ~/.config (and makes
    ~/.config/simkeeper 0755): the daemon's own default, $XDG_STATE_HOME/simkeeper, is used."""
    text = (UNITS / "simkeeper-user.service").read_text()
    assert not re.search(r"^StateDirectory=", text, re.M)
    assert re.search(r"^RestartPreventExitStatus=2$", text, re.M)
    assert re.search(
        r"^ExecReload=\S+/simkeeper --config %E/simkeeper/config.toml reload ", text, re.M
    )


# -- the web face's socket and service ------------------------------------------------------


@needs_analyze
def test_web_units_verify_clean(tmp_path):
    """The socket and its service together: `verify` resolves Requires= between them."""
    service = installed_copy(tmp_path, "simkeeper-web.service")
    socket_unit = installed_copy(tmp_path, "simkeeper-web.socket")
    result = analyze("verify", str(socket_unit), str(service), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


@needs_analyze
def test_web_unit_exposure_is_low(tmp_path):
    path = installed_copy(tmp_path, "simkeeper-web.service")
    installed_copy(tmp_path, "simkeeper-web.socket")
    result = analyze("security", "--offline=true", str(path), cwd=tmp_path)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout[-2000:] + result.stderr
    score = float(match.group(1))
    print(f"\nsystemd-analyze security exposure of simkeeper-web.service: {score}")
    assert score <= 1.5


def test_web_socket_listens_where_the_web_face_does():
    """Accept=no (one service for all connections) on 127.0.0.1:8787, the `listen` default the
    README documents; started at boot by sockets.target."""
    text = (UNITS / "simkeeper-web.socket").read_text()
    for line in ["ListenStream=127.0.0.1:8787", "Accept=no", "WantedBy=sockets.target"]:
        assert re.search(rf"^{re.escape(line)}$", text, re.M), line


def test_web_service_has_the_daemons_hardening_and_no_network():
    """Every hardening line of simkeeper.service, the same config, state folder and transient
    user (so it reads the config and writes the same database), and no network of its own."""
    web = (UNITS / "simkeeper-web.service").read_text()
    daemon = (UNITS / "simkeeper.service").read_text()
    start = daemon.index("# Who:")
    shared = [
        line
        for line in daemon[start:].splitlines()
        if re.match(r"^\w+=", line)
        and not line.startswith(("RestrictAddressFamilies=", "WantedBy="))
    ]
    assert len(shared) > 25
    for line in [
        *shared,
        "ConfigurationDirectory=simkeeper",
        "StateDirectory=simkeeper",
        "LoadCredential=simkeeper:/etc/simkeeper/credentials",
        "Type=notify",
        "RestartPreventExitStatus=2",
        "Requires=simkeeper-web.socket",
        "PrivateNetwork=yes",
        "IPAddressDeny=any",
        "RestrictAddressFamilies=AF_UNIX",
    ]:
        assert re.search(rf"^{re.escape(line)}$", web, re.M), line
    assert re.search(
        r"^ExecStart=/opt/simkeeper/bin/simkeeper --config /etc/simkeeper/config.toml web "
        r"--idle-exit \d+$",
        web,
        re.M,
    )


@needs_analyze
def test_user_web_units_verify_clean(tmp_path):
    """The user manager's socket and service, under the names `init --user` gives them (the
    service's Requires= names the socket): `systemd-analyze verify` is clean."""
    service = installed_copy(
        tmp_path, "simkeeper-web.service", (UNITS / "simkeeper-web-user.service").read_text()
    )
    socket_unit = installed_copy(
        tmp_path, "simkeeper-web.socket", (UNITS / "simkeeper-web-user.socket").read_text()
    )
    result = analyze("verify", str(socket_unit), str(service), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


def test_user_web_service_reads_the_users_config_and_env():
    """Like the user's simkeeper.service: %E/simkeeper/config.toml, its env file, and no
    system-only settings (DynamicUser=, StateDirectory=, LoadCredential= from /etc)."""
    web = (UNITS / "simkeeper-web-user.service").read_text()
    daemon = (UNITS / "simkeeper-user.service").read_text()
    assert re.search(
        r"^ExecStart=\S+/simkeeper --config %E/simkeeper/config.toml web --idle-exit 600$",
        web,
        re.M,
    )
    [env_line] = re.findall(r"^EnvironmentFile=.*$", daemon, re.M)
    assert re.search(rf"^{re.escape(env_line)}$", web, re.M)
    for system_only in ("DynamicUser=", "StateDirectory=", "LoadCredential=", "User="):
        assert not re.search(rf"^{system_only}", web, re.M), system_only
    assert re.search(r"^Requires=simkeeper-web.socket$", web, re.M)
    assert re.search(r"^Type=notify$", web, re.M)
    sock = (UNITS / "simkeeper-web-user.socket").read_text()
    assert re.search(r"^ListenStream=127.0.0.1:8787$", sock, re.M)
