"""Turning results into text for people: aligned tables, colour only on a terminal."""

from __future__ import annotations

import os
import sys
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
    """Left-aligned columns separated by two spaces; ``styles`` colours whole rows."""
    widths = [max([_width(h), *(_width(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    out = ["  ".join(_pad(h, w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    colour = use_colour()
    for i, row in enumerate(rows):
        line = "  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip()
        style = styles[i] if styles else None
        out.append(click.style(line, **style) if colour and style else line)
    return "\n".join(out)


def _width(text: str) -> int:
    # East Asian wide characters take two columns in a terminal.
    import unicodedata

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
