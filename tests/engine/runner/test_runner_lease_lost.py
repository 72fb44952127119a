"""A pass whose lease another runner took over ends as "lease lost", not as a failed user.

The syncer writes through a store fenced by its job's lease tenure (engine/store/leases.py),
as the executor does. Midway, another runner ("runner-b") takes the user's lease over; the
pass's next write raises ``LeaseLost`` and writes nothing, and the runner records no outcome:
no Failed status, no error entry, and the user stays with runner-b.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from engine.paths import resolve_state_paths
from engine.runner import CancelReason, CancelToken, StoreFactory, SyncJob, SyncOutcome
from engine.runner.passes import user_resource
from engine.store import Store
from tests.engine.runner.test_runner import Background, add_batch, fast_runner, wait_until


class TakenOverMidway:
    """Writes once, lets runner-b take the lease, writes again (which must be refused)."""

    def __init__(self) -> None:
        self.tokens: list[CancelToken] = []
        self.jobs: list[SyncJob] = []

    def __call__(self, store_factory: StoreFactory, job: SyncJob,
                 token: CancelToken) -> SyncOutcome:
        self.jobs.append(job)
        self.tokens.append(token)
        assert job.fence is not None
        with store_factory().fenced(job.fence) as own:
            own.statistics.add_counts(job.user_id, synced=1)
            with store_factory() as other_runner:  # runner-b, after runner-a stalled
                resource = user_resource(job.user_id)
                assert other_runner.leases.release(resource, job.fence.owner)
                assert other_runner.leases.claim(resource, "runner-b",
                                                 timedelta(minutes=5)) is not None
            own.statistics.add_counts(job.user_id, synced=1)  # raises LeaseLost
            own.statistics.add_report_entry(job.user_id, "info", "must never be written")
        return SyncOutcome.ok()


def test_a_pass_that_lost_its_lease_midway_records_nothing_and_fails_no_one(
        tmp_path: Path) -> None:
    paths = resolve_state_paths(tmp_path / "state", env={})
    with Store.open(paths) as store:
        (user_id,) = add_batch(store, "b1", 1)
    syncer = TakenOverMidway()
    background = Background(fast_runner(paths, syncer, owner="runner-a"))
    try:
        wait_until(lambda: bool(syncer.tokens) and syncer.tokens[0].cancelled)
        wait_until(lambda: not background.runner._running)
    finally:
        background.finish()
    assert syncer.tokens[0].reason is CancelReason.lease_lost
    assert len(syncer.jobs) == 1  # runner-b holds the user: runner-a does not start it again
    with Store.open(paths) as store:
        user = store.users.get_by_id(user_id)
        assert user.status == "Syncing" and user.error is None
        assert store.statistics.get(user_id).synced_item_count == 1
        assert [e.kind for e in store.statistics.report_entries(user_id)
                if e.kind == "error" or "never" in e.message] == []
        lease = store.leases.get(user_resource(user_id))
        assert lease is not None and lease.owner == "runner-b"
