"""Installing from a built wheel, ``simkeeper init``, and moving the state with ``backup`` and
``restore`` (consistent while the daemon runs and writes; refused while it holds the state)."""

from __future__ import annotations

import re
import shlex
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import sysconfig
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import SIMKEEPER, run, write_config
from receivers import HTTPReceiver, wait_for

REPO = Path(__file__).resolve().parent.parent
SOURCES = ["pyproject.toml", "README.md", "config.example.toml", "systemd", "daemon"]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of this checkout, offline (the checkout is left alone)."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(
                REPO / name,
                src / name,
                symlinks=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
            )
        else:
            shutil.copy2(REPO / name, src / name)
    out = tmp_path_factory.mktemp("dist")
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    result = subprocess.run(
        [*pip, "--verbose", "--wheel-dir", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("simkeeper-*.whl")
    (out / "build.log").write_text(result.stdout + result.stderr)
    return built


def test_building_the_package_prints_no_setuptools_warning(wheel):
    """The build (the same setuptools steps ``pip install -e .`` runs) warns of nothing: every
    folder the package data comes from is declared, the version is read from one place."""
    log = (wheel.parent / "build.log").read_text()
    assert "running build_py" in log or "Building wheel" in log, log[-2000:]
    assert "is absent from the" not in log
    warnings = [line for line in log.splitlines() if "Warning" in line]
    assert not warnings, "\n".join(warnings)


def test_the_wheel_has_the_one_version(wheel):
    import simkeeper

    assert wheel.name.startswith(f"simkeeper-{simkeeper.__version__}-"), wheel.name


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed (not editable). Its dependencies come from this
    test run's environment through a .pth path (offline), which does not make this
    checkout's editable simkeeper importable there."""
    root = tmp_path_factory.mktemp("venv") / "simkeeper venv"  # a space, as paths may have
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=300)
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "simkeeper-test-deps.pth").write_text(sysconfig.get_paths()["purelib"])
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def test_the_wheel_carries_the_example_config_and_both_units(wheel):
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    units = ("simkeeper.service", "simkeeper-user.service", "simkeeper-failure@.service")
    web = ("simkeeper-web.socket", "simkeeper-web.service")
    web += ("simkeeper-web-user.socket", "simkeeper-web-user.service")
    for name in ("config.example.toml", *units, *web):
        assert f"simkeeper/data/{name}" in names, names
    packaged = zipfile.ZipFile(wheel).read("simkeeper/data/simkeeper.service").decode()
    assert packaged == (REPO / "systemd" / "simkeeper.service").read_text()


def test_the_installed_wheel_carries_and_reads_the_catalogs(wheel, venv):
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "simkeeper/texts/locale/simkeeper.pot" in names
    for language in ("en", "zh_CN"):
        for ext in ("po", "mo"):
            assert f"simkeeper/texts/locale/{language}/LC_MESSAGES/simkeeper.{ext}" in names, names
    code = "from simkeeper.texts.i18n import translator; print(translator('zh-CN').gettext('NAME'))"
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.stdout == "名称\n", result.stderr


def test_init_user_from_the_installed_wheel_then_check(venv, tmp_path, env, home):
    env = {**env, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    simkeeper = venv / "bin" / "simkeeper"
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import simkeeper; print(simkeeper.__file__)"],
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    assert where.startswith(str(venv)), where  # the installed copy, not this checkout
    result = subprocess.run(
        [str(simkeeper), "init", "--user"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    config = home / ".config" / "simkeeper" / "config.toml"
    creds = home / ".config" / "simkeeper" / "credentials"
    unit = home / ".config" / "systemd" / "user" / "simkeeper.service"
    assert mode(config) == 0o600 and mode(creds) == 0o700 and mode(unit) == 0o644
    assert config.read_text() == (REPO / "config.example.toml").read_text()
    exec_start = re.search(r"^ExecStart=(.*)$", unit.read_text(), re.M)
    assert exec_start, unit.read_text()
    assert exec_start.group(1) == f'"{simkeeper}" --config %E/simkeeper/config.toml run'
    # The reload command runs the same install, or `systemctl reload` would fail.
    exec_reload = re.search(r"^ExecReload=(.*)$", unit.read_text(), re.M)
    assert exec_reload, unit.read_text()
    assert exec_reload.group(1) == (
        f'"{simkeeper}" --config %E/simkeeper/config.toml reload $MAINPID'
    )
    shipped = (REPO / "systemd" / "simkeeper-user.service").read_text()
    assert re.sub(r"^Exec\w*=.*$", "", unit.read_text(), flags=re.M) == re.sub(
        r"^Exec\w*=.*$", "", shipped, flags=re.M
    )
    # The printed next steps include the check command, which runs as printed.
    steps = result.stdout.split("next:", 1)[1].splitlines()
    check = next(line.strip() for line in steps if line.strip().endswith(" check"))
    checked = subprocess.run(
        shlex.split(check), capture_output=True, text=True, env=env, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "OK, 4 number(s), 1 notify target(s)" in checked.stdout
    assert "systemctl --user enable --now simkeeper" in result.stdout


def test_init_system_writes_modes_and_keeps_an_edited_config(tmp_path, env):
    root = tmp_path / "image"
    first = run(["init", "--system", "--root", str(root)], env)
    assert first.returncode == 0, first.stdout + first.stderr
    config = root / "etc" / "simkeeper" / "config.toml"
    creds = root / "etc" / "simkeeper" / "credentials"
    unit = root / "etc" / "systemd" / "system" / "simkeeper.service"
    assert mode(config) == 0o644 and mode(creds) == 0o700 and mode(unit) == 0o644
    assert f"ExecStart={SIMKEEPER} --config /etc/simkeeper/config.toml run" in unit.read_text()
    assert "LoadCredential=simkeeper:/etc/simkeeper/credentials" in unit.read_text()
    reload_line = f"ExecReload={SIMKEEPER} --config /etc/simkeeper/config.toml reload $MAINPID"
    assert reload_line in unit.read_text()
    # OnFailure= names the alert unit, so it is written beside, running the same install.
    failure = unit.with_name("simkeeper-failure@.service")
    assert mode(failure) == 0o644
    assert f"ExecStart={SIMKEEPER} --config /etc/simkeeper/config.toml notify-failure %i" in (
        failure.read_text()
    )
    assert "sudo systemctl enable --now simkeeper" in first.stdout
    config.write_text("# mine\n")
    again = run(["init", "--system", "--root", str(root)], env)
    assert again.returncode == 0, again.stderr
    assert config.read_text() == "# mine\n" and f"kept {config}" in again.stdout


def test_init_into_a_folder_it_cannot_write_is_one_line(tmp_path, env):
    root = tmp_path / "image"
    root.mkdir()
    (root / "etc").write_text("a file, not a folder")
    result = run(["init", "--system", "--root", str(root)], env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("error: cannot write ") and "Traceback" not in result.stderr


# -- backup and restore ---------------------------------------------------------------------------


def many_numbers(count: int, due: str, remind: str = '["1d"]') -> str:
    return "".join(
        f'\n[[numbers]]\nname = "n{i}"\nnumber = "+44 7911 {123450 + i}"\ndue = {due}\n'
        f"remind = {remind}\n"
        for i in range(count)
    )


def state_config(folder: Path, http: HTTPReceiver, numbers: str, remind_at: str = "09:00") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_config(
        folder / "config.toml",
        f"""
        [settings]
        timezone = "UTC"
        remind_at = "{remind_at}"
        send_timeout = 5
        state = "{folder / "state" / "simkeeper.db"}"

        [[notify]]
        name = "hook"
        url = "{http.json_url()}"
        """
        + numbers,
    )


def fanout_config(folder: Path, http: HTTPReceiver, due: str, targets: int) -> Path:
    """One number due ``due`` whose reminder (at 00:00, a day before) goes to many targets,
    each waiting up to 30 s for an answer (Apprise's ``rto``; its default is 4 s)."""
    folder.mkdir(parents=True, exist_ok=True)
    hooks = "".join(
        f'\n[[notify]]\nname = "t{i}"\nurl = "{http.json_url(f"t{i}", "rto=30")}"\n'
        for i in range(targets)
    )
    return write_config(
        folder / "config.toml",
        f"""
[settings]
timezone = "UTC"
remind_at = "00:00"
send_timeout = 20
state = "{folder / "state" / "simkeeper.db"}"
{hooks}
[[numbers]]
name = "giffgaff"
number = "+44 7911 123456"
due = {due}
remind = ["1d"]
""",
    )


def test_backup_while_the_daemon_runs_and_writes_then_restore_elsewhere(tmp_path, env):
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    targets = 40
    # Every send hangs until the test lets go: the first backups are taken with claims written
    # and sends in flight; then the daemon settles 40 deliveries while more backups are taken.
    with HTTPReceiver(hang=15, delay=0.02) as http:
        config = fanout_config(tmp_path / "old", http, tomorrow, targets)
        log = tmp_path / "daemon.log"
        backups: list[Path] = []

        def take_backup() -> Path:
            out = tmp_path / f"backup-{len(backups)}.db"
            result = run(["--config", str(config), "backup", str(out)], env)
            assert result.returncode == 0, result.stdout + result.stderr
            backups.append(out)
            return out

        with open(log, "w") as stderr:
            daemon = subprocess.Popen(
                [SIMKEEPER, "--config", str(config), "run"], env=env, stderr=stderr
            )
            try:
                assert wait_for(lambda: len(http.requests) >= 8, 30), log.read_text()
                in_flight = take_backup()
                refused = run(["--config", str(config), "restore", str(in_flight)], env)
                assert refused.returncode == 2, refused.stdout + refused.stderr
                assert "a simkeeper daemon is using" in refused.stderr
                assert "stop it first" in refused.stderr
                http.closing.set()  # let every send through
                while len(http.requests) < targets:
                    take_backup()
                db = tmp_path / "old" / "state" / "simkeeper.db"
                sent = "SELECT COUNT(*) FROM deliveries WHERE state = 'sent'"
                assert wait_for(lambda: query_one(db, sent) == targets, 30), log.read_text()
                last = take_backup()
            finally:
                daemon.send_signal(signal.SIGTERM)
                assert daemon.wait(timeout=30) == 0, log.read_text()
        for b in backups:
            assert mode(b) == 0o600
            assert query_one(b, "PRAGMA integrity_check") == "ok"
            assert query_one(b, "PRAGMA journal_mode") == "delete"
            assert not Path(f"{b}-wal").exists()
        assert query_one(in_flight, "SELECT COUNT(*) FROM deliveries WHERE state = 'sending'") >= 8
        assert query_one(last, sent) == targets
        # The new machine: the same config elsewhere, the last backup restored.
        new = fanout_config(tmp_path / "new", http, tomorrow, targets)
        restored = run(["--config", str(new), "restore", str(last)], env)
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert "1 reminder(s)" in restored.stdout
        moved = tmp_path / "new" / "state" / "simkeeper.db"
        assert mode(moved) == 0o600
        assert query_one(moved, sent) == targets
        # Nothing is sent twice after the move.
        again = run(["--config", str(new), "send-due"], env)
        assert again.returncode == 0 and again.stdout.strip() == "nothing to send", again.stdout


def query_one(db: Path, sql: str) -> object:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def test_restore_keeps_the_database_it_replaces(tmp_path, env):
    with HTTPReceiver() as http:
        config = state_config(tmp_path / "conf", http, many_numbers(1, "2026-12-15"))
        assert (
            run(["--config", str(config), "renewed", "n0", "--now", "2026-12-01"], env).returncode
            == 0
        )
        saved = tmp_path / "saved.db"
        assert run(["--config", str(config), "backup", str(saved)], env).returncode == 0
        assert (
            run(
                ["--config", str(config), "topup", "n0", "5", "--now", "2026-12-02"], env
            ).returncode
            == 0
        )
        result = run(["--config", str(config), "restore", str(saved)], env)
        assert result.returncode == 0, result.stderr
        kept = tmp_path / "conf" / "state" / "simkeeper.db.before-restore"
        assert f"kept as {kept}" in result.stdout
        history = run(["--config", str(config), "history", "--format", "json"], env).stdout
        assert '"renewal"' in history and '"topup"' not in history
        kinds = sqlite3.connect(kept).execute("SELECT kind FROM history ORDER BY id").fetchall()
        assert kinds == [("renewal",), ("topup",)]


@pytest.mark.parametrize("what", ["not sqlite", "other sqlite", "newer simkeeper", "missing"])
def test_restore_refuses_what_it_cannot_use(tmp_path, env, what):
    with HTTPReceiver() as http:
        config = state_config(tmp_path / "conf", http, many_numbers(1, "2026-12-15"))
    bad = tmp_path / "bad.db"
    if what == "not sqlite":
        bad.write_text("hello, not a database\n" * 100)
        expected = "is not a simkeeper database"
    elif what == "other sqlite":
        sqlite3.connect(bad).execute("CREATE TABLE notes (x TEXT)").connection.commit()
        expected = "is not a simkeeper database"
    elif what == "newer simkeeper":
        saved = tmp_path / "saved.db"
        assert (
            run(["--config", str(config), "renewed", "n0", "--now", "2026-12-01"], env).returncode
            == 0
        )
        assert run(["--config", str(config), "backup", str(saved)], env).returncode == 0
        conn = sqlite3.connect(saved)
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
            " VALUES ('simkeeper', 'm999_from_the_future', '2030-01-01')"
        )
        conn.commit()
        conn.close()
        bad = saved
        expected = "was made by a newer simkeeper (database changes m999_from_the_future)"
    else:
        expected = "does not exist"
    state = tmp_path / "conf" / "state" / "simkeeper.db"
    before = state.read_bytes() if state.exists() else None
    result = run(["--config", str(config), "restore", str(bad)], env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert (state.read_bytes() if state.exists() else None) == before


def test_backup_without_a_database_says_so(tmp_path, env):
    with HTTPReceiver() as http:
        config = state_config(tmp_path / "conf", http, many_numbers(1, "2026-12-15"))
    result = run(["--config", str(config), "backup", str(tmp_path / "b.db")], env)
    assert result.returncode == 2
    assert "there is no state database at" in result.stderr
    assert not (tmp_path / "b.db").exists()


def test_init_system_writes_the_web_units_beside(tmp_path, env):
    """The web face's socket (as shipped) and service (running this install) are written
    beside simkeeper.service, and the next steps say how to enable them."""
    root = tmp_path / "image"
    result = run(["init", "--system", "--root", str(root)], env)
    assert result.returncode == 0, result.stdout + result.stderr
    units = root / "etc" / "systemd" / "system"
    socket_unit, service = units / "simkeeper-web.socket", units / "simkeeper-web.service"
    assert mode(socket_unit) == 0o644 and mode(service) == 0o644
    assert socket_unit.read_text() == (REPO / "systemd" / "simkeeper-web.socket").read_text()
    assert f"ExecStart={SIMKEEPER} --config /etc/simkeeper/config.toml web " in (
        service.read_text()
    )
    assert "sudo systemctl enable --now simkeeper-web.socket" in result.stdout


def test_init_user_writes_the_user_managers_web_units(tmp_path, env):
    """`init --user` writes the web face's socket (as shipped) and service (running this
    install) for the user manager beside the user's simkeeper.service, and the next steps say
    how to enable them."""
    home = tmp_path / "home"
    user_env = {**env, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    result = run(["init", "--user"], user_env)
    assert result.returncode == 0, result.stdout + result.stderr
    units = home / ".config" / "systemd" / "user"
    socket_unit, service = units / "simkeeper-web.socket", units / "simkeeper-web.service"
    assert mode(socket_unit) == 0o644 and mode(service) == 0o644
    assert socket_unit.read_text() == (REPO / "systemd" / "simkeeper-web-user.socket").read_text()
    text = service.read_text()
    assert f"ExecStart={SIMKEEPER} --config %E/simkeeper/config.toml web --idle-exit 600" in text
    assert "DynamicUser" not in text
    assert "systemctl --user enable --now simkeeper-web.socket" in result.stdout
    assert not (units / "simkeeper-failure@.service").exists()


def test_the_installed_wheel_renders_the_web_pages_in_both_languages(wheel, venv):
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    for page in ("base.html", "action.html", "status.html", "error.html", "style.css"):
        assert f"simkeeper/web/pages/{page}" in names, names
    code = (
        "from simkeeper.web.wsgi import _environment; from simkeeper.texts.i18n import translator\n"
        "for lang in ('en', 'zh-CN'):\n"
        "    page = _environment(translator(lang)).get_template('error.html')\n"
        "    print(page.render(lang=lang, root='', code=404, reason='Not Found', message='<x>'))"
    )
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, timeout=60
    )
    assert "There is no such page." in result.stdout, result.stderr
    assert "没有这个页面。" in result.stdout and "&lt;x&gt;" in result.stdout
