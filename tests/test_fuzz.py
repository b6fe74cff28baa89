"""No input crashes ``check`` or ``upcoming``: a property test over generated configs.

Hypothesis starts from a valid config and puts odd values at known and unknown keys: wrong
types, NaN and infinities, huge and negative numbers, dates from year 1 to 9999, deep nesting,
unicode. Each config is written as real TOML and run through the real commands in-process
(click's CliRunner, so hundreds of inputs take seconds): exit 0 or 2, never an internal error.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simkeeper.cli.main import cli
from simkeeper.config.numbers import NUMBER_KEYS
from simkeeper.config.validate import NOTIFY_KEYS, SETTINGS_KEYS, TOP_KEYS

EXAMPLES = 200  # tests/test_suite_bounds.py keeps every property test bounded
TRIED: list[int] = []


@dataclass(frozen=True)
class Deep:
    """An array nested ``depth`` deep, written directly (a Python list that deep would make
    this test's own serializer recurse too far)."""

    depth: int


BASE: dict[str, Any] = {
    "settings": {"timezone": "Asia/Tokyo", "remind": ["14d", "1d"], "overdue_for": "30d"},
    "notify": [{"name": "console", "url": "console://"}],
    "numbers": [
        {
            "name": "fixed",
            "number": "+44 7911 123456",
            "cycle": "monthly",
            "due": date(2026, 12, 15),
            "cost": 3.5,
            "currency": "USD",
            "balance": 20.0,
            "balance_date": date(2026, 11, 1),
        },
        {
            "name": "rolling",
            "number": "+1 206 555 0100",
            "cycle": "every 180 days",
            "rolling": True,
            "last_renewed": date(2026, 6, 1),
        },
    ],
}

scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([0, -1, 1, 10**18, -(10**18)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0]),
    st.text(max_size=20),
    st.sampled_from(
        [
            "",
            "99999999d",
            "-1d",
            "0d",
            "every 99999999 years",
            "every 0 days",
            "every 99999999 days",
            "monthly",
            "mon 25:00",
            "Pacific/Apia",
            "九龙",
            "+44 7911 123456",
            "${NOPE}",
            "console://",
            "json://127.0.0.1:1/x?token=a",
            "zh-CN",
        ]
    ),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    st.sampled_from([date(1, 1, 1), date(9999, 12, 31), date(9999, 12, 1), date(1969, 12, 31)]),
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.none()
    ),
    st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 1, 1)).map(
        lambda d: d.replace(tzinfo=timezone(timedelta(hours=5)))
    ),
    st.times(),
    st.integers(min_value=1, max_value=1500).map(Deep),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)
KEYS = {"top": TOP_KEYS, "settings": SETTINGS_KEYS, "numbers": NUMBER_KEYS, "notify": NOTIFY_KEYS}
special = st.sampled_from(
    [
        math.nan,
        math.inf,
        -math.inf,
        10**30,
        -5,
        date(9999, 12, 31),
        date(1, 1, 1),
        "99999999d",
        "every 99999999 years",
        "every 99999999 days",
        "700000d",
        True,
        time(9, 0),
        datetime(2026, 1, 1, 9, 0),
        1,
        [],
        {},
        Deep(1000),
    ]
)
mutation = st.sampled_from(sorted(KEYS)).flatmap(
    lambda where: st.tuples(
        st.just(where),
        st.integers(min_value=0, max_value=3),
        st.one_of(st.sampled_from(KEYS[where]), st.text(min_size=1, max_size=8)),
        st.one_of(special, values),
    )
)


def mutate(changes: list[tuple[str, int, str, Any]]) -> dict[str, Any]:
    """The base config with each change applied at its key."""
    doc = json.loads(json.dumps(BASE, default=str))  # a deep copy...
    doc["numbers"][0]["due"] = BASE["numbers"][0]["due"]  # ...with real dates again
    doc["numbers"][0]["balance_date"] = BASE["numbers"][0]["balance_date"]
    doc["numbers"][1]["last_renewed"] = BASE["numbers"][1]["last_renewed"]
    for where, index, key, shared in changes:
        value = copy.deepcopy(shared)  # sampled [] and {} are shared between examples
        if where == "top":
            doc[key] = value
            continue
        container = doc.get(where)
        if isinstance(container, dict):
            container[key] = value
        elif isinstance(container, list) and container and isinstance(container[0], dict):
            entry = container[index % len(container)]
            if isinstance(entry, dict):
                entry[key] = value
    return doc


def toml_key(key: str) -> str:
    return json.dumps(key, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    """A TOML inline value."""
    if isinstance(value, Deep):
        return "[" * value.depth + "]" * value.depth
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_key(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def to_toml(doc: dict[str, Any]) -> str:
    """The document as a config file: scalars first, then [tables] and [[arrays of tables]]."""
    head: list[str] = []
    tail: list[str] = []
    for key, value in doc.items():
        if isinstance(value, dict):
            tail.append(f"[{toml_key(key)}]")
            tail += [f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()]
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for entry in value:
                tail.append(f"[[{toml_key(key)}]]")
                tail += [f"{toml_key(k)} = {toml_value(v)}" for k, v in entry.items()]
        else:
            head.append(f"{toml_key(key)} = {toml_value(value)}")
    return "\n".join(head + tail) + "\n"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# Bounded by its inputs (EXAMPLES configs, two commands each); the timeout only catches a hang,
# far above what the work takes on a loaded machine.
@pytest.mark.timeout(900)
@pytest.mark.usefixtures("coverage_paused")
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(changes=st.lists(mutation, min_size=1, max_size=4))
def test_no_config_crashes_check_or_upcoming(workdir: Path, changes: list) -> None:
    TRIED.append(1)
    path = workdir / "config.toml"
    path.write_text(to_toml(mutate(changes)), encoding="utf-8")
    path.chmod(0o600)
    runner = CliRunner()
    env = {"STATE_DIRECTORY": str(workdir / "state"), "TZ": "UTC", "NO_COLOR": "1"}
    for args in (["check"], ["upcoming", "--days", "400", "--now", "2026-11-25T10:00"]):
        result = runner.invoke(cli, ["--config", str(path), *args], env=env)
        said = result.output + (result.stderr if result.stderr_bytes is not None else "")
        assert result.exit_code in (0, 2), (args, path.read_text(), said, result.exception)
        assert "internal error" not in said, (args, path.read_text(), said)
        assert "Traceback" not in said


def test_fuzz_report() -> None:
    """Says how many inputs the property test tried (run after it, in file order)."""
    print(f"property test: {len(TRIED)} configs tried, 0 failed")
