"""The words the config schema (:mod:`simkeeper.core.schema`) is written in: a key, a table,
the kinds a value can be read as, and the bounds every plan must keep."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

MAX_LEAD_DAYS = 1096  # lead times, overdue_every and overdue_for: at most three years
MAX_SPAN_DAYS = 3653  # ten years: the longest validity, max_ahead or stage simkeeper accepts
MAX_AMOUNT = Decimal(10) ** 9
FIRST_DAY = date(1970, 1, 1)  # dates no real plan has are rejected, so the engine never
LAST_DAY = date(2200, 12, 31)  # steps a date out of Python's range (year 9999)
CALENDAR_MODES = {"0600": 0o600, "0640": 0o640}  # it holds names, notes and deadlines
RENEWAL_RULES = ("reset", "extend", "later")

# How the validator reads a key's value: each kind but the last two names its reader in
# ``SchemaWalk.READERS`` (:mod:`simkeeper.config.readers`), which mypy holds to one per kind.
KeyKind = Literal[
    "string",
    "bool",
    "int",
    "number",
    "seconds",
    "days",
    "date",
    "time",
    "leads",
    "zone",
    "amount",
    "limited_amount",
    "language",
    "calendar_mode",
    "digest",
    "http_url",
    "heartbeat_fail",
    "cycle",
    "phone",
    "web_url",
    "currency",
    "renewal_rule",
    "listen",
    "base_url",
    "custom",  # read by a named function of the validator (a rule between keys)
    "template",  # a [templates] text, checked by simkeeper.texts.templates
]


@dataclass(frozen=True)
class Key:
    """One config key.

    ``kind`` says how the validator reads the value (see :data:`KeyKind` and
    ``SchemaWalk.READERS`` in :mod:`simkeeper.config.readers`); ``low``/``high`` bound it
    (``unit`` names what they count; ``above`` excludes ``low`` itself);
    ``default`` is the model's value when the key is left out and ``shown_default`` how the
    README shows it; ``example`` is a TOML value and ``note`` its comment in
    ``config.example.toml`` (``active`` keys are written there, the others commented out);
    ``required`` is the README's "required" column of ``[[numbers]]``.
    """

    name: str
    kind: KeyKind
    doc: str
    default: Any = None
    shown_default: str = ""
    low: Any = None
    high: Any = None
    unit: str = ""
    example: str = ""
    note: str = ""
    active: bool = False
    required: str = ""
    above: bool = False  # the value must lie above ``low``, not on it


@dataclass(frozen=True)
class Table:
    """One top-level table of the config: ``[settings]``, ``[[numbers]]``..."""

    name: str
    array: bool  # ``[[name]]`` entries rather than one ``[name]`` table
    keys: tuple[Key, ...]

    @property
    def names(self) -> list[str]:
        """The key names, in schema order (the order ``unknown key`` hints list them)."""
        return [k.name for k in self.keys]

    def key(self, name: str) -> Key:
        """The key called ``name``."""
        return next(k for k in self.keys if k.name == name)

    def default(self, name: str) -> Any:
        """The model's default for ``name``."""
        return self.key(name).default

    @property
    def defaults(self) -> dict[str, Any]:
        """Every key's default for the model, by name."""
        return {k.name: k.default for k in self.keys}

    @property
    def heading(self) -> str:
        """The table as written in TOML: ``[[numbers]]`` or ``[settings]``."""
        return f"[[{self.name}]]" if self.array else f"[{self.name}]"
