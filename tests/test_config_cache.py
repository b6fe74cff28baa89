"""The validated-config cache (``configcache.py``): used only for exactly the text, code and
Python it was written for, never holding a secret, ignored when it is corrupt or foreign, and
giving the same config, warnings and errors as a full load. Also the one-shot speed paths it
goes with: plain month arithmetic, column-wise table padding, no cyclic GC during a command.
"""

from __future__ import annotations

import base64
import gc
import os
import shutil
import urllib.parse
from datetime import date
from pathlib import Path

import pytest
from conftest import ALL_SUBPROCESS, ok, sk, write_config
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from simkeeper.config import cache as configcache
from simkeeper.config import load as config_mod
from simkeeper.config.values import _e164
from simkeeper.core.errors import ConfigError
from simkeeper.core.periods import add_months
from simkeeper.texts.display import table

PASSWORD = "Pw-literal-7Qx!"
TOKEN = "Tk-from-env-9Zr"
CONFIG = f"""
[settings]
remind = ["7d"]

[[notify]]
name = "mail"
url = "mailto://me:{PASSWORD}@127.0.0.1:9?to=me@example.com"

[[notify]]
name = "hook"
url = "json://127.0.0.1:9/x?+X-Token=${{TOKEN}}"
tags = ["ops"]

[[numbers]]
name = "giffgaff"
number = "+44 7911 123456"
cycle = "monthly"
due = 2026-12-15
notify = ["ops"]

[[numbers]]
name = "HK"
number = "+852 6123 4567"
cycle = "yearly"
due = 2027-03-01

[[numbers]]
name = "rolling"
number = "+44 7911 123457"
plan = "giffgaff"
last_renewed = 2026-06-01
"""


def calls() -> int:
    """How many phone numbers were validated in this process so far."""
    info = _e164.cache_info()
    return info.hits + info.misses


def load(path: Path, cache: Path, env: dict[str, str], **kw: object) -> config_mod.Config:
    return config_mod.load(path, env={**env, "TOKEN": TOKEN}, cache=cache, **kw)  # type: ignore[arg-type]


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return write_config(tmp_path / "config.toml", CONFIG), tmp_path / "cache"


def test_a_second_load_of_the_same_text_takes_the_numbers_from_the_cache(files, env):
    path, cache = files
    first = load(path, cache, env)
    assert list(cache.iterdir()), "the entry was written"
    before = calls()
    second = load(path, cache, env)
    assert calls() == before, "no number was validated again"
    assert second == first
    assert second.targets == first.targets  # targets, with their secrets, built afresh
    assert config_mod.load(path, env={**env, "TOKEN": TOKEN}) == first  # as without a cache


def test_numbers_read_back_from_the_cache_hold_no_attribute_dict(files, env):
    """The daemon takes its numbers from the cache (issue 14): unpickled, a number with an
    attribute dict costs ~140 bytes more than its slots."""
    path, cache = files
    load(path, cache, env)
    numbers = load(path, cache, env).numbers
    assert numbers and not any(hasattr(n, "__dict__") for n in numbers)


@pytest.mark.parametrize(
    "change",
    ["text", "version", "code", "settings from the environment"],
)
def test_any_change_makes_the_entry_stale(files, env, monkeypatch, change):
    path, cache = files
    text = CONFIG.replace('remind = ["7d"]\n', "")  # the zone comes from TZ: see below
    path.write_text(text)
    load(path, cache, env)
    if change == "text":
        path.write_text(text.replace('name = "HK"', 'name = "HK2"'))
    elif change == "version":
        monkeypatch.setattr(configcache, "__version__", "99.0")
    elif change == "code":
        monkeypatch.setattr(configcache, "_CODE", (*configcache._CODE, "service/loop.py"))
    else:
        env = {**env, "TZ": "Asia/Tokyo"}  # no settings.timezone: the numbers' zone changes
    before = calls()
    again = load(path, cache, env)
    assert calls() > before, "the numbers were validated again"
    assert again == config_mod.load(path, env={**env, "TOKEN": TOKEN})
    if change == "settings from the environment":
        assert {n.timezone_name for n in again.numbers} == {"Asia/Tokyo"}


def forms(secret: str) -> list[bytes]:
    """``secret`` as any encoding or quoting could put it in a file."""
    out = []
    for codec in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        out.append(secret.encode(codec))
    raw = secret.encode()
    out += [base64.b64encode(raw), base64.b32encode(raw), raw.hex().encode()]
    out += [urllib.parse.quote(secret, safe="").encode(), repr(secret).encode()]
    out += [secret[i : i + 6].encode() for i in range(len(secret) - 5)]  # and no piece of it
    return out


def test_the_cache_never_holds_a_secret(files, env):
    path, cache = files
    load(path, cache, env)
    load(path, cache, env)  # a hit rewrites nothing, but check both ways
    (entry,) = cache.iterdir()
    data = entry.read_bytes()
    for secret in (PASSWORD, TOKEN):
        assert [f for f in forms(secret) if f in data] == []
    assert b"giffgaff" in data  # it is the right file: the numbers are in it


def test_a_corrupt_or_foreign_entry_is_ignored_and_replaced(files, env):
    path, cache = files
    good = load(path, cache, env)
    (entry,) = cache.iterdir()
    key = configcache.content_key(path.read_text())
    for bad in (b"", b"garbage", key.encode() + b"\x80\x05not a pickle", entry.read_bytes()[:-9]):
        entry.write_bytes(bad)
        assert load(path, cache, env) == good
        assert configcache.read(cache, path, key) is not None, "rewritten"
    entry.chmod(0o666)  # someone else could have written it: never unpickled
    assert configcache.read(cache, path, key) is None
    assert load(path, cache, env) == good
    if os.geteuid() == 0:
        entry.chmod(0o600)
        os.chown(entry, 12345, 12345)
        assert configcache.read(cache, path, key) is None


def test_a_header_inside_a_string_is_no_table(files, env):
    path, cache = files
    note = 'note = """a note with a line\n[settings]\nthat looks like a header"""\n'
    path.write_text(CONFIG.replace("due = 2027-03-01\n", "due = 2027-03-01\n" + note))
    first = load(path, cache, env)
    assert "[settings]" in first.numbers[1].note
    assert load(path, cache, env) == first == config_mod.load(path, env={**env, "TOKEN": TOKEN})


def test_an_unwritable_cache_folder_changes_nothing(files, env):
    path, cache = files
    cache.write_text("a file where the folder should be")
    assert load(path, cache, env) == config_mod.load(path, env={**env, "TOKEN": TOKEN})


def test_errors_and_warnings_are_those_of_a_full_load(files, env):
    path, cache = files
    load(path, cache, env)  # written while the secret was there
    with pytest.raises(ConfigError) as cached:
        config_mod.load(path, env=env, cache=cache)  # TOKEN now missing
    with pytest.raises(ConfigError) as full:
        config_mod.load(path, env=env)
    assert cached.value.lines() == full.value.lines()
    path.chmod(0o644)  # a password inline and the file readable by others: a warning
    assert len(load(path, cache, env).warnings) == 1
    assert (
        load(path, cache, env).warnings
        == config_mod.load(path, env={**env, "TOKEN": TOKEN}).warnings
    )


def test_warnings_still_print_on_a_cache_hit(tmp_path, env):
    path = write_config(tmp_path / "config.toml", CONFIG)
    path.chmod(0o644)
    env = {**env, "TOKEN": TOKEN}
    outputs = [sk(path, env, "upcoming", "--now", "2026-12-01") for _ in range(2)]
    assert list((Path(env["XDG_CACHE_HOME"]) / "simkeeper").iterdir())
    assert outputs[0].stdout == outputs[1].stdout
    assert outputs[0].stderr == outputs[1].stderr
    assert "readable by others" in outputs[1].stderr


def test_the_cache_folder_follows_systemd_and_xdg(tmp_path):
    assert configcache.folder({"CACHE_DIRECTORY": "/var/cache/sk:/x"}) == Path("/var/cache/sk")
    assert configcache.folder({"XDG_CACHE_HOME": "/c", "HOME": "/h"}) == Path("/c/simkeeper")
    if os.geteuid() != 0:
        assert configcache.folder({"HOME": "/h"}) == Path("/h/.cache/simkeeper")
        assert configcache.folder({}) is None
    else:
        assert configcache.folder({"HOME": "/h"}) == Path("/var/cache/simkeeper")


# -- the speed paths --------------------------------------------------------------------------


@given(st.dates(), st.integers(min_value=-130_000, max_value=130_000))
def test_add_months_is_relativedelta(day: date, n: int):
    try:
        expected: object = day + relativedelta(months=n)
    except ValueError as e:
        expected = str(e)
    try:
        got: object = add_months(day, n)
    except ValueError as e:
        got = str(e)
    assert got == expected


def reference_table(headers: list[str], rows: list[list[str]]) -> str:
    """The table as 0.2 drew it, cell by cell."""
    import unicodedata

    def width(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)

    widths = [max([width(h), *(width(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c + " " * (w - width(c)) for c, w in zip(cells, widths, strict=True)
        ).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)])


@given(
    st.lists(
        st.lists(
            st.sampled_from(["", "a", "abc ", "上海", "线路 7", "é", "x" * 12, " "]),
            min_size=3,
            max_size=3,
        ),
        max_size=6,
    )
)
def test_table_pads_as_before(rows: list[list[str]]):
    headers = ["NAME", "名字", "X"]
    assert table(headers, rows) == reference_table(headers, rows)


def test_one_shot_commands_run_without_the_cyclic_collector_and_restore_it(tmp_path, env):
    from test_output_identity import mixed_config

    path = tmp_path / "config.toml"
    path.write_text(mixed_config(3000))
    collections: list[str] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(phase)

    gc.callbacks.append(count)
    try:
        assert gc.isenabled()
        ok(path, env, "history")  # validates the numbers too, and keeps the collector
        during_history = len(collections)
        shutil.rmtree(Path(env["XDG_CACHE_HOME"]))  # so upcoming validates them again
        ok(path, env, "upcoming", "--now", "2026-12-01", "--days", "400")
        during_upcoming = len(collections) - during_history
        assert gc.isenabled(), "enabled again after each command"
    finally:
        gc.callbacks.remove(count)
    if not ALL_SUBPROCESS:  # in this process: the collections can be counted
        assert during_upcoming <= 2 < 10 <= during_history, (during_upcoming, during_history)


# -- after an edit: table by table ---------------------------------------------------------


def many(count: int, changed: int | None = None, due: str = "2026-12-15") -> str:
    """A config of ``count`` numbers; table ``changed`` (if any) with another due date."""
    head = '[settings]\ntimezone = "Europe/London"\n[[notify]]\nname = "c"\nurl = "console://"\n'
    tables = [
        f'[[numbers]]\nname = "n{i}"\nnumber = "+44 7911 {123000 + i}"\ncycle = "monthly"\n'
        f"due = {'2027-01-03' if i == changed else due}\n"
        for i in range(count)
    ]
    return head + "\n".join(tables)


def uncached(path: Path, env: dict[str, str]) -> config_mod.Config:
    return config_mod.load(path, env=env)


def test_an_edit_validates_again_only_the_tables_it_changed(tmp_path, env):
    path, cache = write_config(tmp_path / "c.toml", many(40)), tmp_path / "cache"
    config_mod.load(path, env=env, cache=cache)
    path.write_text(many(40, changed=7))
    before = calls()
    edited = config_mod.load(path, env=env, cache=cache)
    assert calls() - before == 1, "only the edited table was validated again"
    assert edited == uncached(path, env)
    assert edited.numbers[7].due == date(2027, 1, 3)
    before = calls()
    assert config_mod.load(path, env=env, cache=cache) == edited  # the new text is cached whole
    assert calls() == before


def test_tables_moved_removed_or_added_are_taken_as_a_full_load_takes_them(tmp_path, env):
    path, cache = write_config(tmp_path / "c.toml", many(10)), tmp_path / "cache"
    config_mod.load(path, env=env, cache=cache)
    tables = many(10).split("[[numbers]]")
    head, numbers = tables[0], tables[1:]
    moved = head + "[[numbers]]" + "[[numbers]]".join([numbers[9], *numbers[1:9]])  # 0 gone
    path.write_text(
        moved + '[[numbers]]\nname = "new"\nnumber = "+44 7911 123999"\n'
        'cycle = "monthly"\ndue = 2026-12-20\n'
    )
    before = calls()
    got = config_mod.load(path, env=env, cache=cache)
    assert calls() - before == 1, "only the new table was validated"
    assert got == uncached(path, env)
    assert [n.name for n in got.numbers] == ["n9", *(f"n{i}" for i in range(1, 9)), "new"]


def test_an_edit_that_breaks_the_config_reports_what_a_full_load_reports(tmp_path, env):
    path, cache = write_config(tmp_path / "c.toml", many(10)), tmp_path / "cache"
    config_mod.load(path, env=env, cache=cache)
    # Table 3 takes table 5's number (a duplicate between an edited and a kept table), and
    # table 8 gets a bad cycle.
    text = many(10).replace('number = "+44 7911 123003"', 'number = "+44 7911 123005"')
    path.write_text(
        text.replace(
            'name = "n8"\nnumber = "+44 7911 123008"\ncycle = "monthly"',
            'name = "n8"\nnumber = "+44 7911 123008"\ncycle = "30 days"',
        )
    )
    with pytest.raises(ConfigError) as cached_error:
        config_mod.load(path, env=env, cache=cache)
    with pytest.raises(ConfigError) as full_error:
        uncached(path, env)
    assert cached_error.value.lines() == full_error.value.lines()
    text = "\n".join(cached_error.value.lines())
    assert "numbers[6].number: +447911123005 is already listed as numbers[4]" in text, text
    assert "numbers[9].cycle" in text, text


def test_kept_tables_are_validated_again_when_what_they_read_besides_changed(tmp_path, env):
    """A number's validation reads the targets' names and tags and the defaults [settings]
    gives: a change there validates every table again."""
    path, cache = write_config(tmp_path / "c.toml", many(10)), tmp_path / "cache"
    config_mod.load(path, env=env, cache=cache)
    path.write_text(many(10).replace('timezone = "Europe/London"', 'timezone = "Asia/Tokyo"'))
    before = calls()
    got = config_mod.load(path, env=env, cache=cache)
    assert calls() - before == 10
    assert got == uncached(path, env) and got.numbers[0].timezone_name == "Asia/Tokyo"


def test_an_edit_parses_only_the_tables_it_changed(tmp_path, env, monkeypatch):
    """After an edit, each [[numbers]] table whose text is as it was is taken from the entry
    without parsing it: only the edited tables and the text around the tables are parsed."""
    path, cache = write_config(tmp_path / "c.toml", many(200)), tmp_path / "cache"
    config_mod.load(path, env=env, cache=cache)
    text = many(200, changed=57)
    path.write_text(text)
    parsed: list[int] = []
    loads = config_mod.tomllib.loads
    monkeypatch.setattr(config_mod.tomllib, "loads", lambda s: parsed.append(len(s)) or loads(s))
    edited = config_mod.load(path, env=env, cache=cache)
    assert sum(parsed) < len(text) // 10, parsed
    monkeypatch.undo()
    assert edited == uncached(path, env) and edited.numbers[57].due == date(2027, 1, 3)


def test_tables_inside_a_multi_line_string_are_no_tables_after_an_edit(tmp_path, env):
    """A text with a multi-line string could hold lines that look like tables: its tables are
    not told apart by their headers, the whole text is parsed."""
    fake = '[[numbers]]\nname = "fake"\nnumber = "+44 7911 999999"\ncycle = "monthly"\n'
    strings = f'[templates]\nrenew = """{{name}} is due\n{fake}due = 2026-12-15\n"""\n'
    text = many(20).replace("[[numbers]]", strings + "[[numbers]]", 1)
    path, cache = write_config(tmp_path / "c.toml", text), tmp_path / "cache"
    config_mod.load(path, env=env, cache=cache)
    path.write_text(text.replace("due = 2026-12-15\n\n", "due = 2027-01-03\n\n", 1))
    edited = config_mod.load(path, env=env, cache=cache)
    assert edited == uncached(path, env)
    assert "fake" not in [n.name for n in edited.numbers] and len(edited.numbers) == 20
    assert "fake" in edited.templates["renew"]


@pytest.mark.parametrize(
    "text",
    [
        many(30),
        "[settings]\n[[numbers]]\na=1\n[numbers.x]\nb=2\n[[numbers]]\n[templates]\nx='1'\n[[numbers]]\n",
        "[[ numbers ]]\n[ numbers.x ]\n[web]\n# [[numbers]]\n[[numbers]] # a comment\nname='x'\n",
    ],
)
def test_the_tables_told_apart_lie_where_the_spans_of_the_tables_lie(text):
    chunks = configcache.table_chunks(text)
    assert chunks is not None
    assert configcache.merged(chunks) == configcache.number_spans(text)
    assert all(text[a:b].lstrip().startswith("[[") for a, b in chunks)
    assert configcache.table_chunks(text + 'note = """\n"""\n') is None
    assert configcache.table_chunks("[numbers]\nx = 1\n") is None


_VARIANTS = (
    'cycle = "monthly"\ndue = 2026-12-15\n',
    'cycle = "yearly"\ndue = 2027-03-01\n# a comment inside the table\n',
    'rolling = true\ncycle = "every 180 days"\nlast_renewed = 2026-06-01\n',
    'cycle = "monthly"\ndue = 2026-12-20\n[[numbers.after_deadline]]\nafter = "0d"\n'
    'state = "grace"\n',
    'cycle = "30 days"\ndue = 2026-12-15\n',  # a problem: both loads must report it alike
)
_BETWEEN = ("", "\n# between tables\n", '\n[templates]\ntitle = "due: {name}"\n')


def _text(tables: list[tuple[int, int, int]]) -> str:
    head = '[settings]\ntimezone = "Europe/London"\n[[notify]]\nname = "c"\nurl = "console://"\n'
    parts = [head]
    for ident, variant, between in tables:
        parts.append(
            f'[[numbers]]\nname = "n{ident}"\nnumber = "+44 7911 {123000 + ident}"\n'
            + _VARIANTS[variant]
            + _BETWEEN[between]
        )
    return "".join(parts)


_VARIANT = st.sampled_from((0, 0, 1, 1, 2, 2, 3, 3, 4))  # the one with a problem now and then
_TABLE = st.tuples(st.integers(0, 30), _VARIANT, st.integers(0, 1))
_TABLES = st.lists(_TABLE, max_size=12, unique_by=lambda t: t[0])


@st.composite
def _edits(draw: st.DrawFn) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    """A text's tables before, and after an edit of some of them (most kept as they were)."""
    before = draw(_TABLES)
    after = []
    for kept in before:
        what = draw(st.sampled_from(("keep", "keep", "keep", "change", "drop", "add")))
        if what == "change":
            kept = (kept[0], draw(_VARIANT), kept[2])
        if what != "drop":
            after.append(kept)
        if what == "add":
            after.append(draw(_TABLE))
    if after and draw(st.booleans()):
        after.insert(draw(st.integers(0, len(after))), after.pop(0))  # one table moved
    if draw(st.integers(0, 9)) == 0:  # now and then another kind of table among them
        at = draw(st.integers(0, len(after)))
        after[at:at] = [(99, 0, 2)]
    return before, after


def _outcome(path: Path, env: dict[str, str], cache: Path | None) -> object:
    try:
        return config_mod.load(path, env=env, cache=cache)
    except ConfigError as e:
        return e.lines()


@given(edit=_edits())
def test_an_edited_file_loads_with_the_cache_as_without_it(edit):
    """Whatever the edit (tables changed, moved, added, removed, a sub-table, a table of
    another kind between them, a duplicate, a problem), a load through the entry of the text
    before gives what a load without any cache gives: the same config or the same errors."""
    import tempfile

    before, after = edit
    with tempfile.TemporaryDirectory() as folder:
        path, cache = Path(folder) / "c.toml", Path(folder) / "cache"
        env = {"HOME": folder}
        write_config(path, _text(before))
        _outcome(path, env, cache)  # writes the entry when the text is valid
        path.write_text(_text(after))
        assert _outcome(path, env, cache) == _outcome(path, env, None)
        assert _outcome(path, env, cache) == _outcome(path, env, None)  # and from its entry
