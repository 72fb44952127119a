"""What the service modules share: the running-user test, stopping one user, and the runner hook.

A migration user is *being synced right now* exactly when a runner holds the lease
``user:<id>`` (engine/store/leases.py). Stop and Remove act at once on users nobody holds,
and only *ask* (``stop_requested``) for users a runner is syncing; the runner then finishes
the change. This keeps every status truthful even when no runner exists yet: nothing here
ever claims a sync happened.

Contract with the runner (Step 4):

* ``batches.status`` stores the batch's :class:`~engine.transitions.BatchPhase`, not the
  derived status (that is computed by :func:`engine.service.batches.derive_status`);
* a user is due for a pass when ``next_sync_due_at <= now`` and ``stop_requested`` is false;
  Start sets ``next_sync_due_at`` to now, Stop and Remove clear it;
* a user with ``stop_requested`` whose status is ``Stopping`` is to be stopped, one whose
  status is ``Removing`` is to be deleted (with ``store.users.remove``) once released.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from engine.model import MigrationUserStatus
from engine.runner.launcher import RUNNER_PREFIX
from engine.runner.liveness import live_leases
from engine.store import Store, codec
from engine.store.users import MigrationUserRow
from engine.transitions import stopped_status, with_status

RunnerLauncher = Callable[[], None]
"""Starts the background runner if none serves the state directory (injected by the shell)."""

USER_LEASE_PREFIX = "user:"


def now() -> datetime:
    return codec.utc_now()


def user_lease(user_id: int) -> str:
    return f"{USER_LEASE_PREFIX}{user_id}"


def users_being_synced(store: Store) -> set[int]:
    """Ids of the users a runner holds a live lease on (a lease whose owner is provably dead,
    engine/runner/liveness.py, does not count: nobody syncs that user)."""
    return {
        int(lease.resource.removeprefix(USER_LEASE_PREFIX))
        for lease in live_leases(store, prefix=USER_LEASE_PREFIX)
        if lease.resource.removeprefix(USER_LEASE_PREFIX).isdigit()
    }


RELEASE_WAIT_SECONDS = 20.0  # Remove waits this long for a runner to let go of its users


def wait_released(store: Store, user_ids: set[int],
                  timeout: float = RELEASE_WAIT_SECONDS) -> bool:
    """Wait until no live runner holds any of ``user_ids`` (True), or ``timeout`` passed.

    Remove-MigrationUser/-Batch ask the runner to stop and then wait here, so that when the
    cmdlet returns nothing appends for those users any more: the runner cancels the pass
    within its poll interval and cuts its connections a couple of seconds later
    (engine/sync/executor.py), whatever the network does."""
    end = time.monotonic() + timeout
    while users_being_synced(store) & user_ids:
        if time.monotonic() >= end:
            return False
        time.sleep(0.1)
    return True


_UNDER_WAY = frozenset({MigrationUserStatus.Syncing, MigrationUserStatus.IncrementalSyncing,
                        MigrationUserStatus.Completing})


def waiting_for_retry(store: Store, user: MigrationUserRow) -> bool:
    """Is ``user``'s pass under way but waiting for a later attempt (a transient fault's
    backoff), with no runner working on it right now?"""
    return (user.status in _UNDER_WAY and not user.stop_requested
            and user.next_sync_due_at is not None and user.next_sync_due_at > now()
            and user.id not in users_being_synced(store))


def runner_alive(store: Store) -> bool:
    """Does a live runner serve this state directory?"""
    return bool(live_leases(store, prefix=RUNNER_PREFIX))


def stop_user(store: Store, user: MigrationUserRow, running: set[int]) -> MigrationUserRow:
    """Stop one user now, or ask its runner to (status Stopping) when it is being synced."""
    if user.id in running:
        changed = with_status(user, MigrationUserStatus.Stopping, stop_requested=True)
    else:
        changed = with_status(user, stopped_status(user), stop_requested=True,
                              next_sync_due_at=None)
    return store.users.update(changed)


def queue_user(store: Store, user: MigrationUserRow, when: datetime) -> MigrationUserRow:
    """Put a user back in line for its next pass (a resumed or retried user)."""
    return store.users.update(with_status(
        user, MigrationUserStatus.Queued, stop_requested=False, error=None,
        next_sync_due_at=when, started_at=user.started_at or when,
    ))


def user_statuses(users: list[MigrationUserRow]) -> list[MigrationUserStatus]:
    return [MigrationUserStatus(u.status) for u in users]


class Launcher:
    """Calls the injected runner launcher after a commit that created due work."""

    def __init__(self, launch: RunnerLauncher | None) -> None:
        self._launch = launch

    @property
    def available(self) -> bool:
        return self._launch is not None

    def __call__(self) -> None:
        if self._launch is not None:
            self._launch()


class Unset:
    """The type of :data:`UNSET`: "leave this setting as it is" where ``None`` has a meaning."""

    _instance: Unset | None = None

    def __new__(cls) -> Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset()
