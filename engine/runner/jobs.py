"""The seam between the runner and the sync executor: one job, its outcome, its cancellation.

The runner hands a :class:`UserSyncer` one :class:`SyncJob` at a time, in a worker thread, with
a ``store_factory`` (the syncer opens its own :class:`~engine.store.Store`: one per thread) and a
:class:`CancelToken`. The syncer copies the user's mailbox and returns a :class:`SyncOutcome`.

Contract for syncers:

- Poll ``token.cancelled`` between append batches (at least every few seconds) and, once it is
  set, commit or roll back the step in hand and return :meth:`SyncOutcome.stopped`. A syncer
  blocked in the network must not hold a stop up: ``token.on_cancel`` lets it abort its
  connections (the executor does so a couple of seconds after the cancel). The token is
  set by Stop-/Remove-MigrationBatch, Stop-MigrationUser, a lost lease or the runner shutting
  down (SIGTERM); ``token.reason`` says which, but the syncer need not care.
- Report faults either as an outcome or by raising: :class:`~engine.errors.TransientError`
  (connection drop, timeout, server busy) is retried with backoff, :class:`~engine.errors.
  PermanentError` (bad password, mailbox missing) fails the user with the error's text, which
  should be Exchange's wording where Exchange has one. ``OSError`` counts as transient; any
  other exception fails the user (and is logged with its traceback).
- Do not change the user's status, due time or lease: the runner owns those. Statistics
  counters, report entries about items and the sync state are the syncer's.
- Fence every store write with ``job.fence`` (when set; :class:`~engine.store.leases.LeaseFence`,
  a numeric fencing token): open each store as ``store_factory().fenced(job.fence)``, so a
  write of a runner that stalled past its lease's expiry and lost the user raises
  :class:`~engine.store.leases.LeaseLost` and writes nothing; and start no append on a lease
  with less than ``fence.min_left`` to run. The runner's lease renewal and the token only act
  between batches; the fence acts inside the write itself. A syncer that meets ``LeaseLost``
  returns :meth:`SyncOutcome.stopped` with the token cancelled as ``lease_lost`` (the runner
  catches it too): not a failure of the user, whom another runner owns now.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from engine.model import SyncKind
from engine.store import Store
from engine.store.leases import LeaseFence

StoreFactory = Callable[[], Store]


@dataclass(frozen=True)
class SyncJob:
    """One pass for one migration user. ``attempt`` counts from 1 and grows with each retry of
    a transient fault; ``final`` marks the last pass of a batch being completed; ``fence``
    (set by the runner) is the lease the pass's sync-state writes are fenced by."""

    user_id: int
    email_address: str
    batch_id: int
    kind: SyncKind
    attempt: int = 1
    final: bool = False
    fence: LeaseFence | None = None


class OutcomeKind(StrEnum):
    ok = "ok"
    failed = "failed"  # permanent: the user fails with ``message``
    transient = "transient"  # retried after a backoff (or ``retry_after`` seconds)
    stopped = "stopped"  # the token was cancelled and the syncer stopped at a safe point


@dataclass(frozen=True)
class SyncOutcome:
    """How a job ended. Build it with the class methods."""

    kind: OutcomeKind
    message: str | None = None
    retry_after: float | None = None
    progressed: bool = False  # transient: the pass recorded copies before the fault
    throttled: bool = False  # transient: the server asked imsh to slow down

    @classmethod
    def ok(cls) -> SyncOutcome:
        return cls(OutcomeKind.ok)

    @classmethod
    def failed(cls, message: str) -> SyncOutcome:
        return cls(OutcomeKind.failed, message)

    @classmethod
    def transient(cls, message: str, retry_after: float | None = None, *,
                  progressed: bool = False, throttled: bool = False) -> SyncOutcome:
        """A fault worth a retry; ``progressed`` when the pass got work done first (the
        runner then starts counting attempts afresh: a flaky link that moves is no reason
        to back off towards giving up); ``throttled`` when the server asked to slow down
        (the backoff is recorded as the pass's throttling wait)."""
        return cls(OutcomeKind.transient, message, retry_after, progressed, throttled)

    @classmethod
    def stopped(cls) -> SyncOutcome:
        return cls(OutcomeKind.stopped)


class CancelReason(StrEnum):
    stop_requested = "stop requested"  # Stop-MigrationBatch/-User, Complete, Remove
    shutdown = "runner shutting down"  # SIGTERM/SIGINT: the user stays due for the next runner
    lease_lost = "lease lost"  # another runner took the user over


class CancelToken:
    """A one-way switch the runner sets and the syncer polls; the first reason given wins."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._reason: CancelReason | None = None
        self._callbacks: list[Callable[[CancelReason], None]] = []

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    @property
    def reason(self) -> CancelReason | None:
        return self._reason

    def cancel(self, reason: CancelReason) -> None:
        with self._lock:
            first = self._reason is None
            if first:
                self._reason = reason
            callbacks, self._callbacks = self._callbacks, []
        self._event.set()
        if first:
            for callback in callbacks:
                callback(reason)

    def on_cancel(self, callback: Callable[[CancelReason], None]) -> None:
        """Call ``callback(reason)`` once when the token is cancelled (at once if it already
        is), in the cancelling thread: it must not block. The executor uses it to abort the
        pass's connections a moment later, so a pass blocked in the network stops too."""
        with self._lock:
            reason = self._reason
            if reason is None:
                self._callbacks.append(callback)
        if reason is not None:
            callback(reason)

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking early when cancelled; True if cancelled."""
        return self._event.wait(timeout)


class UserSyncer(Protocol):
    """What the runner calls for each job (``engine.sync.executor.sync_user`` in production)."""

    def __call__(
        self, store_factory: StoreFactory, job: SyncJob, token: CancelToken, /
    ) -> SyncOutcome: ...
