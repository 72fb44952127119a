"""Migration users: list with Exchange's filters, change, start, stop and remove one user.

Start-MigrationUser resumes a stopped user or retries a failed one (EAC "Resume migration");
Stop-MigrationUser stops one that is waiting, syncing or kept in sync; Remove-MigrationUser
deletes the user's state (never its mail). The legal statuses come from engine/transitions;
stopping and removing a user a runner is syncing is asked of the runner
(engine/service/common.py).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace
from datetime import datetime

from engine.errors import InvalidStateError, NotFoundError
from engine.model import DataConsistencyScore, MigrationUserStatus, MigrationUserStatusSummary
from engine.service.common import (
    Launcher,
    now,
    queue_user,
    stop_user,
    users_being_synced,
    wait_released,
    waiting_for_retry,
)
from engine.service.delays import batch_delays
from engine.service.user_facts import UserFacts
from engine.service.user_settings import (
    UserSettingChanges,
    apply_settings,
    mailbox_guid,
    user_by_guid,
)
from engine.skipped import retry_skipped_items
from engine.store import Store
from engine.store.stats import UserStatistics
from engine.store.user_settings import UserSettings
from engine.store.users import MigrationUserRow
from engine.transitions import (
    USER_SYNC_NOW_ALLOWED,
    BatchPhase,
    check_user_remove,
    check_user_start,
    check_user_stop,
    with_status,
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
    held_deletions: int = 0  # copies whose deletion awaits approval
    held_folders: int = 0  # vanished folders whose removal awaits approval
    mailbox_guid: str = ""  # stable (engine/service/user_settings.py)
    settings: UserSettings | None = None  # Set-MigrationUser's overrides of the batch's
    time_zone: str | None = None  # the batch's -TimeZone, for showing the user's StartAfter
    # the latest proof's grade, else the skipped items' (engine/verify/score.py)
    data_consistency_score: DataConsistencyScore = DataConsistencyScore.Perfect

    @property
    def held_deletions_warning(self) -> str | None:
        """Exchange-style words for the held deletions, or None when nothing is held."""
        if not self.held_deletions and not self.held_folders:
            return None
        why = self.statistics.held_deletions_reason
        what = " and ".join(
            ([f"{self.held_deletions} message deletions"] if self.held_deletions else [])
            + ([f"{self.held_folders} folder removals"] if self.held_folders else []))
        return (f"The migration user \"{self.email_address}\" has {what} held on the "
                "target" + (f" because {why}" if why else "") + ". "
                "Review the source, then approve them with 'Set-MigrationUser -Identity "
                f"{self.email_address} -ApproveDeletions'.")


@dataclass(frozen=True)
class UserChanges:
    sync_now: bool = False
    approve_skipped_items: bool = False
    approve_deletions: bool = False  # imsh: release the deletions the guard held
    settings: UserSettingChanges = field(default_factory=UserSettingChanges)  # limits, StartAfter


def user_info(store: Store, user: MigrationUserRow, facts: UserFacts | None = None
              ) -> UserInfo:
    """The user as the cmdlets show it; ``facts`` read for many users at once (listings), else
    read for this one (engine/service/user_facts.py)."""
    facts = facts or UserFacts.of_user(store, user)
    status = MigrationUserStatus(user.status)
    held_messages, held_folders = facts.held_of(user.id)
    return UserInfo(
        email_address=user.email_address, batch_name=user.batch_name, status=status,
        status_summary=MigrationUserStatusSummary(user.status_summary),
        user_name=user.user_name, user_root=user.user_root,
        target_user_name=user.target_user_name, has_password=user.password is not None,
        error=user.error, sync_kind=user.sync_kind, created_at=user.created_at,
        started_at=user.started_at, last_successful_sync_at=user.last_successful_sync_at,
        next_sync_due_at=user.next_sync_due_at, statistics=facts.statistics_of(user.id),
        held_deletions=held_messages, held_folders=held_folders,
        mailbox_guid=mailbox_guid(user), settings=facts.settings_of(user.id),
        time_zone=batch_delays(facts.batches[user.batch_id]).time_zone,
        data_consistency_score=facts.score_of(user.id),
    )


def held_deletions(store: Store, user_id: int) -> int:
    """Held message deletions and folder removals together (0: nothing awaits approval)."""
    return store.messages.count_held(user_id) + store.messages.count_held_folders(user_id)


def approve_deletions(store: Store, user: MigrationUserRow) -> int:
    """Approve the user's held deletions (engine/sync/guard.py) and ask for a pass now, so the
    next pass deletes exactly those; returns how many were approved (0: nothing was held)."""
    if user.id in users_being_synced(store):
        # a pass planned before the approval would hold them again; one planned after it
        # may have held more than the administrator reviewed
        raise InvalidStateError(
            f'The migration user "{user.email_address}" is being synchronized; approve its '
            "held deletions when the pass has ended.", error_id="UserBeingSynced")
    with store.transaction():
        count = held_deletions(store, user.id)
        if not count:
            return 0
        store.messages.approve_held(user.id)
        if MigrationUserStatus(user.status) in USER_SYNC_NOW_ALLOWED:
            store.users.update(replace(user, next_sync_due_at=now()))
    return count


class UserService:
    def __init__(self, store: Store, launcher: Launcher) -> None:
        self._store = store
        self._launch = launcher

    def list(self, identity: str | None = None, batch: str | None = None,
             status: MigrationUserStatus | None = None,
             status_summary: MigrationUserStatusSummary | None = None,
             result_size: int | None = None, mailbox_guid: str | None = None
             ) -> list[UserInfo]:
        facts: UserFacts | None = None
        if mailbox_guid is not None:
            rows = [user_by_guid(self._store, mailbox_guid)]
        elif identity:
            rows = [self._store.users.get(identity)]
        else:
            batch_id = self._store.batches.get(batch).id if batch else None
            rows = self._store.users.list(batch_id=batch_id,
                                          status=str(status) if status else None)
            facts = UserFacts.of(self._store, batch_id)  # a few queries for all the users
        if status is not None:
            rows = [row for row in rows if row.status == status]
        if status_summary is not None:
            rows = [row for row in rows if row.status_summary == status_summary]
        if result_size is not None:
            rows = rows[:result_size]
        return [user_info(self._store, row, facts) for row in rows]

    def get(self, identity: str) -> UserInfo:
        return user_info(self._store, self._store.users.get(identity))

    def change(self, identity: str, changes: UserChanges) -> UserInfo:
        user = self._store.users.get(identity)
        if changes.settings.any:
            apply_settings(self._store, user, changes.settings)
        if changes.approve_deletions:
            if not approve_deletions(self._store, user):
                raise InvalidStateError(
                    f'The migration user "{user.email_address}" has no held deletions to '
                    "approve.", error_id="NoHeldDeletions")
            self._launch()
            user = self._store.users.get(identity)
        if changes.sync_now and self._retry_now(user):
            return self.get(identity)
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

    def _retry_now(self, user: MigrationUserRow) -> bool:
        """A user waiting out a retry backoff (a pass under way that nobody syncs right now)
        is retried now: the administrator fixed the link, or does not want to wait."""
        if not waiting_for_retry(self._store, user):
            return False
        self._store.users.update(replace(user, next_sync_due_at=now()))
        self._launch()
        return True

    def start(self, identity: str) -> UserInfo:
        user = self._store.users.get(identity)
        if self._retry_now(user):
            return self.get(identity)
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

    def check_remove(self, identity: str) -> None:
        """Remove-MigrationUser -WhatIf: the user exists and may be removed now."""
        user = self._store.users.get(identity)
        check_user_remove(MigrationUserStatus(user.status), user.email_address)

    def remove(self, identity: str) -> None:
        """Delete the user's state. A user a runner syncs is marked Removing first, and the
        cmdlet waits (up to 20 s) until the runner has stopped the pass, so no append for the
        user follows its return; a runner slower than that deletes the user when done."""
        user = self._store.users.get(identity)
        check_user_remove(MigrationUserStatus(user.status), user.email_address)
        if user.id in users_being_synced(self._store):
            self._store.users.update(with_status(user, U.Removing, stop_requested=True,
                                                 next_sync_due_at=None))
            if not wait_released(self._store, {user.id}):
                return  # the runner deletes it once it lets go (engine/runner/housekeeping)
        with contextlib.suppress(NotFoundError):  # housekeeping may have removed it meanwhile
            self._store.users.remove(user.email_address)
