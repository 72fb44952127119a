"""Pure scheduling decisions: who starts now, how long to back off, when the next pass is due.

Concurrency is limited per *source* endpoint, as Exchange does: at most
``MaxConcurrentMigrations`` users in their initial sync and at most
``MaxConcurrentIncrementalSyncs`` in an incremental sync at once, counted over every runner
sharing the state (the runner counts live user leases, not only its own threads).

Retry backoff for transient faults (connection drop, timeout, server busy): attempt 1 failed →
wait 30 s, then 1 min, 2 min, 4 min, 8 min, then 15 min (the cap) for every further attempt. A
server's own hint ("retry after N s") is honoured when it is longer, up to one hour. After
:data:`MAX_ATTEMPTS` attempts the fault is treated as permanent and the user fails with the last
error text. A pass that made progress before its fault counts as attempt 1 again
(:func:`attempt_after`): only faults in a row that got nothing done lead to giving up.
Nothing here does I/O or reads the clock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.model import SyncKind

RETRY_BASE_SECONDS = 30.0
RETRY_CAP_SECONDS = 15 * 60.0
RETRY_HINT_CAP_SECONDS = 60 * 60.0
MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class Candidate:
    """A due migration user, as far as scheduling cares."""

    user_id: int
    source_endpoint_id: int
    kind: SyncKind


@dataclass(frozen=True)
class EndpointLimits:
    """``MaxConcurrentMigrations`` and ``MaxConcurrentIncrementalSyncs`` of one endpoint."""

    initial: int
    incremental: int

    def limit(self, kind: SyncKind) -> int:
        return self.initial if kind is SyncKind.initial else self.incremental


RunningCounts = Mapping[tuple[int, SyncKind], int]


def count_running(running: Iterable[Candidate]) -> Counter[tuple[int, SyncKind]]:
    """How many jobs of each kind run against each source endpoint."""
    return Counter((c.source_endpoint_id, c.kind) for c in running)


def pick_jobs(
    due: Sequence[Candidate],
    running: RunningCounts,
    limits: Mapping[int, EndpointLimits],
    free_workers: int,
) -> list[Candidate]:
    """The due users to start now, in the order given (oldest due first).

    A user starts when its source endpoint has a free slot for its kind of pass and the runner
    has a free worker. An endpoint without known limits starts nothing.
    """
    counts = Counter(running)
    picked: list[Candidate] = []
    for candidate in due:
        if len(picked) >= free_workers:
            break
        key = (candidate.source_endpoint_id, candidate.kind)
        endpoint = limits.get(candidate.source_endpoint_id)
        if endpoint is None or counts[key] >= endpoint.limit(candidate.kind):
            continue
        counts[key] += 1
        picked.append(candidate)
    return picked


def retry_delay(attempt: int, hint_seconds: float | None = None,
                base_seconds: float = RETRY_BASE_SECONDS) -> timedelta:
    """How long to wait after attempt number ``attempt`` (1-based) failed transiently;
    ``base_seconds`` is the first wait (the configuration file's ``runner.retry_base``)."""
    exponent = max(attempt, 1) - 1
    seconds = min(base_seconds * 2.0 ** min(exponent, 32), RETRY_CAP_SECONDS)
    if hint_seconds is not None and hint_seconds > seconds:
        seconds = min(hint_seconds, RETRY_HINT_CAP_SECONDS)
    return timedelta(seconds=seconds)


def attempt_after(attempt: int, *, progressed: bool) -> int:
    """The attempt number a transient fault on attempt ``attempt`` counts as: 1 when the pass
    made progress first (committed copies, flag changes, deletions), so the backoff starts
    again at :data:`RETRY_BASE_SECONDS` and the count toward :data:`MAX_ATTEMPTS` restarts."""
    return 1 if progressed else attempt


def gives_up(attempt: int) -> bool:
    """True when a transient fault on attempt ``attempt`` should fail the user for good."""
    return attempt >= MAX_ATTEMPTS


def next_incremental_due(last_success: datetime, interval_seconds: int) -> datetime:
    """When the next incremental sync is due: the last successful pass plus the batch's
    ``IncrementalSyncInterval`` (24 h by default)."""
    return last_success + timedelta(seconds=max(interval_seconds, 0))


def start_after_of(batch_start_after: datetime | None,
                   user_start_after: datetime | None) -> datetime | None:
    """The StartAfter that applies to a user: its own, else its batch's ("A setting applied to
    a user overrides any corresponding setting on the batch")."""
    return user_start_after if user_start_after is not None else batch_start_after


def start_held(start_after: datetime | None, now: datetime) -> bool:
    """-StartAfter: "the actual data migration for the user doesn't start until the date/time
    you specify". A due user whose StartAfter lies ahead is not started; the runner keeps it
    due and starts it on the first tick at or after that time."""
    return start_after is not None and now < start_after


def completion_due(complete_after: datetime | None, now: datetime, *, active: bool,
                   synced: bool) -> bool:
    """-CompleteAfter: a batch whose users are all synced (Synced or SyncedWithErrors) and whose
    CompleteAfter has passed is completed, as Complete-MigrationBatch would; before that time,
    or while its initial sync runs, it goes on syncing. ``active``: the batch is neither
    created-only, stopped, completing nor being removed."""
    return active and synced and complete_after is not None and now >= complete_after


def complete_after_of(batch_complete_after: datetime | None,
                      user_complete_after: datetime | None) -> datetime | None:
    """The CompleteAfter that applies to a user: its own (Set-MigrationUser), else its
    batch's."""
    return user_complete_after if user_complete_after is not None else batch_complete_after


def batch_completion_held(user_complete_afters: Iterable[datetime | None],
                          now: datetime) -> bool:
    """A batch's own CompleteAfter does not complete the batch as a whole while one of its
    unfinished users has a CompleteAfter of its own still ahead: that user's later time
    overrides the batch's, so its users are then completed one by one instead
    (:func:`user_completion_due`)."""
    return any(when is not None and now < when for when in user_complete_afters)


def user_completion_due(own: datetime | None, batch_complete_after: datetime | None,
                        now: datetime, *, active: bool, synced: bool,
                        batch_held: bool) -> bool:
    """Set-MigrationUser -CompleteAfter: a synced user (Synced or IncrementalSynced) of an
    active batch whose CompleteAfter has passed gets its final pass on its own, while the rest
    of the batch keeps syncing. A user without a time of its own is left to the batch's
    completion (Complete-MigrationBatch's path), except while that is held by another user's
    later time (:func:`batch_completion_held`); then the batch's time applies to it alone."""
    if own is None and not batch_held:
        return False
    return completion_due(complete_after_of(batch_complete_after, own), now, active=active,
                          synced=synced)
