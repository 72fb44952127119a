"""How many folder workers beyond their own one the passes of a process may open at once.

Each pass copies with its own connections (the pass's session, plus up to ``workers`` folder
workers or lanes, engine/sync/executor.py). A runner with 20 users under way and 4 workers each
held 80 pairs of sessions on the two servers, most of them waiting for the body budget
(engine/sync/budget.py) or the servers' CPU: more sessions copied no faster, and each costs a
login, a SELECT and a thread. :class:`ExtraWorkers` shares one pool of *extra* workers among
all passes: a pass always has its first worker, and takes what extras it needs that are free
when it starts applying folders; a pass alone gets them all, as before.

- **Never waits**: :meth:`ExtraWorkers.take` answers at once with what is free (possibly 0),
  so no pass waits for another and no order of passes can deadlock.
- **Given back** when the pass's folders are applied, also when they failed.

Every pass of a process draws on :data:`PROCESS_EXTRA_WORKERS` (``IMSH_EXTRA_FOLDER_WORKERS``,
default 8: beyond their first, two passes' worth of the default 4 workers each) unless its
``SyncOptions.extra_workers`` names another pool, or None for no limit.
"""

from __future__ import annotations

import os
import threading

DEFAULT_EXTRA_WORKERS = 8


class ExtraWorkers:
    """A counting pool of folder workers beyond each pass's first."""

    def __init__(self, limit: int) -> None:
        self.limit = max(0, limit)
        self._free = self.limit
        self._lock = threading.Lock()

    @property
    def free(self) -> int:
        with self._lock:
            return self._free

    def take(self, wanted: int) -> int:
        """Up to ``wanted`` extra workers, as many as are free now (never waits)."""
        with self._lock:
            got = min(max(wanted, 0), self._free)
            self._free -= got
            return got

    def give(self, count: int) -> None:
        with self._lock:
            self._free = min(self.limit, self._free + max(count, 0))


def _from_environment() -> ExtraWorkers:
    raw = os.environ.get("IMSH_EXTRA_FOLDER_WORKERS", "").strip()
    try:
        count = int(raw) if raw else DEFAULT_EXTRA_WORKERS
    except ValueError:
        count = DEFAULT_EXTRA_WORKERS
    return ExtraWorkers(count if count >= 0 else DEFAULT_EXTRA_WORKERS)


PROCESS_EXTRA_WORKERS = _from_environment()
