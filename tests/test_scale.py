"""What keeps a million numbers fast and small gives the same output as before (issue 23).

The ``upcoming`` table is written in one streaming pass, a chunk of rows at a time
(``present.views.deadline_table``): its lines are those the whole table gave
(``texts.display.table_lines`` over every row), for any chunk size, with or without the
``STAGE / LOST`` column, wide characters and colour.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
from conftest import write_config
from test_output_identity import mixed_config

from simkeeper.config import load as config_mod
from simkeeper.core.model import EMPTY_LEDGER
from simkeeper.engine.deadlines import Deadline
from simkeeper.engine.upcoming import upcoming
from simkeeper.present import views
from simkeeper.texts import display
from simkeeper.texts.i18n import translator

HEADERS = ["DEADLINE", "LEFT", "NAME", "NUMBER", "CARRIER", "CYCLE", "ACTION"]


def found_in(tmp_path: Path, count: int = 60) -> list[Deadline]:
    config = config_mod.load(write_config(tmp_path / "c.toml", mixed_config(count)), env={})
    return upcoming(config.numbers, datetime(2026, 11, 23, 8, tzinfo=UTC), 400, EMPTY_LEDGER, [])


def whole_table(found: list[Deadline], colour: bool) -> list[str]:
    """The table as 0.5.0 built it: every row first, then the lines."""
    t = translator("en")
    rows = []
    for d in found:
        n = d.number
        missed = views.missed_text(d, t) if n.after_deadline else ""
        action = views.action_text(d, t)
        left = views.days_text(d.days_left, t)
        rows.append(
            [d.date.isoformat(), left, n.name, n.number, n.carrier, n.cycle_text, action, missed]
        )
    headers = list(HEADERS)
    if any(row[-1] for row in rows):
        headers.append("STAGE / LOST")
    else:
        for row in rows:
            row.pop()
    lines = display.table_lines(headers, rows)
    if colour:
        for i, d in enumerate(found, start=1):
            style = display.urgency_style(d.days_left)
            lines[i] = click.style(lines[i], **style) if style else lines[i]
    return lines


def streamed(found: list[Deadline], colour: bool, chunk: int) -> list[str]:
    t = translator("en")
    parts = views.deadline_table(found, t, HEADERS, "STAGE / LOST", colour, chunk)
    return [line for lines in parts for line in lines]


@pytest.mark.parametrize("chunk", [1, 7, 4096])
@pytest.mark.parametrize("colour", [False, True])
def test_the_streamed_table_is_the_whole_table(tmp_path: Path, chunk: int, colour: bool):
    found = found_in(tmp_path)
    assert any(d.number.after_deadline for d in found)  # the STAGE / LOST column is there
    assert any(not d.number.name.isascii() for d in found)  # and a column of wide characters
    assert streamed(found, colour, chunk) == whole_table(found, colour)


def test_without_stages_the_column_is_left_out(tmp_path: Path):
    found = [d for d in found_in(tmp_path) if not d.number.after_deadline]
    lines = streamed(found, False, 5)
    assert "STAGE" not in lines[0]
    assert lines == whole_table(found, False)


def test_no_deadline_gives_the_header_alone():
    assert streamed([], False, 10) == [display.table_lines(HEADERS, [])[0]]
