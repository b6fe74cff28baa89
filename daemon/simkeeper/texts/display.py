"""Turning results into text for people: aligned tables, colour only on a terminal."""

from __future__ import annotations

import os
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any, TextIO

import click

Style = dict[str, Any]  # keyword arguments of click.style


def use_colour(stream: TextIO | None = None) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set."""
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    styles: Sequence[Style | None] | None = None,
) -> str:
    """Left-aligned columns separated by two spaces; ``styles`` colours whole rows (only on a
    terminal: elsewhere they may be left out, see :func:`use_colour`)."""
    return "\n".join(table_lines(headers, rows, styles))


def table_lines(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    styles: Sequence[Style | None] | None = None,
) -> list[str]:
    """:func:`table` as a list of lines, for writing 100,000 rows a slice at a time.

    Each column's width is found column by column (``len`` where the column is all ASCII),
    and each line is one ``str.format`` call; cells of a column with wide characters are
    padded one by one first."""
    table = [headers, *rows]
    widths, wide = [], []
    for i in range(len(headers)):
        column = [row[i] for row in table]
        if "".join(column).isascii():  # one column of one-column characters
            widths.append(max(map(len, column)))
        else:
            widths.append(max(map(_width, column)))
            wide.append(i)
    if wide:
        table = [_pad_cells(row, wide, widths) for row in table]
    template = "  ".join("{}" if i in wide else f"{{:<{w}}}" for i, w in enumerate(widths))
    lines = [template.format(*row).rstrip() for row in table]
    if styles and use_colour():
        for i, style in enumerate(styles, start=1):
            if style:
                lines[i] = click.style(lines[i], **style)
    return lines


def _pad_cells(row: Sequence[str], wide: list[int], widths: list[int]) -> list[str]:
    cells = list(row)
    for i in wide:
        cells[i] = _pad(cells[i], widths[i])
    return cells


def _width(text: str) -> int:
    # East Asian wide characters take two columns in a terminal.
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def urgency_style(days_left: int) -> Style | None:
    """Red and bold when overdue or within 3 days, yellow within 14, else plain."""
    if days_left <= 3:
        return {"fg": "red", "bold": True}
    if days_left <= 14:
        return {"fg": "yellow"}
    return None
