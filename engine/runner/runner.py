"""The runner loop: claim due users through leases, sync them in worker threads, obey stops.

One :class:`Runner` per process. :meth:`Runner.run` holds the lease ``runner:<owner>`` (which
tells shells that a runner serves the state directory) and, every ``poll_interval`` seconds:

1. renews its leases (every third of ``lease_ttl``); a user lease found lost — this runner
   stalled past its expiry and another took the user over — cancels that job;
2. collects finished jobs, records their outcome and releases the user's lease;
3. cancels the jobs whose user or batch was asked to stop (or was removed);
4. every few seconds settles stopped users and removed batches nobody syncs
   (:mod:`engine.runner.housekeeping`) and starts a round of notification mail in a thread of
   its own (:mod:`engine.runner.notifications`: a round may wait 20 s for a dead SMTP server,
   and leases must be renewed meanwhile); a finished pass starts a round too;
5. starts due users within the endpoints' limits (:func:`engine.runner.scheduler.pick_jobs`),
   each claimed with the lease ``user:<id>`` first (:func:`engine.runner.passes.claim_user`).

When ``stop`` is set (SIGTERM) it cancels every job, keeps renewing leases while the workers
reach a safe point, records their outcomes, lets a notification round under way finish and
releases all its leases. With ``until_idle`` it returns once nothing runs here and no
unfinished pass is waiting (a retry after a transient fault keeps it alive; the next day's
incremental sync does not), after sending the mail that is due and giving up its lease; work
asked for meanwhile keeps it (:meth:`Runner._leave`). With ``keep_alive`` as well
(the on-demand runner a shell launches, shell/launch.py) the next incremental sync keeps it
alive too: it waits, polling as usual, while any runnable user of a running batch has a pass
due at any time, and exits only once every batch is stopped, completed or removed — or its
state directory is deleted (a throwaway demo or test directory), so no runner outlives the
state it serves. That is how incremental syncs happen by themselves where no systemd unit runs
the runner (docs/service.md).

Transient-fault attempt counts are stored with the user (``sync_attempt``), so a restarted
runner keeps counting toward giving up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from engine.errors import ImshError, NotFoundError, TransientError
from engine.maildir_sharing import claim_refusal
from engine.paths import StatePaths
from engine.runner.housekeeping import settle_housekeeping
from engine.runner.jobs import (
    CancelReason,
    CancelToken,
    SyncJob,
    SyncOutcome,
    UserSyncer,
)
from engine.runner.launcher import RUNNER_PREFIX
from engine.runner.liveness import free_dead_leases, new_owner
from engine.runner.notifications import Notifier
from engine.runner.passes import (
    USER_PREFIX,
    claim_user,
    organisation_slot_free,
    record_outcome,
    user_resource,
)
from engine.runner.scheduler import (
    RETRY_BASE_SECONDS,
    Candidate,
    EndpointLimits,
    count_running,
    pick_jobs,
)
from engine.service.delays import (
    complete_due_batches,
    complete_due_users,
    held_by_start_after,
)
from engine.store import Store
from engine.store.leases import LeaseLost
from engine.store.users import MigrationUserRow
from engine.transitions import (
    DUE_STATUSES,
    RUNNABLE_PHASES,
    UNFINISHED_STATUSES,
    batch_phase,
    job_kind,
    runnable,
)

if TYPE_CHECKING:
    from engine.notify.schedule import Sender

log = logging.getLogger(__name__)

DEFAULT_LEASE_TTL = 60.0
DEFAULT_POLL_INTERVAL = 1.0
DEFAULT_MAX_WORKERS = 32
HOUSEKEEPING_INTERVAL = 5.0
WAKE_CHECK_SECONDS = 0.1  # how often a pause looks at the stop event
_FAR_FUTURE = timedelta(days=3650)




@dataclass
class _Running:
    job: SyncJob
    candidate: Candidate
    token: CancelToken
    future: Future[SyncOutcome]
    started: float = field(default_factory=time.monotonic)


class Runner:
    """Performs due syncs for one state directory until stopped or idle."""

    def __init__(
        self,
        paths: StatePaths,
        syncer: UserSyncer,
        *,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        lease_ttl: float = DEFAULT_LEASE_TTL,
        max_workers: int = DEFAULT_MAX_WORKERS,
        housekeeping_interval: float = HOUSEKEEPING_INTERVAL,
        handover: tuple[str, str] | None = None,
        sender: Sender | None = None,
        keep_alive: bool = False,
        retry_base: float = RETRY_BASE_SECONDS,
    ) -> None:
        """``handover`` is a (resource, owner) lease to release once this runner's own lease
        is held: the ``launch`` lease of the shell that started this runner. ``sender`` sends
        notification mail (tests may count instead). ``keep_alive``: with ``until_idle``, stay
        while any pass is due at all, not only an unfinished one (the module docstring)."""
        self.paths = paths
        self.owner = owner or new_owner(paths.host)
        self._syncer = syncer
        self._clock = clock
        self._poll = poll_interval
        self._ttl = timedelta(seconds=lease_ttl)
        self._max_workers = max(1, max_workers)
        self._housekeeping_interval = housekeeping_interval
        self._handover = handover
        self._keep_alive = keep_alive
        self._retry_base = retry_base  # the first backoff after a transient fault
        self._told_next: datetime | None = None  # the next due pass we said we wait for
        self._running: dict[int, _Running] = {}
        self._store: Store  # open while run() runs; replaced by _reconnect()
        self._notifier = Notifier(paths, self.now, sender)
        self._last_renewal = float("-inf")
        self._last_housekeeping = float("-inf")
        self._pass_ended = threading.Event()  # wakes the loop as soon as a pass finishes
        self._told_waiting: dict[int, str] = {}  # user id -> the lease holder we said we wait for
        self._told_maildir: dict[int, str] = {}  # endpoint id -> why we leave its users alone
        self._state_gone = False  # the state directory was deleted (keep-alive: then leave)

    @property
    def runner_resource(self) -> str:
        return RUNNER_PREFIX + self.owner

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def run(self, until_idle: bool, stop: threading.Event) -> None:
        """Work until ``stop`` is set, or (``until_idle``) until no work is left."""
        self._store = Store.open(self.paths)
        try:
            with ThreadPoolExecutor(self._max_workers, thread_name_prefix="imsh-sync") as pool:
                log.info("runner %s started on %s", self.owner, self.paths.root)
                try:
                    free_dead_leases(self._store, self.now())
                    self._renew(self._store, force=True)
                    if self._handover is not None:
                        self._store.leases.release(*self._handover)
                    self._loop(pool, until_idle, stop)
                finally:
                    self._shut_down(self._store)
        finally:
            self._store.close()
        log.info("runner %s stopped", self.owner)

    def _loop(self, pool: ThreadPoolExecutor, until_idle: bool, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                store = self._store
                self._tick(store, pool)
                if until_idle and self._idle(store) and not self._due_now(store):
                    settle_housekeeping(store, self.now())  # settle the last stops first
                    self._notifier.run_now()  # e.g. "has finished", due since the last pass
                    if self._leave(store):
                        return
            except TransientError as exc:  # the state database is busy: try again next tick
                log.warning("runner tick skipped: %s", exc)
                self._reconnect()
            self._pause(stop)

    def _reconnect(self) -> None:
        """After a fault of a PostgreSQL state database, a fresh connection for the next tick:
        the fault may have cost this runner its connection for good (the host was cut off,
        PostgreSQL restarted), and a runner kept on a closed one would never serve again.
        SQLite has no connection to lose (and reopening could recreate a deleted state)."""
        if self.paths.database is None:
            return
        try:
            fresh = Store.open(self.paths)
        except ImshError as exc:  # still unreachable: the next tick tries again
            log.debug("no new state database connection yet: %s", exc)
            return
        self._store.close()  # the pool drops it if it is broken
        self._store = fresh

    def _pause(self, stop: threading.Event) -> None:
        """Wait one poll interval, but return at once when stopped or when a pass ends."""
        deadline = time.monotonic() + self._poll
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self._pass_ended.wait(min(left, WAKE_CHECK_SECONDS)):
                break
        self._pass_ended.clear()

    def _tick(self, store: Store, pool: ThreadPoolExecutor) -> None:
        self._renew(store)
        free_dead_leases(store, self.now())  # a SIGKILLed runner's users are free at once
        if self._collect(store):
            self._notifier.kick()  # a finished pass may have made mail due
        self._observe_stops(store)
        if time.monotonic() - self._last_housekeeping >= self._housekeeping_interval:
            settle_housekeeping(store, self.now())
            self._notifier.kick()
            self._last_housekeeping = time.monotonic()
        if complete_due_batches(store, self.now()):  # -CompleteAfter has passed
            self._notifier.kick()
        complete_due_users(store, self.now())  # Set-MigrationUser -CompleteAfter has passed
        self._schedule(store, pool)

    # --- leases ---------------------------------------------------------------------------

    def _renew(self, store: Store, *, force: bool = False) -> None:
        if not force and time.monotonic() - self._last_renewal < self._ttl.total_seconds() / 3:
            return
        now = self.now()
        store.leases.acquire(self.runner_resource, self.owner, self._ttl, now)
        for user_id, running in self._running.items():
            if not store.leases.renew(user_resource(user_id), self.owner, self._ttl, now):
                log.warning("lost the lease on %s; stopping its sync", running.job.email_address)
                running.token.cancel(CancelReason.lease_lost)
        self._last_renewal = time.monotonic()

    # --- finished jobs --------------------------------------------------------------------

    def _collect(self, store: Store) -> int:
        """Record the outcome of every finished job; how many there were."""
        done = [uid for uid, r in self._running.items() if r.future.done()]
        for user_id in done:
            self._finish(store, self._running.pop(user_id))
        return len(done)

    def _finish(self, store: Store, running: _Running) -> None:
        job, reason = running.job, running.token.reason
        outcome = running.future.result()
        elapsed = time.monotonic() - running.started
        try:
            if reason is not CancelReason.lease_lost:
                record_outcome(store, job, outcome, reason, self.now(), elapsed,
                               self._retry_base)
        except NotFoundError:
            log.info("%s was removed while it was being synced", job.email_address)
        finally:
            store.leases.release(user_resource(job.user_id), self.owner)

    # --- stop requests --------------------------------------------------------------------

    def _observe_stops(self, store: Store) -> None:
        for running in self._running.values():
            if not running.token.cancelled and self._stop_wanted(store, running.job):
                log.info("stopping the sync of %s as requested", running.job.email_address)
                running.token.cancel(CancelReason.stop_requested)

    def _stop_wanted(self, store: Store, job: SyncJob) -> bool:
        try:
            user = store.users.get_by_id(job.user_id)
            batch = store.batches.get_by_id(user.batch_id)
        except NotFoundError:
            return True
        return user.stop_requested or batch_phase(batch.status) not in RUNNABLE_PHASES

    # --- starting jobs --------------------------------------------------------------------

    def _schedule(self, store: Store, pool: ThreadPoolExecutor) -> None:
        free = self._max_workers - len(self._running)
        if free <= 0:
            return
        now = self.now()
        if not organisation_slot_free(store, now):  # -MaxConcurrentMigrations of the config
            return
        busy = self._leased_users(store, now)
        listed = store.users.list_due(now, DUE_STATUSES, limit=500)
        self._say_waiting(store, [u for u in listed if u.id in busy], now)
        due = self._due_here(store, listed, busy, now)
        if not due:
            return
        candidates = {c.user_id: c for c in (self._candidate(store, u) for u in due) if c}
        running = [c for c in (self._lease_candidate(store, uid) for uid in busy) if c]
        limits = self._limits(store, {c.source_endpoint_id for c in candidates.values()})
        for pick in pick_jobs(list(candidates.values()), count_running(running), limits, free):
            self._start(store, pool, pick, now)

    def _due_here(self, store: Store, listed: list[MigrationUserRow], busy: set[int],
                  now: datetime) -> list[MigrationUserRow]:
        """Of the users due now, those this runner may start: no other runner holds them and
        no -StartAfter lies ahead."""
        due = [u for u in listed if u.id not in busy]
        held = held_by_start_after(store, due, now)  # -StartAfter ahead: not yet
        return [u for u in due if u.id not in held]

    def _say_waiting(self, store: Store, held: list[MigrationUserRow], now: datetime) -> None:
        """Log (once per holder) each due user another live runner holds: this runner waits
        for that lease to be released or to expire."""
        for user in held:
            if user.id in self._running:
                continue
            lease = store.leases.get(user_resource(user.id))
            if lease is None or self._told_waiting.get(user.id) == lease.owner:
                continue
            self._told_waiting[user.id] = lease.owner
            left = (lease.expires_at - now).total_seconds()
            log.info("%s is due, but the runner %s holds it (lease expires in %.0f s); waiting",
                     user.email_address, lease.owner, max(left, 0))

    def _leased_users(self, store: Store, now: datetime) -> set[int]:
        leases = store.leases.active(now, USER_PREFIX)
        return {int(lease.resource[len(USER_PREFIX) :]) for lease in leases}

    def _candidate(self, store: Store, user: MigrationUserRow) -> Candidate | None:
        batch = store.batches.get_by_id(user.batch_id)
        if not runnable(user.status, batch_phase(batch.status)):
            return None
        if self._maildir_elsewhere(store, batch.target_endpoint_id):
            return None
        return Candidate(user.id, batch.source_endpoint_id, job_kind(user.sync_kind))

    def _maildir_elsewhere(self, store: Store, endpoint_id: int) -> bool:
        """The target is a Maildir endpoint bound to another host (engine/maildir_sharing.py):
        leave its users to that host, and say so once."""
        if self.paths.database is None:  # SQLite: one machine by nature
            return False
        target = store.endpoints.get_by_id(endpoint_id)
        if target.kind != "Maildir":
            return False
        why = claim_refusal(target.name, target.path, target.extra, self.paths.host)
        if why is not None and self._told_maildir.get(endpoint_id) != why:
            log.warning("%s", why)
        if why is None:
            self._told_maildir.pop(endpoint_id, None)
        else:
            self._told_maildir[endpoint_id] = why
        return why is not None

    def _lease_candidate(self, store: Store, user_id: int) -> Candidate | None:
        if user_id in self._running:
            return self._running[user_id].candidate
        try:
            user = store.users.get_by_id(user_id)
            batch = store.batches.get_by_id(user.batch_id)
        except NotFoundError:
            return None
        return Candidate(user.id, batch.source_endpoint_id, job_kind(user.sync_kind))

    def _limits(self, store: Store, endpoint_ids: set[int]) -> dict[int, EndpointLimits]:
        limits = {}
        for endpoint_id in endpoint_ids:
            endpoint = store.endpoints.get_by_id(endpoint_id)
            limits[endpoint_id] = EndpointLimits(
                endpoint.max_concurrent_migrations, endpoint.max_concurrent_incremental_syncs
            )
        return limits

    def _start(
        self, store: Store, pool: ThreadPoolExecutor, pick: Candidate, now: datetime
    ) -> None:
        try:  # the claim recounts every runner's passes in its transaction (passes.py)
            job = claim_user(store, pick.user_id, self.owner, self._ttl, now)
        except NotFoundError:
            return
        if job is None:
            return
        token = CancelToken()
        log.info(
            "starting the %s sync of %s (attempt %d)", job.kind, job.email_address, job.attempt
        )
        future = pool.submit(self._work, job, token)
        future.add_done_callback(lambda _done: self._pass_ended.set())
        self._running[job.user_id] = _Running(job, pick, token, future)

    def _work(self, job: SyncJob, token: CancelToken) -> SyncOutcome:
        """Run the syncer in a worker thread; turn what it raises into an outcome."""
        try:
            return self._syncer(lambda: Store.open(self.paths), job, token)
        except LeaseLost as exc:  # another runner owns the user now: no outcome of ours
            log.warning("%s: %s", job.email_address, exc.message)
            token.cancel(CancelReason.lease_lost)
            return SyncOutcome.stopped()
        except TransientError as exc:
            return SyncOutcome.transient(exc.message, getattr(exc, "retry_after", None),
                                         throttled=hasattr(exc, "retry_after"))
        except ImshError as exc:  # PermanentError and the store's own errors
            return SyncOutcome.failed(exc.message)
        except OSError as exc:
            return SyncOutcome.transient(f"{exc.strerror or exc}")
        except Exception as exc:
            log.exception("the sync of %s failed unexpectedly", job.email_address)
            return SyncOutcome.failed(f"Internal error: {type(exc).__name__}: {exc}")

    # --- idle and shutdown ----------------------------------------------------------------

    def _idle(self, store: Store) -> bool:
        """Nothing runs here and no unfinished pass waits (now or after a backoff); with
        ``keep_alive``, no pass of any kind is due, however far ahead."""
        if self._running:
            return False
        if self._keep_alive and not self.paths.db.exists():
            log.info("the state directory %s is gone", self.paths.root)
            self._state_gone = True
            return True
        statuses = DUE_STATUSES if self._keep_alive else UNFINISHED_STATUSES
        waiting = store.users.list_due(self.now() + _FAR_FUTURE, statuses, limit=100)
        pending = [user for user in waiting if self._candidate(store, user) is not None]
        if pending and self._keep_alive:
            self._say_next(pending[0])
        return not pending

    def _leave(self, store: Store) -> bool:
        """Give up the runner lease, then look for work once more; False (the lease taken
        again) if some arrived. A shell that asked for a pass while this runner was deciding
        to leave, or sending its last mail (one SMTP timeout, 20 s), saw the lease and
        launched no runner. The shell commits its request (say, a -SyncNow: a pass due now,
        which is not an unfinished one) before it looks at the lease, and this runner looks for
        work only after its lease is gone: one of the two always sees the other, so a request
        is never left with no runner. Should a shell launch another runner in between, both
        serve; the user leases keep them off each other's users."""
        if self._state_gone:  # nothing to serve (and the last mail round may recreate it)
            return True
        store.leases.release(self.runner_resource, self.owner)
        if self._idle(store) and not self._due_now(store):
            log.info("no work is due; the runner exits")
            return True
        log.info("work was asked for while the runner was leaving; it stays")
        self._renew(store, force=True)
        return False

    def _due_now(self, store: Store) -> bool:
        """Is a pass of any kind due now that this runner could run (a -SyncNow for a Synced
        user, which :meth:`_idle` does not count without keep-alive)? One the endpoint or
        organisation limits hold back still counts: the runner stays until it can run it."""
        now = self.now()
        listed = store.users.list_due(now, DUE_STATUSES, limit=500)
        due = self._due_here(store, listed, self._leased_users(store, now), now)
        return any(self._candidate(store, user) is not None for user in due)

    def _say_next(self, user: MigrationUserRow) -> None:
        """Log (once per due time) the pass this kept-alive runner waits for."""
        due = user.next_sync_due_at
        if due is not None and due > self.now() and due != self._told_next:
            self._told_next = due
            log.info("the next pass (%s) is due at %s; waiting for it", user.email_address,
                     due.isoformat(timespec="seconds"))

    def _shut_down(self, store: Store) -> None:
        if self._running:
            log.info("waiting for %d sync(s) to reach a safe point", len(self._running))
        for running in self._running.values():
            running.token.cancel(CancelReason.shutdown)
        while self._running:
            futures = [r.future for r in self._running.values()]
            wait_futures(futures, timeout=self._ttl.total_seconds() / 3)
            self._renew(store, force=True)
            self._collect(store)
        self._notifier.wait()
        released = store.leases.release_all(self.owner)
        log.debug("released %d lease(s)", released)
