"""Set-MigrationUser -CompleteAfter: the pure decisions (engine/runner/scheduler.py) and the
batch status Get-MigrationBatch shows while users complete one by one (engine/transitions.py),
on literal inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.model import BatchStatus as B
from engine.model import MigrationUserStatus as U
from engine.runner.scheduler import (
    batch_completion_held,
    complete_after_of,
    user_completion_due,
)
from engine.transitions import BatchPhase, batch_status_from_users

NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = NOON + timedelta(days=1)


def test_the_users_own_complete_after_overrides_the_batches() -> None:
    assert complete_after_of(LATER, NOON) == NOON
    assert complete_after_of(NOON, LATER) == LATER
    assert complete_after_of(NOON, None) == NOON
    assert complete_after_of(None, None) is None


@pytest.mark.parametrize(("own", "batch", "now", "synced", "held", "due"), [
    (NOON, None, NOON, True, False, True),  # its own time has come
    (NOON, LATER, NOON, True, False, True),  # earlier than the batch's: completes alone
    (NOON, None, NOON - timedelta(seconds=1), True, False, False),  # not yet
    (NOON, None, LATER, False, False, False),  # still in its initial sync: keeps syncing
    (LATER, NOON, NOON, True, False, False),  # its later time overrides the batch's
    (None, NOON, NOON, True, False, False),  # the batch's completion completes it
    (None, NOON, NOON, True, True, True),  # ...unless another user holds the batch
    (None, LATER, NOON, True, True, False),  # the batch's time not reached either
    (None, None, NOON, True, True, False),  # nothing scheduled for it
])
def test_a_user_completes_alone_once_synced_and_past_its_complete_after(
        own: datetime | None, batch: datetime | None, now: datetime, synced: bool,
        held: bool, due: bool) -> None:
    assert user_completion_due(own, batch, now, active=True, synced=synced,
                               batch_held=held) is due


def test_a_user_of_a_stopped_or_completing_batch_is_not_completed_alone() -> None:
    assert not user_completion_due(NOON, None, LATER, active=False, synced=True,
                                   batch_held=False)


def test_a_users_later_complete_after_holds_the_batch_until_then() -> None:
    assert batch_completion_held([None, LATER], NOON)
    assert not batch_completion_held([None, LATER], LATER)
    assert not batch_completion_held([None, NOON - timedelta(hours=1)], NOON)
    assert not batch_completion_held([None, None], NOON)
    assert not batch_completion_held([], NOON)


@pytest.mark.parametrize(("users", "status"), [
    ([U.Completed, U.Synced], B.Synced),  # the others' status, the completed user aside
    ([U.Completed, U.IncrementalSyncing], B.IncrementalSyncing),
    ([U.Completing, U.Synced], B.Syncing),  # a final pass under way is work in progress
    ([U.Completed, U.Failed, U.Synced], B.SyncedWithErrors),
    ([U.Completed, U.Failed], B.SyncedWithErrors),  # one user's mail arrived: not Failed
    ([U.CompletedWithWarnings, U.IncrementalFailed], B.SyncedWithErrors),
    ([U.Failed, U.Failed], B.Failed),  # nobody's mail arrived
    ([U.Completed, U.Completed], B.Completed),  # every user completed: the batch is
    ([U.Completed, U.CompletedWithWarnings], B.CompletedWithErrors),
    ([U.CompletionFailed, U.Synced], B.SyncedWithErrors),  # a failed final pass is an error
])
def test_a_running_batch_whose_users_complete_one_by_one_shows(
        users: list[U], status: B) -> None:
    assert batch_status_from_users(BatchPhase.Active, users) is status
