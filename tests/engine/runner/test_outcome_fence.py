"""A pass's outcome is recorded only by the runner that still holds the user's lease
(engine/runner/passes.py, record_outcome).

Found by the partition test (tests/integration/test_multihost_runners.py): a host cut off from
PostgreSQL lost its users' leases, another host took one over and synced it, and when the link
healed the cut-off host's worker — whose pass had failed on the dead connection — recorded
"transient error, retry" over the other host's Synced. Literal times, a real store (SQLite;
the fence is the same SQL on PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.runner.jobs import SyncOutcome
from engine.runner.passes import claim_user, record_outcome, user_resource
from engine.store import Store
from tests.engine.runner.test_runner import add_batch, paths, store

__all__ = ["paths", "store"]  # the fixtures

TTL = timedelta(seconds=8)
CUT_OFF, TAKER = "host3:11:1:aaaa", "host1:22:2:bbbb"


def test_a_runner_whose_lease_was_taken_over_records_nothing(store: Store) -> None:
    [user_id] = add_batch(store, "B", 1)
    start = datetime.now(UTC)
    stale = claim_user(store, user_id, CUT_OFF, TTL, start)
    assert stale is not None
    later = start + TTL + timedelta(seconds=1)  # the cut-off host's lease has expired
    taken = claim_user(store, user_id, TAKER, TTL, later)
    assert taken is not None
    record_outcome(store, taken, SyncOutcome.ok(), None, later + timedelta(seconds=1), 1.0)
    store.leases.release(user_resource(user_id), TAKER)
    synced = store.users.get_by_id(user_id)
    assert synced.status == "Synced"

    record_outcome(store, stale, SyncOutcome.transient("the connection is closed"), None,
                   later + timedelta(seconds=2), 9.0)
    after = store.users.get_by_id(user_id)
    assert (after.status, after.sync_attempt, after.next_sync_due_at) == (
        synced.status, synced.sync_attempt, synced.next_sync_due_at)


def test_a_runner_whose_expired_lease_nobody_took_records_its_outcome(store: Store) -> None:
    """Expired but still naming this runner: nobody else has touched the user, so the outcome
    (under the write lock) is still this runner's to record."""
    [user_id] = add_batch(store, "B", 1)
    start = datetime.now(UTC)
    job = claim_user(store, user_id, CUT_OFF, TTL, start)
    assert job is not None
    record_outcome(store, job, SyncOutcome.ok(), None, start + TTL * 2, 1.0)
    assert store.users.get_by_id(user_id).status == "Synced"
