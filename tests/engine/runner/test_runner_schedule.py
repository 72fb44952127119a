"""When the runner schedules the next pass: ``IncrementalSyncInterval`` (the batch's own, else
the configured one, else 24 h) and the durable transient-fault attempt count (a restarted runner
keeps counting toward giving up)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from engine.errors import ValidationError
from engine.model import MigrationUserStatus as U
from engine.paths import StatePaths, resolve_state_paths
from engine.runner import SyncJob, SyncOutcome
from engine.runner.intervals import (
    CONFIG_KEY,
    batch_interval,
    configured_interval,
    set_configured_interval,
    validate_interval,
)
from engine.store import Store
from tests.engine.runner.test_runner import (
    Background,
    Recorder,
    add_batch,
    fast_runner,
    run_until_idle,
    wait_until,
)


@pytest.fixture
def paths(tmp_path: Path) -> StatePaths:
    return resolve_state_paths(tmp_path / "state", env={})


@pytest.fixture
def store(paths: StatePaths) -> Iterator[Store]:
    with Store.open(paths) as opened:
        yield opened


def _due_after_pass(paths: StatePaths, store: Store, user_id: int) -> timedelta:
    run_until_idle(paths, Recorder())
    user = store.users.get_by_id(user_id)
    assert user.next_sync_due_at is not None and user.last_successful_sync_at is not None
    return user.next_sync_due_at - user.last_successful_sync_at


def test_next_pass_is_due_one_day_after_success_by_default(paths: StatePaths, store: Store
                                                          ) -> None:
    [user_id] = add_batch(store, "b1", 1, status=U.Synced, sync_kind="incremental")
    assert _due_after_pass(paths, store, user_id) == timedelta(days=1)


def test_configured_interval_applies_to_batches_without_their_own(
    paths: StatePaths, store: Store
) -> None:
    [user_id] = add_batch(store, "b1", 1, status=U.Synced, sync_kind="incremental")
    set_configured_interval(store.config, timedelta(minutes=30))
    assert store.config.get(CONFIG_KEY) == 1800
    assert _due_after_pass(paths, store, user_id) == timedelta(minutes=30)


def test_batch_interval_overrides_the_configured_one(paths: StatePaths, store: Store) -> None:
    [user_id] = add_batch(store, "b1", 1, status=U.Synced, sync_kind="incremental")
    set_configured_interval(store.config, timedelta(minutes=30))
    batch = store.batches.get("b1")
    store.batches.update(replace(batch, incremental_sync_interval_seconds=3))
    assert batch_interval(store, store.batches.get("b1")) == timedelta(seconds=3)
    assert _due_after_pass(paths, store, user_id) == timedelta(seconds=3)


def test_interval_bounds_and_reset(store: Store) -> None:
    for bad in (timedelta(0), timedelta(seconds=-5), timedelta(days=366),
                timedelta(seconds=1.5)):
        with pytest.raises(ValidationError, match="IncrementalSyncInterval"):
            validate_interval(bad)
    set_configured_interval(store.config, timedelta(hours=2))
    set_configured_interval(store.config, None)
    assert configured_interval(store.config) == timedelta(days=1)


def test_transient_attempts_are_counted_in_the_store(paths: StatePaths, store: Store) -> None:
    [user_id] = add_batch(store, "b1", 1)
    syncer = Recorder(fail=lambda job: SyncOutcome.transient("server busy"))
    background = Background(fast_runner(paths, syncer))
    try:
        wait_until(lambda: store.users.get_by_id(user_id).sync_attempt == 1)
    finally:
        background.finish()
    user = store.users.get_by_id(user_id)
    assert (user.status, user.sync_attempt, len(syncer.calls)) == ("Syncing", 1, 1)


def test_a_restarted_runner_keeps_counting_and_gives_up_at_ten(
    paths: StatePaths, store: Store
) -> None:
    [user_id] = add_batch(store, "b1", 1)
    user = store.users.get_by_id(user_id)
    store.users.update(replace(user, sync_attempt=9))  # nine transient failures, other runners
    seen: list[SyncJob] = []

    def busy(job: SyncJob) -> SyncOutcome:
        seen.append(job)
        return SyncOutcome.transient("server busy")

    run_until_idle(paths, Recorder(fail=busy))
    assert [job.attempt for job in seen] == [10]
    user = store.users.get_by_id(user_id)
    assert (user.status, user.sync_attempt) == ("Failed", 0)
    assert user.error == "server busy (gave up after 10 attempts)"


def test_success_resets_the_attempt_count(paths: StatePaths, store: Store) -> None:
    [user_id] = add_batch(store, "b1", 1)
    store.users.update(replace(store.users.get_by_id(user_id), sync_attempt=4))
    syncer = Recorder()
    run_until_idle(paths, syncer)
    assert [job.attempt for job in syncer.calls] == [5]
    assert store.users.get_by_id(user_id).sync_attempt == 0
