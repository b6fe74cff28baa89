"""Finds the line of each key in a TOML text, so config errors can name it.

``tomllib`` keeps no positions, so this walks the text once: table headers (``[settings]``,
``[[numbers]]``) and ``key =`` lines, skipping multi-line strings and arrays. It covers the
shapes a simkeeper config uses; a key it cannot place just gets no line number.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*(\"[^\"]*\"|'[^']*'|[A-Za-z0-9_\-]+)\s*=")
_STRINGS = re.compile(r"\"(?:\\.|[^\"\\])*\"|'[^']*'")


def key_lines(text: str) -> dict[str, int]:
    """Map key paths such as ``numbers[2].cycle`` or ``settings`` to 1-based line numbers.

    Array-of-tables entries are counted from 1, as ``numbers[1]`` for the first ``[[numbers]]``.
    """
    lines: dict[str, int] = {}
    counts: dict[str, int] = {}
    table = ""
    depth = 0
    in_multiline: str | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if in_multiline in raw:
                in_multiline = None
            continue
        line = raw
        for quote in ('"""', "'''"):
            if line.count(quote) == 1:
                in_multiline = quote
                line = line.split(quote)[0]
        bare = _STRINGS.sub('""', line).split("#")[0]
        if depth == 0:
            header = _HEADER.match(line)
            if header and "=" not in bare:
                name = header.group(2).replace('"', "").strip()
                if header.group(1) == "[[":
                    counts[name] = counts.get(name, 0) + 1
                    table = f"{name}[{counts[name]}]"
                else:
                    table = name
                lines.setdefault(table, lineno)
            else:
                key = _KEY.match(line)
                if key:
                    path = key.group(1).strip("\"'")
                    lines.setdefault(f"{table}.{path}" if table else path, lineno)
        depth = max(
            0, depth + bare.count("[") - bare.count("]") if depth or _KEY.match(line) else 0
        )
    return lines
