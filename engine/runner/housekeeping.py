"""Settling what nobody is syncing: stopped users and batches being removed.

Stop-MigrationBatch, Stop-MigrationUser and Remove-MigrationBatch only record a request (the
batch phase, the user's ``stop_requested``). A user being synced is stopped by the runner that
holds its lease (through its cancel token); the functions here settle the rest — users waiting
or left half done by a dead runner — so a batch reaches Stopped, and a batch being removed is
deleted once no runner holds any of its users, and so is a user Remove-MigrationUser marked
Removing. Each decision checks the user's lease inside the
same write transaction as the change, so it never races a runner claiming that user.
"""

from __future__ import annotations

import logging
from datetime import datetime

from engine.errors import NotFoundError
from engine.model import MigrationUserStatus
from engine.runner.passes import user_resource
from engine.store import Store
from engine.store.users import MigrationUserRow
from engine.transitions import (
    STOPPABLE_STATUSES,
    BatchPhase,
    batch_phase,
    stopped_status,
    with_status,
)

log = logging.getLogger(__name__)

U = MigrationUserStatus

# In a Stopping batch, users that are settled (Synced, Failed ...) keep their status: the
# batch shows Stopped once nobody is waiting or working, and the runner starts nothing in it.
# Completing: a user whose own CompleteAfter marked it for its final pass (engine/service/
# delays.py) in a batch stopped before a runner claimed it; a Completing *batch* is never stopped
_RUNNING_OR_WAITING = frozenset({U.Queued, U.Starting, U.Syncing, U.IncrementalSyncing, U.Stopping,
                                 U.Completing})


def settle_housekeeping(store: Store, now: datetime) -> None:
    """Run every settling step once."""
    settle_stops(store, now)
    remove_released_users(store, now)
    finish_removals(store, now)


def settle_stops(store: Store, now: datetime) -> int:
    """Turn users asked to stop, whom nobody syncs, into Stopped/IncrementalStopped."""
    phases = {b.id: batch_phase(b.status) for b in store.batches.list()}
    settled = 0
    for user in store.users.list():
        if _should_stop(user, phases.get(user.batch_id)) and _stop_unleased(store, user, now):
            settled += 1
    return settled


def _should_stop(user: MigrationUserRow, phase: BatchPhase | None) -> bool:
    if user.stop_requested:
        return user.status in STOPPABLE_STATUSES
    return phase is BatchPhase.Stopping and user.status in _RUNNING_OR_WAITING


def _stop_unleased(store: Store, user: MigrationUserRow, now: datetime) -> bool:
    with store.transaction():
        if _leased(store, user.id, now):
            return False
        status = stopped_status(user)
        store.users.update(
            with_status(
                user,
                status,
                next_sync_due_at=None,
                sync_attempt=0,
            )
        )
    log.info("%s: stopped (it was not being synced)", user.email_address)
    return True


def remove_released_users(store: Store, now: datetime) -> int:
    """Delete the users Remove-MigrationUser marked Removing, once no runner holds them."""
    removed = 0
    for user in store.users.list(status=U.Removing):
        with store.transaction():
            if _leased(store, user.id, now):
                continue
            try:
                store.users.remove(user.email_address)
            except NotFoundError:
                continue
        log.info("migration user %s removed", user.email_address)
        removed += 1
    return removed


def finish_removals(store: Store, now: datetime) -> int:
    """Delete the batches being removed (phase Removing) that no runner is syncing."""
    removed = 0
    for batch in store.batches.list():
        if batch_phase(batch.status) is not BatchPhase.Removing:
            continue
        with store.transaction():
            users = store.users.list(batch_id=batch.id)
            if any(_leased(store, u.id, now) for u in users):
                continue
            try:
                store.batches.remove(batch.name)
            except NotFoundError:  # removed meanwhile by the façade
                continue
        log.info("migration batch %s removed", batch.name)
        removed += 1
    return removed


def _leased(store: Store, user_id: int, now: datetime) -> bool:
    lease = store.leases.get(user_resource(user_id))
    return lease is not None and lease.expires_at > now
