"""A transient fault after progress starts the backoff afresh (issue step 8, item 9)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from engine.runner.jobs import SyncJob, SyncKind, SyncOutcome
from engine.runner.passes import record_outcome
from engine.runner.scheduler import attempt_after, retry_delay
from engine.store import Store
from tests.engine.runner.test_runner import add_batch, paths, store  # noqa: F401 (fixtures)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_progress_makes_the_next_attempt_the_first_again() -> None:
    assert attempt_after(7, progressed=True) == 1
    assert attempt_after(7, progressed=False) == 7
    assert retry_delay(attempt_after(7, progressed=True)) == timedelta(seconds=30)


@pytest.mark.parametrize(("progressed", "attempt", "due_in"), [(True, 1, 30), (False, 6, 900)])
def test_a_pass_that_copied_before_its_fault_is_retried_soon(
        store: Store, progressed: bool, attempt: int, due_in: int) -> None:  # noqa: F811
    [user_id] = add_batch(store, "b1", 1)
    user = store.users.get_by_id(user_id)
    store.users.update(replace(user, sync_attempt=5))
    job = SyncJob(user_id, user.email_address, user.batch_id, SyncKind.initial, attempt=6)
    outcome = SyncOutcome.transient("The connection was reset.", progressed=progressed)
    record_outcome(store, job, outcome, None, NOW, 1.0)
    after = store.users.get_by_id(user_id)
    assert after.sync_attempt == attempt
    assert after.next_sync_due_at == NOW + timedelta(seconds=due_in)

