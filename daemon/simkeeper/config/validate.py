"""The validator: :class:`Validator` walks the parsed TOML into the frozen model, table by table
(``[settings]``, ``[templates]``, ``[[notify]]``, ``[[gateways]]``, ``[[numbers]]``,
``[web]``), collecting every
problem instead of stopping at the first.

It is built in layers, each a class on the one below: :class:`~simkeeper.config.checker.Checker`
(the shared state and problem reporting), :class:`~simkeeper.config.readers.ValueChecks` (one
value of a kind), :class:`~simkeeper.config.readers.SchemaWalk` (a table's keys by the schema),
:class:`~simkeeper.config.numbers.NumberChecks` (the ``[[numbers]]`` rules) and, here, the top
level with the settings, web, templates and notify targets.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Sequence
from typing import Any, overload
from urllib.parse import urlsplit

from simkeeper.config import autopilot
from simkeeper.config import cache as configcache
from simkeeper.config.numbers import NumberChecks
from simkeeper.config.secrets import substitute
from simkeeper.config.values import (
    _host_port,
    _kind,
    _scrub,
    _type_message,
    array_table_hint,
    split_listen,
)
from simkeeper.core.model import Config, Number, Settings, Target, Web
from simkeeper.core.numbertable import NumberTable
from simkeeper.core.redact import inline_secret, url_secrets
from simkeeper.core.schema import NOTIFY, SETTINGS, TABLES, TEMPLATES, WEB

SETTINGS_KEYS = SETTINGS.names
NOTIFY_KEYS = NOTIFY.names
TOP_KEYS = [table.name for table in TABLES]


class Validator(NumberChecks):
    """Walks the parsed TOML, collecting problems instead of stopping at the first."""

    # -- top level ----------------------------------------------------------------------------

    @overload
    def config(self, data: dict[str, Any]) -> Config: ...
    @overload
    def config(self, data: dict[str, Any], cached: configcache.Entry) -> Config | None: ...

    def config(
        self, data: dict[str, Any], cached: configcache.Entry | None = None
    ) -> Config | None:
        """The config ``data`` describes; with a ``cached`` entry its numbers are taken from
        there (None when they were validated against other settings or targets)."""
        self.unknown_keys(data, TOP_KEYS, "")
        settings_table = self.table(data, "settings")
        settings = self.settings(settings_table)
        templates = self.templates(self.table(data, "templates"))
        targets = self.targets(self.array(data, "notify"))
        gateways = autopilot.gateways(self, self.array(data, "gateways"))
        self.gateway_kinds = {g.name: g.kind for g in gateways}
        numbers: Sequence[Number]
        if cached is None:
            tables = (
                self.array(data, "numbers") if self.parsed_tables is None else self.parsed_tables
            )
            numbers = self.numbers(tables, settings, targets)
        elif cached.context == configcache.context_key(
            configcache.settings_defaults(settings), targets, self.gateway_kinds
        ):
            numbers = cached.numbers  # a NumberTable: no number is built until asked for
        else:
            return None
        web = self.web(self.table(data, "web")) if "web" in data else None
        self.file_mode_warning(data)
        return Config(
            path=self.path,
            settings=settings,
            numbers=numbers if isinstance(numbers, NumberTable) else tuple(numbers),
            targets=tuple(targets),
            templates=templates,
            warnings=tuple(self.warnings),
            web=web,
            gateways=tuple(gateways),
        )

    def table(self, data: dict[str, Any], key: str) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.problem(key, f"must be a table ([{key}]), not {_kind(value)}")
            return {}
        return value

    def array(self, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            hint = array_table_hint(key) if isinstance(value, dict) else None
            self.problem(key, f"must be an array of tables ([[{key}]] entries)", hint)
            return []
        return value

    # -- settings -----------------------------------------------------------------------------

    def settings(self, table: dict[str, Any]) -> Settings:
        p = "settings"
        self.unknown_keys(table, SETTINGS.names, p)
        v = self.walk(table, SETTINGS, p, {"timezone": None})
        tz, tz_name = v["timezone"]
        state_url, state_secrets = self.state_url(v["state"])
        return Settings(
            heartbeat=v["heartbeat"],
            heartbeat_fail=v["heartbeat_fail"],
            timezone=tz,
            timezone_name=tz_name,
            remind_at=v["remind_at"],
            remind=v["remind"],
            state=None if state_url else self.relative(v["state"]),
            state_url=state_url,
            state_secrets=state_secrets,
            language=v["language"],
            overdue_every=v["overdue_every"],
            overdue_for=v["overdue_for"],
            digest=v["digest"],
            calendar=self.relative(v["calendar"]),
            calendar_days=v["calendar_days"],
            calendar_mode=v["calendar_mode"],
            send_timeout=float(v["send_timeout"]),
            retention=v["retention"],
            keepalive_budget=autopilot.budget(self, table),
            keepalive_wait=autopilot.wait(self, table, SETTINGS.default("keepalive_wait")),
        )

    # -- web ----------------------------------------------------------------------------------

    def web(self, table: dict[str, Any]) -> Web:
        """The ``[web]`` table: where ``simkeeper web`` listens, and its public address."""
        self.unknown_keys(table, WEB.names, "web")
        v = self.walk(table, WEB, "web", {})
        host, port = v["listen"] if isinstance(v["listen"], tuple) else split_listen(v["listen"])
        base = v["base_url"] or f"http://{_host_port(host, port)}"
        return Web(host=host, port=port, base_url=base.rstrip("/"))

    # -- templates ----------------------------------------------------------------------------

    def templates(self, table: dict[str, Any]) -> dict[str, str]:
        self.unknown_keys(table, TEMPLATES.names, "templates")
        out = {}
        for key, value in table.items():
            if key not in TEMPLATES.names:
                continue
            if not isinstance(value, str):
                self.problem(f"templates.{key}", _type_message(value, str))
                continue
            from simkeeper.texts.templates import TemplateError, check_template

            try:
                check_template(key, value)
            except TemplateError as e:
                self.problem(f"templates.{key}", str(e), e.hint)
                continue
            out[key] = value
        return out

    # -- notify targets -----------------------------------------------------------------------

    def targets(self, entries: list[dict[str, Any]]) -> list[Target]:
        targets: list[Target] = []
        seen: dict[str, int] = {}
        for i, entry in enumerate(entries, start=1):
            p = f"notify[{i}]"
            self.unknown_keys(entry, NOTIFY_KEYS, p)
            name = self.typed(entry, "name", str, p)
            raw = self.typed(entry, "url", str, p)
            tags = self.string_list(entry, "tags", p)
            if not name:
                self.problem(f"{p}.name", "missing", 'give each target a name, e.g. name = "email"')
            elif name in seen:
                self.problem(f"{p}.name", f'"{name}" is already the name of notify[{seen[name]}]')
            else:
                seen[name] = i
            if not raw:
                self.problem(f"{p}.url", "missing", 'an Apprise URL, e.g. url = "console://"')
                continue
            url, values = self.substitute(raw, f"{p}.url")
            if url is None:
                continue
            if not self.parses(url, f"{p}.url"):
                continue
            secrets = url_secrets(url, values)
            if self.url_check:
                reason = self.url_check(url)
                if reason:
                    self.problem(f"{p}.url", _scrub(reason, secrets), "see the Apprise wiki")
            timeout = self.read_seconds(entry, NOTIFY.key("timeout"), p, None)
            targets.append(Target(name or f"notify{i}", url, tuple(tags), secrets, timeout))
        return targets

    def state_url(self, raw: str | None) -> tuple[str | None, tuple[str, ...]]:
        """``settings.state`` when it names a PostgreSQL database: the URL with its ``${VAR}``
        filled in, and what of it is secret. A password written into the file is refused."""
        if not raw or not raw.startswith(("postgresql://", "postgres://")):
            return None, ()
        literal = urlsplit(re.sub(r"\$\{[^}]*\}", "", raw))
        if literal.password or "password=" in literal.query:
            self.problem(
                "settings.state",
                "holds a password",
                'write it as ${VAR} (e.g. "postgresql://simkeeper:${PGPASSWORD_SIMKEEPER}@db/'
                'simkeeper"), or leave it out and use a ~/.pgpass or pg_service.conf entry',
            )
            return None, ()
        # Every command opens the state, so its password is needed by every command.
        required, self.require_secrets = self.require_secrets, True
        try:
            url, values = self.substitute(raw, "settings.state")
        finally:
            self.require_secrets = required
        if url is None:
            return None, ()
        # The password only (and what ${VAR} put in): the user and the database's name are
        # words like "simkeeper" that every log line would lose to a mask.
        password = urlsplit(url).password
        found = {v for v in values if len(v) >= 3} | ({password} if password else set())
        return url, tuple(sorted(found, key=len, reverse=True))

    def substitute(self, raw: str, key: str) -> tuple[str | None, list[str]]:
        """``raw`` with its ``${VAR}`` filled in (see :mod:`simkeeper.config.secrets`) and the
        values put in. A variable not found is a problem when secrets are required (commands that
        send); otherwise the reference stays in the URL, which is only ever shown redacted."""
        done = substitute(raw, self.secrets)
        if not self.require_secrets:
            return done.url, list(done.values)
        for lookup in done.missing:
            self.problem(
                key,
                f"${{{lookup.name}}} is not set ({lookup.explain()})",
                f"put the secret in {self.secrets.folder / lookup.name} (one file per secret, "
                f"mode 0600), or a {lookup.name}=... line in {self.secrets.env_file}",
            )
        return (None if done.missing else done.url), list(done.values)

    def file_mode_warning(self, data: dict[str, Any]) -> None:
        entries = data.get("notify", [])
        entries = entries if isinstance(entries, list) else []
        raws = [e.get("url") for e in entries if isinstance(e, dict)]
        if not any(isinstance(u, str) and inline_secret(u) for u in raws):
            return
        try:
            mode = self.path.stat().st_mode
        except OSError:
            return
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            self.warnings.append(
                f"{self.path}: warning: a notify URL holds a password or token inline and the "
                f"file is readable by others (mode {stat.S_IMODE(mode):o}); run "
                f"chmod 600 {self.path}, or move the secret to ${{VAR}}"
            )
