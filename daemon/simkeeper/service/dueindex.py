"""The daemon's index of when each number next needs looking at, earliest first.

Pure bookkeeping over :class:`~simkeeper.engine.reminders.Outlook` values: two heaps keyed by
instant
with lazy invalidation (an entry is live while it matches what the number holds now), one for
when each number must be worked out again (``wake``) and one for its next reminder (``ahead``,
for the daemon's sleep and its status line). No clock, no I/O.
"""

from __future__ import annotations

import heapq
from datetime import datetime

from simkeeper.engine.reminders import Outlook, Reminder


class DueIndex:
    """Each number's next wake instant and next reminder, by the number's E.164 key."""

    def __init__(self) -> None:
        self._wake: list[tuple[datetime, str]] = []
        self._ahead: list[tuple[datetime, int, str]] = []
        self._wake_at: dict[str, datetime] = {}
        self._next: dict[str, Reminder] = {}  # the reminder each live ``_ahead`` entry names

    def __len__(self) -> int:
        return len(self._wake_at)

    def put(self, key: str, position: int, found: Outlook) -> None:
        """Remember ``found`` for the number ``key`` (its place in the config is ``position``:
        of two reminders at one instant, the earlier number's is the next one)."""
        if found.wake is None:
            self._wake_at.pop(key, None)
        elif self._wake_at.get(key) != found.wake:  # an entry equal to the live one is not pushed
            self._wake_at[key] = found.wake
            heapq.heappush(self._wake, (found.wake, key))
        held = self._next.get(key)
        if found.ahead is None:
            self._next.pop(key, None)
            return
        self._next[key] = found.ahead
        if held is None or held.due_at != found.ahead.due_at:
            heapq.heappush(self._ahead, (found.ahead.due_at, position, key))

    def reorder(self, positions: dict[str, int]) -> None:
        """The numbers' places in a reloaded config (only numbers still held are kept)."""
        self._next = {k: r for k, r in self._next.items() if k in positions}
        self._ahead = [(r.due_at, positions[k], k) for k, r in self._next.items()]
        heapq.heapify(self._ahead)

    def wake_at(self, key: str, at: datetime) -> None:
        """Look at ``key`` again at ``at`` at the latest (its next reminder stays as it is)."""
        if key in self._wake_at and self._wake_at[key] <= at:
            return
        self._wake_at[key] = at
        heapq.heappush(self._wake, (at, key))

    def drop(self, key: str) -> None:
        """Forget the number ``key`` (its heap entries die lazily)."""
        self._wake_at.pop(key, None)
        self._next.pop(key, None)

    def pop_due(self, now: datetime) -> list[str]:
        """The numbers whose wake instant is at or before ``now``, taken out of the index."""
        found = []
        while self._wake and self._wake[0][0] <= now:
            at, key = heapq.heappop(self._wake)
            if self._wake_at.get(key) == at:
                del self._wake_at[key]
                found.append(key)
        return found

    def next_wake(self) -> datetime | None:
        """The earliest wake instant held (None when none)."""
        while self._wake and self._wake_at.get(self._wake[0][1]) != self._wake[0][0]:
            heapq.heappop(self._wake)
        return self._wake[0][0] if self._wake else None

    def next_reminder(self) -> Reminder | None:
        """The earliest next reminder of any number (the first number's on a tie)."""
        while self._ahead:
            at, _, key = self._ahead[0]
            held = self._next.get(key)
            if held and held.due_at == at:
                return held
            heapq.heappop(self._ahead)
        return None
