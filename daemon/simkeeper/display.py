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
    columns = [_padded([h, *(r[i] for r in rows)]) for i, h in enumerate(headers)]
    lines = [line.rstrip() for line in map("  ".join, zip(*columns, strict=True))]
    if styles and use_colour():
        for i, style in enumerate(styles, start=1):
            if style:
                lines[i] = click.style(lines[i], **style)
    return "\n".join(lines)


def _padded(column: list[str]) -> list[str]:
    """A column's cells padded to its width, computed column-wise (100,000 rows are common)."""
    if "".join(column).isascii():  # one column of one-column characters: str.ljust is exact
        width = max(map(len, column))
        return [cell.ljust(width) for cell in column]
    width = max(map(_width, column))
    return [_pad(cell, width) for cell in column]


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
