"""glibc's allocator tuned for the web face's threads.

glibc gives each thread that allocates while another holds the main heap an arena of its own,
and memory freed in an arena stays with the process while anything in it lives. The web
face's four waitress threads each build large transient answers at 100,000 numbers (the
``/metrics`` text, a status report), so with an arena per thread the resident size grows by
each thread's leftovers. One arena (``M_ARENA_MAX``) keeps it to one heap: the threads mostly
wait on sockets, so they hardly contend for it. Elsewhere than glibc nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_ARENA_MAX = -8  # mallopt parameter (malloc.h)


def one_arena() -> bool:
    """Ask glibc for a single malloc arena; whether it took (False off glibc)."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_ARENA_MAX, 1))
    except (OSError, AttributeError):
        return False
