"""The runner process's memory allocator: few malloc arenas, so threads do not multiply RSS.

glibc gives every thread that allocates its own malloc arena (up to eight per core). Message
bodies are large ``bytes`` objects, which Python takes from malloc, so each thread that fetches
or appends bodies (folder workers, the lanes of engine/sync/lanes.py, the read-ahead of
engine/sync/prefetch.py) kept a few megabytes of freed memory in an arena of its own. Measured
on a 20,000-message one-folder copy with four lanes: peak runner RSS 95 MB with the default,
82 MB with two arenas (the same as one lane), the copy's time unchanged within noise.

:func:`limit_malloc_arenas` sets ``M_ARENA_MAX`` with ``mallopt`` before the runner starts its
threads (``imsh service``: shell/wiring.py calls it before shell/service_main.py starts the
runner). It is the setting ``MALLOC_ARENA_MAX``
makes, applied from inside so that every way of starting a runner (the shell's launcher, the
systemd unit, by hand) gets it. An explicit ``MALLOC_ARENA_MAX`` in the environment wins; on a
C library without ``mallopt`` (musl) nothing happens.
"""

from __future__ import annotations

import ctypes
import logging
import os

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's malloc.h
RUNNER_ARENAS = 2


def limit_malloc_arenas(count: int = RUNNER_ARENAS) -> bool:
    """Ask glibc for at most ``count`` malloc arenas; True if it took the setting."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False  # the administrator chose
    try:
        # the C library the process already runs on (no ctypes.util.find_library: importing
        # it and asking took ~12 ms of every runner's start)
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    taken = bool(mallopt(M_ARENA_MAX, count))
    log.debug("malloc arenas limited to %d: %s", count, taken)
    return taken
