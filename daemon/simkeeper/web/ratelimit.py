"""A small in-memory limiter of bad requests per client address (forged or expired tokens).

An address that sent :data:`LIMIT` bad tokens within :data:`WINDOW` has its further bad tokens
answered 429 until the oldest of them is older than the window. A valid token is never asked
about (the web face verifies it first), so the limiter cannot lock anyone out. Memory stays
bounded: at most :data:`MAX_ADDRESSES` addresses are remembered, the stalest dropped first.
Time comes from the caller.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from datetime import datetime, timedelta

LIMIT = 10
WINDOW = timedelta(minutes=10)
MAX_ADDRESSES = 1024


class Limiter:
    """Counts bad requests per address in a sliding window (thread-safe)."""

    def __init__(
        self, limit: int = LIMIT, window: timedelta = WINDOW, max_addresses: int = MAX_ADDRESSES
    ):
        self.limit = limit
        self.window = window
        self.max_addresses = max_addresses
        self._bad: OrderedDict[str, deque[datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, address: str, now: datetime) -> deque[datetime]:
        times = self._bad.get(address, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        return times

    def blocked(self, address: str, now: datetime) -> bool:
        """Whether ``address`` sent too many bad requests lately."""
        with self._lock:
            return len(self._recent(address, now)) >= self.limit

    def bad(self, address: str, now: datetime) -> None:
        """Count one bad request from ``address``."""
        with self._lock:
            times = self._recent(address, now)
            times.append(now)
            self._bad[address] = times
            self._bad.move_to_end(address)
            while len(self._bad) > self.max_addresses:
                self._bad.popitem(last=False)
