# ruff: noqa: F811  (the fixtures paths and store are imported and then requested)
"""Fencing tokens (engine/store/leases.py), on SQLite and on PostgreSQL.

Every tenure of a lease gets a larger token than the one before; a store fenced by a tenure
that was taken over (or ran out) refuses every write with ``LeaseLost`` and writes nothing,
while the new holder's fenced store writes as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from engine.paths import StatePaths
from engine.store import Store
from engine.store.codec import utc_now
from engine.store.leases import LeaseFence, LeaseLost
from engine.store.sync_state import FolderRow, PendingMessage
from tests.engine.store.test_store import (  # noqa: F401  (fixtures, re-used on both backends)
    T0,
    _batch,
    _user_spec,
    paths,
    store,
)

TTL = timedelta(minutes=1)


def test_a_takeover_gets_a_larger_token_and_a_renewal_keeps_it(store: Store) -> None:
    first = store.leases.claim("user:1", "runner-a", TTL, now=T0)
    assert first is not None
    assert store.leases.claim("user:1", "runner-b", TTL, now=T0 + timedelta(seconds=30)) is None
    # the holder claiming again extends its own tenure: same token
    assert store.leases.claim("user:1", "runner-a", TTL, now=T0 + timedelta(seconds=30)) == first
    assert store.leases.renew("user:1", "runner-a", TTL, now=T0 + timedelta(seconds=50))
    lease = store.leases.get("user:1")
    assert lease is not None and lease.token == first
    taken = store.leases.claim("user:1", "runner-b", TTL, now=T0 + timedelta(minutes=5))
    assert taken is not None and taken > first
    # runner-a coming back after b's tenure ran out starts a tenure of its own, larger again
    back = store.leases.claim("user:1", "runner-a", TTL, now=T0 + timedelta(minutes=10))
    assert back is not None and back > taken
    # tokens come from one counter: another resource's tenure never repeats one
    other = store.leases.claim("user:2", "runner-a", TTL, now=T0)
    assert other is not None and other not in (first, taken, back)


def test_the_host_is_recorded_with_the_lease(paths: StatePaths) -> None:
    from dataclasses import replace

    with Store.open(replace(paths, host="host-b")) as on_b:
        assert on_b.leases.claim("user:7", "runner-b", TTL) is not None
        lease = on_b.leases.get("user:7")
    assert lease is not None and lease.host == "host-b"


def _user_with_folder(store: Store) -> tuple[int, int]:
    user = store.users.add(_batch(store).id, _user_spec())
    folder = store.folders.save(user.id, FolderRow("INBOX", "/", "INBOX", source_uidvalidity=7))
    return user.id, folder.id


def _writes(store: Store, user_id: int, folder_id: int) -> list[tuple[str, Callable[[], object]]]:
    """What a pass writes: intent rows, counters, report entries, folder state."""
    return [
        ("record_pending", lambda: store.messages.record_pending(
            folder_id, [PendingMessage(1, "fp-1", 100)])),
        ("add_counts", lambda: store.statistics.add_counts(user_id, synced=1,
                                                           bytes_transferred=100)),
        ("add_report_entry", lambda: store.statistics.add_report_entry(
            user_id, "info", "written by a runner that lost its lease")),
        ("folders.save", lambda: store.folders.save(user_id, FolderRow(
            "INBOX", "/", "INBOX", source_uidvalidity=7, source_uidnext=99, id=folder_id))),
    ]


def test_a_runner_whose_lease_was_taken_over_writes_nothing(paths: StatePaths) -> None:
    now = utc_now()
    with Store.open(paths) as setup:
        user_id, folder_id = _user_with_folder(setup)
        resource = f"user:{user_id}"
        stale = setup.leases.claim(resource, "runner-a", TTL, now=now - timedelta(minutes=5))
        fresh = setup.leases.claim(resource, "runner-b", TTL, now=now)
        assert stale is not None and fresh is not None
        entries_before = len(setup.statistics.report_entries(user_id))

    with Store.open(paths).fenced(LeaseFence(resource, "runner-a", stale)) as lost:
        for name, write in _writes(lost, user_id, folder_id):
            with pytest.raises(LeaseLost):
                write()
            assert not lost.db.in_transaction, name

    with Store.open(paths) as check:
        assert check.messages.list(folder_id) == []
        stats = check.statistics.get(user_id)
        assert (stats.synced_item_count, stats.bytes_transferred) == (0, 0)
        assert len(check.statistics.report_entries(user_id)) == entries_before
        assert check.folders.get(user_id, "INBOX").source_uidnext is None

    with Store.open(paths).fenced(LeaseFence(resource, "runner-b", fresh)) as holder:
        for _name, write in _writes(holder, user_id, folder_id):
            write()
        assert [m.source_uid for m in holder.messages.list(folder_id)] == [1]
        assert holder.statistics.get(user_id).synced_item_count == 1


def test_an_expired_lease_or_an_older_tenure_of_the_same_owner_writes_nothing(
        paths: StatePaths) -> None:
    now = utc_now()
    with Store.open(paths) as setup:
        user_id, _folder_id = _user_with_folder(setup)
        resource = f"user:{user_id}"
        expired = setup.leases.claim(resource, "runner-a", TTL, now=now - timedelta(minutes=5))
        assert expired is not None
    with Store.open(paths).fenced(LeaseFence(resource, "runner-a", expired)) as late:
        with pytest.raises(LeaseLost, match="another runner holds it now"):
            late.statistics.add_counts(user_id, synced=1)
        # the same owner re-claims: a new tenure, and the old one's fence stays closed
        with Store.open(paths) as runner:
            again = runner.leases.claim(resource, "runner-a", TTL, now=now)
        assert again is not None and again != expired
        with pytest.raises(LeaseLost):
            late.statistics.add_counts(user_id, synced=1)
    with Store.open(paths) as check:
        assert check.statistics.get(user_id).synced_item_count == 0
