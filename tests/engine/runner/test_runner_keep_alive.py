"""``Runner(keep_alive=True).run(until_idle=True)``: the on-demand runner waits for the next
incremental pass instead of exiting, and exits once nothing is due at all (every batch
stopped, completed or removed) or its state directory is gone. Real SQLite, a fake syncer."""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from engine.model import MigrationUserStatus as U
from engine.paths import StatePaths
from engine.runner import Runner
from engine.store import Store
from engine.transitions import BatchPhase
from tests.engine.runner.test_runner import Recorder, add_batch, paths, store, wait_until

__all__ = ["paths", "store"]  # the fixtures, shared with test_runner.py


def kept_alive(paths: StatePaths, syncer: Recorder) -> tuple[threading.Thread, threading.Event]:
    runner = Runner(paths, syncer, poll_interval=0.02, housekeeping_interval=0.05,
                    keep_alive=True)
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(True, stop))
    thread.start()
    return thread, stop


def due_in(store: Store, seconds: float) -> None:
    for user in store.users.list():
        store.users.update(replace(user, next_sync_due_at=datetime.now(UTC)
                                   + timedelta(seconds=seconds)))


def test_kept_alive_runner_waits_for_the_next_pass_and_runs_it(
        paths: StatePaths, store: Store) -> None:
    add_batch(store, "b1", 1, status=U.Synced, sync_kind="incremental")
    due_in(store, 0.5)
    syncer = Recorder()
    thread, stop = kept_alive(paths, syncer)
    try:
        wait_until(lambda: len(syncer.calls) == 1)
        time.sleep(0.3)
        assert thread.is_alive()  # the next pass is due in a day: it waits for that one too
        assert store.users.list()[0].next_sync_due_at is not None
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_kept_alive_runner_exits_once_its_batch_is_stopped(
        paths: StatePaths, store: Store) -> None:
    add_batch(store, "b1", 1, status=U.Synced, sync_kind="incremental")
    due_in(store, 3600)
    syncer = Recorder()
    thread, stop = kept_alive(paths, syncer)
    try:
        time.sleep(0.3)
        assert thread.is_alive()
        store.batches.set_status(store.batches.get("b1").id, BatchPhase.Stopping.value)
        thread.join(10)
        assert not thread.is_alive() and syncer.calls == []
    finally:
        stop.set()
        thread.join(10)


def test_kept_alive_runner_exits_when_its_state_directory_is_deleted(
        paths: StatePaths, store: Store) -> None:
    add_batch(store, "b1", 1, status=U.Synced, sync_kind="incremental")
    due_in(store, 3600)
    thread, stop = kept_alive(paths, Recorder())
    try:
        time.sleep(0.3)
        assert thread.is_alive()
        store.close()
        shutil.rmtree(paths.root, ignore_errors=True)  # the runner may still be writing there
        paths.db.unlink(missing_ok=True)
        thread.join(10)
        assert not thread.is_alive()
    finally:
        stop.set()
        thread.join(10)
