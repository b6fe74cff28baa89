"""The config model: frozen dataclasses that the rest of simkeeper reads and never changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, tzinfo
from decimal import Decimal
from functools import cached_property
from itertools import chain
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Protocol, runtime_checkable

from simkeeper.core.periods import Cycle
from simkeeper.core.schema import NOTIFY, NUMBERS, SETTINGS

# Every default below comes from the schema (:mod:`simkeeper.core.schema`), where each key is
# declared.
_S = SETTINGS.defaults
_N = NUMBERS.defaults


@dataclass(frozen=True)
class Settings:
    """The ``[settings]`` table, with defaults filled in."""

    timezone: tzinfo
    timezone_name: str
    remind_at: time = _S["remind_at"]
    remind: tuple[int, ...] = _S["remind"]
    state: Path | None = None
    state_url: str | None = None  # settings.state as a postgresql:// URL, ${VAR} filled in
    state_secrets: tuple[str, ...] = ()  # what of state_url must never be shown
    language: str = _S["language"]
    overdue_every: int = _S["overdue_every"]
    overdue_for: int = _S["overdue_for"]
    digest: tuple[int, time] | None = None  # (weekday Monday=0, local time)
    calendar: Path | None = None
    calendar_days: int = _S["calendar_days"]
    calendar_mode: int = _S["calendar_mode"]  # 0o640 lets a group (a web server) read it
    send_timeout: float = _S["send_timeout"]
    heartbeat: str | None = None  # a URL fetched after each pass
    heartbeat_fail: str = _S["heartbeat_fail"]  # after a failed pass: a path suffix, a URL or ""
    retention: int = _S["retention"]  # days settled deliveries are kept (compacted)
    keepalive_budget: Budget | None = None  # no budget: the autopilot sends nothing
    keepalive_wait: int = _S["keepalive_wait"]  # hours to wait for a keep-alive's proof


@dataclass(frozen=True)
class Budget:
    """``settings.keepalive_budget``: at most ``caps[currency]`` spent over ``per_days``."""

    caps: tuple[tuple[str, Decimal], ...]  # (ISO 4217 code, cap), as written
    per_days: int

    def cap(self, currency: str) -> Decimal | None:
        """The cap in ``currency``, or None when the budget has none (nothing may be spent)."""
        return next((amount for code, amount in self.caps if code == currency), None)


@dataclass(frozen=True)
class Gateway:
    """One ``[[gateways]]`` entry: what can send a text from a SIM."""

    name: str
    kind: str  # one of schema.GATEWAY_KINDS
    url: str = ""  # android-sms-gateway
    user: str = ""
    password: str = ""  # with ${VAR} substituted: never log it
    modem: str = "any"  # modemmanager and sigmo: "any" or an equipment id
    secrets: tuple[str, ...] = ()  # substrings that must never be shown
    signing_key: str = ""  # android-sms-gateway's webhook key: never log it


@dataclass(frozen=True)
class Keepalive:
    """A number's ``keepalive``: the text the autopilot sends to keep it alive."""

    via: str  # a gateway's name
    to: str  # E.164 (or a short code as written)
    text: str
    cost: Decimal
    currency: str
    lead: int  # days before the deadline
    sim: int | None = None  # android-sms-gateway's SIM slot (1-3)


@dataclass(frozen=True)
class BalanceCheck:
    """A number's ``balance_check``: the USSD code simkeeper runs to read the balance itself,
    and the pattern its reply is matched with (the plan's, unless the number gives its own)."""

    via: str  # a gateway's name (a kind in schema.USSD_KINDS)
    every: int  # days between checks
    ussd: str  # e.g. "*100#"
    pattern: str  # a regex with a named group ``amount`` (``currency``, ``until`` optional)
    replies: tuple[str, ...] = ()  # the answer to each menu step, in order
    source: str = ""  # where the code and pattern come from (the plan's source, or "config")


@dataclass(frozen=True)
class Inbound:
    """Where a number receives texts and what its carrier's texts say (``inbound``,
    ``sms_from``, ``topup_sms``, ``renewed_sms``): the patterns as written (compiled where
    they are matched, :mod:`simkeeper.engine.inbound`)."""

    via: str = ""  # a gateway's name; "" when the number listens nowhere
    sim: int | None = None  # android-sms-gateway's slot; None: any slot nobody else names
    senders: tuple[str, ...] = ()
    topup: str = ""
    renewed: str = ""


@dataclass(frozen=True)
class Tier:
    """One ``validity`` tier: a renewal of at least ``minimum`` buys ``cycle``."""

    minimum: Decimal
    cycle: Cycle


@dataclass(frozen=True)
class Stage:
    """One ``after_deadline`` stage: ``after`` days past a missed deadline the line is ``state``."""

    after: int
    state: str


FINAL_WEEK = 7  # days before a number is lost in which overdue alerts go out daily, loudly


# slots: the daemon holds one per number, read back from the config cache (a number unpickled
# without slots keeps an attribute dict: 1.4 MiB more at 10,000 numbers).
@dataclass(frozen=True, slots=True)
class Number:
    """One phone number and the plan that keeps it alive."""

    name: str
    number: str  # E.164
    timezone: tzinfo
    timezone_name: str
    remind: tuple[int, ...]  # lead times in days, largest first
    cycle: Cycle | None = None
    due: date | None = None
    rolling: bool = _N["rolling"]
    last_renewed: date | None = None
    carrier: str = _N["carrier"]
    note: str = _N["note"]
    notify: tuple[str, ...] = _N["notify"]  # target tags; empty means every target
    escalate: tuple[str, ...] = _N["escalate"]  # extra target tags for overdue alerts
    overdue_every: int = _N["overdue_every"]
    overdue_for: int = _N["overdue_for"]
    cost: Decimal | None = None
    currency: str = _N["currency"]
    balance: Decimal | None = None
    balance_date: date | None = None
    on_renewal: str = _N["on_renewal"]  # one of keys.RENEWAL_RULES: how a renewal moves it
    min_amount: Decimal | None = None  # a renewal with a smaller amount moves nothing
    validity: tuple[Tier, ...] = _N["validity"]  # by amount, smallest minimum first
    max_ahead: int | None = None  # days: a deadline never lies further after its renewal
    after_deadline: tuple[Stage, ...] = _N["after_deadline"]  # the stages after a deadline
    renew_url: str = _N["renew_url"]
    plan: str = _N["plan"]
    keepalive: Keepalive | None = None  # the autopilot's text, if any
    balance_check: BalanceCheck | None = None  # reading the balance by USSD, if asked for
    inbound: Inbound | None = None  # the carrier's texts, read when they arrive

    @property
    def lost_after(self) -> int | None:
        """Days after a missed deadline until the number is lost (the last stage), if known."""
        return self.after_deadline[-1].after if self.after_deadline else None

    @property
    def cycle_text(self) -> str:
        """The cycle as shown to people: ``monthly``, ``every 180 days`` or ``once``."""
        return self.cycle.text if self.cycle else "once"

    # Pickled for the config cache, a number per table: its state as a plain tuple in field
    # order, without the per-call field lookup dataclasses' own slots pickling does (that was
    # half of a cache entry's reading and writing at 100,000 numbers).
    def __getstate__(self) -> tuple[object, ...]:
        return _number_state(self)

    def __setstate__(self, state: tuple[object, ...]) -> None:
        for name, value in zip(_NUMBER_FIELDS, state, strict=True):
            object.__setattr__(self, name, value)


_NUMBER_FIELDS = tuple(f.name for f in fields(Number))
_number_state = attrgetter(*_NUMBER_FIELDS)


@dataclass(frozen=True)
class Target:
    """One Apprise notification target (``[[notify]]``)."""

    name: str
    url: str  # with ${VAR} already substituted: never log it
    tags: tuple[str, ...] = NOTIFY.defaults["tags"]
    secrets: tuple[str, ...] = ()  # substrings of ``url`` that must never be shown
    timeout: float | None = None  # seconds; None: settings.send_timeout

    def send_timeout(self, default: float) -> float:
        """How long a send to this target may take: its own ``timeout`` or ``default``."""
        return self.timeout if self.timeout is not None else default

    def matches(self, tags: tuple[str, ...]) -> bool:
        """Whether this target is picked by a number's ``notify`` tags (empty picks all)."""
        return not tags or bool(set(tags) & ({self.name, *self.tags}))


@dataclass(frozen=True)
class Web:
    """The ``[web]`` table: where ``simkeeper web`` listens and the address people use."""

    host: str
    port: int
    base_url: str  # no trailing slash

    def url(self, path: str) -> str:
        """The public address of ``path`` (which starts with ``/``)."""
        return self.base_url + path


@dataclass(frozen=True)
class Config:
    """A loaded, validated config file."""

    path: Path
    settings: Settings
    numbers: Sequence[Number]  # a NumberTable when the cache gave them
    targets: tuple[Target, ...] = ()
    templates: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    web: Web | None = None  # no [web] table: no web face
    gateways: tuple[Gateway, ...] = ()

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret substring of every target URL, for redaction.

        A target or number name, or a tag, is a label the user chose to see in logs and
        ``status``, so a URL part that happens to equal one (``json://host/hook`` named
        ``hook``) is not masked: masking it would hide which target failed.
        """
        found = [s for t in self.targets for s in t.secrets]
        if found:
            labels = {t.name for t in self.targets} | _names(self.numbers)
            labels |= {tag for t in self.targets for tag in t.tags}
            found = [s for s in found if s not in labels]
        found += [s for g in self.gateways for s in g.secrets]
        found += self.settings.state_secrets
        return tuple(found)

    def gateway(self, name: str) -> Gateway | None:
        """The gateway called ``name``."""
        return next((g for g in self.gateways if g.name == name), None)

    @cached_property
    def by_e164(self) -> dict[str, Number]:
        """Each number by its E.164 number, built once per loaded config (the web face looks
        up a link's number in it on every request)."""
        return {n.number: n for n in reversed(self.numbers)}  # the first of duplicates wins


@runtime_checkable
class Named(Protocol):
    """Numbers that give their names without building a number (a ``NumberTable``)."""

    def names(self) -> set[str]: ...


def _names(numbers: Sequence[Number]) -> set[str]:
    """The numbers' names."""
    return numbers.names() if isinstance(numbers, Named) else {n.name for n in numbers}


@dataclass(frozen=True)
class Ledger:
    """What the state database knows about the user's actions, handed to the pure core.

    All keys are E.164 numbers. An empty ledger is what a fresh install (or no database) means.
    """

    renewed_on: dict[str, date] = field(default_factory=dict)  # latest recorded renewal
    done: frozenset[tuple[str, date]] = frozenset()  # fixed occurrences marked renewed
    reminded: frozenset[tuple[str, date]] = frozenset()  # deadlines a reminder went out for
    topups: dict[str, tuple[tuple[date, Decimal], ...]] = field(default_factory=dict)
    # every recorded renewal (and top-up) of a number, oldest first, with its amount if given
    renewals: dict[str, tuple[tuple[date, Decimal | None], ...]] = field(default_factory=dict)
    # "remind me tomorrow" from the web face: (number, deadline) -> until when (UTC)
    snoozed: dict[tuple[str, date], datetime] = field(default_factory=dict)
    # the newest balance reading (by USSD) of a number: (the day it was read, the amount)
    readings: dict[str, tuple[date, Decimal]] = field(default_factory=dict)

    @cached_property
    def reminded_by_number(self) -> dict[str, tuple[date, ...]]:
        """``reminded`` per number, built once per ledger (a pass looks a number up in it)."""
        index: dict[str, list[date]] = {}
        for number, day in self.reminded:
            index.setdefault(number, []).append(day)
        return {n: tuple(sorted(days)) for n, days in index.items()}

    @cached_property
    def known(self) -> frozenset[str]:
        """Every number the deadline engine finds something about here (snoozes aside):
        the others' deadlines follow from their config alone."""
        pairs = chain(self.done, self.reminded)
        keyed = chain(self.renewed_on, self.topups, self.renewals, self.readings)
        return frozenset(chain(keyed, map(itemgetter(0), pairs)))


EMPTY_LEDGER = Ledger()
