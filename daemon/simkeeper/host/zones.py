"""The time zones this machine knows, and its own."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


@functools.cache
def zone_names() -> frozenset[str]:
    """The IANA zone names this machine knows (read from disk once: it walks the tz folder)."""
    return frozenset(available_timezones())


def system_timezone(env: Mapping[str, str] | None = None) -> tuple[Any, str]:
    """The machine's local IANA zone as ``(tzinfo, name)``; UTC when it cannot be told."""
    env = os.environ if env is None else env
    name = env.get("TZ", "").lstrip(":")
    candidates = [name] if name else []
    try:
        link = os.readlink("/etc/localtime")
        candidates.append(link.split("zoneinfo/", 1)[-1])
    except OSError:
        pass
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text().strip())
    for candidate in candidates:
        try:
            return ZoneInfo(candidate), candidate
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC"), "UTC"
