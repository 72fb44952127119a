"""Which batch and user operations are legal in which status, and how a batch's status follows.

Two ideas keep the state machine small:

* A batch stores only the administrator's latest intent, its :class:`BatchPhase` (set by
  New/Start/Stop/Complete/Remove-MigrationBatch). Its visible :class:`BatchStatus` is *derived*
  from that phase and its users' statuses by :func:`batch_status_from_users`; it is never stored
  independently, so it cannot drift from the users.
* Each ``check_*`` function is called by the engine before it changes a phase. It raises
  :class:`InvalidStateError` when Exchange would refuse, and otherwise returns nothing (or, for
  Start, which of its three meanings applies).

The allowed-from sets follow reference/ms-cmdlets.md A7, A9-A12 (quoted next to each set). The
reference records no Exchange message text for these refusals (§C), so every message here is
imsh's wording, written in the style of Exchange's CSV messages (§B9). docs/status-model.md is
the human-readable table of the same rules.

This is the one home of the status rules: besides the cmdlets' checks and the derived batch
status, the user statuses the runner picks up and sets while a pass runs and when it ends
(the last section; they were engine/runner/status.py), and the one way a user row's status
changes (:func:`with_status`, which keeps ``status_summary`` in step). Users follow
docs/status-model.md::

    initial:      Queued/Starting ─► Syncing ─► Synced | Failed | Stopped
    incremental:  Synced/IncrementalSynced ─► IncrementalSyncing ─► IncrementalSynced
                  | IncrementalFailed | IncrementalStopped
    final pass:   (batch Completing) ─► Completing ─► Completed | CompletionFailed
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from enum import StrEnum
from typing import Protocol

from engine.errors import InvalidStateError
from engine.model import BatchStatus, MigrationUserStatus, SyncKind, status_summary
from engine.store.users import MigrationUserRow

B = BatchStatus
U = MigrationUserStatus


class BatchPhase(StrEnum):
    """The administrator's latest request for a batch (what the runner works towards)."""

    Created = "Created"  # New-MigrationBatch without -AutoStart
    Active = "Active"  # Start-MigrationBatch (or -AutoStart): initial, then incremental sync
    Stopping = "Stopping"  # Stop-MigrationBatch
    Completing = "Completing"  # Complete-MigrationBatch: a final sync, then no more syncs
    Removing = "Removing"  # Remove-MigrationBatch: the runner stops, the store deletes


class BatchAction(StrEnum):
    """The batch cmdlets whose legality depends on the status."""

    Start = "Start"
    Stop = "Stop"
    Complete = "Complete"
    Remove = "Remove"
    Set = "Set"


class StartKind(StrEnum):
    """What Start-MigrationBatch means in a given status (REF Start-MigrationBatch)."""

    Start = "Start"  # "starts a pending migration batch that was created, but not started"
    Resume = "Resume"  # "also resumes a Stopped migration batch"
    RetryFailed = "RetryFailed"  # "retry failures within a Failed or Synced with Errors ... batch"


# "starts a pending ... batch", "resumes a Stopped ... batch", "retry failures within a Failed or
# Synced with Errors", "[cloud] can also retry failures within a Completed with Errors migration
# batch", "[cloud] can be run at any time to retry failed users within the batch". "At any time"
# is read as: whenever the batch is not on its way out (Stopping, Completing, Removing) or done.
_START_KIND: dict[BatchStatus, StartKind] = {
    B.Created: StartKind.Start,
    B.Stopped: StartKind.Resume,
    B.Failed: StartKind.RetryFailed,
    B.SyncedWithErrors: StartKind.RetryFailed,
    B.CompletedWithErrors: StartKind.RetryFailed,
    B.Starting: StartKind.RetryFailed,
    B.Syncing: StartKind.RetryFailed,
    B.Synced: StartKind.RetryFailed,
    B.IncrementalSyncing: StartKind.RetryFailed,
    B.Waiting: StartKind.RetryFailed,
}

ALLOWED: dict[BatchAction, frozenset[BatchStatus]] = {
    BatchAction.Start: frozenset(_START_KIND),
    # "You can only stop migration batches that have mailboxes that are still in the process of
    # being migrated or are waiting to be migrated ... If all migration requests in a migration
    # batch are completed or failed, this cmdlet doesn't run." EAC Pause also stops a Synced
    # batch's incremental syncs.
    BatchAction.Stop: frozenset(
        {B.Starting, B.Waiting, B.Syncing, B.IncrementalSyncing, B.Synced, B.SyncedWithErrors}
    ),
    # "has a status of Synced or SyncedWithErrors"; Exchange 2013 also reran it on Completed with
    # Errors to finalize the failed users. IncrementalSyncing is a Synced batch in its daily pass.
    BatchAction.Complete: frozenset(
        {B.Synced, B.SyncedWithErrors, B.IncrementalSyncing, B.CompletedWithErrors}
    ),
    # "delete a migration batch that either isn't running or is completed"; for IMAP, removing a
    # Synced batch is how incremental synchronization is ended (PS-IMAP Step 6), so the settled
    # statuses of an active batch are removable too. Corrupted needs -Force on-premises; imsh
    # lets Remove clean it up.
    BatchAction.Remove: frozenset(
        {B.Created, B.Stopped, B.Failed, B.Synced, B.SyncedWithErrors, B.IncrementalSyncing,
         B.Completed, B.CompletedWithErrors, B.Corrupted}
    ),
    # Not documented. EAC: a Stopped batch "you can start, edit, or delete"; the cloud also edits
    # running batches (-CompleteAfter, -SyncNow, -ApproveSkippedItems). Refused only while the
    # batch is going away or finished.
    BatchAction.Set: frozenset(set(B) - {B.Removing, B.Completing, B.Completed, B.Corrupted}),
}

# imsh's wording (no Exchange text is documented): the reason each refusal gives.
_WHY: dict[BatchStatus, str] = {
    B.Created: "it hasn't been started",
    B.Starting: "it's being started",
    B.Syncing: "its mailboxes are being synchronized",
    B.IncrementalSyncing: "its mailboxes are being synchronized",
    B.Synced: "it's synchronized",
    B.SyncedWithErrors: "it's synchronized",
    B.Stopping: "it's being stopped",
    B.Stopped: "it's already stopped",
    B.Completing: "it's being completed",
    B.Completed: "it's already completed",
    B.CompletedWithErrors: "it's already completed",
    B.Failed: "all of its users failed",
    B.Removing: "it's being removed",
    B.Corrupted: "it's corrupted",
    B.Waiting: "it's waiting to start",
}

_VERB: dict[BatchAction, str] = {
    BatchAction.Start: "started",
    BatchAction.Stop: "stopped",
    BatchAction.Complete: "completed",
    BatchAction.Remove: "removed",
    BatchAction.Set: "changed",
}


def refusal_message(action: BatchAction, status: BatchStatus, name: str) -> str:
    """imsh's text for refusing ``action`` on batch ``name`` in ``status``."""
    return (
        f'The migration batch "{name}" can\'t be {_VERB[action]} because {_WHY[status]} '
        f"(status {status})."
    )


def _check(action: BatchAction, status: BatchStatus, name: str) -> None:
    if status not in ALLOWED[action]:
        raise InvalidStateError(
            refusal_message(action, status, name), error_id=f"CannotBe{_VERB[action].title()}"
        )


def check_start(status: BatchStatus, name: str) -> StartKind:
    """Start-MigrationBatch: what starting means here, or :class:`InvalidStateError`."""
    _check(BatchAction.Start, status, name)
    return _START_KIND[status]


def check_stop(status: BatchStatus, name: str) -> None:
    """Stop-MigrationBatch: refuse unless the batch has users migrating or waiting to."""
    _check(BatchAction.Stop, status, name)


def check_complete(status: BatchStatus, name: str) -> None:
    """Complete-MigrationBatch: refuse unless the batch finished its initial sync."""
    _check(BatchAction.Complete, status, name)


def check_remove(status: BatchStatus, name: str) -> None:
    """Remove-MigrationBatch: refuse while the batch is running its initial sync or changing."""
    _check(BatchAction.Remove, status, name)


def check_set(status: BatchStatus, name: str) -> None:
    """Set-MigrationBatch: refuse once the batch is completed or going away."""
    _check(BatchAction.Set, status, name)


SYNC_NOW_ALLOWED = frozenset(
    {B.Starting, B.Syncing, B.Synced, B.SyncedWithErrors, B.IncrementalSyncing}
)


def check_sync_now(status: BatchStatus, name: str) -> None:
    """Set-MigrationBatch -SyncNow "starts an immediate sync for users that have already reached
    Synced status": only meaningful while the batch is active."""
    if status not in SYNC_NOW_ALLOWED:
        raise InvalidStateError(
            f'The migration batch "{name}" can\'t be synchronized now because '
            f"{_WHY[status]} (status {status}).",
            error_id="CannotSyncNow",
        )


_BLOCKS_SYNC_AND_COMPLETE = frozenset(
    {U.Failed, U.IncrementalFailed, U.CompletionFailed, U.Corrupted, U.Stopped,
     U.IncrementalStopped}
)


def check_sync_and_complete(user_statuses: Iterable[MigrationUserStatus], name: str) -> None:
    """Complete-MigrationBatch -SyncAndComplete: "the batch must have zero failed, corrupted, or
    stopped items; otherwise, the cmdlet returns an error"."""
    blocking = sum(1 for s in user_statuses if s in _BLOCKS_SYNC_AND_COMPLETE)
    if blocking:
        raise InvalidStateError(
            f'The migration batch "{name}" can\'t be synchronized and completed because '
            f"{blocking} of its users are failed, corrupted or stopped. Start the batch to retry "
            "them, or remove them from the batch.",
            error_id="CannotSyncAndComplete",
        )


# --- migration users (Start-/Stop-/Remove-MigrationUser) ------------------------------------

USER_START_ALLOWED = frozenset(
    {U.Stopped, U.IncrementalStopped, U.Failed, U.IncrementalFailed, U.CompletionFailed}
)
# Start-MigrationUser on a user kept in sync runs an incremental pass now (imsh, issue 5).
USER_SYNC_NOW_ALLOWED = frozenset({U.Synced, U.IncrementalSynced})
USER_STOP_ALLOWED = frozenset(
    {U.Queued, U.Starting, U.Validating, U.Provisioning, U.ProvisionUpdating, U.Syncing,
     U.IncrementalSyncing, U.Synced, U.IncrementalSynced}
)
USER_REMOVE_REFUSED = frozenset({U.Removing, U.Completing, U.Stopping})


def _user_refusal(verb: str, address: str, status: MigrationUserStatus) -> InvalidStateError:
    # imsh's wording.
    return InvalidStateError(
        f'The migration user "{address}" can\'t be {verb} because its status is {status}.',
        error_id=f"UserCannotBe{verb.title()}",
    )


def check_user_start(status: MigrationUserStatus, address: str) -> None:
    """Start-MigrationUser resumes a stopped user or retries a failed one (EAC "Resume"),
    or runs a pass now for a synced one."""
    if status not in USER_START_ALLOWED | USER_SYNC_NOW_ALLOWED:
        raise _user_refusal("started", address, status)


def check_user_stop(status: MigrationUserStatus, address: str) -> None:
    """Stop-MigrationUser stops a user that is waiting, syncing or kept in sync."""
    if status not in USER_STOP_ALLOWED:
        raise _user_refusal("stopped", address, status)


def check_user_remove(status: MigrationUserStatus, address: str) -> None:
    """Remove-MigrationUser: refused only while the user is in the middle of a change."""
    if status in USER_REMOVE_REFUSED:
        raise _user_refusal("removed", address, status)


# --- deriving the batch status ---------------------------------------------------------------

_WAITING = frozenset({U.Queued, U.Starting})
_WORKING = frozenset(
    {U.Validating, U.Provisioning, U.ProvisionUpdating, U.Syncing, U.Stopping, U.Completing}
)
_FAILED = frozenset({U.Failed, U.IncrementalFailed, U.CompletionFailed, U.Corrupted})
STOPPED_STATUSES: frozenset[str] = frozenset({U.Stopped, U.IncrementalStopped})
_COMPLETED_CLEAN = frozenset({U.Completed})
_COMPLETED_WITH_WARNINGS = frozenset({U.CompletedWithWarnings})


def batch_status_from_users(
    phase: BatchPhase, user_statuses: Iterable[MigrationUserStatus]
) -> BatchStatus:
    """The batch status Get-MigrationBatch shows, from the phase and the users' statuses.

    Users being removed (status Removing) are ignored: they are on their way out.
    """
    users: list[MigrationUserStatus] = [s for s in user_statuses if s != U.Removing]
    if phase is BatchPhase.Created:
        return B.Created
    if phase is BatchPhase.Removing:
        return B.Removing
    if phase is BatchPhase.Stopping:
        return _stopping_status(users)
    if phase is BatchPhase.Completing:
        return _completing_status(users)
    return _active_status(users)


def _active_status(users: list[MigrationUserStatus]) -> BatchStatus:
    # Set-MigrationUser -CompleteAfter completes users one by one while the batch runs: the
    # batch shows what its other users do, and is Completed once every user has completed.
    done = _COMPLETED_CLEAN | _COMPLETED_WITH_WARNINGS
    if users and all(s in done for s in users):
        return _completing_status(users)
    completed = sum(1 for s in users if s in done)
    users = [s for s in users if s not in done]
    if users and all(s in _WAITING for s in users):
        return B.Starting  # started, but the runner has picked up nobody yet
    if any(s in _WAITING or s in _WORKING for s in users):
        return B.Syncing  # somebody's initial sync is still to do or under way
    if any(s is U.IncrementalSyncing for s in users):
        return B.IncrementalSyncing
    return _settled_status(
        [s for s in users if s not in STOPPED_STATUSES], had_users=bool(users), completed=completed
    )


def _settled_status(
    users: list[MigrationUserStatus], *, had_users: bool, completed: int = 0
) -> BatchStatus:
    """Every user has finished its pass: Synced, SyncedWithErrors or Failed. A batch whose users
    were all stopped one by one (Stop-MigrationUser) is Stopped.

    ``completed`` counts the users already completed one by one (Set-MigrationUser
    -CompleteAfter): their mail arrived, so a batch whose every other user failed has errors
    but did not fail as a whole."""
    if not users:
        return B.Stopped if had_users else B.Synced
    failed = sum(1 for s in users if s in _FAILED)
    if failed == len(users) and not completed:
        return B.Failed
    return B.SyncedWithErrors if failed else B.Synced


def _stopping_status(users: list[MigrationUserStatus]) -> BatchStatus:
    still_running = _WAITING | _WORKING | {U.IncrementalSyncing}
    return B.Stopping if any(s in still_running for s in users) else B.Stopped


def _completing_status(users: list[MigrationUserStatus]) -> BatchStatus:
    finished = _COMPLETED_CLEAN | _COMPLETED_WITH_WARNINGS | _FAILED
    if not all(s in finished for s in users):
        return B.Completing
    if users and all(s in _FAILED for s in users):
        return B.Failed
    if any(s not in _COMPLETED_CLEAN for s in users):
        return B.CompletedWithErrors
    return B.Completed


# --- what the runner picks up and sets -----------------------------------------------------------
#
# The batch's stored value is its BatchPhase (the administrator's latest request).
# :func:`batch_phase` also accepts an Exchange batch status word in that column (``Stopped`` ->
# Stopping, ``Completed`` -> Completing ...), so the runner behaves sensibly whatever the façade
# stores.

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


class Pass(Protocol):
    """What the status of a pass depends on (a :class:`engine.runner.jobs.SyncJob`)."""

    @property
    def kind(self) -> SyncKind: ...

    @property
    def final(self) -> bool: ...


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


def running_status(job: Pass) -> MigrationUserStatus:
    if job.final:
        return U.Completing
    return U.Syncing if job.kind is SyncKind.initial else U.IncrementalSyncing


def succeeded_status(job: Pass) -> MigrationUserStatus:
    if job.final:
        return U.Completed
    return U.Synced if job.kind is SyncKind.initial else U.IncrementalSynced


def failed_status(job: Pass) -> MigrationUserStatus:
    if job.final:
        return U.CompletionFailed
    return U.Failed if job.kind is SyncKind.initial else U.IncrementalFailed


def stopped_status(user: MigrationUserRow) -> MigrationUserStatus:
    """Stopped before the initial sync finished, IncrementalStopped after it (the one rule for
    the runner and the cmdlets alike; the runner sets ``sync_kind`` and
    ``last_successful_sync_at`` together when an initial pass succeeds)."""
    finished_initial = (job_kind(user.sync_kind) is SyncKind.incremental
                        or user.last_successful_sync_at is not None)
    return U.IncrementalStopped if finished_initial else U.Stopped


def with_status(
    user: MigrationUserRow, status: MigrationUserStatus, **changes: object
) -> MigrationUserRow:
    """``user`` with a new status, its summary derived from it, and other field changes."""
    return replace(user, status=str(status), status_summary=str(status_summary(status)),
                   **changes)  # type: ignore[arg-type]
