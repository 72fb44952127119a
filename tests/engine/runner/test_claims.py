# ruff: noqa: F811  (the fixture paths is imported and then requested)
"""Claiming a user (engine/runner/passes.py ``claim_user``), on SQLite and on PostgreSQL.

The claim counts the running passes of every runner (their unexpired user leases) inside its
own transaction, so an endpoint's MaxConcurrentMigrations / MaxConcurrentIncrementalSyncs hold
across runners even when two runners picked their candidates from the same stale view; on
PostgreSQL a user row another transaction holds is passed over (``FOR UPDATE SKIP LOCKED``),
not waited for.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from engine.paths import StatePaths
from engine.runner.passes import claim_user, user_resource
from engine.store import Store
from tests.engine.runner.test_runner import add_batch
from tests.engine.store.test_store import paths  # noqa: F401  (both backends)

TTL = timedelta(minutes=1)


def test_an_endpoint_limit_of_one_holds_across_runners(paths: StatePaths) -> None:
    with Store.open(paths) as store:
        first, second = add_batch(store, "b1", 2, max_initial=1, max_incremental=1)
        now = datetime.now(UTC)
        job = claim_user(store, first, "runner-a", TTL, now)
        assert job is not None and job.fence is not None and job.fence.token > 0
        # runner-b saw a free slot a moment ago; the claim recounts and refuses
        assert claim_user(store, second, "runner-b", TTL, now) is None
        assert store.leases.get(user_resource(second)) is None
        assert store.users.get_by_id(second).status == "Queued"
        # runner-a's pass ends (its lease released): the slot is free for runner-b
        assert store.leases.release(user_resource(first), "runner-a")
        assert claim_user(store, second, "runner-b", TTL, now) is not None


def test_an_expired_lease_takes_no_slot_and_kinds_are_counted_apart(
        paths: StatePaths) -> None:
    with Store.open(paths) as store:
        stalled, initial, incremental = add_batch(store, "b1", 3, max_initial=1,
                                                  max_incremental=1)
        now = datetime.now(UTC)
        assert store.leases.claim(user_resource(stalled), "runner-dead", TTL,
                                  now=now - timedelta(minutes=5)) is not None
        user = store.users.get_by_id(incremental)
        store.users.update(replace(user, status="Synced", sync_kind="incremental"))
        assert claim_user(store, initial, "runner-a", TTL, now) is not None
        assert claim_user(store, incremental, "runner-b", TTL, now) is not None
        # both slots taken now: the stalled user's initial pass waits
        assert claim_user(store, stalled, "runner-c", TTL, now) is None


@pytest.mark.parametrize("paths", ["postgresql"], indirect=True)
def test_a_user_row_another_transaction_holds_is_skipped_not_waited_for(
        paths: StatePaths) -> None:
    with Store.open(paths) as store:
        (user_id,) = add_batch(store, "b1", 1)
        assert paths.database is not None
        with psycopg.connect(paths.database) as other:
            other.execute("SELECT id FROM migration_users WHERE id = %s FOR UPDATE",
                          (user_id,))
            started = time.monotonic()
            assert claim_user(store, user_id, "runner-a", TTL, datetime.now(UTC)) is None
            assert time.monotonic() - started < 5  # the lock_timeout is 10 s: it did not wait
        assert claim_user(store, user_id, "runner-a", TTL, datetime.now(UTC)) is not None


def test_the_organisation_wide_max_concurrent_migrations_holds_across_endpoints(
        paths: StatePaths) -> None:
    with Store.open(paths) as store:
        (first,) = add_batch(store, "b1", 1)  # each batch has a source endpoint of its own
        (second,) = add_batch(store, "b2", 1)
        store.config.set("MaxConcurrentMigrations", 1)  # Set-MigrationConfig's key
        now = datetime.now(UTC)
        assert claim_user(store, first, "runner-a", TTL, now) is not None
        assert claim_user(store, second, "runner-b", TTL, now) is None
        store.config.set("MaxConcurrentMigrations", None)  # Unlimited
        assert claim_user(store, second, "runner-b", TTL, now) is not None
