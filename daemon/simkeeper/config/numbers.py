"""The ``[[numbers]]`` checks: each number read by the schema walk over the plan it names, and
the rules between its keys (fixed or rolling, the renewal rules, validity tiers, the stages after
the deadline, balance tracking, the notify tags), and the names and numbers listed twice.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from simkeeper.config import autopilot, inbound
from simkeeper.config.balancecheck import balance_check
from simkeeper.config.cache import Kept, context_key, settings_defaults, table_digest
from simkeeper.config.readers import SchemaWalk
from simkeeper.config.values import TomlTable, _e164, _join, _suggest
from simkeeper.core.model import Number, Settings, Stage, Target, Tier
from simkeeper.core.numbertable import NumberTable
from simkeeper.core.periods import Cycle
from simkeeper.core.schema import NUMBERS

if TYPE_CHECKING:
    from simkeeper.config.plans import Plan

NUMBER_KEYS = NUMBERS.names
ROLLING_ONLY_KEYS = ("on_renewal", "validity", "max_ahead")


class NumberChecks(SchemaWalk):
    """The checks of the ``[[numbers]]`` tables."""

    # -- numbers ------------------------------------------------------------------------------

    def numbers(self, entries: list[Any], settings: Settings, targets: list[Target]) -> NumberTable:
        """The numbers of the ``[[numbers]]`` tables, as a table of columns (see
        :class:`_Alike`: most are built from a number validated before, never as objects)."""
        made = _Made()
        names: dict[str, int] = {}
        e164s: dict[str, int] = {}
        tags = {t.name for t in targets} | {tag for t in targets for tag in t.tags}
        reuse = self._reusable(settings, targets)
        alike = _Alike()
        for i, entry in enumerate(entries, start=1):
            found: tuple[Number, str, str] | None
            number: Number | None
            if isinstance(entry, Kept):  # its text unchanged: validated before, as it is
                number, digest, name = entry.number, entry.digest, entry.number.name
                found = number, number.name, number.number
            else:
                digest = table_digest(entry) if self.digests is not None else b""
                number = reuse.get(digest)  # validated before from this very table and context
                found = (number, number.name, number.number) if number else alike.find(entry)
                if found is None:
                    number = self.number(entry, f"numbers[{i}]", settings, tags, bool(targets))
                    alike.learn(entry, number)
                    found = (number, number.name, number.number) if number else None
                # Names are compared even when the entry has other problems: all reported.
                name = entry.get("name")
            if isinstance(name, str) and name.strip():
                if name.strip() in names:
                    self.problem(
                        f"numbers[{i}].name",
                        f'"{name.strip()}" is already the name of numbers[{names[name.strip()]}]',
                        "names must be unique: they identify the number in commands and history",
                    )
                names.setdefault(name.strip(), i)
            if found is None:
                continue
            e164 = found[2]
            if e164 in e164s:
                self.problem(
                    f"numbers[{i}].number",
                    f"{e164} is already listed as numbers[{e164s[e164]}]",
                    "list each number once, with one plan",
                )
            e164s.setdefault(e164, i)
            made.add(*found)
            if self.digests is not None:
                self.digests.append(digest)
        return made.table()

    def _reusable(self, settings: Settings, targets: list[Target]) -> dict[bytes, Number]:
        """The numbers of the earlier load by table digest, when they were validated against
        the same defaults from ``[settings]`` and the same target names and tags (the code is
        the same: :func:`~simkeeper.config.cache.read` saw to that)."""
        if self.previous is None:
            return {}
        context = context_key(settings_defaults(settings), targets, self.gateway_kinds)
        return self.previous.by_table() if self.previous.context == context else {}

    def number(
        self, e: dict[str, Any], p: str, settings: Settings, tags: set[str], have_targets: bool
    ) -> Number | None:
        before = len(self.problems)
        self.unknown_keys(e, NUMBER_KEYS, p)
        own = set(e)
        plan = self.plan(e, p)
        e = {**(_builtin_plans()[plan].keys if plan else {}), **e}
        name = self.typed(e, "name", str, p)
        if not name or not name.strip():
            self.problem(
                f"{p}.name", "missing", 'every number needs a name, e.g. name = "giffgaff"'
            )
        v = self.walk(e, NUMBERS, p, _number_defaults(settings))
        cycle, rolling = v["cycle"], v["rolling"]
        if plan or "plan" not in e:  # an unknown plan is one problem, not a cascade
            self.plan_shape(e, p, rolling, plan)
        rules = self.renewal_rules(e, p, rolling, own, v)
        tz, tz_name = v["timezone"]
        notify = self.tag_list(e, "notify", p, tags, have_targets)
        escalate = self.tag_list(e, "escalate", p, tags, have_targets)
        self.balance(e, p, cycle, rolling, v)
        keepalive = autopilot.keepalive(
            self, e, p, settings, self.gateway_kinds, v["currency"], rolling, plan
        )
        number = Number(
            name=(name or "").strip(),
            number=v["number"] or "",
            timezone=tz,
            timezone_name=tz_name,
            remind=v["remind"],
            cycle=cycle,
            due=v["due"],
            rolling=rolling,
            last_renewed=v["last_renewed"],
            carrier=sys.intern(v["carrier"]),  # one string per carrier, not per number
            note=v["note"],
            notify=tuple(notify),
            escalate=tuple(escalate),
            overdue_every=v["overdue_every"],
            overdue_for=v["overdue_for"],
            cost=v["cost"],
            currency=v["currency"],
            balance=v["balance"],
            balance_date=v["balance_date"],
            **rules,
            after_deadline=self.stages(e, p),
            renew_url=v["renew_url"],
            plan=plan or "",
            keepalive=keepalive,
            balance_check=balance_check(self, e, p, self.gateway_kinds, plan),
            inbound=inbound.inbound(self, e, p, self.gateway_kinds, keepalive),
        )
        return number if len(self.problems) == before else None

    # -- carrier rules ------------------------------------------------------------------------

    def plan(self, e: dict[str, Any], p: str) -> str | None:
        """The built-in plan the entry names, if any (a problem when it is unknown)."""
        name: str | None = self.typed(e, "plan", str, p)
        if name is None:
            return None
        plans = _builtin_plans()
        if name not in plans:
            hint = _suggest(name, sorted(plans)) or "run 'simkeeper plans' to list them"
            self.problem(f"{p}.plan", f'unknown plan "{name}"', hint)
            return None
        return name

    def renewal_rules(
        self, e: dict[str, Any], p: str, rolling: bool, own: set[str], v: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``on_renewal``, ``min_amount``, ``validity`` and ``max_ahead`` (all but ``validity``
        read by the schema walk into ``v``), checked against ``rolling``."""
        if not rolling:
            for key in ROLLING_ONLY_KEYS:
                if key in own:
                    self.problem(
                        f"{p}.{key}",
                        f"{key} applies to rolling numbers only",
                        "add rolling = true, or remove it",
                    )
        return {
            "on_renewal": v["on_renewal"] if rolling else NUMBERS.default("on_renewal"),
            "min_amount": v["min_amount"],
            "validity": self.validity(e, p) if rolling else (),
            "max_ahead": v["max_ahead"] if rolling else None,
        }

    def tables(
        self, e: dict[str, Any], key: str, p: str, example: str
    ) -> list[tuple[str, dict[str, Any]]]:
        """A list of inline tables, each with its key path (``numbers[1].validity[2]``)."""
        value = e.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.problem(_join(p, key), "must be a list of tables", f"e.g. {key} = [{example}]")
            return []
        return [(f"{p}.{key}[{i}]", item) for i, item in enumerate(value, start=1)]

    def validity(self, e: dict[str, Any], p: str) -> tuple[Tier, ...]:
        example = '{from = 100, cycle = "every 180 days"}'
        tiers: dict[Decimal, Tier] = {}
        for q, item in self.tables(e, "validity", p, example):
            self.unknown_keys(item, ["from", "cycle"], q)
            minimum = self.limited_amount(item, "from", q)
            cycle = self.cycle(item, q) if "cycle" in item else None
            for key in ("from", "cycle"):
                if key not in item:
                    self.problem(f"{q}.{key}", "missing", f"write each tier as {example}")
            if minimum is None or cycle is None:
                continue
            if minimum in tiers:
                self.problem(f"{q}.from", f"another tier already starts at {minimum}")
            tiers[minimum] = Tier(minimum, cycle)
        return tuple(tiers[k] for k in sorted(tiers))

    def stages(self, e: dict[str, Any], p: str) -> tuple[Stage, ...]:
        example = '{after = "0d", state = "receive only"}'
        stages: list[Stage] = []
        for q, item in self.tables(e, "after_deadline", p, example):
            self.unknown_keys(item, ["after", "state"], q)
            longest = NUMBERS.key("after_deadline").high
            after = self.days(item, "after", q, -1, 0, longest) if "after" in item else -1
            state = self.typed(item, "state", str, q)
            if "after" not in item:
                self.problem(f"{q}.after", "missing", f"write each stage as {example}")
            if "state" not in item or state == "" or (state and not state.strip()):
                self.problem(f"{q}.state", "missing", 'say what happens, e.g. state = "suspended"')
            if after < 0 or not (state or "").strip():
                continue
            if stages and after <= stages[-1].after:
                self.problem(
                    f"{q}.after",
                    f"must come after the stage before ({stages[-1].after}d)",
                    "list the stages in order, each later than the one before",
                )
                continue
            stages.append(Stage(after, (state or "").strip()))
        return tuple(stages)

    def plan_shape(self, e: TomlTable, p: str, rolling: bool, plan: str | None = None) -> None:
        if rolling:
            if "cycle" not in e:
                self.problem(
                    f"{p}.cycle", "a rolling number needs a cycle", 'e.g. "every 180 days"'
                )
            if "last_renewed" not in e:
                why = f'plan "{plan}" is a keep-alive window, so it' if plan else "rolling = true"
                self.problem(
                    f"{p}.last_renewed",
                    f"{why} needs last_renewed",
                    "add the date of the last top-up or activity, e.g. last_renewed = 2026-06-01",
                )
            if "due" in e:
                self.problem(
                    f"{p}.due",
                    "a rolling number has no fixed due date",
                    "remove due; the deadline is last_renewed + cycle",
                )
        elif "due" not in e:
            hint = (
                "add due = YYYY-MM-DD (any one due date of the cycle), "
                "or rolling = true with last_renewed for a keep-alive window"
            )
            self.problem(f"{p}.due", "missing", hint)
        elif "last_renewed" in e:
            self.problem(
                f"{p}.last_renewed",
                "only rolling numbers use last_renewed",
                "add rolling = true, or record renewals with 'simkeeper renewed'",
            )

    def tag_list(
        self, e: TomlTable, key: str, p: str, tags: set[str], have_targets: bool
    ) -> list[str]:
        values = self.string_list(e, key, p)
        if not have_targets:
            return values
        for v in values:
            if v not in tags:
                hint = _suggest(v, sorted(tags)) or f"known: {', '.join(sorted(tags))}"
                self.problem(_join(p, key), f'no [[notify]] target has the name or tag "{v}"', hint)
        return values

    def balance(
        self, e: Mapping[str, Any], p: str, cycle: Cycle | None, rolling: bool, v: Mapping[str, Any]
    ) -> None:
        """The rules between ``cost``, ``currency``, ``balance`` and ``balance_date`` (each read
        by the schema walk into ``v``)."""
        if v["cost"] is not None and not v["currency"]:
            self.problem(f"{p}.currency", "cost needs a currency", 'e.g. currency = "USD"')
        if "balance" in e and "cost" not in e:
            self.problem(
                f"{p}.cost", "balance needs cost, the charge per cycle", "e.g. cost = 3.00"
            )
        if "balance" in e and "balance_date" not in e:
            self.problem(
                f"{p}.balance_date",
                "balance needs balance_date, the day it was read",
                "e.g. balance_date = 2026-11-20",
            )
        if "balance" in e and (rolling or cycle is None):
            self.problem(f"{p}.balance", "balance tracking needs a fixed cycle with a due date")


class _Alike:
    """The numbers validated so far by their tables but for ``name`` and ``number``: a table
    that differs from one of them only there is the same number under another name, so only
    its name and number are read (100,000 numbers of a few hundred plans were validated key by
    key, each; the schema walk was a third of a cold load). Only numbers without a problem are
    kept; a table with a problem is always walked, and reported, whole. When nothing repeats
    in the first tables, it stops looking (each look costs a ``repr`` of the table)."""

    TRIAL = 512  # tables without a repeat before it stops looking

    def __init__(self) -> None:
        self.seen: dict[str, Number] = {}
        self.hits = 0
        self.looked = 0

    @staticmethod
    def _key(entry: dict[str, Any]) -> str:
        # repr tells 1 from True and 1.0, and a date from its text: == would not.
        return repr([(k, v) for k, v in entry.items() if k not in _OWN_KEYS])

    def find(self, entry: dict[str, Any]) -> tuple[Number, str, str] | None:
        """A number validated before from a table like ``entry``, and ``entry``'s name and
        E.164 number, if there is one; else None."""
        if not self.searching:
            return None
        self.looked += 1
        known = self.seen.get(self._key(entry))
        if known is None:
            return None
        name, raw = entry.get("name"), entry.get("number")
        if type(name) is not str or not name.strip() or type(raw) is not str:
            return None  # the whole walk says what is wrong
        e164 = _e164(raw)
        if not e164:
            return None
        self.hits += 1
        return known, name.strip(), e164

    def learn(self, entry: dict[str, Any], number: Number | None) -> None:
        """Keep ``number``, validated from ``entry`` without a problem."""
        if number is not None and self.searching:
            self.seen.setdefault(self._key(entry), number)

    @property
    def searching(self) -> bool:
        """Whether tables alike were found, or it is early to tell."""
        return self.hits > 0 or self.looked < self.TRIAL


_OWN_KEYS = frozenset({"name", "number"})


class _Made:
    """The numbers made so far, as :meth:`NumberTable.alike` takes them: each distinct
    number validated once, and per number which of them it is like, its name and number."""

    def __init__(self) -> None:
        self.shapes: list[Number] = []
        self.at: dict[int, int] = {}  # id of a number in ``shapes`` -> its place there
        self.which: list[int] = []
        self.names: list[str] = []
        self.e164s: list[str] = []

    def add(self, like: Number, name: str, e164: str) -> None:
        place = self.at.get(id(like))
        if place is None:
            place = self.at[id(like)] = len(self.shapes)
            self.shapes.append(like)
        self.which.append(place)
        self.names.append(name)
        self.e164s.append(e164)

    def table(self) -> NumberTable:
        return NumberTable.alike(self.shapes, self.which, self.names, self.e164s)


def _builtin_plans() -> dict[str, Plan]:
    """The built-in plans, imported only when a config names one (or on a cache miss)."""
    from simkeeper.config.plans import builtin_plans

    return builtin_plans()


def _number_defaults(settings: Settings) -> dict[str, Any]:
    """What a number takes from ``[settings]`` when it leaves a key out."""
    return {
        "remind": settings.remind,
        "timezone": (settings.timezone, settings.timezone_name),
        "overdue_every": settings.overdue_every,
        "overdue_for": settings.overdue_for,
    }
