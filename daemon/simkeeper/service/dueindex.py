"""The daemon's index of when each number next needs looking at, earliest first.

Pure bookkeeping over :class:`~simkeeper.engine.reminders.Outlook` values, by each number's
place in the config: when each number must be worked out again (``wake``) and its next
reminder (``ahead``, for the daemon's sleep and its status line). No clock, no I/O.

It is held for every number the daemon watches, so it is kept in arrays (about 40 bytes a
number, where tuples, datetimes and a dict by E.164 key were 280): an instant per place in
microseconds, and the places grouped by instant, earliest first, with lazy invalidation (a
place in a group is live while its instant is still the group's).
"""

from __future__ import annotations

import heapq
from array import array
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from simkeeper.core.kinds import ReminderKind
from simkeeper.core.model import Number
from simkeeper.engine.reminders import Outlook, Reminder

NEVER = (1 << 63) - 1  # no instant
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_KINDS: tuple[ReminderKind, ...] = ("renew", "overdue", "topup")


def _us(at: datetime) -> int:
    return (at - _EPOCH) // _US


def _instant(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


class _Schedule:
    """An instant per place (:data:`NEVER`: none) and the places by instant, earliest first."""

    def __init__(self) -> None:
        self.at = array("q")
        self._groups: dict[int, array[int]] = {}
        self._heap: list[int] = []  # the groups' instants
        self._held = 0  # places in the groups, live or not

    def grow(self, size: int) -> None:
        if size > len(self.at):
            self.at.extend(array("q", [NEVER]) * (size - len(self.at)))

    def set(self, place: int, us: int) -> None:
        if self.at[place] == us:
            return
        self.at[place] = us
        if us == NEVER:
            return
        group = self._groups.get(us)
        if group is None:
            self._groups[us] = array("I", (place,))
            heapq.heappush(self._heap, us)
        else:
            group.append(place)
        self._held += 1
        if self._held > 2 * len(self.at) + 4096:  # mostly dead entries: regroup the live ones
            self.regroup()

    def regroup(self) -> None:
        """The groups built afresh from the instants (after a reload moved the places)."""
        groups: dict[int, array[int]] = {}
        for place, us in enumerate(self.at):
            if us != NEVER:
                group = groups.get(us)
                if group is None:
                    groups[us] = array("I", (place,))
                else:
                    group.append(place)
        self._groups = groups
        self._heap = list(groups)
        heapq.heapify(self._heap)
        self._held = len(self.at) - self.at.count(NEVER)

    def earliest(self) -> tuple[int, array[int]] | None:
        """The earliest instant any place holds, and its group (some places in it may have
        moved on since)."""
        at = self.at
        while self._heap:
            us = self._heap[0]
            group = self._groups[us]
            if group and at[group[0]] == us:
                return us, group
            live = array("I", (p for p in group if at[p] == us))
            self._held -= len(group) - len(live)
            if live:
                self._groups[us] = live
                return us, live
            heapq.heappop(self._heap)
            del self._groups[us]
        return None

    def pop_until(self, us: int) -> list[int]:
        """The places whose instant is at or before ``us``, set to :data:`NEVER`."""
        found: list[int] = []
        at = self.at
        while self._heap and self._heap[0] <= us:
            when = heapq.heappop(self._heap)
            group = self._groups.pop(when)
            self._held -= len(group)
            for place in group:
                if at[place] == when:
                    at[place] = NEVER
                    found.append(place)
        return found


class DueIndex:
    """Each number's next wake instant and next reminder, by the number's place in the
    config."""

    def __init__(self) -> None:
        self._wake = _Schedule()
        self._ahead = _Schedule()
        # the next reminder of each place, beside its instant in ``_ahead``
        self._deadline = array("i")  # date ordinal
        self._kind = array("B")  # index in _KINDS
        self._offset = array("i")
        self._expires = array("q")
        self._best: tuple[int, int] | None = None  # (instant, place) of next_reminder()

    def __len__(self) -> int:
        at = self._wake.at
        return len(at) - at.count(NEVER)

    def grow(self, size: int) -> None:
        """Make room for ``size`` places."""
        extra = size - len(self._deadline)
        if extra <= 0:
            return
        self._wake.grow(size)
        self._ahead.grow(size)
        self._deadline.extend(array("i", [0]) * extra)
        self._kind.extend(array("B", [0]) * extra)
        self._offset.extend(array("i", [0]) * extra)
        self._expires.extend(array("q", [0]) * extra)

    def put(self, place: int, found: Outlook) -> None:
        """Remember ``found`` for the number at ``place`` (of two reminders at one instant,
        the earlier number's is the next one)."""
        if place >= len(self._deadline):
            self.grow(place + 1)
        self._wake.set(place, NEVER if found.wake is None else _us(found.wake))
        ahead = found.ahead
        if ahead is None:
            self._set_ahead(place, NEVER)
            return
        self._deadline[place] = ahead.deadline.toordinal()
        self._kind[place] = _KINDS.index(ahead.kind)
        self._offset[place] = ahead.offset
        self._expires[place] = _us(ahead.expires_at)
        self._set_ahead(place, _us(ahead.due_at))

    def _set_ahead(self, place: int, us: int) -> None:
        best = self._best
        if best is not None and (place == best[1] or us <= best[0]):
            self._best = None
        self._ahead.set(place, us)

    def moved(self, old_places: Sequence[int]) -> None:
        """The numbers' places in a reloaded config: ``old_places[i]`` is where the number now
        at ``i`` was (-1: new); numbers no longer there are forgotten."""
        self._best = None
        self.grow(max(old_places, default=-1) + 1)
        for name in ("_deadline", "_kind", "_offset", "_expires"):
            held = getattr(self, name)
            setattr(
                self, name, array(held.typecode, (held[o] if o >= 0 else 0 for o in old_places))
            )
        for schedule in (self._wake, self._ahead):
            held = schedule.at
            schedule.at = array("q", (held[o] if o >= 0 else NEVER for o in old_places))
            schedule.regroup()

    def wake_at(self, place: int, at: datetime) -> None:
        """Look at ``place`` again at ``at`` at the latest (its next reminder stays as it is)."""
        if place >= len(self._deadline):
            self.grow(place + 1)
        us = _us(at)
        if self._wake.at[place] > us:
            self._wake.set(place, us)

    def drop(self, place: int) -> None:
        """Forget the number at ``place`` (its group entries die lazily)."""
        if place < len(self._deadline):
            self._wake.set(place, NEVER)
            self._set_ahead(place, NEVER)

    def pop_due(self, now: datetime) -> list[int]:
        """The places whose wake instant is at or before ``now``, taken out of the index."""
        return self._wake.pop_until(_us(now))

    def next_wake(self) -> datetime | None:
        """The earliest wake instant held (None when none)."""
        got = self._wake.earliest()
        return _instant(got[0]) if got else None

    def next_reminder(self, numbers: Sequence[Number]) -> Reminder | None:
        """The earliest next reminder of any number (the first number's on a tie), its
        number taken from ``numbers``."""
        if self._best is None:
            got = self._ahead.earliest()
            if got is None:
                return None
            us, group = got
            at = self._ahead.at
            self._best = (us, min(p for p in group if at[p] == us))
        us, place = self._best
        return Reminder(
            number=numbers[place],
            deadline=date.fromordinal(self._deadline[place]),
            kind=_KINDS[self._kind[place]],
            offset=self._offset[place],
            due_at=_instant(us),
            expires_at=_instant(self._expires[place]),
        )
