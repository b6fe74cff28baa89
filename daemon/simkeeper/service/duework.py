"""The daemon's passes follow what is due, not how many numbers there are.

The first pass works every number out once (:func:`~simkeeper.engine.reminders.outlook`) and keeps
when each next needs looking at in a :class:`~simkeeper.service.dueindex.DueIndex`. A later pass
looks
only at the numbers whose instant has come, those whose ledger changed (the store's change log:
renewals, top-ups and undos from other processes, renew reminders recorded) and those a config
reload changed; it records what is due for them, exactly as a full pass would, and works them
out again. ``simkeeper send-due`` keeps the full pass (:func:`~simkeeper.send.delivery.record_due`).
"""

from __future__ import annotations

import logging
import sqlite3
import weakref
from array import array
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from functools import partial
from itertools import zip_longest

from simkeeper.core.errors import SimkeeperError
from simkeeper.core.model import Config, Ledger, Number, Settings
from simkeeper.core.numbertable import NumberTable
from simkeeper.core.redact import Redactor
from simkeeper.engine.deadlines import Failure, isolated, local_today
from simkeeper.engine.reminders import Outlook, Reminder, local_instant, outlook
from simkeeper.send.delivery import digest_entry, digest_slot, record_entries, reminder_entries
from simkeeper.service.dueindex import DueIndex
from simkeeper.state.rows import OutboxItem
from simkeeper.state.store import Store

log = logging.getLogger("simkeeper.service")
_NONE = NumberTable.of(())


class DueWork:
    """What the daemon knows between passes: the index, the numbers it holds, the change log
    read so far, and whether anything changed since the calendar feed was refreshed.

    Numbers are known by their place in ``config.numbers`` (a
    :class:`~simkeeper.core.numbertable.NumberTable`: the idle daemon holds columns, not a
    ``Number`` a number); E.164 keys are only at the edges (the change log, the ledger)."""

    def __init__(self) -> None:
        self.index = DueIndex()
        self.config: Config | None = None  # the config taken, its numbers as a table
        # the config as it was given to use(), not kept alive here (a tuple of numbers)
        self.given: weakref.ref[Config] | None = None
        self.seq: int | None = None  # the change log read up to here; None: not built yet
        self.pending: set[int] = set()  # the places of the numbers to look at next pass
        self.changed = True  # anything changed since the calendar feed was last refreshed
        self.zones: tuple[object, ...] = ()  # the numbers' time zones (their dates move a feed)
        self.pruned_on: date | None = None  # the change log was last pruned on this day

    @property
    def numbers(self) -> NumberTable:
        """The numbers held (none before a config is taken)."""
        return _table(self.config) if self.config else _NONE

    # -- the config -----------------------------------------------------------------------------

    def use(self, config: Config, unchanged_file: bool = False) -> None:
        """Take a (re)loaded config. From the same file bytes nothing is looked at again (the
        numbers are those held); otherwise the numbers whose definition differs, or every
        number when the settings or the targets' names and tags differ."""
        old = self.config
        self.given = weakref.ref(config)
        config = tabled(config)
        self.config = config
        self.changed = True
        count = len(config.numbers)
        same = old is not None and unchanged_file and len(old.numbers) == count
        if same and old is not None and _same_frame(old, config):
            return
        if old is None or self.seq is None or not _same_frame(old, config):
            self.index = DueIndex()
            self.index.grow(count)
            self.pending = set(range(count))
        else:
            self._follow(old, config)
        self.zones = tuple(self.numbers.distinct("timezone"))

    def _follow(self, old: Config, config: Config) -> None:
        """Same settings and targets: only the numbers added, changed or removed are looked at
        again, and the index follows the new places."""
        before, after = _table(old), _table(config)
        places = array("i", [-1]) * len(after)  # where each number was, -1: new
        pending: set[int] = set()
        for i, (number, there) in enumerate(zip_longest(after, before)):
            if number is None:
                break
            if there is not None and there.number == number.number:
                held: int | None = i  # the same place: most numbers after an edit
            else:
                held = before.position(number.number)
                there = None if held is None else before[held]
            if held is None or held in self.pending or there != number:
                pending.add(i)
            places[i] = -1 if held is None else held
        self.pending = pending
        if len(before) != len(after) or places != array("i", range(len(after))):
            self.index.moved(places)

    # -- a pass -----------------------------------------------------------------------------

    def record(
        self,
        config: Config,
        store: Store,
        now: datetime,
        failures: list[Failure],
        redact: Redactor | None = None,
    ) -> int:
        """Record what is due at ``now`` for the numbers whose time has come or whose inputs
        changed (every number on the first pass); how many reminders were new. The
        :data:`~simkeeper.send.delivery.Recorder` of the daemon's passes."""
        given = self.given() if self.given else None
        if config is not given and config is not self.config:
            self.use(config)
        assert self.config is not None
        config = self.config
        first = self.seq is None
        seq, changed = self._changes(store, first)
        places = self._to_look_at(now, changed, first)
        try:
            found, renew, known, recorded = self._record(
                config, store, now, places, first, failures, redact
            )
        except BaseException:
            self.pending.update(places)  # looked at again on the next pass
            raise
        self.seq = seq
        if changed or first:
            self.changed = True
        for place, got in found.items():
            self.index.put(place, got)
        reminded: dict[str, list[date]] = {}
        for r in renew:
            if r.key not in known:
                reminded.setdefault(r.number.number, []).append(r.deadline)
        if not self._own_changes(store, now, seq, reminded):
            self._look_ahead(store, now, seq)
        return recorded

    def _changes(self, store: Store, first: bool) -> tuple[int, set[str]]:
        """The change log's newest entry and the numbers changed since the last pass (none on
        the first pass, which looks at every number anyway)."""
        if first:
            return store.last_change(), set()
        assert self.seq is not None
        return store.changed_since(self.seq)

    def _record(
        self,
        config: Config,
        store: Store,
        now: datetime,
        places: list[int],
        first: bool,
        failures: list[Failure],
        redact: Redactor | None,
    ) -> tuple[dict[int, Outlook], list[Reminder], set[tuple[str, str, str, int]], int]:
        """Work the numbers at ``places`` out and record what is due: their outlooks, the
        renew reminders due, those of them recorded before this pass, and how many reminders
        were new."""
        numbers = self.numbers.take(places)
        ledger = store.ledger() if first else store.ledger_for(n.number for n in numbers)
        found = self._work_out(places, numbers, now, ledger, failures)
        due = sorted(
            (r for f in found.values() for r in f.due),
            key=lambda r: (r.due_at, r.number.name, r.deadline, r.kind),
        )
        entries = reminder_entries(config, due, now, ledger)
        digest = self._digest(config, store, now, ledger if first else None, failures)
        if digest:
            entries.append(digest)
        renew = [r for r in due if r.kind == "renew"]
        known = store.recorded(r.key for r in renew) if renew else set()
        recorded = record_entries(config, store, now, entries, failures, redact)
        return found, renew, known, recorded

    def prune_changes(self, store: Store, now: datetime) -> None:
        """Once a day, forget the change log this index has read long ago."""
        if self.seq is None or self.pruned_on == now.date():
            return
        try:
            store.prune_changes(now, self.seq)
        except (SimkeeperError, sqlite3.Error) as e:  # tomorrow, then; reminders go on
            log.warning("could not prune the change log: %s", e)
            return
        self.pruned_on = now.date()

    def _own_changes(
        self, store: Store, now: datetime, seq: int, reminded: dict[str, list[date]]
    ) -> bool:
        """When the change log after ``seq`` holds only this pass's own renew reminders (one
        row per number ``reminded``, none from another process), take them in without working
        those numbers out again: a deadline now reminded about adds only its overdue alerts,
        which begin on its day, so the number is looked at again then. False otherwise.
        """
        if not reminded:
            return False
        newest, changed = store.changed_since(seq)
        if newest - seq != len(reminded) or changed != reminded.keys():
            return False  # another process changed something too: the full look-ahead
        self.seq = newest
        self.changed = True
        near = []
        places = self._places(reminded)
        for place, number in zip(places, self.numbers.take(places), strict=True):
            day = min(reminded[number.number])
            if day <= local_today(number, now):  # its alerts may already be near
                near.append(place)
            else:
                self.index.wake_at(place, local_instant(day, time(0), number.timezone))
        self._recompute(store, now, near)
        return True

    def _places(self, keys: Iterable[str]) -> list[int]:
        """The places of the numbers with these E.164 keys that are held, in config order."""
        found = (self.numbers.position(key) for key in keys)
        return sorted(p for p in found if p is not None)

    def _to_look_at(self, now: datetime, changed: set[str], first: bool) -> list[int]:
        """The places of the numbers this pass looks at, in config order."""
        if first:
            self.pending.clear()
            return list(range(len(self.numbers)))
        wanted = self.pending | set(self._places(changed))
        wanted.update(self.index.pop_due(now))
        self.pending = set()
        return sorted(p for p in wanted if p < len(self.numbers))

    def _work_out(
        self,
        places: list[int],
        numbers: list[Number],
        now: datetime,
        ledger: Ledger,
        failures: list[Failure],
    ) -> dict[int, Outlook]:
        """Each number's outlook; one that cannot be worked out is tried again next day."""
        assert self.config
        settings = self.config.settings
        found: dict[int, Outlook] = {}
        for place, number in zip(places, numbers, strict=True):
            work = partial(_outlook_of, number, settings, now, ledger)
            got = isolated(number, failures, work)
            found[place] = got[0] if got else Outlook((), None, _next_midnight(number, now))
        return found

    def _digest(
        self,
        config: Config,
        store: Store,
        now: datetime,
        ledger: Ledger | None,
        failures: list[Failure],
    ) -> OutboxItem | None:
        """The weekly digest's entry while it is due and not yet in the outbox."""
        slot = digest_slot(config, now)
        if slot is None or store.recorded([slot.key]):
            return None
        return digest_entry(config, now, ledger or store.ledger(), failures)

    def _look_ahead(self, store: Store, now: datetime, seq: int) -> None:
        """Work out again the numbers whose ledger changed since the change log was read (this
        pass's own reminders among them), so the next reminder is right. One with something
        due at ``now`` is left for the next pass to record; for the others that pass would
        record nothing, so they count as looked at."""
        self.seq, changed = store.changed_since(seq)
        if changed:
            self.changed = True
        self._recompute(store, now, self._places(changed))

    def _recompute(self, store: Store, now: datetime, changed: list[int]) -> None:
        """Work these numbers out again with their ledger as it is now, without recording;
        leave for the next pass those with something due not yet in the outbox."""
        places = sorted(set(changed))
        if not places:
            return
        numbers = self.numbers.take(places)
        ledger = store.ledger_for(n.number for n in numbers)
        broken: list[Failure] = []
        found = self._work_out(places, numbers, now, ledger, broken)
        at = {n.number: p for p, n in zip(places, numbers, strict=True)}
        self.pending.update(at[f.number.number] for f in broken)
        due = {r.key: r.number.number for got in found.values() for r in got.due}
        recorded = store.recorded(due) if due else set()
        self.pending.update(at[n] for k, n in due.items() if k not in recorded)
        for place, got in found.items():
            self.index.put(place, got)

    # -- what the daemon asks -----------------------------------------------------------------

    def next_reminder(self) -> Reminder | None:
        """The earliest reminder ahead of any number (the first number's on a tie)."""
        return self.index.next_reminder(self.numbers)

    def calendar_dates(self, now: datetime) -> tuple[date, ...]:
        """The dates a calendar feed depends on at ``now``: UTC's and each number zone's."""
        return (now.date(), *(now.astimezone(z).date() for z in self.zones))  # type: ignore[arg-type]


def _outlook_of(number: Number, settings: Settings, now: datetime, ledger: Ledger) -> list[Outlook]:
    return [outlook(number, settings, now, ledger)]


def tabled(config: Config) -> Config:
    """``config`` with its numbers as a :class:`NumberTable` (as the cache gives them)."""
    if isinstance(config.numbers, NumberTable):
        return config
    return replace(config, numbers=NumberTable.of(config.numbers))


def _table(config: Config) -> NumberTable:
    numbers = tabled(config).numbers
    assert isinstance(numbers, NumberTable)
    return numbers


def _same_frame(old: Config, new: Config) -> bool:
    """Whether what every number's reminders depend on besides the number itself is the same:
    the settings, and the targets' names and tags."""
    return old.settings == new.settings and [(t.name, t.tags) for t in old.targets] == [
        (t.name, t.tags) for t in new.targets
    ]


def _next_midnight(number: Number, now: datetime) -> datetime:
    """The start of the number's next local day."""
    return local_instant(local_today(number, now) + timedelta(days=1), time(0), number.timezone)
