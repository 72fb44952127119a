"""Migration users (filters, start/stop/remove one) and the statistics records' sources."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import InvalidStateError, NotFoundError
from engine.model import BatchStatus, MigrationUserStatus, MigrationUserStatusSummary
from engine.service import Engine
from engine.service.batches import BatchRequest
from engine.service.common import user_lease
from engine.service.users import UserChanges

CSV = (b"EmailAddress,UserName,Password\r\nann@contoso.com,ann,pw\r\n"
       b"bob@contoso.com,bob,pw\r\ncid@contoso.com,cid,pw\r\n")
Q = MigrationUserStatus.Queued


@pytest.fixture
def batch(engine: Engine, source: str) -> str:
    engine.new_batch(BatchRequest(name="B1", source_endpoint=source, csv_data=CSV))
    return "B1"


def test_users_are_found_by_identity_batch_status_and_summary(engine: Engine, batch: str) -> None:
    assert engine.get_users("ANN@contoso.com")[0].email_address == "ann@contoso.com"
    assert len(engine.get_users(batch=batch)) == 3
    assert len(engine.get_users(status=Q)) == 3
    assert engine.get_users(status=MigrationUserStatus.Synced) == []
    assert len(engine.get_users(status_summary=MigrationUserStatusSummary.Active)) == 3
    assert len(engine.get_users(result_size=2)) == 2
    with pytest.raises(NotFoundError, match="couldn't be found"):
        engine.get_users("nobody@contoso.com")


def test_stop_and_start_one_user(engine: Engine, batch: str) -> None:
    engine.start_batch(batch)
    stopped = engine.stop_user("bob@contoso.com")
    assert (stopped.status, stopped.status_summary) == (
        MigrationUserStatus.Stopped, MigrationUserStatusSummary.Stopped)
    with pytest.raises(InvalidStateError, match="can't be stopped because its status is Stopped"):
        engine.stop_user("bob@contoso.com")
    with pytest.raises(InvalidStateError, match="can't be started because its status is Queued"):
        engine.start_user("ann@contoso.com")
    launched: list[int] = []
    engine.__init__(engine.store, lambda: launched.append(1))  # type: ignore[misc]
    assert engine.start_user("bob@contoso.com").status is Q
    assert launched == [1]


def test_starting_a_user_of_a_stopped_batch_reactivates_the_batch(
    engine: Engine, batch: str
) -> None:
    engine.start_batch(batch)
    engine.stop_batch(batch)
    engine.start_user("cid@contoso.com")
    assert engine.get_batches(batch)[0].status is BatchStatus.Syncing


@pytest.mark.usefixtures("short_release_wait")
def test_remove_user_now_or_through_the_runner(engine: Engine, batch: str) -> None:
    engine.remove_user("ann@contoso.com")
    assert engine.identities("user") == ["bob@contoso.com", "cid@contoso.com"]
    engine.start_batch(batch)
    bob = engine.store.users.get("bob@contoso.com")
    engine.store.leases.acquire(user_lease(bob.id), "runner-1", timedelta(minutes=1))
    engine.remove_user("bob@contoso.com")
    assert engine.get_users("bob@contoso.com")[0].status is MigrationUserStatus.Removing
    assert engine.get_batches(batch)[0].counts.total == 1  # a user on its way out isn't counted


def test_sync_now_needs_a_synced_user(engine: Engine, batch: str) -> None:
    with pytest.raises(InvalidStateError, match="applies to Synced users"):
        engine.set_user("ann@contoso.com", UserChanges(sync_now=True))


def test_statistics_before_any_sync_are_zero_and_honest(engine: Engine, batch: str) -> None:
    engine.start_batch(batch)
    stats = engine.get_user_statistics("ann@contoso.com", include_report=True,
                                       include_skipped_items=True, diagnostic=True)
    assert stats.user.status is Q
    assert stats.user.statistics.synced_item_count == 0
    assert stats.user.last_successful_sync_at is None
    assert stats.report == () and stats.skipped_items == ()
    assert stats.diagnostic is not None and "runner lease: none" in stats.diagnostic
    plain = engine.get_user_statistics("ann@contoso.com")
    assert plain.report is None and plain.skipped_items is None and plain.diagnostic is None


def test_statistics_show_what_the_runner_recorded(engine: Engine, batch: str) -> None:
    ann = engine.store.users.get("ann@contoso.com")
    engine.store.statistics.add_counts(ann.id, synced=5, skipped=1, bytes_transferred=1234)
    engine.store.statistics.add_report_entry(ann.id, "error", "folder vanished", "Old")
    for n in range(3):
        engine.store.statistics.add_skipped_item(ann.id, "INBOX", "large", "too big",
                                                 subject=f"big {n}", size=40_000_000)
    stats = engine.get_user_statistics("ann@contoso.com", include_report=True,
                                       include_skipped_items=True, skipped_limit=2)
    assert (stats.user.statistics.synced_item_count, stats.user.statistics.bytes_transferred) == (
        5, 1234)
    assert [e.message for e in stats.report or ()] == ["folder vanished"]
    assert [s.subject for s in stats.skipped_items or ()] == ["big 0", "big 1"]
    assert "folder vanished" in engine.get_batches(batch, include_report=True)[0].report[0]


def test_migration_statistics_count_every_user(engine: Engine, batch: str) -> None:
    engine.start_batch(batch)
    engine.stop_user("cid@contoso.com")
    totals = engine.get_statistics()
    assert (totals.counts.total, totals.counts.active, totals.counts.stopped,
            totals.counts.pending, totals.batch_count) == (3, 2, 1, 2, 1)
