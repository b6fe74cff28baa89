"""Where ``${VAR}`` in a notify URL comes from: one lookup shared by the daemon and every command.

In order: systemd's ``$CREDENTIALS_DIRECTORY`` (``VAR``, then ``simkeeper_VAR``, as the shipped
unit's ``LoadCredential=simkeeper:/etc/simkeeper/credentials`` names them), then the folder
``credentials/`` next to the config file (one file per secret), then the file ``env`` next to the
config file (``NAME=value`` lines, as the user unit's ``EnvironmentFile=``), then the environment.
So ``sudo simkeeper check`` finds what the service finds, for any ``--config`` path.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

CREDENTIAL_PREFIX = "simkeeper_"  # the ID of the credentials folder in systemd/simkeeper.service
CREDENTIALS_FOLDER = "credentials"
ENV_FILE = "env"


@dataclass(frozen=True)
class Lookup:
    """The outcome of looking a variable up: its value, or where it was looked for."""

    name: str
    value: str | None
    looked: tuple[str, ...] = ()  # places searched, as paths or names, never values
    unreadable: tuple[str, ...] = ()  # places that exist but this user cannot read

    @property
    def found(self) -> bool:
        """Whether the variable has a value."""
        return self.value is not None

    def explain(self) -> str:
        """Where it was looked for, and what to do about a place this user cannot read."""
        text = "looked in " + ", ".join(self.looked)
        if self.unreadable:
            text += (
                f"; {', '.join(self.unreadable)} cannot be read by user {_user()}: run as root "
                f"(sudo), or under systemd restart the service after adding the secret"
            )
        return text


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


class Secrets:
    """Looks up ``${VAR}`` values for the config at ``config_path``; reads each file once."""

    def __init__(self, config_path: Path, env: Mapping[str, str]):
        self.env = env
        self.folder = config_path.absolute().parent / CREDENTIALS_FOLDER
        self.env_file = config_path.absolute().parent / ENV_FILE
        creds = env.get("CREDENTIALS_DIRECTORY")
        self.credentials_directory = Path(creds) if creds else None
        self._env_file_values: dict[str, str] | None = None
        self._env_file_error = False

    def lookup(self, name: str) -> Lookup:
        """The value of ``name`` from the first place that has it."""
        looked: list[str] = []
        unreadable: list[str] = []
        files: list[Path] = []
        if self.credentials_directory:
            d = self.credentials_directory
            files += [d / name, d / f"{CREDENTIAL_PREFIX}{name}"]
        files.append(self.folder / name)
        for path in files:
            looked.append(str(path))
            value = _read_secret_file(path, unreadable)
            if value is not None:
                return Lookup(name, value)
        looked.append(str(self.env_file))
        from_file = self._env_file(unreadable)
        if name in from_file:
            return Lookup(name, from_file[name])
        looked.append(f"the environment (${name})")
        if name in self.env:
            return Lookup(name, self.env[name])
        return Lookup(name, None, tuple(looked), tuple(dict.fromkeys(unreadable)))

    def _env_file(self, unreadable: list[str]) -> dict[str, str]:
        if self._env_file_values is None:
            try:
                text = self.env_file.read_text(encoding="utf-8")
            except FileNotFoundError:
                text = ""
            except (OSError, UnicodeDecodeError):
                text = ""
                self._env_file_error = True
            self._env_file_values = parse_env_file(text)
        if self._env_file_error:
            unreadable.append(str(self.env_file))
        return self._env_file_values


def _read_secret_file(path: Path, unreadable: list[str]) -> str | None:
    """A credential file's text without its final newline; None when it is not there."""
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None
    except PermissionError:
        # The file, or the folder holding it, is closed to this user.
        folder = path.parent
        unreadable.append(str(folder if not os.access(folder, os.X_OK) else path))
        return None
    except (OSError, UnicodeDecodeError):
        unreadable.append(str(path))
        return None


def parse_env_file(text: str) -> dict[str, str]:
    """``NAME=value`` lines as systemd's ``EnvironmentFile=`` reads them (simplified):
    blank lines and ``#`` comments skipped, an ``export`` prefix and matching quotes dropped."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")) or "=" not in line:
            continue
        name, _, value = line.partition("=")
        name = name.removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NETLOC_END = re.compile(r"[/?#]")


@dataclass(frozen=True)
class Substituted:
    """A URL with its ``${VAR}`` references filled in, percent-encoded where they landed."""

    url: str
    values: tuple[str, ...]  # every value put in, as read and as encoded: all secret
    missing: tuple[Lookup, ...]  # the variables not found, with where they were looked for


def url_part(raw: str, at: int) -> str:
    """The part of the URL ``raw`` that index ``at`` falls in: ``scheme``, ``userinfo``,
    ``host``, ``path``, ``query``, ``custom`` (the value of an Apprise ``+header``, ``-field`` or
    ``:field`` query parameter) or ``fragment``."""
    scheme_end = raw.find("://")
    if scheme_end != -1 and at < scheme_end:
        return "scheme"
    start = scheme_end + 3 if scheme_end != -1 else 0
    end = _NETLOC_END.search(raw, start)
    netloc_end = end.start() if end else len(raw)
    if scheme_end != -1 and at < netloc_end:
        return "userinfo" if at < raw.rfind("@", start, netloc_end) else "host"
    fragment = raw.find("#", netloc_end)
    if fragment != -1 and at > fragment:
        return "fragment"
    query = raw.find("?", netloc_end)
    if query != -1 and at > query and (fragment == -1 or query < fragment):
        start = max(raw.rfind("&", query, at), raw.rfind(";", query, at), query) + 1
        return "custom" if raw[start : start + 1] in ("+", "-", ":") else "query"
    return "path"


def encode_for(part: str, value: str) -> str:
    """``value`` percent-encoded for ``part`` of a URL: every reserved character (``@ : / ? #
    % & + =``, spaces, non-ASCII) in a login, path segment or query value, so it arrives as
    written; a scheme or host is left as it is. Apprise decodes the values of ``+header``,
    ``-field`` and ``:field`` parameters twice (once parsing the query, once in the plugin), so
    those are encoded twice."""
    if part in ("scheme", "host"):
        return value
    once = quote(value, safe="")
    return quote(once, safe="") if part == "custom" else once


def substitute(raw: str, secrets: Secrets) -> Substituted:
    """Fill every ``${VAR}`` in the URL ``raw`` from ``secrets``."""
    values: list[str] = []
    missing: dict[str, Lookup] = {}

    def value_of(match: re.Match[str]) -> str:
        found = secrets.lookup(match.group(1))
        if found.value is None:
            missing.setdefault(found.name, found)
            return match.group(0)
        encoded = encode_for(url_part(raw, match.start()), found.value)
        values.extend((found.value, encoded))
        return encoded

    url = _VAR.sub(value_of, raw)
    return Substituted(url, tuple(dict.fromkeys(values)), tuple(missing.values()))
