"""The commands end to end: the installed ``simkeeper`` as a subprocess, time given with
``--now`` (never the real clock), in a machine zone (Chatham) that no config uses. Also the
docs: every command, option and config key the code accepts is in README.md."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import subprocess
import time
import unicodedata
from pathlib import Path

import click
import pytest
from conftest import SIMKEEPER, run, unmeasured, write_config

from simkeeper.cli import main as cli_mod
from simkeeper.config.numbers import NUMBER_KEYS
from simkeeper.config.validate import NOTIFY_KEYS, SETTINGS_KEYS, TOP_KEYS
from simkeeper.texts import templates as templates_mod

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
ANSI = re.compile(r"\x1b\[[0-9;]*m")

# 2026-12-01T20:00Z is Dec 1 in Los Angeles (12:00) and in UTC, but Dec 2 in Shanghai (04:00)
# and in the machine's zone, Chatham (09:45): "today" must come from each number's own zone.
NOW = "2026-12-01T20:00:00Z"

CONFIG = """
[settings]
timezone = "Asia/Shanghai"

[[numbers]]
name = "Bravo"
number = "+1 206 555 0100"
due = 2026-12-31
timezone = "America/Los_Angeles"

[[numbers]]
name = "Alpha"
number = "+44 7911 123456"
carrier = "giffgaff"
due = 2026-12-31

[[numbers]]
name = "LA monthly"
number = "+1 415 555 2671"
cycle = "monthly"
due = 2026-11-01
timezone = "America/Los_Angeles"

[[numbers]]
name = "Shanghai monthly"
number = "+852 6123 4567"
cycle = "monthly"
due = 2026-11-01

[[numbers]]
name = "Shanghai late"
number = "+44 7911 123457"
due = 2027-01-02

[[numbers]]
name = "Shanghai day60"
number = "+44 7911 123458"
due = 2027-01-31

[[numbers]]
name = "Rolling lapsed"
number = "+44 7911 123459"
cycle = "every 30 days"
rolling = true
last_renewed = 2026-10-01

[[numbers]]
name = "香港卡"
number = "+852 6123 4568"
carrier = "CMHK 中国移动"
cycle = "every 180 days"
rolling = true
last_renewed = 2026-07-01
"""

# (deadline, name, number, days_left, cycle) for --days 30 at NOW.
WINDOW_30 = [
    ("2026-10-31", "Rolling lapsed", "+447911123459", -32, "every 30 days"),  # passed: at risk
    ("2026-12-01", "LA monthly", "+14155552671", 0, "monthly"),  # day 0 in Los Angeles
    ("2026-12-28", "香港卡", "+85261234568", 26, "every 180 days"),
    ("2026-12-31", "Alpha", "+447911123456", 29, "once"),  # same date: by name
    ("2026-12-31", "Bravo", "+12065550100", 30, "once"),  # day N in Los Angeles
    ("2027-01-01", "Shanghai monthly", "+85261234567", 30, "monthly"),  # day N in Shanghai
]
# Left out at --days 30: LA monthly on 2027-01-01 (day 31 in LA), Shanghai late (day 31),
# Shanghai monthly's 2026-12-01 (yesterday in Shanghai, never reminded, so not overdue).
WINDOW_60 = [
    *WINDOW_30[:5],
    ("2027-01-01", "LA monthly", "+14155552671", 31, "monthly"),
    ("2027-01-01", "Shanghai monthly", "+85261234567", 30, "monthly"),
    ("2027-01-02", "Shanghai late", "+447911123457", 31, "once"),
    ("2027-01-31", "Shanghai day60", "+447911123458", 60, "once"),  # day 60 in; 61 out
]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path / "config.toml", CONFIG)


def upcoming_json(config: Path, env: dict[str, str], *extra: str) -> list[dict]:
    r = run(["--config", str(config), "upcoming", "--format", "json", *extra], env)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    return json.loads(r.stdout)


def rows(found: list[dict]) -> list[tuple]:
    return [(d["deadline"], d["name"], d["number"], d["days_left"], d["cycle"]) for d in found]


# -- upcoming --format json ------------------------------------------------------------------


def test_upcoming_json_window_boundaries_and_order(config, env):
    found = upcoming_json(config, env, "--days", "30", "--now", NOW)
    assert rows(found) == WINDOW_30
    for d in found:
        assert type(d["days_left"]) is int
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", d["deadline"])
        assert re.fullmatch(r"\+\d{8,15}", d["number"])
    assert [d["overdue"] for d in found] == [True, False, False, False, False, False]


def test_upcoming_json_default_is_60_days(config, env):
    assert rows(upcoming_json(config, env, "--now", NOW)) == WINDOW_60


def test_upcoming_json_days_0_is_today_and_the_numbers_at_risk(config, env):
    assert rows(upcoming_json(config, env, "--days", "0", "--now", NOW)) == WINDOW_30[:2]


def test_upcoming_json_today_moves_with_each_numbers_zone(config, env):
    # Four hours later it is Dec 1 16:00 in Los Angeles, still "today" there, and Dec 2 08:00
    # in Shanghai; at 08:00Z on Dec 2 it is Dec 2 in Los Angeles too: the LA deadline of Dec 1
    # has passed (fixed, never reminded, so not at risk) and its window reaches Jan 1, while
    # Shanghai's numbers are where they were.
    later = rows(upcoming_json(config, env, "--days", "30", "--now", "2026-12-02T00:00Z"))
    assert ("2026-12-01", "LA monthly", "+14155552671", 0, "monthly") in later
    next_day = upcoming_json(config, env, "--days", "30", "--now", "2026-12-02T08:00Z")
    assert [(d["deadline"], d["name"], d["days_left"]) for d in next_day] == [
        ("2026-10-31", "Rolling lapsed", -32),
        ("2026-12-28", "香港卡", 26),
        ("2026-12-31", "Alpha", 29),
        ("2026-12-31", "Bravo", 29),
        ("2027-01-01", "LA monthly", 30),
        ("2027-01-01", "Shanghai monthly", 30),
    ]


def test_upcoming_json_carries_the_rest(config, env):
    found = upcoming_json(config, env, "--days", "30", "--now", NOW)
    hk = next(d for d in found if d["name"] == "香港卡")
    assert hk["carrier"] == "CMHK 中国移动"
    assert hk["rolling"] is True
    assert hk["timezone"] == "Asia/Shanghai"
    la = next(d for d in found if d["name"] == "LA monthly")
    assert la["timezone"] == "America/Los_Angeles"
    assert la["rolling"] is False


def test_upcoming_json_nothing_due_is_an_empty_list(tmp_path, env):
    cfg = write_config(
        tmp_path / "c.toml",
        '[[numbers]]\nname = "x"\nnumber = "+44 7911 123456"\ndue = 2027-06-01\n',
    )
    assert upcoming_json(cfg, env, "--now", "2026-12-01T00:00Z") == []
    r = run(["--config", str(cfg), "upcoming", "--now", "2026-12-01T00:00Z"], env)
    assert r.returncode == 0
    assert r.stdout == "Nothing due in the next 60 days.\n"


@pytest.mark.parametrize("days", ["-1", "x", "3661"])
def test_upcoming_bad_days_is_a_usage_error(config, env, days):
    r = run(["--config", str(config), "upcoming", "--days", days, "--now", NOW], env)
    assert r.returncode == 2
    [line] = r.stderr.splitlines()
    assert line.startswith("error: Invalid value for '--days'")
    assert line.endswith("(see 'simkeeper upcoming --help')")


@pytest.mark.parametrize(
    "args, message",
    [
        (["nosuch"], "error: No such command 'nosuch'. (see 'simkeeper --help')"),
        (["topup"], "error: Missing argument 'NAME'. (see 'simkeeper topup --help')"),
        (["upcoming", "--colour"], "error: No such option '--colour'."),
        (
            ["renewed", "Alpha", "--date", "0001-01-01"],
            "error: --date 0001-01-01 is too far in the",
        ),
    ],
)
def test_usage_errors_are_one_line(config, env, args, message):
    r = run(["--config", str(config), *args], env)
    assert r.returncode == 2
    [line] = r.stderr.splitlines()
    assert line.startswith(message)


# -- --now --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "now",
    [
        "2026-12-01T20:00:00Z",
        "2026-12-01T20:00:00+00:00",
        "2026-12-01T12:00:00-08:00",  # the same instant with an offset
        "2026-12-02T09:45+13:45",  # Chatham's offset, written out
        "2026-12-02T04:00",  # naive: local time in settings.timezone (Shanghai)
        "2026-12-02 04:00:00",
        "2026-12-02",  # a date: midnight in Shanghai, still Dec 1 in Los Angeles
    ],
)
def test_now_accepts_iso_8601_with_and_without_offset(config, env, now):
    assert rows(upcoming_json(config, env, "--days", "30", "--now", now)) == WINDOW_30


@pytest.mark.parametrize(
    "now,expected",
    [
        # 03:00 in Shanghai is Nov 30 19:00Z, still Nov 30 in Los Angeles. Read in the
        # machine's zone (Chatham, +13:45) it would be Nov 30 in Shanghai too: the lapsed
        # window 30 days old, not 31, and Shanghai's Dec 1 deadline tomorrow.
        ("2026-12-01T03:00", [("Rolling lapsed", -31), ("Shanghai monthly", 0)]),
        # 23:00 in Shanghai is 15:00Z, Dec 1 07:00 in Los Angeles. Read as UTC it would be
        # Dec 2 in Shanghai: the lapsed window 32 days old and Shanghai's Dec 1 passed.
        (
            "2026-12-01T23:00",
            [("Rolling lapsed", -31), ("LA monthly", 0), ("Shanghai monthly", 0)],
        ),
    ],
)
def test_naive_now_is_settings_timezone_not_the_machines(config, env, now, expected):
    found = upcoming_json(config, env, "--days", "0", "--now", now)
    assert [(d["name"], d["days_left"]) for d in found] == expected


@pytest.mark.parametrize(
    "now",
    ["yesterday", "", "2026-13-01", "2026-12-01T25:00", "2026-12-01T09:00+25:00", "9999-12-31"],
)
def test_bad_now_is_one_line_exit_2(config, env, now):
    r = run(["--config", str(config), "upcoming", "--now", now], env)
    assert r.returncode == 2, r.stderr
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f'error: --now "{now}" is ')
    assert "Traceback" not in r.stderr


# -- upcoming as a table ---------------------------------------------------------------------


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _from_column(line: str, start: int) -> str | None:
    """The text of ``line`` from terminal column ``start`` on (CJK takes two columns)."""
    col = 0
    for i, c in enumerate(line):
        if col == start:
            return line[i:]
        if col > start:
            return None  # a wide character straddles the column
        col += _display_width(c)
    return "" if col == start else None


def _left(days_left: int) -> str:
    return "today" if days_left == 0 else f"{days_left}d" if days_left > 0 else f"{-days_left}d ago"


def assert_aligned(table: str, found: list[dict]) -> None:
    lines = table.splitlines()
    headers = ["DEADLINE", "LEFT", "NAME", "NUMBER", "CARRIER", "CYCLE", "ACTION"]
    assert lines[0].split() == headers
    starts = [lines[0].index(h) for h in headers]
    assert starts[0] == 0
    assert len(lines) == 1 + len(found)
    for line, d in zip(lines[1:], found, strict=True):
        cells = [d["deadline"], _left(d["days_left"]), d["name"], d["number"], d["carrier"]]
        cells += [d["cycle"]]
        for start, cell in zip(starts, cells, strict=False):
            rest = _from_column(line, start)
            assert rest is not None and rest.startswith(cell), (line, start, cell)
            if start:
                assert _from_column(line, start - 2)[:2] == "  ", (line, start)
        action = _from_column(line, starts[-1])
        assert action == ("OVERDUE (window passed)" if d["days_left"] < 0 else "renew")


def test_upcoming_table_is_aligned_and_plain_without_a_terminal(config, env):
    found = upcoming_json(config, env, "--days", "30", "--now", NOW)
    r = run(["--config", str(config), "upcoming", "--days", "30", "--now", NOW], env)
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout  # NO_COLOR set, and not a terminal
    assert_aligned(r.stdout, found)
    # Without NO_COLOR, a pipe still gets no colour.
    plain = {k: v for k, v in env.items() if k != "NO_COLOR"}
    r2 = run(["--config", str(config), "upcoming", "--days", "30", "--now", NOW], plain)
    assert r2.returncode == 0
    assert r2.stdout == r.stdout


def run_on_tty(args: list[str], env: dict[str, str], timeout: float = 30) -> tuple[int, str]:
    """Run ``simkeeper ARGS`` on a pseudo-terminal; return its status and what it printed."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([SIMKEEPER, *args], env=env, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    end = time.monotonic() + timeout
    try:
        while True:
            ready, _, _ = select.select([master], [], [], max(0.0, end - time.monotonic()))
            if not ready:
                raise AssertionError(f"simkeeper {args} still running after {timeout}s")
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other side is closed
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(master)
        if proc.poll() is None and time.monotonic() > end:
            proc.kill()
    return proc.wait(timeout=timeout), out.decode().replace("\r\n", "\n")


def test_upcoming_table_on_a_terminal_colours_the_most_urgent(config, env):
    found = upcoming_json(config, env, "--days", "30", "--now", NOW)
    args = ["--config", str(config), "upcoming", "--days", "30", "--now", NOW]
    colour_env = {k: v for k, v in env.items() if k != "NO_COLOR"}
    colour_env["TERM"] = "xterm-256color"
    status, out = run_on_tty(args, colour_env)
    assert status == 0, out
    lines = out.splitlines()
    by_name = {d["name"]: line for d, line in zip(found, lines[1:], strict=True)}
    red_bold = ("\x1b[31m", "\x1b[1m")
    for name in ("LA monthly", "Rolling lapsed"):  # today, and 32 days overdue
        assert all(code in by_name[name] for code in red_bold), repr(by_name[name])
    for name in ("香港卡", "Alpha", "Bravo", "Shanghai monthly"):  # 26 days and more: plain
        assert "\x1b" not in by_name[name], repr(by_name[name])
    assert "\x1b" not in lines[0]
    assert_aligned(ANSI.sub("", out), found)

    # On a terminal, NO_COLOR still turns colour off.
    status, out = run_on_tty(args, {**colour_env, "NO_COLOR": "1"})
    assert status == 0
    assert "\x1b" not in out
    assert_aligned(out, found)


def test_upcoming_table_yellow_within_two_weeks(tmp_path, env):
    cfg = write_config(
        tmp_path / "c.toml",
        '[[numbers]]\nname = "soon"\nnumber = "+44 7911 123456"\ndue = 2026-12-11\n'
        '[[numbers]]\nname = "later"\nnumber = "+44 7911 123457"\ndue = 2026-12-30\n',
    )
    env = {k: v for k, v in env.items() if k != "NO_COLOR"}
    status, out = run_on_tty(["--config", str(cfg), "upcoming", "--now", "2026-12-01"], env)
    assert status == 0, out
    soon, later = out.splitlines()[1:]
    assert "\x1b[33m" in soon and "soon" in soon  # 10 days: yellow
    assert "\x1b" not in later  # 29 days: plain


# -- the config file's place -----------------------------------------------------------------

EXAMPLE_NUMBER = '[[numbers]]\nname = "x"\nnumber = "+44 7911 123456"\ndue = 2027-06-01\n'


def as_normal_user() -> list[str]:
    """A command prefix that runs simkeeper with a non-root effective uid.

    As root, ``unshare --user`` gives the process an unmapped uid (65534) while its file access
    stays that of the file owner, so the normal-user default path can be tested here too.
    """
    if os.geteuid() != 0:
        return []
    unshare = shutil.which("unshare")
    if not unshare:
        pytest.skip("running as root and no unshare(1) to test as a normal user")
    probe = subprocess.run([unshare, "--user", "id", "-u"], capture_output=True, text=True)
    if probe.returncode != 0 or probe.stdout.strip() == "0":
        pytest.skip("running as root and user namespaces are not available")
    return [unshare, "--user"]


def run_as_user(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*as_normal_user(), SIMKEEPER, *args],
        env=unmeasured(env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_default_config_is_xdg_config_home_for_a_user(home, env, tmp_path):
    xdg = tmp_path / "xdg"
    (xdg / "simkeeper").mkdir(parents=True)
    path = write_config(xdg / "simkeeper" / "config.toml", EXAMPLE_NUMBER)
    r = run_as_user(["check"], {**env, "XDG_CONFIG_HOME": str(xdg)})
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{path}: OK, 1 number(s)\n"


def test_default_config_without_xdg_is_home_dot_config(home, env):
    (home / ".config" / "simkeeper").mkdir()
    path = write_config(home / ".config" / "simkeeper" / "config.toml", EXAMPLE_NUMBER)
    user_env = {k: v for k, v in env.items() if k != "XDG_CONFIG_HOME"}
    r = run_as_user(["check"], user_env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{path}: OK, 1 number(s)\n"
    # An empty XDG_CONFIG_HOME counts as unset.
    r = run_as_user(["check"], {**user_env, "XDG_CONFIG_HOME": ""})
    assert r.stdout == f"{path}: OK, 1 number(s)\n"


def test_simkeeper_config_wins_over_the_default(home, env, tmp_path):
    (home / ".config" / "simkeeper").mkdir()
    write_config(home / ".config" / "simkeeper" / "config.toml", "this is not toml")
    chosen = write_config(tmp_path / "chosen.toml", EXAMPLE_NUMBER)
    r = run_as_user(["check"], {**env, "SIMKEEPER_CONFIG": str(chosen)})
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{chosen}: OK, 1 number(s)\n"
    # and --config wins over $SIMKEEPER_CONFIG
    other = write_config(
        tmp_path / "other.toml",
        EXAMPLE_NUMBER + EXAMPLE_NUMBER.replace('"x"', '"y"').replace("123456", "123457"),
    )
    r = run_as_user(["--config", str(other), "check"], {**env, "SIMKEEPER_CONFIG": str(chosen)})
    assert r.stdout == f"{other}: OK, 2 number(s)\n"


def test_missing_default_config_names_the_path(home, env):
    expected = home / ".config" / "simkeeper" / "config.toml"
    r = run_as_user(["upcoming"], env)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"error: {expected}: config file not found")
    assert "SIMKEEPER_CONFIG" in lines[0]  # says how to point elsewhere


def test_missing_simkeeper_config_names_that_path(env, tmp_path):
    missing = tmp_path / "nowhere" / "simkeeper.toml"
    r = run(["check"], {**env, "SIMKEEPER_CONFIG": str(missing)})
    assert r.returncode == 2
    assert r.stderr.splitlines()[0].startswith(f"error: {missing}: config file not found")


@pytest.mark.skipif(os.geteuid() != 0, reason="the root default needs root")
def test_default_config_for_root_is_etc(env):
    if Path("/etc/simkeeper/config.toml").exists():
        pytest.skip("/etc/simkeeper/config.toml exists on this machine")
    r = run(["check"], env)
    assert r.returncode == 2
    assert r.stderr.startswith("error: /etc/simkeeper/config.toml: config file not found")


# -- check on the example ----------------------------------------------------------------------


def test_check_passes_on_config_example(env):
    example = REPO / "config.example.toml"
    r = run(["--config", str(example), "check"], env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{example}: OK, 4 number(s), 1 notify target(s)\n"
    assert r.stderr == ""


def test_example_upcoming_runs(env):
    example = str(REPO / "config.example.toml")
    now = "2026-12-01T09:00+08:00"
    r = run(
        ["--config", example, "upcoming", "--format", "json", "--days", "20", "--now", now], env
    )
    assert r.returncode == 0, r.stderr
    assert [(d["deadline"], d["name"], d["days_left"]) for d in json.loads(r.stdout)] == [
        ("2026-12-03", "Ultra PayGo", 2),
        ("2026-12-06", "US T-Mobile", 6),  # Dec 1 in Shanghai is Nov 30 in Los Angeles
    ]  # giffgaff: 2026-07-10 + 6 months, after these 20 days


# -- docs: every command, option and config key is in README.md ---------------------------------


def _commands(cmd: click.Command, path: tuple[str, ...] = ()):
    yield path, cmd
    if isinstance(cmd, click.Group):
        for name, sub in sorted(cmd.commands.items()):
            yield from _commands(sub, (*path, name))


COMMANDS = [pytest.param(p, c, id=" ".join(p) or "simkeeper") for p, c in _commands(cli_mod.cli)]
SUBCOMMANDS = [param for param in COMMANDS if param.values[0]]


def _section(text: str, heading: str) -> str:
    """The text under a markdown ``heading`` (a line), up to the next heading of its level."""
    level = heading.split(" ", 1)[0]
    start = text.index("\n" + heading + "\n") + len(heading) + 2
    end = re.compile(rf"^{re.escape(level)} ", re.M).search(text, start)
    return text[start : end.start() if end else len(text)]


USING = _section(README, "## Using it")
CONFIG_REF = _section(README, "## Configuration reference")


def _mentioned(option: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text) is not None


def test_the_command_list_is_found():
    names = {" ".join(param.values[0]) for param in SUBCOMMANDS}
    assert {"check", "upcoming", "send-due", "run", "renewed", "calendar"} <= names


@pytest.mark.parametrize("path,cmd", COMMANDS)
def test_every_command_has_help(path, cmd, env):
    assert cmd.get_short_help_str().strip(), f"{path} has no short help"
    r = run([*path, "--help"], env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"Usage: simkeeper {' '.join(path)}".rstrip())
    first = " ".join((cmd.help or "").split("\n\n")[0].split())
    assert first and first in " ".join(r.stdout.split())


@pytest.mark.parametrize("path,cmd", SUBCOMMANDS)
def test_every_command_is_in_readme(path, cmd):
    name = " ".join(path)
    assert f"simkeeper {name}" in USING, f"README's 'Using it' has no `simkeeper {name}` example"
    assert f"| `{name}` |" in USING, f"README's commands table has no row for `{name}`"


def test_readme_lists_no_command_that_does_not_exist():
    listed = set(re.findall(r"^\| `([a-z][a-z -]*)` \|", USING, re.M))
    assert listed == {" ".join(param.values[0]) for param in SUBCOMMANDS}


@pytest.mark.parametrize("path,cmd", COMMANDS)
def test_every_option_is_in_readme(path, cmd):
    missing = [
        "/".join(p.opts)
        for p in cmd.params
        if isinstance(p, click.Option)
        and not any(_mentioned(o, USING) for o in (*p.opts, *p.secondary_opts))
    ]
    assert not missing, f"simkeeper {' '.join(path)}: README's 'Using it' lacks {missing}"


@pytest.mark.parametrize(
    "heading,keys",
    [
        ("### `[settings]`", SETTINGS_KEYS),
        ("### `[[numbers]]`", NUMBER_KEYS),
        ("### `[[notify]]`", NOTIFY_KEYS),
        ("### `[templates]`", list(templates_mod.TEMPLATE_KEYS)),
    ],
    ids=["settings", "numbers", "notify", "templates"],
)
def test_every_config_key_is_in_readme(heading, keys):
    section = _section(CONFIG_REF, heading)
    missing = [k for k in keys if f"`{k}`" not in section]
    assert not missing, f"README's {heading} lacks {missing}"


def test_every_config_table_has_a_readme_section():
    for key in TOP_KEYS:
        table = f"[[{key}]]" if key in ("numbers", "notify", "gateways") else f"[{key}]"
        assert f"\n### `{table}`\n" in CONFIG_REF, key


def test_every_template_placeholder_is_in_readme():
    section = _section(CONFIG_REF, "### `[templates]`")
    fields = {f for allowed in templates_mod.TEMPLATE_KEYS.values() for f in allowed}
    missing = sorted(f for f in fields if f"`{{{f}}}`" not in section)
    assert not missing, f"README's templates section lacks placeholders {missing}"
