"""What the config schema documents: the README's configuration tables and the example config.

Both are rendered from :mod:`simkeeper.core.schema`, so a key's doc, default and example are
written once. ``simkeeper config docs`` and ``simkeeper config example`` print them (``make
config-docs`` writes them into README.md and config.example.toml); tests fail when the
committed copies are stale.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta

from simkeeper.core.keys import Key, Table
from simkeeper.core.schema import GATEWAYS, NOTIFY, NUMBERS, SETTINGS, TABLES, WEB

COMMENT_COLUMN = 36  # where the comments of the example's [settings] lines start

# The example config around its generated [settings] block: the plans it shows are prose
# about real carriers, not a list of keys, so they are written here as they read.
EXAMPLE_HEAD = """\
# simkeeper example config: four kinds of plan, and a console target that prints reminders,
# so `make run` works with no account. Copy it to ~/.config/simkeeper/config.toml (or
# /etc/simkeeper/config.toml for the system service) and run `simkeeper check` after each edit.
# Its dates are as of 2026-12-01; `simkeeper demo` writes a copy with every date moved by as
# many days as today is past that, so a reminder is due at once and no number has aged.
"""

# The day the example's dates are written for (see EXAMPLE_HEAD): on it, at any hour, the US
# line's 7-day reminder is due (its slot passed the day before), and no deadline has passed.
EXAMPLE_DAY = date(2026, 12, 1)

EXAMPLE_TAIL = """\
# Where reminders go. Any Apprise URL works: https://github.com/caronc/apprise/wiki
[[notify]]
name = "console"
url = "console://"                  # prints to standard output

# [[notify]]
# name = "email"
# url = "mailtos://me:${SMTP_PASSWORD}@smtp.example.com?to=me@example.com"
# tags = ["email"]                  # ${SMTP_PASSWORD} comes from the environment or systemd
# timeout = "30s"                   # this target's own send_timeout (a slow gateway)

# A US prepaid line billed on a fixed day each month.
[[numbers]]
name = "US T-Mobile"
number = "+1 206 555 0100"
carrier = "T-Mobile Prepaid"
cycle = "monthly"
due = 2026-12-06                    # any one due date of the cycle
note = "Refill $3 online"
remind = ["7d", "1d"]               # overrides settings.remind
timezone = "America/Los_Angeles"

# A UK SIM that only needs some activity every 6 months. A built-in plan fills in the carrier,
# the cycle (rolling: deadline = last renewal + cycle), what happens after a missed deadline,
# a note and the top-up page; `simkeeper plans` lists the plans and their sources. Any key
# written here overrides the plan's value.
[[numbers]]
name = "giffgaff"
number = "+44 7911 123456"
plan = "giffgaff"
last_renewed = 2026-07-10
note = "Send one text or top up £10"

# A Hong Kong card for bank codes, topped up once a year. `after_deadline` says what follows a
# missed deadline: reminders name the stages, overdue alerts go on until the last one (when the
# number is lost), and `upcoming` shows the loss date.
[[numbers]]
name = "HK bank SIM"
number = "+852 6123 4567"
carrier = "CMHK"
cycle = "yearly"
due = 2027-03-01
remind = ["30d", "7d", "1d"]
timezone = "Asia/Hong_Kong"
after_deadline = [{ after = "0d", state = "grace period" }, \
{ after = "30d", state = "number recycled" }]

# A pay-as-you-go line: warn when the balance will not cover the next charges. The plan sets
# $3 every 30 days (not monthly: Ultra charges every 30 days whatever the month's length).
[[numbers]]
name = "Ultra PayGo"
number = "+1 415 555 2671"
plan = "ultra-paygo"
due = 2026-12-03                    # a day the $3 is taken
balance = 10.00                     # as of balance_date
balance_date = 2026-11-20
"""


def example_line(key: Key) -> str:
    """One ``[settings]`` line of the example: the key set (or commented out) and its note."""
    line = f"{'' if key.active else '# '}{key.name} = {key.example}"
    return f"{line.ljust(COMMENT_COLUMN - 1)} # {key.note}" if key.note else line


def example_settings() -> str:
    """The example's ``[settings]`` table: the keys it sets, then the others commented out."""
    keys = [k for k in SETTINGS.keys if k.example]
    ordered = [k for k in keys if k.active] + [k for k in keys if not k.active]
    return "\n".join(["[settings]", *(example_line(k) for k in ordered)]) + "\n"


def example_web() -> str:
    """The example's ``[web]`` table, commented out: the web face is off unless configured."""
    lines = [
        "# The web face (`simkeeper web`): one-tap links in reminders, a status page, a",
        "# calendar feed. Off without this table.",
        "# [web]",
    ]
    lines += [example_line(replace(k, active=False)) for k in WEB.keys]
    return "\n".join(lines) + "\n"


def example_gateways() -> str:
    """The example's ``[[gateways]]``, commented out: the autopilot is off unless configured."""
    lines = [
        '# The autopilot (README: "The autopilot"): what can send a keep-alive text from a SIM.',
        "# Off without gateways, a number's `keepalive` and settings.keepalive_budget.",
        "# [[gateways]]",
        *(f"# {k.name} = {k.example}" for k in GATEWAYS.keys if k.name != "modem"),
        "# [[gateways]]",
        '# name = "modem"',
        '# kind = "modemmanager"',
        f"# modem = {GATEWAYS.key('modem').example}",
    ]
    return "\n".join(lines) + "\n"


def example_config() -> str:
    """``config.example.toml`` as it is committed and packaged."""
    return (
        f"{EXAMPLE_HEAD}\n{example_settings()}\n{example_web()}\n{example_gateways()}\n"
        f"{EXAMPLE_TAIL}"
    )


# A date value of the example (``due = 2026-12-15``), not one inside a comment.
_DATE_LINE = re.compile(r"^(\s*[a-z_]+\s*=\s*)(\d{4}-\d\d-\d\d)\b", re.M)


def demo_config(today: date, state: str) -> str:
    """The example config as of ``today`` (``simkeeper demo``): every date moved by the days
    from :data:`EXAMPLE_DAY` to ``today``, and its state database at ``state``."""
    shift = timedelta(days=(today - EXAMPLE_DAY).days)

    def moved(m: re.Match[str]) -> str:
        return m.group(1) + (date.fromisoformat(m.group(2)) + shift).isoformat()

    text = _DATE_LINE.sub(moved, example_config())
    head = (
        f"# simkeeper demo: config.example.toml with its dates moved to {today.isoformat()}"
        " (`simkeeper demo`).\n"
    )
    state_line = f"state = {_toml_string(state)}"
    return head + text.replace("[settings]\n", f"[settings]\n{state_line}\n", 1)


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _column(table: Table) -> tuple[str, Callable[[Key], str]] | None:
    """The README table's middle column for ``table``, if it has one: its title and cells."""
    if table in (SETTINGS, WEB):
        return "default", lambda k: k.shown_default
    if table in (NUMBERS, NOTIFY, GATEWAYS):
        return "required", lambda k: k.required
    return None


def reference_table(table: Table) -> str:
    """The README's table of ``table``'s keys, one row a key."""
    column = _column(table)
    titles = ["key", *([column[0]] if column else []), "meaning"]
    lines = ["| " + " | ".join(titles) + " |", "|" + " --- |" * len(titles)]
    for key in table.keys:
        cells = [f"`{key.name}`", *([column[1](key)] if column else []), _cell(key.doc)]
        lines.append("|" + "".join(f" {c} |" if c else " |" for c in cells))
    return "\n".join(lines) + "\n"


def marker(table: Table, end: bool = False) -> str:
    """The HTML comment that opens (or closes) ``table``'s generated block in the README."""
    return f"<!-- {'/' if end else ''}schema:{table.name} -->"


def reference() -> str:
    """Every generated block, each between its markers, as ``simkeeper config docs`` prints."""
    return "\n".join(f"{marker(t)}\n{reference_table(t)}{marker(t, end=True)}\n" for t in TABLES)


class StaleMarkers(ValueError):
    """A document lacks a generated block's markers."""


def fill_readme(text: str) -> str:
    """``text`` (the README) with every generated block between its markers rendered anew."""
    for table in TABLES:
        block = re.compile(
            rf"^{re.escape(marker(table))}\n.*?^{re.escape(marker(table, end=True))}$",
            re.M | re.S,
        )
        fresh = f"{marker(table)}\n{reference_table(table)}{marker(table, end=True)}"
        found = list(block.finditer(text))
        if len(found) != 1:
            raise StaleMarkers(f"{marker(table)} ... {marker(table, end=True)} not found once")
        text = text[: found[0].start()] + fresh + text[found[0].end() :]
    return text
