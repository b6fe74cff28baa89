"""Telling the owner, once, that the state disk is full: every pass logs it, but the targets
hear it once until there is room again (sending is paused meanwhile, so nothing goes out that
could not be recorded)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from simkeeper.core.errors import DiskFullError, format_bytes
from simkeeper.core.model import Config
from simkeeper.core.redact import Redactor
from simkeeper.service import worker
from simkeeper.texts.templates import Texts

log = logging.getLogger("simkeeper.service")


class DiskFullAlert:
    """Whether the targets have been told of the full disk."""

    def __init__(self) -> None:
        self.alerted = False

    def alert(
        self,
        error: DiskFullError,
        config: Config | None,
        redact: Redactor,
        wait_for: Callable[[worker.Worker], None],
    ) -> None:
        """Tell every target of ``config`` that the disk is full, unless they were told."""
        if self.alerted or not config:
            return
        self.alerted = True
        texts = Texts(config.settings.language, config.templates)
        message = texts.disk_full(error.path, format_bytes(error.free))
        jobs = [(t, message) for t in config.targets]
        timeout = config.settings.send_timeout
        for name, why in worker.send_apart(jobs, timeout, redact, wait_for):
            if why is not None:
                log.warning("could not tell %s the disk is full: %s", name, why)

    def clear(self) -> None:
        """A pass went through: there is room again."""
        if self.alerted:
            log.info("the state disk has room again; sending resumed")
            self.alerted = False
