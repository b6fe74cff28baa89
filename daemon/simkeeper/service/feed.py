"""The daemon's calendar feed: rewritten only when something it shows changed, and a feed
that cannot be written said once (and again only when the reason changes), never stopping
reminders."""

from __future__ import annotations

import logging
from datetime import datetime

from simkeeper import app
from simkeeper.core.model import Config
from simkeeper.service.duework import DueWork
from simkeeper.state.store import Store

log = logging.getLogger("simkeeper.service")


class CalendarFeed:
    """What the feed was last written from, and why it could not be, if it could not."""

    def __init__(self) -> None:
        self.key: tuple[object, ...] | None = None  # what the feed shows (app.refresh_calendar)
        self.problem: str | None = None
        self.dates: tuple[object, ...] | None = None  # the dates it was refreshed for

    def refresh(self, config: Config, store: Store, work: DueWork, now: datetime) -> None:
        """Keep the feed of ``config`` current after a pass at ``now``."""
        path = config.settings.calendar
        if not path:
            return
        # The feed moves only with a change (config, ledger) or a new date somewhere.
        dates = work.calendar_dates(now)
        if not work.changed and dates == self.dates and not self.problem:
            return
        self.key, problem = app.refresh_calendar(config, store, now, self.key)
        work.changed = False
        self.dates = dates
        if problem:
            if problem != self.problem:
                log.error(
                    "calendar feed not updated: %s (reminders still go out; `simkeeper check` "
                    "says how to fix it)",
                    problem,
                )
            self.problem = problem
            return
        if self.problem:
            log.info("calendar feed written again: %s", path)
        self.problem = None
