"""Migration users: list with Exchange's filters, change, start, stop and remove one user.

Start-MigrationUser resumes a stopped user or retries a failed one (EAC "Resume migration");
Stop-MigrationUser stops one that is waiting, syncing or kept in sync; Remove-MigrationUser
deletes the user's state (never its mail). The legal statuses come from engine/transitions;
stopping and removing a user a runner is syncing is asked of the runner
(engine/service/common.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from engine.errors import InvalidStateError
from engine.model import MigrationUserStatus, MigrationUserStatusSummary
from engine.service.common import (
    Launcher,
    now,
    queue_user,
    stop_user,
    users_being_synced,
    with_status,
)
from engine.skipped import retry_skipped_items
from engine.store import Store
from engine.store.stats import UserStatistics
from engine.store.users import MigrationUserRow
from engine.transitions import (
    USER_SYNC_NOW_ALLOWED,
    BatchPhase,
    check_user_remove,
    check_user_start,
    check_user_stop,
)

U = MigrationUserStatus
_SYNCED = frozenset({U.Synced, U.IncrementalSynced})


@dataclass(frozen=True)
class UserInfo:
    """A migration user as the cmdlets show it (no password, only whether one is stored)."""

    email_address: str
    batch_name: str
    status: MigrationUserStatus
    status_summary: MigrationUserStatusSummary
    user_name: str
    user_root: str | None
    target_user_name: str | None
    has_password: bool
    error: str | None
    sync_kind: str
    created_at: datetime | None
    started_at: datetime | None
    last_successful_sync_at: datetime | None
    next_sync_due_at: datetime | None
    statistics: UserStatistics


@dataclass(frozen=True)
class UserChanges:
    sync_now: bool = False
    approve_skipped_items: bool = False


def user_info(store: Store, user: MigrationUserRow) -> UserInfo:
    status = MigrationUserStatus(user.status)
    return UserInfo(
        email_address=user.email_address, batch_name=user.batch_name, status=status,
        status_summary=MigrationUserStatusSummary(user.status_summary),
        user_name=user.user_name, user_root=user.user_root,
        target_user_name=user.target_user_name, has_password=user.password is not None,
        error=user.error, sync_kind=user.sync_kind, created_at=user.created_at,
        started_at=user.started_at, last_successful_sync_at=user.last_successful_sync_at,
        next_sync_due_at=user.next_sync_due_at, statistics=store.statistics.get(user.id),
    )


class UserService:
    def __init__(self, store: Store, launcher: Launcher) -> None:
        self._store = store
        self._launch = launcher

    def list(self, identity: str | None = None, batch: str | None = None,
             status: MigrationUserStatus | None = None,
             status_summary: MigrationUserStatusSummary | None = None,
             result_size: int | None = None) -> list[UserInfo]:
        if identity:
            rows = [self._store.users.get(identity)]
        else:
            batch_id = self._store.batches.get(batch).id if batch else None
            rows = self._store.users.list(batch_id=batch_id,
                                          status=str(status) if status else None)
        if status is not None:
            rows = [row for row in rows if row.status == status]
        if status_summary is not None:
            rows = [row for row in rows if row.status_summary == status_summary]
        if result_size is not None:
            rows = rows[:result_size]
        return [user_info(self._store, row) for row in rows]

    def get(self, identity: str) -> UserInfo:
        return user_info(self._store, self._store.users.get(identity))

    def change(self, identity: str, changes: UserChanges) -> UserInfo:
        user = self._store.users.get(identity)
        if changes.sync_now:
            if user.status not in _SYNCED:
                raise InvalidStateError(
                    f'The migration user "{user.email_address}" can\'t be synchronized now '
                    f"because its status is {user.status}; -SyncNow applies to Synced users.",
                    error_id="UserCannotSyncNow")
            self._store.users.update(replace(user, next_sync_due_at=now()))
            self._launch()
        if changes.approve_skipped_items:
            retry_skipped_items(self._store, user.id)  # engine/skipped.py
        return self.get(identity)

    def start(self, identity: str) -> UserInfo:
        user = self._store.users.get(identity)
        check_user_start(MigrationUserStatus(user.status), user.email_address)
        batch = self._store.batches.get_by_id(user.batch_id)
        phase = BatchPhase(batch.status)
        if phase in (BatchPhase.Completing, BatchPhase.Removing):
            doing = "completed" if phase is BatchPhase.Completing else "removed"
            raise InvalidStateError(
                f'The migration user "{user.email_address}" can\'t be started because its '
                f'batch "{batch.name}" is being {doing}.', error_id="UserCannotBeStarted")
        with self._store.transaction():
            if MigrationUserStatus(user.status) in USER_SYNC_NOW_ALLOWED:
                self._store.users.update(replace(user, next_sync_due_at=now()))
            else:
                queue_user(self._store, user, now())
            if phase is not BatchPhase.Active:
                self._store.batches.update(replace(batch, status=str(BatchPhase.Active),
                                                   started_at=batch.started_at or now()))
        self._launch()
        return self.get(identity)

    def stop(self, identity: str) -> UserInfo:
        user = self._store.users.get(identity)
        check_user_stop(MigrationUserStatus(user.status), user.email_address)
        stop_user(self._store, user, users_being_synced(self._store))
        return self.get(identity)

    def remove(self, identity: str) -> None:
        """Delete the user's state now, or mark it Removing while a runner syncs it."""
        user = self._store.users.get(identity)
        check_user_remove(MigrationUserStatus(user.status), user.email_address)
        if user.id in users_being_synced(self._store):
            self._store.users.update(with_status(user, U.Removing, stop_requested=True,
                                                 next_sync_due_at=None))
            return
        self._store.users.remove(user.email_address)
