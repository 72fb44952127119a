"""The runner loop on a real SQLite state with fake syncers standing in for the executor.

The syncers inject faults (slow, transient then fine, permanent) so that leasing, limits,
retries and stops can be checked without IMAP servers; the executor has its own tests.
"""

from __future__ import annotations

import itertools
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.errors import PermanentError, TransientError
from engine.model import MigrationUserStatus as U
from engine.paths import StatePaths, resolve_state_paths
from engine.runner import (
    CancelReason,
    CancelToken,
    Runner,
    StoreFactory,
    SyncJob,
    SyncOutcome,
    UserSyncer,
)
from engine.runner.jobs import SyncKind
from engine.store import Store
from engine.store.batches import BatchSpec
from engine.store.endpoints import EndpointSpec
from engine.store.users import MigrationUserSpec
from engine.transitions import BatchPhase


def fast_runner(
    paths: StatePaths,
    syncer: UserSyncer,
    *,
    clock: Callable[[], float] = time.time,
    owner: str | None = None,
) -> Runner:
    """A runner that looks at the store every 20 ms (the default is once a second)."""
    return Runner(
        paths, syncer, owner=owner, clock=clock, poll_interval=0.02, housekeeping_interval=0.05
    )


# --- the state -----------------------------------------------------------------------------


@pytest.fixture
def paths(tmp_path: Path) -> StatePaths:
    return resolve_state_paths(tmp_path / "state", env={})


@pytest.fixture
def store(paths: StatePaths) -> Iterator[Store]:
    with Store.open(paths) as opened:
        yield opened


def add_batch(
    store: Store,
    name: str,
    users: int,
    *,
    max_initial: int = 20,
    max_incremental: int = 10,
    phase: BatchPhase = BatchPhase.Active,
    status: str = U.Queued,
    sync_kind: str = "initial",
) -> list[int]:
    """A source endpoint, a batch in ``phase`` and ``users`` users due now; their ids."""
    source = store.endpoints.add(
        EndpointSpec(
            name=f"{name}-source",
            kind="IMAP",
            remote_server="imap.example.org",
            max_concurrent_migrations=max_initial,
            max_concurrent_incremental_syncs=max_incremental,
        )
    )
    target = store.endpoints.get("LocalMaildir")
    batch = store.batches.add(BatchSpec(name, source.id, target.id, status=phase.value))
    now = datetime.now(UTC)
    specs = [
        MigrationUserSpec(
            email_address=f"{name}-{n}@example.org",
            user_name=f"{name}-{n}",
            status=status,
            sync_kind=sync_kind,
            next_sync_due_at=now,
        )
        for n in range(users)
    ]
    return [u.id for u in store.users.add_many(batch.id, specs)]


def status_of(store: Store, user_id: int) -> str:
    return store.users.get_by_id(user_id).status


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> float:
    """Poll ``condition``; return the seconds it took (fail the test on timeout)."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.02)
    return time.monotonic() - start


class Background:
    """A runner in a thread, stopped (like SIGTERM) at the end of the test."""

    def __init__(self, runner: Runner, until_idle: bool = False) -> None:
        self.runner = runner
        self.stop = threading.Event()
        self.thread = threading.Thread(target=runner.run, args=(until_idle, self.stop))
        self.thread.start()

    def finish(self, timeout: float = 10.0) -> None:
        self.stop.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the runner did not stop"


# --- fake syncers --------------------------------------------------------------------------


@dataclass
class Recorder:
    """Counts calls and simultaneous jobs per batch; optionally waits or fails."""

    seconds: float = 0.0
    fail: Callable[[SyncJob], SyncOutcome | None] = lambda job: None
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: list[SyncJob] = field(default_factory=list)
    active: dict[int, int] = field(default_factory=dict)
    peak: dict[int, int] = field(default_factory=dict)
    tokens: list[CancelToken] = field(default_factory=list)

    def __call__(
        self, store_factory: StoreFactory, job: SyncJob, token: CancelToken
    ) -> SyncOutcome:
        with self.lock:
            self.calls.append(job)
            self.tokens.append(token)
            self.active[job.batch_id] = self.active.get(job.batch_id, 0) + 1
            self.peak[job.batch_id] = max(self.peak.get(job.batch_id, 0), self.active[job.batch_id])
        try:
            with store_factory() as own:  # the syncer's own store, as the executor opens one
                own.statistics.add_counts(job.user_id, synced=1)
            if token.wait(self.seconds):
                return SyncOutcome.stopped()
            return self.fail(job) or SyncOutcome.ok()
        finally:
            with self.lock:
                self.active[job.batch_id] -= 1


def run_until_idle(paths: StatePaths, syncer: Recorder) -> None:
    runner = fast_runner(paths, syncer)
    done = threading.Event()

    def run() -> None:
        runner.run(True, threading.Event())
        done.set()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert done.is_set(), "run(until_idle=True) did not return"


# --- outcomes ------------------------------------------------------------------------------


def test_successful_initial_sync_marks_users_synced_and_due_for_incremental(
    paths: StatePaths, store: Store
) -> None:
    users = add_batch(store, "b1", 3)
    before = datetime.now(UTC)
    syncer = Recorder()
    run_until_idle(paths, syncer)
    assert sorted(job.user_id for job in syncer.calls) == users
    assert all(job.kind is SyncKind.initial and job.attempt == 1 for job in syncer.calls)
    for user_id in users:
        user = store.users.get_by_id(user_id)
        assert (user.status, user.status_summary, user.sync_kind) == (
            "Synced",
            "Synced",
            "incremental",
        )
        assert user.last_successful_sync_at is not None and user.last_successful_sync_at >= before
        assert user.next_sync_due_at == user.last_successful_sync_at + timedelta(days=1)
        assert store.statistics.get(user_id).synced_item_count == 1
        assert store.statistics.get(user_id).initial_sync_seconds is not None
        assert (
            "Initial synchronization completed"
            in store.statistics.report_entries(user_id)[-1].message
        )
    assert store.leases.active() == []
    batch = store.batches.get("b1")
    assert batch.initial_sync_completed_at is not None and batch.last_synced_at is not None


def test_incremental_pass_ends_incremental_synced(paths: StatePaths, store: Store) -> None:
    [user_id] = add_batch(store, "b1", 1, status=U.Synced, sync_kind="incremental")
    syncer = Recorder()
    run_until_idle(paths, syncer)
    assert [job.kind for job in syncer.calls] == [SyncKind.incremental]
    assert status_of(store, user_id) == "IncrementalSynced"


@pytest.mark.parametrize("raises", [False, True])
def test_permanent_failure_fails_the_user_with_the_error_text(
    paths: StatePaths, store: Store, raises: bool
) -> None:
    [user_id] = add_batch(store, "b1", 1)
    text = "The connection to the server imap.example.org could not be completed."

    def fail(job: SyncJob) -> SyncOutcome:
        if raises:
            raise PermanentError(text)
        return SyncOutcome.failed(text)

    run_until_idle(paths, Recorder(fail=fail))
    user = store.users.get_by_id(user_id)
    assert (user.status, user.status_summary, user.error) == ("Failed", "Failed", text)
    assert user.next_sync_due_at is None
    assert store.statistics.get(user_id).last_error == text
    entry = store.statistics.report_entries(user_id)[-1]
    assert (entry.kind, entry.message) == ("error", text)


@pytest.mark.parametrize("raises", [False, True])
def test_transient_fault_is_retried_after_a_backoff(
    paths: StatePaths, store: Store, raises: bool
) -> None:
    [user_id] = add_batch(store, "b1", 1)

    def fail_first(job: SyncJob) -> SyncOutcome | None:
        if job.attempt > 1:
            return None
        if raises:
            raise TransientError("Connection reset by peer")
        return SyncOutcome.transient("Connection reset by peer")

    syncer = Recorder(fail=fail_first)
    shift = [0.0]
    background = Background(
        fast_runner(paths, syncer, clock=lambda: time.time() + shift[0]),
        until_idle=True,
    )
    try:
        wait_until(lambda: len(store.statistics.report_entries(user_id)) == 1)
        shift[0] = 31  # move the runner's clock past the 30 s backoff
        background.thread.join(10)
        assert not background.thread.is_alive()
    finally:
        background.finish()
    assert [job.attempt for job in syncer.calls] == [1, 2]
    assert status_of(store, user_id) == "Synced"
    warning = store.statistics.report_entries(user_id)[0]
    assert warning.kind == "warning"
    assert warning.message == (
        "Transient error on attempt 1: Connection reset by peer. Retrying in 30 s."
    )


def test_transient_retry_waits_for_the_backoff(paths: StatePaths, store: Store) -> None:
    [user_id] = add_batch(store, "b1", 1)
    syncer = Recorder(fail=lambda job: SyncOutcome.transient("server busy"))
    background = Background(fast_runner(paths, syncer))
    try:
        wait_until(
            lambda: len(syncer.calls) == 1 and not syncer.active.get(syncer.calls[0].batch_id)
        )
        time.sleep(0.5)
        assert len(syncer.calls) == 1  # not again before 30 s
        user = store.users.get_by_id(user_id)
        assert user.status == "Syncing"
        assert user.next_sync_due_at is not None
        assert user.next_sync_due_at > datetime.now(UTC) + timedelta(seconds=25)
    finally:
        background.finish()


# --- limits and leases ---------------------------------------------------------------------


def test_concurrency_limit_per_source_endpoint_is_respected(
    paths: StatePaths, store: Store
) -> None:
    add_batch(store, "two", 6, max_initial=2)
    add_batch(store, "three", 6, max_initial=3)
    syncer = Recorder(seconds=0.15)
    run_until_idle(paths, syncer)
    two, three = store.batches.get("two").id, store.batches.get("three").id
    assert len(syncer.calls) == 12
    assert syncer.peak == {two: 2, three: 3}


def test_incremental_limit_applies_to_incremental_passes(paths: StatePaths, store: Store) -> None:
    add_batch(
        store, "b1", 5, max_initial=5, max_incremental=1, status=U.Synced, sync_kind="incremental"
    )
    syncer = Recorder(seconds=0.05)
    run_until_idle(paths, syncer)
    assert list(syncer.peak.values()) == [1] and len(syncer.calls) == 5


def test_expired_lease_of_a_dead_runner_is_taken_over(paths: StatePaths, store: Store) -> None:
    [user_id] = add_batch(store, "b1", 1, status=U.Syncing)
    expiry = datetime.now(UTC) + timedelta(seconds=1)
    assert store.leases.acquire(f"user:{user_id}", "dead-runner", timedelta(seconds=1))
    started: list[datetime] = []

    def note_start(job: SyncJob) -> None:
        started.append(datetime.now(UTC))

    syncer = Recorder(fail=note_start)
    run_until_idle(paths, syncer)  # waits while the lease is live, then takes the user over
    assert len(started) == 1 and started[0] >= expiry - timedelta(milliseconds=50)
    assert status_of(store, user_id) == "Synced"


def test_live_lease_of_another_runner_is_respected(paths: StatePaths, store: Store) -> None:
    [user_id] = add_batch(store, "b1", 1)
    assert store.leases.acquire(f"user:{user_id}", "other-runner", timedelta(minutes=5))
    syncer = Recorder()
    background = Background(fast_runner(paths, syncer))
    time.sleep(0.4)
    background.finish()
    assert syncer.calls == [] and status_of(store, user_id) == "Queued"
    lease = store.leases.get(f"user:{user_id}")
    assert lease is not None and lease.owner == "other-runner"


class Timed(Recorder):
    """A recorder that also notes when each job ran: (user id, start, end)."""

    def __init__(self) -> None:
        super().__init__(seconds=0.03)
        self.intervals: list[tuple[int, float, float]] = []

    def __call__(self, factory: StoreFactory, job: SyncJob, token: CancelToken) -> SyncOutcome:
        start = time.time()
        outcome = super().__call__(factory, job, token)
        with self.lock:
            self.intervals.append((job.user_id, start, time.time()))
        return outcome


def assert_each_user_once_and_never_overlapping(
    intervals: list[tuple[int, float, float]], users: list[int]
) -> None:
    by_user: dict[int, list[tuple[float, float]]] = {}
    for user, start, end in intervals:
        by_user.setdefault(user, []).append((start, end))
    for spans in by_user.values():
        spans.sort()
        assert all(prev[1] <= nxt[0] for prev, nxt in itertools.pairwise(spans))
    assert sorted(by_user) == sorted(users)
    assert all(len(spans) == 1 for spans in by_user.values())


def test_two_runner_threads_never_sync_one_user_twice(paths: StatePaths, store: Store) -> None:
    users = add_batch(store, "b1", 16, max_initial=3)
    syncer = Timed()  # shared: its peak counts jobs of both runners together
    runners = [fast_runner(paths, syncer, owner=f"r{n}") for n in (1, 2)]
    threads = [threading.Thread(target=r.run, args=(True, threading.Event())) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert_each_user_once_and_never_overlapping(syncer.intervals, users)
    assert {status_of(store, u) for u in users} == {"Synced"}
    assert list(syncer.peak.values()) == [3]  # the endpoint limit holds across runners


def _process_runner(state: str, out: str) -> None:
    """Child process body: a runner whose syncer appends 'user start end' lines to ``out``."""

    def syncer(factory: StoreFactory, job: SyncJob, token: CancelToken) -> SyncOutcome:
        start = time.time()
        token.wait(0.03)
        with open(out, "a", encoding="ascii") as file:
            file.write(f"{job.user_id} {start} {time.time()}\n")
        return SyncOutcome.ok()

    Runner(resolve_state_paths(state, env={}), syncer, poll_interval=0.02).run(
        True, threading.Event()
    )


def test_two_runner_processes_never_sync_one_user_twice(
    paths: StatePaths, store: Store, tmp_path: Path
) -> None:
    users = add_batch(store, "b1", 24, max_initial=24)
    out = tmp_path / "syncs.txt"
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=_process_runner, args=(str(paths.root), str(out))) for _ in range(2)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
        assert child.exitcode == 0
    lines = [line.split() for line in out.read_text().splitlines()]
    intervals = [(int(u), float(s), float(e)) for u, s, e in lines]
    assert_each_user_once_and_never_overlapping(intervals, users)
    assert {status_of(store, u) for u in users} == {"Synced"}


# --- stop, remove, complete, shutdown ------------------------------------------------------


def test_stop_migration_batch_stops_running_and_waiting_users_within_seconds(
    paths: StatePaths, store: Store
) -> None:
    users = add_batch(store, "b1", 3, max_initial=1)
    syncer = Recorder(seconds=60)
    background = Background(fast_runner(paths, syncer), until_idle=True)
    try:
        wait_until(lambda: len(syncer.calls) == 1)
        batch = store.batches.get("b1")
        store.batches.set_status(batch.id, BatchPhase.Stopping.value)
        took = wait_until(lambda: {status_of(store, u) for u in users} == {"Stopped"})
        assert took < 3
        background.thread.join(10)
        assert not background.thread.is_alive()  # until_idle: nothing left to do
        assert syncer.tokens[0].reason is CancelReason.stop_requested
        assert len(syncer.calls) == 1
    finally:
        background.finish()
    assert store.leases.active() == []


def test_stop_migration_user_stops_only_that_user(paths: StatePaths, store: Store) -> None:
    first, second = add_batch(store, "b1", 2)
    syncer = Recorder(seconds=60)
    background = Background(fast_runner(paths, syncer))
    try:
        wait_until(lambda: len(syncer.calls) == 2)
        store.users.request_stop(first)
        assert wait_until(lambda: status_of(store, first) == "Stopped") < 3
        assert status_of(store, second) == "Syncing"
    finally:
        background.finish()


def test_removing_batch_cancels_its_syncs_and_deletes_it(paths: StatePaths, store: Store) -> None:
    add_batch(store, "b1", 2)
    syncer = Recorder(seconds=60)
    background = Background(fast_runner(paths, syncer))
    try:
        wait_until(lambda: len(syncer.calls) == 2)
        store.batches.set_status(store.batches.get("b1").id, BatchPhase.Removing.value)
        assert wait_until(lambda: store.batches.find("b1") is None) < 3
        assert all(t.reason is CancelReason.stop_requested for t in syncer.tokens)
    finally:
        background.finish()


def test_completing_batch_gets_a_final_pass_then_completed(paths: StatePaths, store: Store) -> None:
    users = add_batch(
        store, "b1", 2, phase=BatchPhase.Completing, status=U.Synced, sync_kind="incremental"
    )
    syncer = Recorder()
    run_until_idle(paths, syncer)
    assert all(job.final for job in syncer.calls) and len(syncer.calls) == 2
    assert {status_of(store, u) for u in users} == {"Completed"}
    assert all(store.users.get_by_id(u).next_sync_due_at is None for u in users)
    assert store.batches.get("b1").completed_at is not None


def test_created_batch_is_not_synced(paths: StatePaths, store: Store) -> None:
    add_batch(store, "b1", 2, phase=BatchPhase.Created)
    syncer = Recorder()
    run_until_idle(paths, syncer)
    assert syncer.calls == []


def test_shutdown_cancels_syncs_releases_leases_and_leaves_users_resumable(
    paths: StatePaths, store: Store
) -> None:
    users = add_batch(store, "b1", 2)
    syncer = Recorder(seconds=60)
    background = Background(fast_runner(paths, syncer))
    wait_until(lambda: len(syncer.calls) == 2)
    assert len(store.leases.active(prefix="user:")) == 2
    assert len(store.leases.active(prefix="runner:")) == 1
    start = time.monotonic()
    background.finish()
    assert time.monotonic() - start < 3
    assert all(t.reason is CancelReason.shutdown for t in syncer.tokens)
    assert store.leases.active() == []
    for user_id in users:
        user = store.users.get_by_id(user_id)
        assert user.status == "Syncing"  # unfinished: the next runner resumes it
        assert user.next_sync_due_at is not None and user.next_sync_due_at <= datetime.now(UTC)
    resumed = Recorder()
    run_until_idle(paths, resumed)
    assert sorted(j.user_id for j in resumed.calls) == users
    assert {status_of(store, u) for u in users} == {"Synced"}


def test_until_idle_returns_at_once_when_nothing_is_due(paths: StatePaths, store: Store) -> None:
    add_batch(store, "b1", 1, status=U.Synced, sync_kind="incremental")
    [user] = store.users.list()
    store.users.update(replace(user, next_sync_due_at=datetime.now(UTC) + timedelta(hours=1)))
    syncer = Recorder()
    start = time.monotonic()
    run_until_idle(paths, syncer)
    assert time.monotonic() - start < 2 and syncer.calls == []


def test_a_finished_pass_wakes_the_runner_before_its_poll_interval(
    paths: StatePaths, store: Store
) -> None:
    add_batch(store, "b1", 1)
    runner = Runner(paths, Recorder(), poll_interval=30.0, lease_ttl=60.0)
    start = time.monotonic()
    runner.run(True, threading.Event())
    # without the wake-up the runner would notice the finished pass only after 30 s
    assert time.monotonic() - start < 10
    assert store.users.list()[0].status == "Synced"
