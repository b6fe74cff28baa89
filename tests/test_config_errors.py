"""Every kind of bad config, through the real ``simkeeper check``: exit 2, one line a problem,
naming the file, line, key path and a fix; never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import run, write_config

GOOD_NUMBER = """
[[numbers]]
name = "giffgaff"
number = "+44 7911 123456"
cycle = "every 180 days"
rolling = true
last_renewed = 2026-06-01
"""

FIXED = '[[numbers]]\nname = "far"\nnumber = "+44 7911 123457"\n'

CASES = [
    # (id, config text, expected fragments of the one error line)
    ("toml-syntax", '[settings]\ntimezone = "UTC\n', [":2:", "TOML syntax error"]),
    (
        "unknown-key",
        GOOD_NUMBER + 'cycel = "monthly"\n',
        [":7:", "numbers[1].cycel", 'unknown key "cycel"', 'did you mean "cycle"?'],
    ),
    (
        "unknown-top-key",
        '[setings]\ntimezone = "UTC"\n' + GOOD_NUMBER,
        ["setings", 'did you mean "settings"?'],
    ),
    (
        "wrong-type",
        GOOD_NUMBER.replace('"+44 7911 123456"', "447911123456"),
        [":3:", "numbers[1].number", "must be a string, not a number", "put it in double quotes"],
    ),
    (
        "impossible-date",
        '[[numbers]]\nname = "a"\nnumber = "+44 7911 123456"\ndue = 2026-02-30\n',
        [":4:", "TOML syntax error", "must exist in the calendar"],
    ),
    (
        "quoted-impossible-date",
        '[[numbers]]\nname = "a"\nnumber = "+44 7911 123456"\ndue = "2026-02-30"\n',
        [":4:", "numbers[1].due", "must be a date, not a string", "write a real date"],
    ),
    (
        "quoted-date",
        '[[numbers]]\nname = "a"\nnumber = "+44 7911 123456"\ndue = "2026-12-15"\n',
        [":4:", "numbers[1].due", "write the date without quotes: 2026-12-15"],
    ),
    (
        "invalid-phone",
        GOOD_NUMBER.replace("+44 7911 123456", "+44 12"),
        [":3:", "numbers[1].number", "not a valid phone number", "too few digits for a GB number"],
    ),
    (
        "not-a-phone",
        GOOD_NUMBER.replace("+44 7911 123456", "call me"),
        [":3:", "numbers[1].number", "not a phone number"],
    ),
    (
        "duplicate-name",
        GOOD_NUMBER + GOOD_NUMBER.replace("+44 7911 123456", "+44 7911 123457"),
        [":9:", "numbers[2].name", '"giffgaff" is already the name of numbers[1]'],
    ),
    (
        "unknown-timezone",
        '[settings]\ntimezone = "Asia/Shanghia"\n' + GOOD_NUMBER,
        [":2:", "settings.timezone", 'unknown time zone "Asia/Shanghia"', "Asia/Shanghai"],
    ),
    (
        "zero-cycle",
        GOOD_NUMBER.replace("every 180 days", "every 0 days"),
        [":4:", "numbers[1].cycle", "at least 1"],
    ),
    (
        "misspelt-cycle",
        GOOD_NUMBER.replace("every 180 days", "montly"),
        [":4:", "numbers[1].cycle", 'unknown cycle "montly"', 'did you mean "monthly"?'],
    ),
    (
        "bad-lead-time",
        '[settings]\nremind = ["14d", "3 days"]\n' + GOOD_NUMBER,
        [":2:", "settings.remind[2]", '"3 days" is not a duration'],
    ),
    (
        "rolling-without-last-renewed",
        GOOD_NUMBER.replace("last_renewed = 2026-06-01\n", ""),
        ["numbers[1].last_renewed", "rolling = true needs last_renewed"],
    ),
    (
        "fixed-without-due",
        '[[numbers]]\nname = "a"\nnumber = "+44 7911 123456"\ncycle = "monthly"\n',
        ["numbers[1].due", "missing", "add due = YYYY-MM-DD"],
    ),
    (
        "unknown-currency",
        '[[numbers]]\nname = "a"\nnumber = "+44 7911 123456"\ncycle = "monthly"\n'
        'due = 2026-12-03\ncost = 3.0\ncurrency = "USX"\n',
        [":7:", "numbers[1].currency", 'unknown currency code "USX"'],
    ),
    (
        "unset-variable",
        '[[notify]]\nname = "mail"\nurl = "mailto://me:${NO_SUCH_SECRET_VAR}@example.com"\n'
        + GOOD_NUMBER,
        [
            ":3:",
            "notify[1].url",
            "${NO_SUCH_SECRET_VAR} is not set",
            "credentials/NO_SUCH_SECRET_VAR",
            "the environment ($NO_SUCH_SECRET_VAR)",
        ],
    ),
    (
        "unknown-url-scheme",
        '[[notify]]\nname = "x"\nurl = "nosuchservice://host/path"\n' + GOOD_NUMBER,
        [":3:", "notify[1].url", 'unknown notification scheme "nosuchservice://"'],
    ),
    (
        "url-missing-parts",
        '[[notify]]\nname = "mail"\nurl = "mailto://nohost"\n' + GOOD_NUMBER,
        [
            ":3:",
            "notify[1].url",
            "Apprise cannot use this mailto:// URL: a part is missing or malformed "
            "(Invalid ~From~ email specified)",
        ],
    ),
    (
        "unknown-notify-tag",
        '[[notify]]\nname = "console"\nurl = "console://"\n' + GOOD_NUMBER + 'notify = ["emial"]\n',
        ["numbers[1].notify", 'no [[notify]] target has the name or tag "emial"'],
    ),
    (
        "bad-language",
        '[settings]\nlanguage = "zh-TW"\n' + GOOD_NUMBER,
        [":2:", "settings.language", 'unknown language "zh-TW"'],
    ),
    (
        "bad-template",
        '[templates]\nrenew = "{nam} is due"\n' + GOOD_NUMBER,
        [":2:", "templates.renew", 'unknown placeholder "{nam}"'],
    ),
    # Values no real plan has (issue 10): each once passed check and then broke every pass.
    (
        "far-due",
        FIXED + "due = 9999-12-31\n",
        [":4:", "numbers[1].due", "1970-01-01 to 2200-12-31"],
    ),
    ("old-due", FIXED + "due = 1969-12-31\n", [":4:", "numbers[1].due", "out of range"]),
    (
        "far-lead",
        FIXED + 'due = 2026-12-15\nremind = ["99999999d"]\n',
        [":5:", "numbers[1].remind[1]", "0d to 1096d"],
    ),
    (
        "far-overdue-for",
        FIXED + 'due = 2026-12-15\noverdue_for = "700000d"\n',
        [":5:", "numbers[1].overdue_for", "0d to 1096d"],
    ),
    (
        "far-overdue-every",
        '[settings]\noverdue_every = "99999999d"\n' + GOOD_NUMBER,
        [":2:", "settings.overdue_every", "1d to 1096d"],
    ),
    (
        "long-cycle-years",
        GOOD_NUMBER.replace("every 180 days", "every 99999999 years"),
        [":4:", "numbers[1].cycle", "longer than 10 years", "1 day to 10 years"],
    ),
    (
        "long-cycle-days",
        GOOD_NUMBER.replace("every 180 days", "every 99999999 days"),
        [":4:", "numbers[1].cycle", "longer than 10 years"],
    ),
    (
        "far-last-renewed",
        GOOD_NUMBER.replace("2026-06-01", "9999-12-01"),
        [":6:", "numbers[1].last_renewed", "1970-01-01 to 2200-12-31"],
    ),
    (
        "far-balance-date",
        FIXED + 'due = 2026-12-15\ncycle = "monthly"\ncost = 3\ncurrency = "USD"\n'
        "balance = 10\nbalance_date = 9999-12-31\n",
        [":9:", "numbers[1].balance_date", "1970-01-01 to 2200-12-31"],
    ),
    (
        "nan-cost",
        FIXED + 'due = 2026-12-15\ncost = nan\ncurrency = "USD"\n',
        [":5:", "numbers[1].cost", "nan is not an amount"],
    ),
    (
        "inf-cost",
        FIXED + 'due = 2026-12-15\ncost = inf\ncurrency = "USD"\n',
        [":5:", "numbers[1].cost", "inf is not an amount"],
    ),
    (
        "nan-balance",
        FIXED + 'due = 2026-12-15\ncycle = "monthly"\ncost = 3\ncurrency = "USD"\n'
        "balance = nan\nbalance_date = 2026-11-01\n",
        [":8:", "numbers[1].balance", "nan is not an amount"],
    ),
    ("notify-int", "notify = 1\n" + GOOD_NUMBER, [":1:", "notify", "array of tables"]),
    ("numbers-date", "numbers = 2026-01-01\n", [":1:", "numbers", "array of tables"]),
    ("settings-bool", "settings = true\n", [":1:", "settings", "must be a table"]),
    ("deep-array", "x = " + "[" * 1000 + "]" * 1000 + "\n", ["nested more than 20 deep"]),
    (
        "deepish-array",
        "[settings]\nremind = " + "[" * 30 + "]" * 30 + "\n",
        ["settings.remind", "nested more than 20 deep"],
    ),
    ("bracket-key", '"a[" = 1\n', [":1:", 'unknown key "a["']),
]


@pytest.mark.parametrize("text, fragments", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_config_is_one_clear_line(tmp_path: Path, env, text, fragments):
    path = write_config(tmp_path / "config.toml", text)
    result = run(["--config", str(path), "check"], env)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert not re.search(r"\d\d:\d\d:\d\d", lines[0]), "a log timestamp leaked into the error"


def test_every_problem_is_reported_at_once(tmp_path: Path, env):
    path = write_config(
        tmp_path / "config.toml",
        """
        [settings]
        timezone = "Mars/Olympus"
        remind = ["2x"]

        [[numbers]]
        name = "a"
        number = "+44 12"
        cycle = "montly"
        due = 2026-12-15

        [[numbers]]
        name = "b"
        number = "+44 7911 123456"
        rolling = true
        cycle = "every 180 days"
        colour = "red"

        [[numbers]]
        name = "a"
        number = "+44 7911 123457"
        cycle = "every 0 days"
        due = 2026-12-15
        """,
    )
    result = run(["--config", str(path), "check"], env)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    expected = [
        "settings.timezone",
        "settings.remind[1]",
        "numbers[1].number",
        "numbers[1].cycle",
        "numbers[2].colour",
        "numbers[2].last_renewed",
        "numbers[3].cycle",
        "numbers[3].name",
    ]
    for key in expected:
        assert any(f" {key}:" in line for line in lines), (key, lines)
    assert len(lines) == len(expected)
    # A duplicate name is found even though both entries have other problems; a zero count
    # is not "corrected" to some other cycle.
    assert any('numbers[3].name: "a" is already the name of numbers[1]' in x for x in lines)
    assert not any("did you mean" in x for x in lines if "numbers[3].cycle" in x)


def test_missing_file(tmp_path: Path, env):
    result = run(["--config", str(tmp_path / "nope.toml"), "check"], env)
    assert result.returncode == 2
    assert "config file not found" in result.stderr
    assert "config.example.toml" in result.stderr
    assert "simkeeper init --user" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreadable_file(tmp_path: Path, env):
    path = tmp_path / "config.toml"
    path.write_bytes(b'[settings]\ntimezone = "\xff\xfe"\n')
    result = run(["--config", str(path), "check"], env)
    assert result.returncode == 2
    assert "cannot read config file" in result.stderr
    folder = run(["--config", str(tmp_path), "check"], env)
    assert folder.returncode == 2
    assert "Traceback" not in result.stderr + folder.stderr


def test_example_config_passes(env):
    example = Path(__file__).parent.parent / "config.example.toml"
    result = run(["--config", str(example), "check"], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1
    assert "OK, 4 number(s), 1 notify target(s)" in result.stdout
