"""Per-pass statistics (engine/store/passes.py) as the runner writes them, on both backends.

The passes are claimed and ended with the runner's own functions (engine/runner/passes.py:
``claim_user``, ``record_outcome``), so what is tested is the hook, not only the table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from engine.paths import StatePaths, resolve_state_paths
from engine.runner.jobs import SyncJob, SyncOutcome
from engine.runner.passes import claim_user, record_outcome
from engine.store import Store
from engine.store.codec import utc_now
from tests.engine.runner.test_runner import add_batch

TTL = timedelta(seconds=60)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    paths: StatePaths = resolve_state_paths(tmp_path / "state", env={})
    if request.param == "postgresql":
        paths = dataclasses.replace(paths, database=request.getfixturevalue("postgres_url"))
    with Store.open(paths) as opened:
        yield opened


def _claim(store: Store, user_id: int, owner: str = "runner-1") -> SyncJob:
    job = claim_user(store, user_id, owner, TTL, utc_now() + timedelta(seconds=1))
    assert job is not None
    return job


def test_a_pass_records_what_it_copied_how_long_it_took_and_how_it_ended(
        store: Store) -> None:
    [ann, bob] = add_batch(store, "B1", 2)
    store.statistics.add_counts(ann, synced=5, bytes_transferred=500)  # an earlier pass's
    job = _claim(store, ann)
    store.statistics.add_counts(ann, synced=3, bytes_transferred=300)
    [running] = store.passes.for_batch(job.batch_id)
    assert (running.kind, running.outcome, running.finished_at) == ("initial", None, None)
    assert (running.items_copied, running.bytes_copied) == (3, 300)  # so far, while it runs
    store.statistics.add_counts(ann, synced=4, bytes_transferred=400)
    ended = running.started_at + timedelta(seconds=90)
    record_outcome(store, job, SyncOutcome.ok(), None, ended, 90.0)
    [done] = store.passes.for_batch(job.batch_id)
    assert (done.outcome, done.items_copied, done.bytes_copied) == ("ok", 7, 700)
    assert done.seconds == 90.0
    assert (done.retries, done.throttle_wait_seconds) == (0, 0.0)
    assert store.passes.finished() == [done]
    assert store.passes.for_batch(job.batch_id, since=ended + timedelta(seconds=1)) == []
    # bob's pass belongs to the same batch and stays apart
    record_outcome(store, _claim(store, bob), SyncOutcome.failed("No such mailbox."), None,
                   utc_now() + timedelta(seconds=2), 1.0)
    assert [(p.user_id, p.outcome) for p in store.passes.for_batch(job.batch_id)] == [
        (ann, "ok"), (bob, "failed")]


def test_a_throttled_pass_records_its_wait_and_the_retry_counts_it(store: Store) -> None:
    [ann] = add_batch(store, "B1", 1)
    job = _claim(store, ann)
    outcome = SyncOutcome.transient("The server is throttling imsh.", retry_after=120.0,
                                    throttled=True)
    record_outcome(store, job, outcome, None, utc_now() + timedelta(seconds=1), 1.0)
    user = store.users.get_by_id(ann)
    store.users.update(dataclasses.replace(user, next_sync_due_at=utc_now()))
    retry = _claim(store, ann)
    assert retry.attempt == 2
    record_outcome(store, retry, SyncOutcome.transient("The connection was reset."), None,
                   utc_now() + timedelta(seconds=2), 1.0)
    first, second = store.passes.for_batch(job.batch_id)
    assert (first.outcome, first.retries, first.throttle_wait_seconds) == ("transient", 0,
                                                                            120.0)
    assert (second.outcome, second.retries, second.throttle_wait_seconds) == ("transient", 1,
                                                                               0.0)


def test_a_pass_whose_runner_vanished_is_closed_as_interrupted_by_the_next(
        store: Store) -> None:
    [ann] = add_batch(store, "B1", 1)
    job = _claim(store, ann)
    store.statistics.add_counts(ann, synced=2, bytes_transferred=20)
    # the runner is killed: no outcome; its lease is freed and another runner claims ann
    store.leases.release(job.fence.resource if job.fence else "", "runner-1")
    user = store.users.get_by_id(ann)
    store.users.update(dataclasses.replace(user, next_sync_due_at=utc_now()))
    _claim(store, ann, owner="runner-2")
    first, second = store.passes.for_batch(job.batch_id)
    assert (first.outcome, first.items_copied, first.bytes_copied) == ("interrupted", 2, 20)
    assert first.finished_at is not None and first.finished_at >= first.started_at
    assert (second.outcome, second.items_copied) == (None, 0)


def test_removing_a_user_takes_its_passes_away(store: Store) -> None:
    [ann, bob] = add_batch(store, "B1", 2)
    job = _claim(store, ann)
    record_outcome(store, job, SyncOutcome.ok(), None, utc_now() + timedelta(seconds=1), 1.0)
    _claim(store, bob)
    store.users.remove(store.users.get_by_id(ann).email_address)
    assert [p.user_id for p in store.passes.for_batch(job.batch_id)] == [bob]
