"""Logging set-up: one line per event on stderr, journald-friendly, with secrets scrubbed.

Under systemd (``JOURNAL_STREAM`` set) lines carry a syslog priority prefix instead of a
timestamp, so ``journalctl -p warning`` works and times are not printed twice. Elsewhere each
line starts with its time in ``settings.timezone`` with the offset, as every other time
simkeeper shows (``2026-12-07T09:40:12+08:00``); UTC (``+00:00``) until a config is loaded.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo

from simkeeper.core.redact import Redactor

LOGGER = "simkeeper"
_PRIORITY = {"DEBUG": 7, "INFO": 6, "WARNING": 4, "ERROR": 3, "CRITICAL": 2}


class RedactingFormatter(logging.Formatter):
    """Formats a record, then removes every known secret from the finished line."""

    def __init__(self, redact: Redactor, journald: bool):
        fmt = "%(levelname)s %(message)s" if journald else "%(asctime)s %(levelname)s %(message)s"
        super().__init__(fmt)
        self.redact = redact
        self.journald = journald
        self.zone: tzinfo = UTC

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """The record's time in the config's zone, to the second, with its offset."""
        return datetime.fromtimestamp(record.created, self.zone).isoformat(timespec="seconds")

    def format(self, record: logging.LogRecord) -> str:
        line = self.redact(super().format(record)).replace("\n", " | ")
        if self.journald:
            return f"<{_PRIORITY.get(record.levelname, 6)}>{line}"
        return line


def under_journald(env: Mapping[str, str] | None = None) -> bool:
    """Whether stderr is connected to the journal (systemd sets ``JOURNAL_STREAM``)."""
    env = os.environ if env is None else env
    stream = env.get("JOURNAL_STREAM", "")
    if not stream:
        return False
    try:
        dev, ino = (int(x) for x in stream.split(":"))
        st = os.fstat(sys.stderr.fileno())
        return (st.st_dev, st.st_ino) == (dev, ino)
    except (ValueError, OSError):
        return True


def setup(verbosity: int = 0) -> logging.Logger:
    """Configure the ``simkeeper`` logger: -1 quiet (warnings), 0 info, 1+ debug.

    Apprise's logger always stays at WARNING: its debug output contains secrets.
    """
    level = logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(Redactor(), under_journald()))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logger = logging.getLogger(LOGGER)
    logger.setLevel(level)
    logging.getLogger("apprise").setLevel(logging.WARNING)
    return logger


def set_zone(zone: tzinfo) -> None:
    """Stamp log lines in ``zone`` from now on (after a config (re)load)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, RedactingFormatter):
            handler.formatter.zone = zone


def set_redactor(redact: Redactor) -> None:
    """Teach the installed handlers about new secrets (after a config (re)load)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, RedactingFormatter):
            handler.formatter.redact = redact
