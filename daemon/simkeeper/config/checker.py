"""The validator's base: the state every check shares (the file and its text, the environment,
the secrets, the problems and warnings found so far), the reporting of a problem at its key path
and line, and the type check every value read starts from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simkeeper.config.secrets import Secrets
from simkeeper.config.values import ValueType, _join, _suggest, _type_hint, _type_message
from simkeeper.core.errors import Problem
from simkeeper.core.keys import FIRST_DAY, LAST_DAY

UrlCheck = Callable[[str], "str | None"]


if TYPE_CHECKING:
    from simkeeper.config.cache import Entry


class Checker:
    """What every layer of the validator shares: its state, and reporting a problem."""

    def __init__(
        self,
        path: Path,
        text: str,
        env: Mapping[str, str],
        url_check: UrlCheck | None,
        require_secrets: bool = True,
    ):
        self.path = path
        self.secrets = Secrets(path, env)
        self.require_secrets = require_secrets
        self.text = text
        self._lines: dict[str, int] | None = None
        self.env = env
        self.url_check = url_check
        self.problems: list[Problem] = []
        self.warnings: list[str] = []
        self.gateway_kinds: dict[str, str] = {}  # [[gateways]] by name, for keepalive.via
        # The numbers of an earlier load by table digest (None: validate every table), and
        # each valid number's table digest, kept for the cache (None: no cache in use).
        self.previous: Entry | None = None
        self.digests: list[bytes] | None = None
        # The [[numbers]] tables when the load parsed them one by one (a Kept for each one
        # whose text is unchanged), instead of data["numbers"].
        self.parsed_tables: list[Any] | None = None

    # -- reporting ----------------------------------------------------------------------------

    @property
    def lines(self) -> dict[str, int]:
        """Key paths to line numbers, worked out only once a problem needs one."""
        if self._lines is None:
            from simkeeper.config.tomllines import key_lines

            self._lines = key_lines(self.text)
        return self._lines

    def problem(self, key: str, message: str, hint: str | None = None) -> None:
        line = self.lines.get(key)
        probe = key
        while line is None and probe:
            shorter = re.sub(r"(\[\d+\]|\.[^.\[]*|^[^.\[]*)$", "", probe)
            probe = "" if shorter == probe else shorter  # a key such as "a[" ends the walk
            line = self.lines.get(probe)
        self.problems.append(Problem(str(self.path), key, message, line, hint))

    def unknown_keys(self, table: Mapping[str, Any], allowed: list[str], prefix: str) -> None:
        for key in table:
            if key not in allowed:
                hint = _suggest(key, allowed) or f"known keys: {', '.join(allowed)}"
                self.problem(_join(prefix, key), f'unknown key "{key}"', hint)

    def typed(self, table: Mapping[str, Any], key: str, kind: ValueType, prefix: str) -> Any:
        """The value of ``key`` if it has the right type, else None (and a problem)."""
        if key not in table:
            return None
        value = table[key]
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is date and isinstance(value, datetime):
            ok = False
        if not ok:
            self.problem(_join(prefix, key), _type_message(value, kind), _type_hint(value, kind))
            return None
        return value

    def day(
        self,
        table: Mapping[str, Any],
        key: str,
        prefix: str,
        first: date = FIRST_DAY,
        last: date = LAST_DAY,
    ) -> date | None:
        """A date between ``first`` and ``last``, else None (and a problem)."""
        value: date | None = self.typed(table, key, date, prefix)
        if value is None or first <= value <= last:
            return value
        self.problem(
            _join(prefix, key),
            f"{value.isoformat()} is out of range",
            f"use a date from {first.isoformat()} to {last.isoformat()}",
        )
        return None
