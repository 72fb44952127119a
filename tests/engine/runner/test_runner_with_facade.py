"""The runner against the engine façade's real Start/Stop/Complete/Remove operations.

The façade (engine/service) only records requests — the batch phase, ``stop_requested``, due
times; these tests check that a runner carries them out and that Get-MigrationBatch's derived
status ends where an administrator expects.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.model import BatchStatus, EndpointType
from engine.paths import StatePaths, resolve_state_paths
from engine.runner import CancelToken, Runner, StoreFactory, SyncJob, SyncOutcome, UserSyncer
from engine.service import Engine
from engine.service.batches import BatchChanges, BatchRequest
from engine.service.endpoints import EndpointRequest
from tests.engine.runner.test_runner import wait_until

CSV = (
    b"EmailAddress,UserName,Password\r\nann@contoso.com,ann,Secr3t!\r\nbob@contoso.com,bob,pw2\r\n"
)


@pytest.fixture
def paths(tmp_path: Path) -> StatePaths:
    return resolve_state_paths(tmp_path / "state", env={})


@pytest.fixture
def engine(paths: StatePaths) -> Iterator[Engine]:
    launches: list[int] = []
    with Engine.open(paths, runner_launcher=lambda: launches.append(1)) as opened:
        opened.new_endpoint(
            EndpointRequest(
                name="Source",
                kind=EndpointType.IMAP,
                remote_server="127.0.0.1",
                port=9,
                skip_verification=True,
            )
        )
        yield opened


def slow_syncer(store_factory: StoreFactory, job: SyncJob, token: CancelToken) -> SyncOutcome:
    """Syncs for up to a minute, stopping at once when cancelled."""
    return SyncOutcome.stopped() if token.wait(60) else SyncOutcome.ok()


def quick_syncer(store_factory: StoreFactory, job: SyncJob, token: CancelToken) -> SyncOutcome:
    return SyncOutcome.ok()


class RunnerThread:
    def __init__(self, paths: StatePaths, syncer: UserSyncer) -> None:
        self.stop = threading.Event()
        runner = Runner(paths, syncer, poll_interval=0.02, housekeeping_interval=0.05)
        self.thread = threading.Thread(target=runner.run, args=(False, self.stop))
        self.thread.start()

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()


@pytest.fixture
def slow_runner(paths: StatePaths) -> Iterator[RunnerThread]:
    runner = RunnerThread(paths, slow_syncer)
    yield runner
    runner.finish()


def status(engine: Engine, batch: str = "B1") -> BatchStatus:
    return engine.get_batches(batch)[0].status


def user_status(engine: Engine, address: str) -> str:
    return engine.store.users.get(address).status


def started_batch(engine: Engine) -> None:
    engine.new_batch(BatchRequest(name="B1", source_endpoint="Source", csv_data=CSV))
    engine.start_batch("B1")


def test_start_then_runner_makes_the_batch_synced(engine: Engine, paths: StatePaths) -> None:
    started_batch(engine)
    assert status(engine) is BatchStatus.Starting
    runner = RunnerThread(paths, quick_syncer)
    try:
        wait_until(lambda: status(engine) is BatchStatus.Synced)
    finally:
        runner.finish()


def test_stop_migration_batch_during_sync_ends_stopped(
    engine: Engine, slow_runner: RunnerThread
) -> None:
    started_batch(engine)
    wait_until(lambda: status(engine) is BatchStatus.Syncing)
    wait_until(lambda: user_status(engine, "ann@contoso.com") == "Syncing")
    engine.stop_batch("B1")
    assert wait_until(lambda: status(engine) is BatchStatus.Stopped) < 3
    assert {user_status(engine, a) for a in ("ann@contoso.com", "bob@contoso.com")} == {"Stopped"}


def test_stop_migration_user_during_sync(engine: Engine, slow_runner: RunnerThread) -> None:
    started_batch(engine)
    wait_until(lambda: user_status(engine, "bob@contoso.com") == "Syncing")
    engine.stop_user("bob@contoso.com")
    assert wait_until(lambda: user_status(engine, "bob@contoso.com") == "Stopped") < 3
    assert user_status(engine, "ann@contoso.com") == "Syncing"


def test_remove_migration_user_during_sync_deletes_it(
    engine: Engine, slow_runner: RunnerThread
) -> None:
    started_batch(engine)
    wait_until(lambda: user_status(engine, "bob@contoso.com") == "Syncing")
    engine.remove_user("bob@contoso.com")
    assert wait_until(lambda: engine.store.users.find("bob@contoso.com") is None) < 3
    assert user_status(engine, "ann@contoso.com") == "Syncing"


def test_remove_migration_batch_of_a_synced_batch_during_its_pass(
    engine: Engine, paths: StatePaths
) -> None:
    started_batch(engine)
    runner = RunnerThread(paths, quick_syncer)
    try:
        wait_until(lambda: status(engine) is BatchStatus.Synced)
    finally:
        runner.finish()
    engine.set_batch("B1", BatchChanges(sync_now=True))
    slow = RunnerThread(paths, slow_syncer)
    try:
        wait_until(lambda: status(engine) is BatchStatus.IncrementalSyncing)
        engine.remove_batch("B1")
        assert wait_until(lambda: not engine.get_batches()) < 3
    finally:
        slow.finish()


def test_complete_runs_a_final_pass_and_completes(engine: Engine, paths: StatePaths) -> None:
    started_batch(engine)
    runner = RunnerThread(paths, quick_syncer)
    try:
        wait_until(lambda: status(engine) is BatchStatus.Synced)
        engine.stop_user("bob@contoso.com")
        wait_until(lambda: user_status(engine, "bob@contoso.com") == "IncrementalStopped")
        engine.complete_batch("B1")
        wait_until(lambda: status(engine) is BatchStatus.Completed)
    finally:
        runner.finish()
    batch = engine.store.batches.get("B1")
    assert batch.completed_at is not None
    assert engine.store.users.get("bob@contoso.com").next_sync_due_at is None
    time.sleep(0.1)
    assert status(engine) is BatchStatus.Completed
