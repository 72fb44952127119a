"""The bytes of message bodies one process holds in flight, shared by every copy in it.

Each folder worker copies in batches of ``batch_bytes`` (4 MiB) and reads the next batch while
one is appended (engine/sync/prefetch.py); a runner syncing 20 users with 4 folder workers each
could so hold 160 batches of bodies at once. Measured before this budget: 50 users of
~100 KB messages in one batch, peak runner RSS 257 MB. :class:`BodyBudget` caps the sum over
the whole process: a batch is fetched only once its bytes (the listing's RFC822.SIZE) fit, and
they are given back when the batch is appended and recorded, or dropped.

- **No deadlock**: a holder gives its bytes back without needing more first (a batch is taken
  for one fetch and one append; the read-ahead's next batch waits like any other), and a batch
  larger than the whole budget waits until nothing else is held, then goes alone.
- **Every wait ends**: waiters look at the pass's cancel token a few times a second (Stop,
  SIGTERM, a lost lease end the wait with :class:`engine.sync.apply.Stopped` at the caller),
  and the bytes they wait for belong to appends that have deadlines of their own
  (engine/imap/deadline.py).
- **Fair enough**: waiters are served as bytes come back, first come first served, so one
  worker's large batches do not starve the small ones for long.

The runner uses :data:`PROCESS_BUDGET` (``IMSH_BODY_BUDGET_MB``, default 24 MiB); tests and
tools that run a pass in-process may hand their own.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable

DEFAULT_BUDGET_BYTES = 24 * 1024 * 1024
WAIT_SLICE = 0.2  # seconds between a waiter's looks at its cancel token


class BudgetWaitCancelled(Exception):
    """The waiter's cancel token was set while it waited for bytes."""


class BodyBudget:
    """A counting limit on bytes in flight; :meth:`take` blocks until they fit.

    Waiters queue in order of arrival, and only the first one can go, so each change (bytes
    given back, a waiter served or cancelled) wakes that one alone. Waking them all, as this
    did with one condition, cost the runner a third more CPU at 20 users (80 waiting folder
    workers, each woken by every batch of every other)."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._held = 0
        self._lock = threading.Lock()
        self._queue: deque[threading.Condition] = deque()  # waiters, in order of arrival

    @property
    def held(self) -> int:
        with self._lock:
            return self._held

    def take(self, nbytes: int, cancelled: Callable[[], bool] = lambda: False) -> int:
        """Wait until ``nbytes`` (at most the whole budget) fit; the bytes taken, to give
        back with :meth:`give`. Raises :class:`BudgetWaitCancelled` when ``cancelled()``."""
        want = min(max(nbytes, 0), self.limit)
        with self._lock:
            if not self._queue and self._held + want <= self.limit:
                self._held += want
                return want
            turn = threading.Condition(self._lock)
            self._queue.append(turn)
            try:
                while self._queue[0] is not turn or self._held + want > self.limit:
                    if cancelled():
                        raise BudgetWaitCancelled
                    turn.wait(WAIT_SLICE)
                self._held += want
            finally:
                self._queue.remove(turn)
                self._wake_first()  # the next may fit too, or could not go while this waited
        return want

    def give(self, nbytes: int) -> None:
        with self._lock:
            self._held = max(0, self._held - nbytes)
            self._wake_first()

    def _wake_first(self) -> None:
        """Called with the lock held."""
        if self._queue:
            self._queue[0].notify()


def _from_environment() -> BodyBudget:
    raw = os.environ.get("IMSH_BODY_BUDGET_MB", "")
    try:
        megabytes = float(raw) if raw else 0.0
    except ValueError:
        megabytes = 0.0
    size = int(megabytes * 1024 * 1024) if megabytes > 0 else DEFAULT_BUDGET_BYTES
    return BodyBudget(size)


PROCESS_BUDGET = _from_environment()
