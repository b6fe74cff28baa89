"""Turning results into text for people: aligned tables, colour only on a terminal."""

from __future__ import annotations

import os
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
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

    Each column's width is found column by column (:func:`column_width`), and each line is
    one ``str.format`` call (see :func:`stream_table`)."""
    table = [headers, *rows]
    shape = [column_width([row[i] for row in table]) for i in range(len(headers))]
    paint = [styles] if styles and use_colour() else None
    return [line for lines in stream_table(headers, shape, [rows], paint) for line in lines]


def column_width(cells: Sequence[str]) -> tuple[int, bool]:
    """The width of a column holding ``cells`` (its header among them) and whether it has wide
    characters (``len`` where it is all ASCII, one test for the column)."""
    if "".join(cells).isascii():  # one column of one-column characters
        return max(map(len, cells), default=0), False
    return max(map(_width, cells), default=0), True


def stream_table(
    headers: Sequence[str],
    shape: Sequence[tuple[int, bool]],
    chunks: Iterable[Sequence[Sequence[str]]],
    styles: Iterable[Sequence[Style | None]] | None = None,
) -> Iterator[list[str]]:
    """The lines of :func:`table`, a chunk of rows at a time (the header line first, alone),
    given each column's width and whether it has wide characters (:func:`column_width` of
    the column's cells, or of its distinct ones): a table of a million rows never holds
    them all. ``styles`` colour whole rows, a chunk of styles per chunk of rows."""
    widths = [width for width, _ in shape]
    wide = [i for i, (_, has) in enumerate(shape) if has]
    template = "  ".join("{}" if i in wide else f"{{:<{w}}}" for i, w in enumerate(widths))
    form = template.format
    yield [form(*(_pad_cells(headers, wide, widths) if wide else headers)).rstrip()]
    paints = iter(styles) if styles is not None else None
    for rows in chunks:
        if wide:
            rows = [_pad_cells(row, wide, widths) for row in rows]
        lines = [form(*row).rstrip() for row in rows]
        if paints is not None:
            for i, style in enumerate(next(paints)):
                if style:
                    lines[i] = click.style(lines[i], **style)
        yield lines


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
