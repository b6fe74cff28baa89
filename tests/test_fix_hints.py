"""Messages that lead to the fix: each names what is wrong and what to write instead, through
the real ``check`` (one error line each, exit 2): dates with slashes, ``[numbers]`` for
``[[numbers]]``, a number without its +, a cycle without "every", a number in a range no carrier
has; a config missing where ``init`` wrote one elsewhere; the group's options after the
command name."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from conftest import SIMKEEPER, assert_one_line_error, run, write_config

HEAD = '[settings]\ntimezone = "UTC"\n\n[[notify]]\nname = "c"\nurl = "console://"\n\n'


def number(**keys: str) -> str:
    fields = {"name": '"A"', "number": '"+44 7911 123456"', "cycle": '"monthly"'}
    fields["due"] = "2026-12-10"
    fields.update(keys)
    return "[[numbers]]\n" + "".join(f"{k} = {v}\n" for k, v in fields.items())


CASES = [
    (
        "date-with-slashes",
        number(due="2026/12/10"),
        ":12: TOML syntax error: ",
        "(write dates as 2026-12-10: YYYY-MM-DD, no quotes)",
    ),
    (
        "quoted-date-with-slashes",
        number(due='"2026/12/10"'),
        "numbers[1].due: must be a date, not a string",
        "(write dates as 2026-12-10: YYYY-MM-DD, no quotes)",
    ),
    (
        "one-numbers-table",
        number().replace("[[numbers]]", "[numbers]"),
        "numbers: must be an array of tables ([[numbers]] entries)",
        "(each number is a [[numbers]] table: write [[numbers]], with two brackets, above each)",
    ),
    (
        "two-numbers-tables",
        (number() + number(name='"B"')).replace("[[numbers]]", "[numbers]"),
        ":13: TOML syntax error: ",
        "(each number is a [[numbers]] table: write [[numbers]], with two brackets, above each)",
    ),
    (
        "numbers-then-array",
        number().replace("[[numbers]]", "[numbers]") + number(name='"B"'),
        ":13: TOML syntax error: Cannot overwrite a value",
        "(each number is a [[numbers]] table: write [[numbers]], with two brackets, above each)",
    ),
    (
        "number-without-plus",
        number(number='"8613123456789"'),
        'numbers[1].number: "8613123456789" is not a phone number',
        '(add the +: number = "+86 131 2345 6789")',
    ),
    (
        "cycle-without-every",
        number(cycle='"30 days"'),
        'numbers[1].cycle: unknown cycle "30 days"',
        '(write it as "every 30 days")',
    ),
    (
        "cycle-short-unit",
        number(cycle='"2w"'),
        'numbers[1].cycle: unknown cycle "2w"',
        '(write it as "every 2 weeks")',
    ),
    (
        "reserved-range",
        number(number='"+1 555 000 0000"'),
        'numbers[1].number: "+1 555 000 0000" is not an assigned number',
        "(it is written right, but no US carrier has numbers in that range, a reserved or"
        " unassigned one: check the digits)",
    ),
    (
        "a-digit-too-few",
        number(number='"+44 7911 12345"'),
        'numbers[1].number: "+44 7911 12345" is not a valid phone number',
        "(a digit too few for a GB number)",
    ),
    (
        "too-short",
        number(number='"+44 79"'),
        'numbers[1].number: "+44 79" is not a valid phone number',
        "(too few digits for a GB number)",
    ),
]


@pytest.mark.parametrize(
    ("text", "message", "hint"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_toml_mistake_gets_the_fix(tmp_path, env, text, message, hint):
    config = write_config(tmp_path / "config.toml", HEAD + text)
    result = run(["--config", str(config), "check"], env)
    assert_one_line_error(result, message, hint)
    assert "international format" not in result.stderr
    assert "strings need double quotes" not in result.stderr


def test_check_after_init_user_names_the_file_init_wrote(tmp_path, env, home):
    """As root the default config is /etc's, but ``init --user`` writes ~/.config's: ``check``
    names that file and how to use it. (Not as root, the same hint comes for a missing
    $SIMKEEPER_CONFIG.)"""
    written = home / ".config" / "simkeeper" / "config.toml"
    init = subprocess.run(
        [SIMKEEPER, "init", "--user"], env=env, capture_output=True, text=True, timeout=60
    )
    assert init.returncode == 0, init.stderr
    assert written.is_file()
    if os.geteuid() == 0:
        assert not os.path.exists("/etc/simkeeper/config.toml"), "this test needs no /etc config"
        looked, check_env = "/etc/simkeeper/config.toml", env
    else:
        looked = str(tmp_path / "elsewhere.toml")
        check_env = {**env, "SIMKEEPER_CONFIG": looked}
    result = subprocess.run(
        [SIMKEEPER, "check"], env=check_env, capture_output=True, text=True, timeout=60
    )
    assert_one_line_error(
        result,
        f"{looked}: config file not found",
        f"found one at {written}, where 'simkeeper init' writes it: use it with"
        f" 'simkeeper check --config {written}' or set SIMKEEPER_CONFIG={written}",
    )
    assert "init --user" not in result.stderr  # not the command just run
    used = subprocess.run(
        [SIMKEEPER, "check", "--config", str(written)],
        env=check_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert used.returncode == 0 and used.stdout.startswith(f"{written}: OK, "), used.stderr


def test_the_group_options_work_after_the_command_too(tmp_path, env):
    config = write_config(tmp_path / "config.toml", HEAD + number())
    before = run(["--config", str(config), "check"], env)
    after = run(["check", "--config", str(config)], env)
    assert after.returncode == 0 and after.stdout == before.stdout
    wrong_then_right = run(["--config", "/nonexistent.toml", "check", "--config", str(config)], env)
    assert wrong_then_right.stdout == before.stdout

    def send(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SIMKEEPER, "send-due", "--config", str(config), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    loud = send("--now", "2026-12-07T09:00")  # the 3-day reminder: logged at INFO
    assert loud.returncode == 0 and "INFO 1 new reminder(s) due" in loud.stderr, loud.stderr
    quiet = send("-q", "--now", "2027-01-07T09:00")  # the next month's: -q keeps INFO out
    assert quiet.returncode == 0 and "sent: c" in quiet.stdout, quiet.stderr
    assert "INFO" not in quiet.stderr, quiet.stderr
    assert send("-v", "--now", "2027-01-07T09:01").returncode == 0


def test_log_lines_are_stamped_in_the_config_zone_with_the_offset(tmp_path, env):
    """The machine's zone (Pacific/Chatham here) is not the config's (Asia/Kathmandu, +05:45):
    the stamp follows the config, as every other time simkeeper shows."""
    text = (HEAD + number()).replace('timezone = "UTC"', 'timezone = "Asia/Kathmandu"')
    config = write_config(tmp_path / "config.toml", text)
    result = subprocess.run(
        [SIMKEEPER, "--config", str(config), "send-due", "--now", "2026-12-07T09:00"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines and all(
        re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+05:45 (INFO|WARNING) ", line) for line in lines
    ), lines
