"""Which user statuses the runner picks up, sets while a pass runs, and sets when it ends.

The batch's stored value is its :class:`~engine.transitions.BatchPhase` (the administrator's
latest request). :func:`batch_phase` also accepts an Exchange batch status word in that column
(``Stopped`` → Stopping, ``Completed`` → Completing ...), so the runner behaves sensibly whatever
the façade stores. Users follow docs/status-model.md::

    initial:      Queued/Starting ─► Syncing ─► Synced | Failed | Stopped
    incremental:  Synced/IncrementalSynced ─► IncrementalSyncing ─► IncrementalSynced
                  | IncrementalFailed | IncrementalStopped
    final pass:   (batch Completing) ─► Completing ─► Completed | CompletionFailed
"""

from __future__ import annotations

from engine.model import BatchStatus, MigrationUserStatus
from engine.runner.jobs import SyncJob, SyncKind
from engine.transitions import BatchPhase

U = MigrationUserStatus

STOPPED_STATUSES: frozenset[str] = frozenset({U.Stopped, U.IncrementalStopped})

# A user in one of these statuses whose next sync is due gets a pass (see :func:`runnable`).
# Syncing, IncrementalSyncing and Completing are here so that a pass a dead runner left half
# done is resumed (its lease tells whether somebody still works on it). Stopped users are here
# for Complete-MigrationBatch, which makes them due for the final pass.
DUE_STATUSES: tuple[str, ...] = (
    U.Queued,
    U.Starting,
    U.Syncing,
    U.Synced,
    U.IncrementalSyncing,
    U.IncrementalSynced,
    U.Completing,
    U.Stopped,
    U.IncrementalStopped,
)

# Users in these statuses have a pass under way or waiting: ``--until-idle`` does not exit
# while one of them is runnable and has a due time (a retry after a transient fault, say).
UNFINISHED_STATUSES: tuple[str, ...] = (
    U.Queued,
    U.Starting,
    U.Syncing,
    U.IncrementalSyncing,
    U.Completing,
    U.Stopped,
    U.IncrementalStopped,
)

# What a stop (batch Stopping, or Stop-MigrationUser) turns these users into when nobody is
# syncing them.
STOPPABLE_STATUSES: frozenset[str] = frozenset(
    {
        U.Queued,
        U.Starting,
        U.Syncing,
        U.IncrementalSyncing,
        U.Synced,
        U.IncrementalSynced,
        U.Stopping,
    }
)

RUNNABLE_PHASES = frozenset({BatchPhase.Active, BatchPhase.Completing})

_PHASE_OF_STATUS: dict[str, BatchPhase] = {
    BatchStatus.Created: BatchPhase.Created,
    BatchStatus.Stopping: BatchPhase.Stopping,
    BatchStatus.Stopped: BatchPhase.Stopping,
    BatchStatus.Removing: BatchPhase.Removing,
    BatchStatus.Completing: BatchPhase.Completing,
    BatchStatus.Completed: BatchPhase.Completing,
    BatchStatus.CompletedWithErrors: BatchPhase.Completing,
}


def runnable(status: str, phase: BatchPhase) -> bool:
    """May a due user in ``status`` get a pass while its batch is in ``phase``? A stopped user
    only for the final pass of a batch being completed; Start-MigrationUser queues it again."""
    if status in STOPPED_STATUSES:
        return phase is BatchPhase.Completing
    return status in DUE_STATUSES and phase in RUNNABLE_PHASES


def batch_phase(stored: str) -> BatchPhase:
    """The phase a batch's stored status column means."""
    try:
        return BatchPhase(stored)
    except ValueError:
        return _PHASE_OF_STATUS.get(stored, BatchPhase.Active)


def job_kind(sync_kind: str) -> SyncKind:
    return SyncKind.incremental if sync_kind == SyncKind.incremental else SyncKind.initial


def running_status(job: SyncJob) -> MigrationUserStatus:
    if job.final:
        return U.Completing
    return U.Syncing if job.kind is SyncKind.initial else U.IncrementalSyncing


def succeeded_status(job: SyncJob) -> MigrationUserStatus:
    if job.final:
        return U.Completed
    return U.Synced if job.kind is SyncKind.initial else U.IncrementalSynced


def failed_status(job: SyncJob) -> MigrationUserStatus:
    if job.final:
        return U.CompletionFailed
    return U.Failed if job.kind is SyncKind.initial else U.IncrementalFailed


def stopped_status(sync_kind: str) -> MigrationUserStatus:
    return U.Stopped if job_kind(sync_kind) is SyncKind.initial else U.IncrementalStopped
