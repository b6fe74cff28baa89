"""The config cache's numbers as columns (FORMAT 3): the layout is pinned by a golden file, a
number comes back exactly as it was validated (every field, every digit of every amount), the
values numbers share come back as one object, and an entry of another format is a miss.

``tests/golden/cache-columns.txt`` is the layout of a small mixed config's numbers: each column
(a ``Number`` field), its array type, its distinct values and each number's index. A change to
the layout fails here; when it is meant, bump ``config.cache.FORMAT`` if an older entry could be
misread, then rewrite the file with ``python tests/test_cache_format.py``. (A field added to
``Number`` is a new column: the code key changes with core/model.py, so no FORMAT bump.)
"""

from __future__ import annotations

import sys
from array import array
from dataclasses import fields, replace
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import write_config
from test_output_identity import mixed_config

from simkeeper.config import cache as configcache
from simkeeper.config import load as config_mod
from simkeeper.core import numbertable as columns
from simkeeper.core.model import Number

GOLDEN = Path(__file__).parent / "golden" / "cache-columns.txt"
COUNT = 24


def layout(numbers: tuple[Number, ...]) -> str:
    """The columns of ``numbers`` as text: the golden file's content."""
    lines = [f"FORMAT {configcache.FORMAT}", f"numbers {len(numbers)}"]
    for name, values, code, blob in columns.encode(numbers):
        indexes = array(code)
        indexes.frombytes(blob)
        lines.append(f"{name} {code} {len(values)} distinct: {[repr(v) for v in values]}")
        lines.append(f"  {list(indexes)}")
    return "\n".join(lines) + "\n"


def small_numbers(tmp_path: Path) -> tuple[Number, ...]:
    path = write_config(tmp_path / "config.toml", mixed_config(COUNT))
    return config_mod.load(path, env={"HOME": str(tmp_path)}).numbers


def test_the_layout_is_the_golden_one(tmp_path: Path):
    got = layout(small_numbers(tmp_path))
    assert got == GOLDEN.read_text(encoding="utf-8"), (
        "the config cache's layout changed: if an older entry could be misread, bump"
        " config.cache.FORMAT; then run python tests/test_cache_format.py to rewrite the file"
    )


def test_the_golden_file_names_this_format():
    assert GOLDEN.read_text(encoding="utf-8").splitlines()[0] == f"FORMAT {configcache.FORMAT}"


def test_the_columns_are_the_model_fields():
    assert tuple(f.name for f in fields(Number)) == columns.FIELDS


def entry(numbers: tuple[Number, ...]) -> configcache.Entry:
    digests = b"".join(i.to_bytes(16, "big") for i in range(len(numbers)))
    return configcache.Entry("k" * 64, "context", ((0, 1),), numbers, "code", digests)


def test_numbers_come_back_exactly_and_share_what_they_share(tmp_path: Path):
    numbers = small_numbers(tmp_path)
    # Amounts equal as numbers but shown differently stay apart.
    numbers = (
        replace(numbers[0], cost=Decimal("3.0"), currency="GBP"),
        replace(numbers[1], cost=Decimal("3.00"), currency="GBP"),
        *numbers[2:],
    )
    configcache.write(tmp_path / "cache", tmp_path / "config.toml", entry(numbers))
    back = configcache.read(tmp_path / "cache", tmp_path / "config.toml", "k" * 64)
    assert back is not None
    assert back.numbers == numbers
    assert back.digests == entry(numbers).digests
    for mine, theirs in zip(back.numbers, numbers, strict=True):
        for f in fields(Number):
            assert repr(getattr(mine, f.name)) == repr(getattr(theirs, f.name)), f.name
    assert str(back.numbers[0].cost) == "3.0" and str(back.numbers[1].cost) == "3.00"
    assert not any(hasattr(n, "__dict__") for n in back.numbers)
    # One object per distinct value: the numbers of one plan share their cycle.
    cycles = {n.cycle for n in back.numbers if n.cycle is not None}
    assert len({id(n.cycle) for n in back.numbers if n.cycle is not None}) == len(cycles)


def test_an_entry_of_another_format_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    numbers = small_numbers(tmp_path)
    monkeypatch.setattr(configcache, "FORMAT", 2)
    configcache.write(tmp_path / "cache", tmp_path / "config.toml", entry(numbers))
    monkeypatch.undo()
    assert configcache.read(tmp_path / "cache", tmp_path / "config.toml", "k" * 64) is None


def test_an_entry_whose_columns_do_not_fit_is_a_miss(tmp_path: Path):
    numbers = small_numbers(tmp_path)
    path = configcache.entry_path(tmp_path / "cache", tmp_path / "config.toml")
    configcache.write(tmp_path / "cache", tmp_path / "config.toml", entry(numbers))
    data = path.read_bytes()
    # The name column's indexes cut short: the entry no longer fits its count.
    path.write_bytes(data[: len(data) // 2])
    assert configcache.read(tmp_path / "cache", tmp_path / "config.toml", "k" * 64) is None


def test_an_old_pickle_entry_is_rebuilt(tmp_path: Path):
    """A FORMAT 2 entry (numbers pickled as objects) left by 0.5.0 is ignored and replaced."""
    import pickle

    path = write_config(tmp_path / "config.toml", mixed_config(3))
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    text = path.read_text(encoding="utf-8")
    key = configcache.content_key(text)
    old = configcache.entry_path(cache, path)
    with old.open("wb") as f:
        f.write(key.encode())
        pickle.dump(("c", (), 1, "code", ()), f)
        pickle.dump([], f)
    loaded = config_mod.load(path, env={"HOME": str(tmp_path)}, cache=cache)
    assert len(loaded.numbers) == 3
    assert configcache.read(cache, path, key) is not None  # rewritten in FORMAT 3


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        GOLDEN.write_text(layout(small_numbers(Path(folder))), encoding="utf-8")
    sys.exit(0)


def test_numbers_are_read_from_the_file_the_header_came_from(tmp_path: Path):
    """A load lets the config's text go between the header and the numbers: an entry written
    meanwhile (another process's) is never mixed with the header read before it."""
    numbers = small_numbers(tmp_path)
    cache, config = tmp_path / "cache", tmp_path / "config.toml"
    configcache.write(cache, config, entry(numbers))
    head = configcache.read_head(cache, config, "k" * 64)
    assert head is not None and head.count == len(numbers)
    configcache.write(cache, config, entry(numbers[:3]))
    assert configcache.read_numbers(head) is None
    again = configcache.read_head(cache, config, "k" * 64)
    assert again is not None and configcache.read_numbers(again) is not None
