"""Errors a user can act on: each carries where the problem is and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config file, pinned to a file, line and key path."""

    file: str
    path: str
    message: str
    line: int | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" {self.path}:" if self.path else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}:{key} {self.message}{hint}"


class SimkeeperError(Exception):
    """Base of every error the CLI turns into one line and an exit status."""

    exit_code = 2

    def lines(self) -> list[str]:
        """The lines to print for this error, one problem a line."""
        return [str(self)]


class ConfigError(SimkeeperError):
    """A config file that cannot be used; carries every problem found in it."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class UsageError(SimkeeperError):
    """A command given something it cannot act on (an unknown name, a future date...)."""

    def __init__(self, message: str, hint: str | None = None):
        self.hint = hint
        super().__init__(f"{message} ({hint})" if hint else message)


class StateError(SimkeeperError):
    """The state database cannot be opened or written."""


class DiskFullError(StateError):
    """The filesystem holding the state database is full: nothing more can be recorded.

    Its own exit status (3), so cron and scripts can tell it from a failed send (1) and from
    bad input (2). The database itself is fine: it must never be moved aside for this.
    """

    exit_code = 3

    def __init__(self, path: str, free: int):
        self.path = path
        self.free = free
        super().__init__(
            f"the disk holding {path} is full ({format_bytes(free)} free): free some space there;"
            " what was sent is recorded, and sending resumes once there is room"
        )


def format_bytes(n: int) -> str:
    """``98304`` as ``96 KiB``: free space as people read it."""
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} bytes"
