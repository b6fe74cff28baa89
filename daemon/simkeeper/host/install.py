"""``simkeeper init``: put the example config, the credentials folder and the systemd unit in
place for this install, from the files the package carries (``simkeeper/data``).

``--user`` writes ``~/.config/simkeeper/config.toml`` (0600), ``~/.config/simkeeper/credentials``
(0700) and ``~/.config/systemd/user/simkeeper.service`` (0644), with the web face's socket and
service for the user manager beside it; ``--system`` writes
``/etc/simkeeper/config.toml`` (0644: the service's transient user must read it, so it holds no
secret), ``/etc/simkeeper/credentials`` (0700) and ``/etc/systemd/system/simkeeper.service``
(0644), with the failure alert unit and the web face's socket and service beside it. The
units' ``ExecStart`` names the ``simkeeper`` of this very install. An existing config is never
overwritten.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from simkeeper.core.errors import UsageError

_WEB_UNITS = ("simkeeper-web.socket", "simkeeper-web.service")
_EXEC_START = re.compile(r"^ExecStart=(\S+)", re.M)


@dataclass(frozen=True)
class Layout:
    """Where ``init`` puts things, and the modes they get."""

    config: Path
    config_mode: int
    credentials: Path
    unit: Path
    unit_source: str  # file name in simkeeper/data
    system: bool
    # Units that go beside it: (path, file name in simkeeper/data).
    extra_units: tuple[tuple[Path, str], ...] = ()


def layout(system: bool, root: Path | None, env: Mapping[str, str]) -> Layout:
    """The paths for a system or user install; ``root`` prefixes them (an image being built)."""
    if system:
        etc = Path("/etc/simkeeper")
        units = Path("/etc/systemd/system")
        paths = (etc / "config.toml", etc / "credentials", units / "simkeeper.service")
    else:
        base = Path(env.get("XDG_CONFIG_HOME") or Path(env.get("HOME") or Path.home()) / ".config")
        paths = (
            base / "simkeeper" / "config.toml",
            base / "simkeeper" / "credentials",
            base / "systemd" / "user" / "simkeeper.service",
        )
    if root is not None:
        config, credentials, unit = (root / p.relative_to(p.anchor) for p in paths)
        paths = (config, credentials, unit)
    config, credentials, unit = paths
    source = "simkeeper.service" if system else "simkeeper-user.service"
    # The system unit's OnFailure= starts the alert unit, which must sit beside it.
    # The web face's socket and service go beside it too (enabled only when wanted).
    # The user manager gets its own variants of the web units, installed under the same names.
    failure = "simkeeper-failure@.service"
    if system:
        beside = ((failure, failure), *((n, n) for n in _WEB_UNITS))
    else:
        beside = tuple((n, n.replace("simkeeper-web.", "simkeeper-web-user.")) for n in _WEB_UNITS)
    extra = tuple((unit.with_name(name), source) for name, source in beside)
    return Layout(config, 0o644 if system else 0o600, credentials, unit, source, system, extra)


def data_text(name: str) -> str:
    """A file the package carries: the example config or a unit."""
    return (resources.files("simkeeper") / "data" / name).read_text(encoding="utf-8")


def this_executable() -> str:
    """The absolute path of the ``simkeeper`` command of this install."""
    beside = Path(sys.executable).parent / "simkeeper"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside.absolute())
    return str(Path(sys.argv[0]).absolute())


def unit_text(source: str, executable: str) -> str:
    """The shipped unit with every ``Exec*=`` line (start, reload) running ``executable``
    instead of the program path the unit ships with."""
    quoted = f'"{executable}"' if any(c.isspace() for c in executable) else executable
    text = data_text(source)
    found = _EXEC_START.search(text)
    if not found:
        raise UsageError(f"the packaged {source} has no ExecStart= line", "reinstall simkeeper")
    shipped = re.compile(rf"^(Exec\w*=){re.escape(found.group(1))}(?=\s|$)", re.M)
    return shipped.sub(lambda m: m.group(1) + quoted, text)


def _write(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
    os.replace(tmp, path)


def init(where: Layout, executable: str) -> list[str]:
    """Write the config (unless there is one), the credentials folder and the unit; return
    one line per thing done."""
    done = []
    try:
        if where.config.exists():
            done.append(f"kept {where.config} (it exists; not overwritten)")
        else:
            _write(where.config, data_text("config.example.toml"), where.config_mode)
            done.append(f"wrote {where.config} (mode {where.config_mode:04o})")
        where.credentials.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        where.credentials.mkdir(mode=0o700, exist_ok=True)
        where.credentials.chmod(0o700)
        done.append(f"made {where.credentials} (mode 0700, one file per secret)")
        _write(where.unit, unit_text(where.unit_source, executable), 0o644)
        done.append(f"wrote {where.unit} (mode 0644, ExecStart={executable})")
        for path, source in where.extra_units:
            # A .socket unit runs nothing: written as shipped.
            text = (
                data_text(source) if source.endswith(".socket") else unit_text(source, executable)
            )
            _write(path, text, 0o644)
            done.append(f"wrote {path} (mode 0644)")
    except OSError as e:
        where_ = e.filename or where.config
        hint = "run it with sudo" if where.system else "check that folder's owner and mode"
        raise UsageError(f"cannot write {where_}: {e.strerror}", hint) from None
    return done


def next_steps(where: Layout, executable: str) -> list[str]:
    """The commands to run after ``init``, in order."""
    sk = shlex.quote(executable)
    secret = shlex.quote(str(where.credentials / "SMTP_PASSWORD"))
    if where.system:
        config = shlex.quote(str(where.config))
        return [
            f"sudoedit {config}          # your numbers and targets",
            f"sudo sh -c 'umask 077; printf %s \"your-smtp-password\" > {secret}'",
            f"sudo {sk} --config {config} check",
            "sudo systemctl daemon-reload",
            "sudo systemctl enable --now simkeeper",
            "sudo systemctl enable --now simkeeper-web.socket   # the web face, once [web] is set",
        ]
    config = shlex.quote(str(where.config))
    return [
        f"${{EDITOR:-nano}} {config}          # your numbers and targets",
        f'(umask 077; printf %s "your-smtp-password" > {secret})',
        f"{sk} --config {config} check",
        "systemctl --user daemon-reload",
        "systemctl --user enable --now simkeeper",
        'loginctl enable-linger "$USER"     # keep it running when you are logged out',
        "systemctl --user enable --now simkeeper-web.socket   # the web face, once [web] is set",
    ]
