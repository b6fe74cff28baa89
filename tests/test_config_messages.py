"""Every problem the config validator can report is reached by a case here (issue 13).

Each ``self.problem(...)`` call in ``simkeeper/config.py``, and each ``PeriodError`` and
``TemplateError`` the validator passes on (periods.py, templates.py), is a message a user may
meet; the parametrised test loads one bad config per case (in this process: the validator is
pure) and checks the message, and ``test_every_problem_message_is_reached`` fails when a site
is never reached by any case, so a new message arrives with its test.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import write_config

from simkeeper.config import checker, readers, validate
from simkeeper.config import load as config_mod
from simkeeper.config import numbers as number_checks
from simkeeper.core import periods
from simkeeper.core.errors import ConfigError
from simkeeper.core.periods import PeriodError
from simkeeper.send.notifier import url_problem
from simkeeper.texts import templates
from simkeeper.texts.templates import TemplateError

SITES = [  # (module, the call that makes a problem's message there)
    *((module, "self.problem") for module in (checker, readers, number_checks, validate)),
    (periods, "PeriodError"),
    (templates, "TemplateError"),
]

TARGET = '[[notify]]\nname = "hook"\nurl = "json://127.0.0.1:9/"\n'


def fixed(*lines: str, name: str = "a", phone: str = "+44 7911 123456") -> str:
    """A fixed-cycle number with ``lines`` added."""
    return "\n".join(
        ["[[numbers]]", f'name = "{name}"', f'number = "{phone}"', 'cycle = "monthly"']
        + (["due = 2026-12-01"] if not any(x.startswith("due") for x in lines) else [])
        + list(lines)
        + [""]
    )


def rolling(*lines: str) -> str:
    """A rolling (keep-alive) number with ``lines`` added."""
    return "\n".join(
        [
            *("[[numbers]]", 'name = "a"', 'number = "+44 7911 123456"'),
            *('cycle = "every 180 days"', "rolling = true", "last_renewed = 2026-06-01"),
            *lines,
            "",
        ]
    )


def settings(*lines: str) -> str:
    """A ``[settings]`` table of ``lines`` and one good number."""
    return "\n".join(["[settings]", *lines, ""]) + fixed()


CASES: list[tuple[str, str, str]] = [
    # (id, config text, a fragment of one problem's "key: message")
    ("unknown-key", settings('timzone = "UTC"'), 'settings.timzone: unknown key "timzone"'),
    ("wrong-type", settings("state = 5"), "settings.state: must be a string"),
    (
        "state-password",
        settings('state = "postgresql://sk:hunter22@db/sk"'),
        "settings.state: holds a password",
    ),
    ("day-out-of-range", fixed("due = 1800-01-01"), "numbers[1].due: 1800-01-01 is out of range"),
    ("not-a-table", "settings = 5\n" + fixed(), "settings: must be a table ([settings])"),
    ("not-an-array", "notify = 5\n" + fixed(), "notify: must be an array of tables"),
    ("language", settings('language = "xx"'), 'settings.language: unknown language "xx"'),
    ("send-timeout", settings("send_timeout = 0"), "must be between 1 and 300 seconds"),
    ("calendar-mode", settings('calendar_mode = "0777"'), "is not a calendar file mode"),
    ("calendar-days", settings("calendar_days = 0"), "must be between 1 and 3660 days"),
    ("heartbeat-url", settings('heartbeat = "ftp://x/"'), "must be an http:// or https:// URL"),
    ("retention-syntax", settings('retention = "90 days"'), 'retention: "90 days" is not a'),
    ("retention-range", settings('retention = "3d"'), 'settings.retention: "3d" is out of range'),
    ("time-zone", settings('timezone = "Nowhere/Land"'), 'unknown time zone "Nowhere/Land"'),
    ("time-of-day", settings('remind_at = "25:99"'), "is not a time of day"),
    ("lead-list", settings('remind = "14d"'), "settings.remind: must be a list of lead times"),
    ("lead-syntax", settings('remind = ["soon"]'), 'remind[1]: "soon" is not a duration'),
    ("lead-too-far", settings('remind = ["5000d"]'), '"5000d" is too far ahead'),
    ("days-syntax", settings('overdue_every = "soon"'), "settings.overdue_every: "),
    ("days-range", settings('overdue_every = "0d"'), '"0d" is out of range'),
    ("digest", settings('digest = "funday 09:00"'), "is not a weekday and time"),
    ("web-listen", '[web]\nlisten = "nowhere"\n' + fixed(), 'web.listen: "nowhere" is not an'),
    ("web-base-url", '[web]\nbase_url = "ftp://x"\n' + fixed(), "web.base_url: must be an http"),
    ("template-type", "[templates]\ntitle = 5\n" + fixed(), "templates.title: must be a string"),
    ("template-field", '[templates]\ntitle = "{nope}"\n' + fixed(), 'unknown placeholder "{nope}"'),
    ("template-broken", '[templates]\ntitle = "{"\n' + fixed(), "templates.title: broken template"),
    ("target-name", '[[notify]]\nurl = "json://h/"\n' + fixed(), "notify[1].name: missing"),
    ("target-twice", TARGET + TARGET + fixed(), 'notify[2].name: "hook" is already the name'),
    ("target-url", '[[notify]]\nname = "x"\n' + fixed(), "notify[1].url: missing"),
    (
        "target-scheme",
        '[[notify]]\nname = "x"\nurl = "nosuchscheme://h/"\n' + fixed(),
        "notify[1].url: ",
    ),
    (
        "target-url-syntax",
        '[[notify]]\nname = "x"\nurl = "json://[::1/x"\n' + fixed(),
        "notify[1].url: is not a valid URL: a [ or ] without its pair",
    ),
    (
        "target-timeout",
        TARGET.replace('name = "hook"', 'name = "hook"\ntimeout = "soon"') + fixed(),
        'notify[1].timeout: "soon" is not a duration',
    ),
    (
        "target-secret",
        '[[notify]]\nname = "x"\nurl = "json://${SK_TEST_NOT_SET}@h/"\n' + fixed(),
        "${SK_TEST_NOT_SET} is not set",
    ),
    ("number-name-twice", fixed() + fixed(phone="+1 206 555 0100"), "is already the name of"),
    ("number-twice", fixed() + fixed(name="b"), "is already listed as numbers[1]"),
    ("number-name", fixed().replace('name = "a"', 'name = " "'), "numbers[1].name: missing"),
    ("plan", fixed('plan = "nosuchplan"'), 'unknown plan "nosuchplan"'),
    ("rolling-only", fixed('on_renewal = "later"'), "on_renewal applies to rolling numbers only"),
    ("renewal-rule", rolling('on_renewal = "sideways"'), 'unknown renewal rule "sideways"'),
    ("amount-finite", rolling("min_amount = inf"), "min_amount: inf is not an amount"),
    ("tiers-type", rolling("validity = 5"), "validity: must be a list of tables"),
    ("tier-missing", rolling("validity = [{from = 100}]"), "validity[1].cycle: missing"),
    (
        "tier-twice",
        rolling(
            'validity = [{from = 100, cycle = "every 90 days"}, '
            '{from = 100, cycle = "every 180 days"}]'
        ),
        "another tier already starts at 100",
    ),
    (
        "stage-after",
        rolling('after_deadline = [{state = "suspended"}]'),
        "after_deadline[1].after: missing",
    ),
    (
        "stage-state",
        rolling('after_deadline = [{after = "0d"}]'),
        "after_deadline[1].state: missing",
    ),
    (
        "stage-order",
        rolling('after_deadline = [{after = "30d", state = "b"}, {after = "10d", state = "c"}]'),
        "must come after the stage before (30d)",
    ),
    ("web-address", fixed('renew_url = "ftp://x/"'), "is not a web address"),
    (
        "phone-missing",
        fixed().replace('number = "+44 7911 123456"\n', ""),
        "numbers[1].number: missing",
    ),
    ("phone-syntax", fixed(phone="call me"), '"call me" is not a phone number'),
    ("phone-invalid", fixed(phone="+44 7911 12345"), "is not a valid phone number"),
    ("cycle", fixed().replace('"monthly"', '"fortnightly-ish"'), 'unknown cycle "fortnightly-ish"'),
    ("cycle-zero", fixed().replace('"monthly"', '"every 0 days"'), "must be at least 1 day"),
    ("cycle-long", fixed().replace('"monthly"', '"every 20 years"'), "is longer than 10 years"),
    (
        "rolling-cycle",
        rolling().replace('cycle = "every 180 days"\n', ""),
        "a rolling number needs a cycle",
    ),
    (
        "rolling-last",
        rolling().replace("last_renewed = 2026-06-01\n", ""),
        "rolling = true needs last_renewed",
    ),
    ("rolling-due", rolling("due = 2026-12-01"), "a rolling number has no fixed due date"),
    ("fixed-due", fixed().replace("due = 2026-12-01\n", ""), "numbers[1].due: missing"),
    ("fixed-last", fixed("last_renewed = 2026-06-01"), "only rolling numbers use last_renewed"),
    ("string-list", fixed("notify = 5"), "numbers[1].notify: must be a list of strings"),
    ("tag", TARGET + fixed('notify = ["nosuch"]'), "no [[notify]] target has the name or tag"),
    ("currency", fixed("cost = 3", 'currency = "XXQ"'), 'unknown currency code "XXQ"'),
    ("cost-currency", fixed("cost = 3"), "cost needs a currency"),
    (
        "balance-cost",
        fixed("balance = 3", "balance_date = 2026-11-01"),
        "balance needs cost, the charge per cycle",
    ),
    (
        "balance-date",
        fixed("balance = 3", "cost = 3", 'currency = "USD"'),
        "balance needs balance_date",
    ),
    (
        "balance-rolling",
        rolling("balance = 3", "cost = 3", 'currency = "USD"', "balance_date = 2026-11-01"),
        "balance tracking needs a fixed cycle with a due date",
    ),
    ("amount-nan", fixed("cost = nan", 'currency = "USD"'), "nan is not an amount"),
    ("amount-low", fixed("cost = -1", 'currency = "USD"'), "cost: must be above 0"),
    ("amount-high", fixed("cost = 2e9", 'currency = "USD"'), "must be below 1,000,000,000"),
]

# Calls no config can reach (an earlier check always reports the same value first); each is
# named here by a fragment of its call so a change that makes it reachable shows up as well.
UNREACHABLE: dict[str, str] = {}


def message_sites() -> dict[tuple[str, int], str]:
    """Every place a config problem's message is made: ``self.problem(...)`` in config.py and
    the ``PeriodError``/``TemplateError`` the validator passes on, as (file, line): source."""
    sites = {}
    for module, name in SITES:
        source = Path(module.__file__).read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call) and _called(node) == name:
                sites[(module.__file__, node.lineno)] = ast.get_source_segment(source, node) or ""
    return sites


def _called(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return f"{func.value.id}.{func.attr}"
    return func.id if isinstance(func, ast.Name) else ""


@contextmanager
def reached_sites() -> Iterator[set[tuple[str, int]]]:
    """The (file, line) of every message site that runs while the block runs."""
    reached: set[tuple[str, int]] = set()

    def recorder(original: Any) -> Any:
        def recording(self: object, *args: Any, **kwargs: Any) -> None:
            caller = sys._getframe(1)
            reached.add((caller.f_code.co_filename, caller.f_lineno))
            original(self, *args, **kwargs)

        return recording

    patched = [
        (checker.Checker, "problem"),
        (PeriodError, "__init__"),
        (TemplateError, "__init__"),
    ]
    saved = [(owner, attr, owner.__dict__.get(attr)) for owner, attr in patched]
    for owner, attr in patched:
        setattr(owner, attr, recorder(getattr(owner, attr)))
    try:
        yield reached
    finally:
        for owner, attr, original in saved:
            if original is None:
                delattr(owner, attr)
            else:
                setattr(owner, attr, original)


def problems_of(tmp_path: Path, text: str, env: dict[str, str]) -> list[str]:
    """The problem messages of loading ``text`` as a config file (none when it loads)."""
    path = write_config(tmp_path / "config.toml", text)
    try:
        config_mod.load(path, env=env, url_check=url_problem)
    except ConfigError as e:
        return [f"{p.path}: {p.message}" for p in e.problems]
    return []


@pytest.mark.parametrize(("text", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_problem_message(tmp_path: Path, env: dict[str, str], text: str, fragment: str):
    found = problems_of(tmp_path, text, env)
    assert any(fragment in line for line in found), found


def test_every_problem_message_is_reached(tmp_path: Path, env: dict[str, str]):
    with reached_sites() as reached:
        for i, (_, text, _) in enumerate(CASES):
            folder = tmp_path / str(i)
            folder.mkdir()
            problems_of(folder, text, env)
    never = {site: text for site, text in message_sites().items() if site not in reached}
    expected = {s: t for s, t in never.items() if any(f in t for f in UNREACHABLE)}
    assert never == expected, f"config problems no case reaches ((file, line): call): {never}"
    assert len(expected) == len(UNREACHABLE), f"now reachable: {UNREACHABLE} vs {expected}"
