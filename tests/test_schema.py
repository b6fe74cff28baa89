"""The config schema is the one source of truth: the validator, the model's defaults, the
README's configuration tables and ``config.example.toml`` all come from it."""

from __future__ import annotations

import dataclasses
from datetime import time
from pathlib import Path
from typing import get_args

import pytest
from click.testing import CliRunner
from conftest import run, write_config

from simkeeper.cli import main as cli_mod
from simkeeper.config import docs as configdocs
from simkeeper.config import load as config_mod
from simkeeper.config.numbers import NUMBER_KEYS
from simkeeper.config.readers import SchemaWalk
from simkeeper.config.validate import NOTIFY_KEYS, SETTINGS_KEYS, TOP_KEYS
from simkeeper.core import keys, schema
from simkeeper.core.errors import ConfigError
from simkeeper.core.model import Number, Settings, Target
from simkeeper.texts import templates as templates_mod

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
EXAMPLE = REPO / "config.example.toml"


def invoke(*args: str) -> str:
    """``simkeeper ARGS`` in-process; its output (it must succeed)."""
    result = CliRunner().invoke(cli_mod.cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


# -- the generated files are current -------------------------------------------------------------


def test_the_readme_tables_are_generated_from_the_schema():
    text = README.read_text(encoding="utf-8")
    assert configdocs.fill_readme(text) == text, (
        "README's config tables are stale: make config-docs"
    )


def test_the_example_config_is_generated_from_the_schema():
    assert EXAMPLE.read_text(encoding="utf-8") == configdocs.example_config(), (
        "config.example.toml is stale: make config-docs"
    )


def test_config_example_prints_the_committed_file():
    assert invoke("config", "example") == EXAMPLE.read_text(encoding="utf-8")


def test_config_docs_prints_every_block():
    out = invoke("config", "docs")
    for table in schema.TABLES:
        assert configdocs.marker(table) in out and configdocs.marker(table, end=True) in out
        for key in table.keys:
            assert f"| `{key.name}` |" in out, (table.name, key.name)


def test_the_generated_example_passes_check(tmp_path: Path, env):
    path = tmp_path / "config.toml"
    path.write_text(invoke("config", "example"), encoding="utf-8")
    result = run(["--config", str(path), "check"], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{path}: OK, 4 number(s), 1 notify target(s)\n"


def test_every_settings_key_is_in_the_example():
    text = configdocs.example_config()
    for key in schema.SETTINGS.keys:
        assert f"\n{key.name} = " in text or f"\n# {key.name} = " in text, key.name
    assert "# calendar_days = 365" in text and "# send_timeout = 10" in text


def test_the_example_settings_lines_parse_with_their_values(tmp_path: Path):
    """Each commented-out [settings] line, switched on, is a valid value for its key."""
    lines = [
        configdocs.example_line(dataclasses.replace(k, active=True, note=""))
        for k in schema.SETTINGS.keys
    ]
    text = "[settings]\n" + "\n".join(line for line in lines if "heartbeat" not in line)
    text += '\nheartbeat = "https://hc-ping.com/x"\nheartbeat_fail = "/fail"\n'
    path = write_config(tmp_path / "c.toml", text)
    config = config_mod.load(path, env={"STATE_DIRECTORY": str(tmp_path)})
    assert config.settings.digest == (0, time(9, 0))
    assert config.settings.calendar_days == 365 and config.settings.send_timeout == 10.0


def test_docs_rewrites_a_stale_readme_and_refuses_one_without_markers(tmp_path: Path):
    stale = tmp_path / "README.md"
    text = README.read_text(encoding="utf-8")
    stale.write_text(text.replace("| `calendar_days` |", "| `calendar_dayz` |"), encoding="utf-8")
    invoke("config", "docs", "--readme", str(stale))
    assert stale.read_text(encoding="utf-8") == text
    bare = tmp_path / "bare.md"
    bare.write_text("# nothing here\n", encoding="utf-8")
    result = CliRunner().invoke(cli_mod.cli, ["config", "docs", "--readme", str(bare)])
    assert result.exit_code == 2
    assert "bare.md: <!-- schema:settings -->" in result.output, result.output


# -- the schema drives the validator and the model -------------------------------------------------


def test_the_validator_knows_exactly_the_schema_keys():
    assert schema.SETTINGS.names == SETTINGS_KEYS
    assert schema.NUMBERS.names == NUMBER_KEYS
    assert schema.NOTIFY.names == NOTIFY_KEYS
    assert TOP_KEYS == ["settings", "numbers", "notify", "gateways", "templates", "web"]
    assert schema.TEMPLATES.names == list(templates_mod.TEMPLATE_KEYS)


def test_every_key_has_a_reader_a_doc_and_an_example():
    readers = set(SchemaWalk.READERS)
    assert readers == set(get_args(keys.KeyKind)), "one READERS entry per schema kind"
    for table in schema.TABLES:
        assert len(set(table.names)) == len(table.names), table.name
        for key in table.keys:
            assert key.kind in readers | {"custom", "template"}, (table.name, key.name)
            assert key.doc.strip() and "\n" not in key.doc, (table.name, key.name)
            if table is not schema.TEMPLATES:
                assert key.example, (table.name, key.name)
            if key.kind in ("int", "number", "days", "date", "amount", "limited_amount"):
                assert key.low is not None and key.high is not None, (table.name, key.name)


@pytest.mark.parametrize(
    "model,table",
    [(Settings, schema.SETTINGS), (Number, schema.NUMBERS), (Target, schema.NOTIFY)],
    ids=["settings", "numbers", "notify"],
)
def test_the_model_defaults_are_the_schema_defaults(model, table):
    fields = {f.name: f for f in dataclasses.fields(model)}
    for key in table.keys:
        field = fields.get(key.name)
        if field is None or field.default is dataclasses.MISSING:
            continue
        assert field.default == key.default, (table.name, key.name)


def test_an_empty_settings_table_gives_the_schema_defaults(tmp_path: Path):
    path = write_config(tmp_path / "c.toml", "[settings]\n")
    settings = config_mod.load(path, env={}).settings
    for key in schema.SETTINGS.keys:
        if key.default is not None:
            assert getattr(settings, key.name) == key.default, key.name


@pytest.mark.parametrize(
    "table,key,value,message",
    [
        ("settings", "calendar_days", "3661", "must be between 1 and 3660 days"),
        ("settings", "send_timeout", "0.5", "must be between 1 and 300 seconds"),
        ("settings", "overdue_every", '"0d"', '"0d" is out of range (use 1d to 1096d'),
        ("settings", "remind", '["1097d"]', '"1097d" is too far ahead (use 0d to 1096d'),
    ],
)
def test_ranges_come_from_the_schema(tmp_path: Path, table, key, value, message):
    path = write_config(tmp_path / "c.toml", f"[{table}]\n{key} = {value}\n")
    with pytest.raises(ConfigError) as e:
        config_mod.load(path, env={})
    assert any(message in line for line in e.value.lines()), e.value.lines()
    bounds = schema.SETTINGS.key(key)
    assert str(bounds.high) in message


# -- the schema walk skips absent keys of the kinds that only take their default ---------------


@pytest.mark.parametrize("table", schema.TABLES, ids=[t.name for t in schema.TABLES])
def test_an_absent_key_of_a_skipped_kind_gives_its_default_and_no_problem(tmp_path: Path, table):
    """The walk does not call the reader of an absent key whose kind is in ABSENT_IS_DEFAULT:
    every such reader, called anyway on an empty table, reports nothing and gives None (the walk
    then takes the default) or the very default it was handed."""
    from simkeeper.config.readers import ABSENT_IS_DEFAULT

    walk = SchemaWalk(tmp_path / "c.toml", "", {}, None)
    sentinel = object()
    for key in table.keys:
        if key.kind not in ABSENT_IS_DEFAULT:
            continue
        reader = SchemaWalk.READERS[key.kind]
        assert reader is not None
        for default in (sentinel, key.default):
            value = reader(walk, {}, key, table.name, default)
            assert value is None or value is default, (table.name, key.name, value)
        assert walk.problems == [], (table.name, key.name)


def test_the_walk_of_a_table_gives_what_every_reader_gives(tmp_path: Path):
    """The walk with its skips gives, key by key, what calling every reader gives."""
    walk = SchemaWalk(tmp_path / "c.toml", "", {}, None)
    entry = {"name": "a", "number": "+44 7911 123456", "cycle": "monthly", "note": "x"}
    got = walk.walk(entry, schema.NUMBERS, "numbers[1]", {"remind": (3,)})
    for key in schema.NUMBERS.keys:
        reader = SchemaWalk.READERS[key.kind]
        if reader is None:
            continue
        default = {"remind": (3,)}.get(key.name, key.default)
        value = reader(walk, entry, key, "numbers[1]", default)
        assert got[key.name] == (default if value is None else value), key.name
