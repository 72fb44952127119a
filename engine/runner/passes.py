"""One pass in the store: claiming a due user, marking it running, and recording how it ended.

Every function here is one write transaction (``store.transaction()``), so a claim (user row
taken, lease taken, user re-read, status set) and an outcome (status, due time, statistics,
report entry, batch times, the claim's row in ``passes`` closed: engine/store/passes.py) are
each all-or-nothing; the claim also opens that row. The claim first takes the user's row
(PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED``: a row another transaction holds is passed
over, never waited for), then the lease and its fencing token, and re-reads the user under the
write lock: a user another runner finished a moment ago is no longer due and is left alone,
which is what keeps two runners from syncing one user twice. The claim counts the running
leases of every runner in the same transaction (:func:`slot_free`), so the endpoints'
``MaxConcurrentMigrations`` / ``MaxConcurrentIncrementalSyncs`` and the configuration's
``MaxConcurrentMigrations`` hold across all runners; and it binds an unshared Maildir target
to its host (:func:`maildir_writable`).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from engine.maildir_sharing import WRITER_HOST, claim_refusal, is_shared, writer_host
from engine.model import BatchStatus, MigrationUserStatus
from engine.runner.intervals import batch_interval
from engine.runner.jobs import (
    CancelReason,
    OutcomeKind,
    SyncJob,
    SyncKind,
    SyncOutcome,
)
from engine.runner.scheduler import (
    RETRY_BASE_SECONDS,
    EndpointLimits,
    attempt_after,
    gives_up,
    next_incremental_due,
    retry_delay,
)
from engine.service.config_keys import MAX_CONCURRENT_MIGRATIONS
from engine.store import Store
from engine.store.batches import BatchRow
from engine.store.leases import LeaseFence
from engine.store.users import MigrationUserRow
from engine.transitions import (
    BatchPhase,
    batch_phase,
    batch_status_from_users,
    failed_status,
    job_kind,
    runnable,
    running_status,
    stopped_status,
    succeeded_status,
    with_status,
)

log = logging.getLogger(__name__)

_SETTLED = frozenset({BatchStatus.Synced, BatchStatus.SyncedWithErrors, BatchStatus.Failed})
_FINISHED = frozenset({BatchStatus.Completed, BatchStatus.CompletedWithErrors})


USER_PREFIX = "user:"


def user_resource(user_id: int) -> str:
    """The lease resource that gives one runner one migration user."""
    return f"{USER_PREFIX}{user_id}"


def claim_user(
    store: Store, user_id: int, owner: str, ttl: timedelta, now: datetime
) -> SyncJob | None:
    """Take the user's lease and start its pass; None if it is not ours to sync now: another
    transaction holds the user, another runner holds its lease, it is no longer due, or its
    source endpoint has no free slot for its kind of pass, counting every runner's passes.

    The job's attempt number follows the user's stored ``sync_attempt`` (transient failures in
    a row), so a restarted runner keeps counting toward giving up."""
    with store.transaction():
        if not store.users.lock_for_claim(user_id):  # another transaction has the user
            return None
        user = store.users.get_by_id(user_id)
        batch = store.batches.get_by_id(user.batch_id)
        if not _still_due(user, batch, now) or not slot_free(store, user, batch, now):
            return None
        if not maildir_writable(store, batch):
            return None
        token = store.leases.claim(user_resource(user_id), owner, ttl, now)
        if token is None:
            return None
        job = SyncJob(
            user_id=user.id,
            email_address=user.email_address,
            batch_id=batch.id,
            kind=job_kind(user.sync_kind),
            attempt=user.sync_attempt + 1,
            # the batch is being completed, or only this user (Set-MigrationUser
            # -CompleteAfter, engine/service/delays.py marks it Completing)
            final=(batch_phase(batch.status) is BatchPhase.Completing
                   or user.status == MigrationUserStatus.Completing),
            fence=LeaseFence(user_resource(user_id), owner, token, ttl / 3),
        )
        _begin(store, user, job, now)
        store.passes.begin(user.id, batch.id, job.kind.value, job.attempt - 1, now)
    return job


def _still_ours(store: Store, fence: LeaseFence) -> bool:
    """Does the user's lease still name this runner? Inside the write transaction: a runner
    cut off or stalled past its lease's expiry must not record over the pass of the runner
    that took the user over (an expired lease nobody took is still ours: nobody else has
    touched the user)."""
    lease = store.leases.get(fence.resource)
    return lease is not None and (lease.owner, lease.token) == (fence.owner, fence.token)


def slot_free(store: Store, user: MigrationUserRow, batch: BatchRow, now: datetime) -> bool:
    """Whether ``user``'s pass may start under its source endpoint's MaxConcurrentMigrations
    (initial) or MaxConcurrentIncrementalSyncs (incremental), counting the unexpired user
    leases of every runner on every host. A user that holds its lease already (a runner
    resuming its own claim) is not counted against itself."""
    if not organisation_slot_free(store, now, own=user.id):
        return False
    kind = job_kind(user.sync_kind)
    endpoint = store.endpoints.get_by_id(batch.source_endpoint_id)
    limit = EndpointLimits(endpoint.max_concurrent_migrations,
                           endpoint.max_concurrent_incremental_syncs).limit(kind)
    used = store.users.count_leased(batch.source_endpoint_id, kind.value, now, USER_PREFIX)
    own = store.leases.get(user_resource(user.id))
    if own is not None and own.expires_at > now:
        used -= 1
    return used < limit


def organisation_slot_free(store: Store, now: datetime, own: int | None = None) -> bool:
    """Set-MigrationConfig -MaxConcurrentMigrations (None: Unlimited): the passes of every
    kind running at once against all endpoints, on every host, stay below it. ``own`` is a
    user whose own lease is not counted against itself."""
    cap = store.config.get(MAX_CONCURRENT_MIGRATIONS)
    if cap is None:
        return True
    leases = store.leases.active(now, USER_PREFIX)
    used = sum(1 for lease in leases if own is None or lease.resource != user_resource(own))
    return used < int(cap)


def maildir_writable(store: Store, batch: BatchRow) -> bool:
    """Whether this host may write into the batch's target when it is a Maildir endpoint
    (engine/maildir_sharing.py); the first host to claim a user into an unshared one binds it
    to itself, here, in the claiming transaction."""
    if store.paths.database is None:  # SQLite: a file on one machine, one host by nature
        return True
    target = store.endpoints.get_by_id(batch.target_endpoint_id)
    if target.kind != "Maildir" or is_shared(target.extra):
        return True
    host = store.paths.host
    if claim_refusal(target.name, target.path, target.extra, host) is not None:
        return False
    if writer_host(target.extra) is None:
        store.endpoints.update(replace(target, extra={**target.extra, WRITER_HOST: host}))
    return True


def _still_due(user: MigrationUserRow, batch: BatchRow, now: datetime) -> bool:
    return (
        runnable(user.status, batch_phase(batch.status))
        and not user.stop_requested
        and user.next_sync_due_at is not None
        and user.next_sync_due_at <= now
    )


def _begin(store: Store, user: MigrationUserRow, job: SyncJob, now: datetime) -> None:
    if user.status in (MigrationUserStatus.Syncing, MigrationUserStatus.IncrementalSyncing):
        log.info("resuming the unfinished %s sync of %s", job.kind, user.email_address)
    status = running_status(job)
    store.users.update(
        with_status(
            user,
            status,
            started_at=user.started_at or now,
        )
    )


def record_outcome(
    store: Store,
    job: SyncJob,
    outcome: SyncOutcome,
    reason: CancelReason | None,
    now: datetime,
    elapsed: float,
    retry_base: float = RETRY_BASE_SECONDS,
) -> None:
    """Write how the pass ended; ``reason`` is why its token was cancelled, if it was;
    ``retry_base`` is the first backoff after a transient fault (the scheduler's rule).
    Nothing is written when the job's lease no longer names its runner."""
    with store.transaction():
        if job.fence is not None and not _still_ours(store, job.fence):
            log.warning("%s: not recording how this pass ended: another runner has taken the "
                        "user over", job.email_address)
            return
        user = store.users.get_by_id(job.user_id)
        batch = store.batches.get_by_id(user.batch_id)
        if user.status == MigrationUserStatus.Removing:
            return  # Remove-MigrationUser: housekeeping deletes the user once it is released
        throttle_wait = 0.0
        if outcome.kind is OutcomeKind.ok:
            _succeeded(store, user, batch, job, now, elapsed)
        elif outcome.kind is OutcomeKind.failed:
            _failed(store, user, job, outcome.message or "The sync failed.", elapsed)
        elif outcome.kind is OutcomeKind.transient:
            delay = _transient(store, user, job, outcome, now, elapsed, retry_base)
            if outcome.throttled and delay is not None:
                throttle_wait = delay.total_seconds()
        else:
            _stopped(store, user, reason, now, elapsed)
        store.passes.finish(user.id, outcome.kind.value, now, throttle_wait)
        _touch_batch(store, batch, now, synced=outcome.kind is OutcomeKind.ok)


def _succeeded(
    store: Store,
    user: MigrationUserRow,
    batch: BatchRow,
    job: SyncJob,
    now: datetime,
    elapsed: float,
) -> None:
    status = succeeded_status(job)
    interval = int(batch_interval(store, batch).total_seconds())
    due: datetime | None = next_incremental_due(now, interval)
    if job.final:
        due = None
    elif batch_phase(batch.status) is BatchPhase.Completing:
        due = now  # Complete-MigrationBatch arrived during this pass: the final pass is next
    store.users.update(
        with_status(
            user,
            status,
            error=None,
            sync_kind=SyncKind.incremental.value,
            last_successful_sync_at=now,
            next_sync_due_at=due,
            sync_attempt=0,
        )
    )
    _record_time(store, user.id, elapsed, initial=job.kind is SyncKind.initial, error=None)
    store.statistics.add_report_entry(user.id, "info", _success_text(job, elapsed))
    log.info("%s: %s", user.email_address, _success_text(job, elapsed))


def _success_text(job: SyncJob, elapsed: float) -> str:
    what = "Final" if job.final else ("Initial" if job.kind is SyncKind.initial else "Incremental")
    return f"{what} synchronization completed in {elapsed:.0f} s."


def _failed(
    store: Store, user: MigrationUserRow, job: SyncJob, message: str, elapsed: float
) -> None:
    status = failed_status(job)
    store.users.update(
        with_status(
            user,
            status,
            error=message,
            next_sync_due_at=None,
            sync_attempt=0,
        )
    )
    _record_time(store, user.id, elapsed, initial=False, error=message)
    store.statistics.add_report_entry(user.id, "error", message)
    log.warning("%s: %s failed: %s", user.email_address, job.kind, message)


def _transient(
    store: Store,
    user: MigrationUserRow,
    job: SyncJob,
    outcome: SyncOutcome,
    now: datetime,
    elapsed: float,
    retry_base: float = RETRY_BASE_SECONDS,
) -> timedelta | None:
    """Schedule the retry; the delay, or None when the runner gave up (the user failed)."""
    message = outcome.message or "A transient error occurred."
    # a pass that got work done before the fault starts the count afresh: a flaky link that
    # moves is retried soon, and never given up on (engine/runner/scheduler.py)
    attempt = attempt_after(job.attempt, progressed=outcome.progressed)
    if gives_up(attempt):
        _failed(store, user, job, f"{message} (gave up after {job.attempt} attempts)", elapsed)
        return None
    delay = retry_delay(attempt, outcome.retry_after, retry_base)
    store.users.update(replace(user, next_sync_due_at=now + delay, sync_attempt=attempt))
    _record_time(store, user.id, elapsed, initial=False, error=message)
    text = (
        f"Transient error on attempt {job.attempt}: {message.rstrip('.')}. "
        f"Retrying in {delay.total_seconds():.0f} s."
    )
    store.statistics.add_report_entry(user.id, "warning", text)
    log.warning("%s: %s", user.email_address, text)
    return delay


def _stopped(
    store: Store,
    user: MigrationUserRow,
    reason: CancelReason | None,
    now: datetime,
    elapsed: float,
) -> None:
    _record_time(store, user.id, elapsed, initial=False, error=None)
    if reason is CancelReason.shutdown:
        # Not the administrator's doing: the pass stays unfinished and due, for the next runner.
        store.users.update(replace(user, next_sync_due_at=now))
        store.statistics.add_report_entry(
            user.id,
            "info",
            "The sync was interrupted because the runner stopped; it resumes "
            "when a runner starts again.",
        )
        return
    status = stopped_status(user)
    # Stopped by the administrator: a later Start is a fresh start, with a fresh attempt count.
    store.users.update(
        with_status(
            user,
            status,
            next_sync_due_at=None,
            sync_attempt=0,
        )
    )
    store.statistics.add_report_entry(user.id, "info", "The sync was stopped.")
    log.info("%s: stopped", user.email_address)


def _record_time(
    store: Store, user_id: int, elapsed: float, *, initial: bool, error: str | None
) -> None:
    stats = store.statistics.get(user_id)
    store.statistics.save(
        replace(
            stats,
            in_progress_seconds=stats.in_progress_seconds + elapsed,
            last_sync_seconds=elapsed,
            initial_sync_seconds=elapsed if initial else stats.initial_sync_seconds,
            last_error=error,
        )
    )


def _touch_batch(store: Store, batch: BatchRow, now: datetime, *, synced: bool) -> None:
    """Stamp the batch's LastSyncedDateTime, InitialSyncDateTime and FinalizedDateTime."""
    counts = store.users.count_by_status(batch.id)
    statuses = [MigrationUserStatus(s) for s, n in counts.items() for _ in range(n)]
    derived = batch_status_from_users(batch_phase(batch.status), statuses)
    updated = replace(batch, last_synced_at=now) if synced else batch
    if derived in _SETTLED and updated.initial_sync_completed_at is None:
        updated = replace(updated, initial_sync_completed_at=now)
    if _finalized(batch, derived) and updated.completed_at is None:
        updated = replace(updated, completed_at=now)
    if updated != batch:
        store.batches.update(updated)


def _finalized(batch: BatchRow, derived: BatchStatus) -> bool:
    """Complete-MigrationBatch is over: Completed, CompletedWithErrors, or Failed because every
    user failed its final pass (stamped too, so the completion mail still goes out)."""
    if derived in _FINISHED:
        return True
    return derived is BatchStatus.Failed and batch_phase(batch.status) is BatchPhase.Completing
