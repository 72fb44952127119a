"""Migration batches: create from CSV bytes, list, change, start, stop, complete, remove, wait.

* **All or nothing.** New-MigrationBatch validates everything first (name, endpoints, limits,
  folders, the CSV with engine/csvdata's Exchange messages, each row's login form, users already
  in another batch) and then writes the batch and all its users in ONE transaction. Any error
  leaves the state exactly as it was. Passwords become :class:`Secret` at once and the store
  seals them before they reach the database.
* **Stored phase, derived status.** ``batches.status`` holds the
  :class:`~engine.transitions.BatchPhase`; :func:`derive_status` computes what
  Get-MigrationBatch shows from it and the users' statuses (docs/status-model.md).
* Start/Stop/Complete/Remove check the status with engine/transitions first. Start queues the
  users (``next_sync_due_at`` = now) and then calls the runner launcher; without a runner the
  users simply stay Queued. Stop and Remove act at once on users no runner holds and ask the
  runner (``stop_requested``) for the others (engine/service/common.py).
* ``IncrementalSyncInterval`` (an imsh addition): a batch may have its own; without one it
  follows the configured default. Get-MigrationBatch shows the one that applies, as the
  runner reads it (engine/runner/intervals.py, engine/service/sync_interval.py).
* Remove deletes state only; it never touches a mailbox on the source or the target.
* **No lost stamps.** The runner and the notification sender stamp batch rows too (times,
  ``extra.notifications``). Every change here writes the whole row, so it re-reads the batch
  inside its write transaction (:meth:`BatchService._rewrite`) instead of writing back a copy
  read before the lock was taken.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from engine.adminlogin import plan_login
from engine.content_filter import parse_content_filter
from engine.csvdata import (
    CsvUserRow,
    address_key,
    check_not_in_other_batches,
    is_valid_address,
    parse_migration_csv,
)
from engine.errors import (
    AlreadyExistsError,
    ErrorCategory,
    ImshError,
    InvalidStateError,
    NotFoundError,
    ValidationError,
)
from engine.excludes import parse_exclude_folders
from engine.gmail_endpoint import is_gmail
from engine.limits import DEFAULT_REPORT_INTERVAL, validate_batch_name, validate_report_interval
from engine.maildir_sharing import start_refusal
from engine.model import (
    BatchCounts,
    BatchStatus,
    DataConsistencyScore,
    EndpointType,
    MigrationUserStatus,
    count_users,
    worst_score,
)
from engine.oauth import is_oauth
from engine.runner.intervals import DEFAULT_INTERVAL, batch_interval, seconds_of
from engine.runner.launcher import RUNNER_PREFIX
from engine.runner.liveness import live_leases
from engine.service.common import (
    UNSET,
    Launcher,
    Unset,
    now,
    queue_user,
    runner_alive,
    stop_user,
    user_statuses,
    users_being_synced,
    wait_released,
    waiting_for_retry,
)
from engine.service.config import load_config
from engine.service.delays import BatchDelays, batch_delays, delays_for
from engine.service.moved_users import (
    check_same_target,
    move_users,
    shared_endpoint,
    users_to_move,
)
from engine.service.sync_interval import check_interval, reschedule_waiting_users
from engine.service.updated_users import changed_users
from engine.service.user_facts import UserFacts
from engine.service.users import approve_deletions
from engine.skipped import retry_skipped_items
from engine.store import Store
from engine.store.batches import BatchRow, BatchSpec
from engine.store.endpoints import EndpointRow
from engine.store.stats import BatchTotals
from engine.store.users import MigrationUserRow, MigrationUserSpec
from engine.sync.gmail_labels import POLICY_KEY, parse_policy
from engine.sync.selection import CONTENT_FILTER, included_folders, selection_extra
from engine.transitions import (
    BatchPhase,
    StartKind,
    batch_status_from_users,
    check_complete,
    check_remove,
    check_set,
    check_start,
    check_stop,
    check_sync_now,
    with_status,
)

if TYPE_CHECKING:
    from engine.service.preview import UserPreview

U = MigrationUserStatus
B = BatchStatus
_RETRYABLE = frozenset({U.Failed, U.IncrementalFailed, U.CompletionFailed})
_RESUMABLE = frozenset({U.Stopped, U.IncrementalStopped, U.Stopping})
_SYNCED = frozenset({U.Synced, U.IncrementalSynced})
_FINISHED = frozenset({U.Completed, U.CompletedWithWarnings})
SETTLED = frozenset({B.Synced, B.SyncedWithErrors, B.Stopped, B.Completed,
                     B.CompletedWithErrors, B.Failed})
"""The statuses Wait-MigrationBatch stops at by default."""


@dataclass(frozen=True)
class BatchRequest:
    """New-MigrationBatch for an IMAP (onboarding) migration."""

    name: str
    source_endpoint: str | None
    csv_data: bytes
    target_endpoint: str | None = None
    allow_unknown_columns: bool = False
    exclude_folders: tuple[str, ...] = ()
    auto_start: bool = False
    auto_complete: bool = False
    notification_emails: tuple[str, ...] = ()
    bad_item_limit: int | None = None  # None: Unlimited
    large_item_limit: int | None = None
    report_interval: timedelta = DEFAULT_REPORT_INTERVAL
    incremental_sync_interval: timedelta | None = None  # None: follow the configured one
    # -Users: existing users that move into the new batch instead of -CSVData's
    # (engine/service/moved_users.py)
    users: tuple[str, ...] = ()
    # -StartAfter/-CompleteAfter as typed (text or datetime), read in -TimeZone when they
    # carry no zone (engine/service/delays.py, engine/schedule_times.py)
    start_after: datetime | str | None = None
    complete_after: datetime | str | None = None
    time_zone: str | None = None
    # -IncludeFolders and -ContentFilter (engine/sync/selection.py)
    include_folders: tuple[str, ...] = ()
    content_filter: str | None = None
    gmail_label_policy: str | None = None  # engine/sync/gmail_labels.py (None: OneCopy)


@dataclass(frozen=True)
class BatchChanges:
    """Set-MigrationBatch: ``None``/``UNSET`` leaves a setting as it is."""

    notification_emails: tuple[str, ...] | None = None
    report_interval: timedelta | None = None
    # UNSET: leave it; None: follow the configured one again
    incremental_sync_interval: timedelta | Unset | None = UNSET
    bad_item_limit: int | Unset | None = UNSET
    large_item_limit: int | Unset | None = UNSET
    csv_data: bytes | None = None
    add_users: bool = False
    allow_unknown_columns: bool = False
    sync_now: bool = False
    approve_skipped_items: bool = False
    approve_deletions: bool = False  # imsh: release every user's held deletions
    # UNSET: leave it; None: clear it (engine/service/delays.py)
    start_after: datetime | str | Unset | None = UNSET
    complete_after: datetime | str | Unset | None = UNSET
    time_zone: str | Unset | None = UNSET
    gmail_label_policy: str | None = None  # None: leave it (engine/sync/gmail_labels.py)


@dataclass(frozen=True)
class BatchInfo:
    """A batch as the cmdlets show it: the façade's own record, not the store's row (the
    cmdlets never see ``BatchRow``; a store column can change without touching them)."""

    id: int
    name: str
    phase: BatchPhase  # the stored phase; ``status`` is derived from the users'
    status: BatchStatus
    counts: BatchCounts
    source_endpoint: str
    target_endpoint: str
    exclude_folders: tuple[str, ...]
    included_folders: tuple[str, ...]
    content_filter: str | None
    notification_emails: tuple[str, ...]
    auto_start: bool
    auto_complete: bool
    bad_item_limit: int | None  # None = Unlimited
    large_item_limit: int | None  # None = Unlimited
    report_interval: timedelta
    delays: BatchDelays  # StartAfter, CompleteAfter (UTC) and the batch's time zone
    created_at: datetime
    started_at: datetime | None
    initial_sync_completed_at: datetime | None
    last_synced_at: datetime | None
    completed_at: datetime | None
    last_report_sent_at: datetime | None
    error: str | None
    report: tuple[str, ...] = ()
    incremental_sync_interval: timedelta = DEFAULT_INTERVAL  # the one that applies
    totals: BatchTotals | None = None  # items and bytes so far (filled while waiting)
    users_with_held_deletions: int = 0  # the batch needs the administrator's attention
    data_consistency_score: DataConsistencyScore = DataConsistencyScore.Perfect  # worst user's

    @property
    def attention(self) -> str | None:
        """Exchange-style words when some user's deletions are held (engine/sync/guard.py)."""
        count = self.users_with_held_deletions
        if not count:
            return None
        who = "1 user has" if count == 1 else f"{count} users have"
        return (f"The migration batch \"{self.name}\" needs attention: {who} deletions "
                "held on the target. See Get-MigrationUserStatistics, then approve them with "
                f"'Set-MigrationBatch -Identity {self.name} -ApproveDeletions' or "
                "Set-MigrationUser -ApproveDeletions.")


def _batch_info(batch: BatchRow, status: BatchStatus, counts: BatchCounts,
                report: tuple[str, ...], incremental_sync_interval: timedelta,
                users_with_held_deletions: int,
                data_consistency_score: DataConsistencyScore) -> BatchInfo:
    """The façade's record of ``batch``, with what the store doesn't keep (derived from its
    users, the configuration and the proofs)."""
    return BatchInfo(
        id=batch.id, name=batch.name, phase=BatchPhase(batch.status), status=status,
        counts=counts, source_endpoint=batch.source_endpoint,
        target_endpoint=batch.target_endpoint, exclude_folders=batch.exclude_folders,
        included_folders=included_folders(batch), content_filter=batch.extra.get(CONTENT_FILTER),
        notification_emails=batch.notification_emails, auto_start=batch.auto_start,
        auto_complete=batch.auto_complete, bad_item_limit=batch.bad_item_limit,
        large_item_limit=batch.large_item_limit,
        report_interval=timedelta(seconds=batch.report_interval_seconds),
        delays=batch_delays(batch), created_at=batch.created_at, started_at=batch.started_at,
        initial_sync_completed_at=batch.initial_sync_completed_at,
        last_synced_at=batch.last_synced_at, completed_at=batch.completed_at,
        last_report_sent_at=batch.last_report_sent_at, error=batch.error, report=report,
        incremental_sync_interval=incremental_sync_interval,
        users_with_held_deletions=users_with_held_deletions,
        data_consistency_score=data_consistency_score)


def derive_status(store: Store, batch: BatchRow) -> BatchStatus:
    """What Get-MigrationBatch shows: from the stored phase and the users' statuses."""
    users = store.users.list(batch_id=batch.id)
    return batch_status_from_users(BatchPhase(batch.status), user_statuses(users))


class BatchService:
    def __init__(self, store: Store, launcher: Launcher) -> None:
        self._store = store
        self._launch = launcher

    # --- reading ----------------------------------------------------------------------------

    def info(self, batch: BatchRow, include_report: bool = False) -> BatchInfo:
        users = self._store.users.list(batch_id=batch.id)
        statuses = user_statuses(users)
        status = batch_status_from_users(BatchPhase(batch.status), statuses)
        report = self._report(users) if include_report else ()
        facts = UserFacts.of(self._store, batch.id)  # a few queries for all its users
        held = sum(1 for user in users if sum(facts.held_of(user.id)))
        return _batch_info(batch, status, count_users(s for s in statuses if s != U.Removing),
                           report=report,
                           incremental_sync_interval=batch_interval(self._store, batch),
                           users_with_held_deletions=held,
                           data_consistency_score=worst_score(
                               facts.score_of(u.id) for u in users))

    def get(self, name: str) -> BatchInfo:
        return self.info(self._store.batches.get(name))

    def list(self, name: str | None = None, status: BatchStatus | None = None,
             endpoint: str | None = None, include_report: bool = False,
             result_size: int | None = None) -> list[BatchInfo]:
        if name:
            rows = [self._store.batches.get(name)]
        else:
            endpoint_id = self._store.endpoints.get(endpoint).id if endpoint else None
            rows = self._store.batches.list(endpoint_id=endpoint_id)
        infos = [self.info(row, include_report) for row in rows]
        if status is not None:
            infos = [info for info in infos if info.status is status]
        return infos if result_size is None else infos[:result_size]

    def resolve(self, name: str) -> BatchRow:
        """The named batch. A missing or blank name never means "the only batch there is":
        a state change always names its target (DESIGN.md §4)."""
        if not name or not name.strip():
            raise ValidationError("No migration batch was named; use -Identity to name one.",
                                  error_id="BatchIdentityRequired")
        return self._store.batches.get(name)

    def _report(self, users: Sequence[MigrationUserRow]) -> tuple[str, ...]:
        lines: list[tuple[datetime, str]] = []
        for user in users:
            for entry in self._store.statistics.report_entries(user.id):
                lines.append((entry.created_at, f"{entry.created_at:%Y-%m-%d %H:%M:%S}Z "
                              f"{user.email_address} [{entry.kind}] {entry.message}"))
        return tuple(text for _, text in sorted(lines))

    # --- creating ---------------------------------------------------------------------------

    def create(self, request: BatchRequest) -> BatchInfo:
        if request.users:
            return self._create_from_users(request)
        spec, users = self._prepare(request)
        with self._store.transaction():
            if self._store.batches.find(spec.name) is not None:
                raise _batch_exists()
            batch = self._store.batches.add(spec)
            self._store.users.add_many(batch.id, users)
        if request.auto_start:
            self._launch()
        return self.info(self._store.batches.get_by_id(batch.id))

    def check_remove(self, name: str) -> None:
        """Remove-MigrationBatch -WhatIf: the batch exists and may be removed now."""
        batch = self.resolve(name)
        check_remove(derive_status(self._store, batch), batch.name)

    def preview_new(self, request: BatchRequest) -> builtins.list[UserPreview]:
        """New-MigrationBatch -WhatIf: every check of :meth:`create` (it fails as create
        would), then the preview of each CSV user (engine/service/preview.py); nothing is
        written."""
        if request.users:  # -Users: every check of the move, kept in a rolled-back run
            with self._store.db.rolled_back():
                info = self._create_from_users(replace(request, auto_start=False))
                batch = self.resolve(info.name)
            moving = users_to_move(self._store, request.users)
            source = self._store.endpoints.get(info.source_endpoint)
            target = self._store.endpoints.get(info.target_endpoint)
            return _preview(self._store, source, moving, batch, target)
        spec, users = self._prepare(request)
        source = self._store.endpoints.get_by_id(spec.source_endpoint_id)
        target = self._store.endpoints.get_by_id(spec.target_endpoint_id)
        return _preview(self._store, source, users, spec, target)

    def preview_start(self, name: str) -> builtins.list[UserPreview]:
        """Start-MigrationBatch -WhatIf: the checks of :meth:`start`, then the preview of the
        users it would start (those not yet synced); nothing is written."""
        batch = self.resolve(name)
        kind = check_start(derive_status(self._store, batch), batch.name)
        users = [u for u in self._store.users.list(batch_id=batch.id)
                 if _restarts(kind, U(u.status)) or U(u.status) in _SYNCED]
        source = self._store.endpoints.get_by_id(batch.source_endpoint_id)
        target = self._store.endpoints.get_by_id(batch.target_endpoint_id)
        return _preview(self._store, source, users, batch, target)

    def _create_from_users(self, request: BatchRequest) -> BatchInfo:
        """New-MigrationBatch -Users: the batch takes over existing users with their state."""
        moving = users_to_move(self._store, request.users)
        source_id = (self._store.endpoints.get(request.source_endpoint).id
                     if request.source_endpoint else shared_endpoint(self._store, moving,
                                                                     "source"))
        target_id = (self._store.endpoints.get(request.target_endpoint).id
                     if request.target_endpoint else shared_endpoint(self._store, moving,
                                                                     "target"))
        check_same_target(self._store, moving, target_id)
        source = self._store.endpoints.get_by_id(source_id)
        spec, _ = self._prepare(replace(
            request, source_endpoint=source.name, csv_data=b"",
            target_endpoint=self._store.endpoints.get_by_id(target_id).name), csv=False)
        spec = replace(spec, csv_row_count=len(moving), csv_bytes=0)
        due = now() if request.auto_start else None
        with self._store.transaction():
            if self._store.batches.find(spec.name) is not None:
                raise _batch_exists()
            batch = self._store.batches.add(spec)
            move_users(self._store, batch.id, moving, due)
        if request.auto_start:
            self._launch()
        return self.info(self._store.batches.get_by_id(batch.id))

    def _prepare(
        self, request: BatchRequest, csv: bool = True
    ) -> tuple[BatchSpec, builtins.list[MigrationUserSpec]]:
        name = validate_batch_name(request.name.strip())
        if self._store.batches.find(name) is not None:
            raise _batch_exists()
        config = load_config(self._store)
        if not config.can_submit_new_batch:
            raise ImshError(
                f"The maximum number of migration batches ({config.max_number_of_batches}) "
                "has been reached. Remove a batch, or raise the limit with "
                "Set-MigrationConfig -MaxNumberOfBatches.",
                category=ErrorCategory.LimitsExceeded, error_id="TooManyBatches")
        source, target = self._endpoints(request)
        parse_exclude_folders(request.exclude_folders)
        parse_exclude_folders(request.include_folders)  # the same syntax
        if request.content_filter:
            parse_content_filter(request.content_filter)
        policy = ({POLICY_KEY: parse_policy(request.gmail_label_policy)}
                  if request.gmail_label_policy else {})  # absent: OneCopy
        _check_addresses(request.notification_emails)
        validate_report_interval(request.report_interval)
        check_interval(request.incremental_sync_interval)
        _check_limit("BadItemLimit", request.bad_item_limit)
        _check_limit("LargeItemLimit", request.large_item_limit)
        rows = parse_migration_csv(request.csv_data,
                                   allow_unknown_columns=request.allow_unknown_columns,
                                   password_required=not _token_login(source),
                                   user_name_required=not is_gmail(source)) if csv else []
        users = self._user_specs(rows, target, request.auto_start, batch_name=None,
                                 oauth_source=_token_login(source)) if csv else []
        started = now() if request.auto_start else None
        spec = BatchSpec(
            name=name, source_endpoint_id=source.id, target_endpoint_id=target.id,
            status=str(BatchPhase.Active if request.auto_start else BatchPhase.Created),
            exclude_folders=tuple(request.exclude_folders), auto_start=request.auto_start,
            auto_complete=request.auto_complete,
            notification_emails=tuple(request.notification_emails),
            bad_item_limit=request.bad_item_limit, large_item_limit=request.large_item_limit,
            report_interval_seconds=int(request.report_interval.total_seconds()),
            incremental_sync_interval_seconds=seconds_of(request.incremental_sync_interval),
            csv_row_count=len(rows), csv_bytes=len(request.csv_data), started_at=started,
        )
        delayed = delays_for(spec, request.start_after, request.complete_after,
                             request.time_zone)
        extra = {**delayed.extra, **selection_extra(request.include_folders,
                                                     request.content_filter), **policy}
        return replace(spec, extra=extra), users

    def _endpoints(self, request: BatchRequest) -> tuple[EndpointRow, EndpointRow]:
        if not request.source_endpoint:
            raise ValidationError(
                "An IMAP migration batch needs -SourceEndpoint: the IMAP endpoint of the source "
                "server.", error_id="SourceEndpointRequired")
        source = self._store.endpoints.get(request.source_endpoint)
        if source.kind != EndpointType.IMAP:
            raise ValidationError(
                f"The source endpoint '{source.name}' is a {source.kind} endpoint; the source "
                "of an IMAP migration batch must be an IMAP endpoint.",
                error_id="SourceEndpointNotImap")
        if request.target_endpoint:
            target = self._store.endpoints.get(request.target_endpoint)
        else:
            found = self._store.endpoints.default_target()
            if found is None:
                raise ValidationError(
                    "There is no default target endpoint; use -TargetEndpoint, or set one with "
                    "Set-MigrationConfig -DefaultTargetEndpoint.", error_id="NoDefaultTarget")
            target = found
        if target.id == source.id:
            raise ValidationError("The source and the target endpoint must be different.",
                                  error_id="SameSourceAndTarget")
        if is_gmail(target):
            raise ValidationError(
                f"The endpoint '{target.name}' is a Gmail endpoint; it can only be a source.",
                error_id="GmailEndpointNotTarget")
        return source, target

    def _user_specs(self, rows: Sequence[CsvUserRow], target: EndpointRow, queued: bool,
                    batch_name: str | None, oauth_source: bool = False
                    ) -> builtins.list[MigrationUserSpec]:
        others = {address_key(u.email_address): u.batch_name for u in self._store.users.list()
                  if batch_name is None or u.batch_name.casefold() != batch_name.casefold()}
        check_not_in_other_batches(rows, others)
        due = now() if queued else None
        return [_user_spec(row, target, due, oauth_source) for row in rows]

    # --- changing ---------------------------------------------------------------------------

    def change(self, name: str, changes: BatchChanges) -> BatchInfo:
        batch = self._store.batches.get(name)
        status = derive_status(self._store, batch)
        check_set(status, batch.name)
        if changes.sync_now:
            check_sync_now(status, batch.name)
        _apply(batch, changes)  # validate before anything is written
        new_users = self._added_users(batch, status, changes)
        updates = self._updated_users(batch, changes)  # changed rows of present users
        with self._store.transaction():
            self._rewrite(batch.id, lambda fresh: _apply(fresh, changes))
            if new_users:
                self._store.users.add_many(batch.id, new_users)
            for updated in updates:
                self._store.users.update(updated)
            if not isinstance(changes.incremental_sync_interval, Unset):
                reschedule_waiting_users(self._store, self._store.batches.get_by_id(batch.id),
                                         now())
            if changes.sync_now:
                self._sync_now(batch)
            if _retries_skipped(batch, changes):
                for user in self._store.users.list(batch_id=batch.id):
                    retry_skipped_items(self._store, user.id)
            approved = sum(approve_deletions(self._store, user)
                           for user in self._store.users.list(batch_id=batch.id)
                           ) if changes.approve_deletions else 0
        if changes.approve_deletions and not approved:
            raise InvalidStateError(
                f'No user of the migration batch "{batch.name}" has held deletions to approve.',
                error_id="NoHeldDeletions")
        if changes.sync_now or approved or (
                new_users and BatchPhase(batch.status) is BatchPhase.Active):
            self._launch()
        return self.info(self._store.batches.get_by_id(batch.id))

    def _rewrite(self, batch_id: int, change: Callable[[BatchRow], BatchRow]) -> None:
        """Write ``change`` of the batch as it is now; call inside ``store.transaction()``.

        The whole row is written back, so it is re-read under the write lock: a stamp the
        runner or the notification sender committed since the caller's read is kept."""
        self._store.batches.update(change(self._store.batches.get_by_id(batch_id)))

    def _added_users(self, batch: BatchRow, status: BatchStatus,
                     changes: BatchChanges) -> builtins.list[MigrationUserSpec]:
        if changes.csv_data is None:
            if changes.add_users:
                raise ValidationError("-AddUsers needs -CSVData with the users to add.",
                                      error_id="AddUsersWithoutCsv")
            return []
        if not changes.add_users:
            raise ValidationError(
                "-CSVData on Set-MigrationBatch adds users and needs -AddUsers.",
                error_id="CsvWithoutAddUsers")
        source = self._store.endpoints.get_by_id(batch.source_endpoint_id)
        rows = parse_migration_csv(changes.csv_data,
                                   allow_unknown_columns=changes.allow_unknown_columns,
                                   password_required=not _token_login(source),
                                   user_name_required=not is_gmail(source))
        present = {address_key(u.email_address)
                   for u in self._store.users.list(batch_id=batch.id)}
        # "Only new entries in the CSV file are processed."
        fresh = [row for row in rows if address_key(row.email_address) not in present]
        target = self._store.endpoints.get_by_id(batch.target_endpoint_id)
        active = BatchPhase(batch.status) is BatchPhase.Active
        return self._user_specs(fresh, target, active, batch_name=batch.name,
                                oauth_source=_token_login(source))

    def _updated_users(self, batch: BatchRow,
                       changes: BatchChanges) -> builtins.list[MigrationUserRow]:
        """-AddUsers: the users of the batch whose CSV row changed, with the new values
        (engine/service/updated_users.py); checked like new rows, nothing written yet."""
        if changes.csv_data is None or not changes.add_users:
            return []
        source = self._store.endpoints.get_by_id(batch.source_endpoint_id)
        rows = parse_migration_csv(changes.csv_data,
                                   allow_unknown_columns=changes.allow_unknown_columns,
                                   password_required=not _token_login(source),
                                   user_name_required=not is_gmail(source))
        updates = changed_users(self._store, self._store.users.list(batch_id=batch.id), rows)
        by_key = {address_key(row.email_address): row for row in rows}
        target = self._store.endpoints.get_by_id(batch.target_endpoint_id)
        for user in updates:  # the same checks as a new user's row
            _user_spec(by_key[address_key(user.email_address)], target, None, _token_login(source))
        return updates

    def _sync_now(self, batch: BatchRow) -> None:
        # "starts an immediate sync for users that have already reached Synced status, but
        # doesn't resume any Failed users"
        when = now()
        for user in self._store.users.list(batch_id=batch.id):
            # and users waiting out a retry backoff are retried now
            if user.status in _SYNCED or waiting_for_retry(self._store, user):
                self._store.users.update(replace(user, next_sync_due_at=when))

    def _pass_due(self, batch_id: int) -> bool:
        """A synced user asked for a pass (Start, -SyncNow) that no runner has begun yet."""
        moment = now()
        return any(
            U(user.status) in _SYNCED and not user.stop_requested
            and user.next_sync_due_at is not None and user.next_sync_due_at <= moment
            for user in self._store.users.list(batch_id=batch_id)
        )

    # --- status changes ---------------------------------------------------------------------

    def start(self, name: str) -> BatchInfo:
        batch = self.resolve(name)
        kind = check_start(derive_status(self._store, batch), batch.name)
        self._refuse_unshared_maildir(batch)
        when = now()
        with self._store.transaction():
            for user in self._store.users.list(batch_id=batch.id):
                if _restarts(kind, U(user.status)):
                    queue_user(self._store, user, when)
                elif U(user.status) in _SYNCED:
                    # Start on a synced batch runs an incremental pass now (issue 5)
                    self._store.users.update(replace(user, next_sync_due_at=when))
            self._rewrite(batch.id, lambda fresh: replace(
                fresh, status=str(BatchPhase.Active), started_at=fresh.started_at or when))
        self._launch()
        return self.info(self._store.batches.get_by_id(batch.id))

    def _refuse_unshared_maildir(self, batch: BatchRow) -> None:
        """A Maildir target not marked -SharedStorage, with runners of several hosts serving
        the state (engine/maildir_sharing.py): refused before anything is queued."""
        target = self._store.endpoints.get_by_id(batch.target_endpoint_id)
        if target.kind != "Maildir" or self._store.paths.database is None:  # SQLite: one host
            return
        hosts = {lease.host or lease.owner.split(":", 1)[0]
                 for lease in live_leases(self._store, prefix=RUNNER_PREFIX)}
        why = start_refusal(target.name, target.path, target.extra, hosts)
        if why is not None:
            raise InvalidStateError(why, error_id="MaildirNotShared")

    def stop(self, name: str) -> BatchInfo:
        batch = self.resolve(name)
        check_stop(derive_status(self._store, batch), batch.name)
        running = users_being_synced(self._store)
        with self._store.transaction():
            for user in self._store.users.list(batch_id=batch.id):
                if U(user.status) not in _FINISHED | _RETRYABLE | _RESUMABLE:
                    stop_user(self._store, user, running)
            self._rewrite(batch.id, lambda fresh: replace(fresh,
                                                          status=str(BatchPhase.Stopping)))
        return self.info(self._store.batches.get_by_id(batch.id))

    def complete(self, name: str, sync_and_complete: bool = False) -> BatchInfo:
        batch = self.resolve(name)
        check_complete(derive_status(self._store, batch), batch.name)
        if sync_and_complete:
            _check_all_good(batch, self._store.users.list(batch_id=batch.id))
        when = now()
        with self._store.transaction():
            for user in self._store.users.list(batch_id=batch.id):
                if U(user.status) not in _FINISHED:
                    self._store.users.update(replace(user, next_sync_due_at=when,
                                                     stop_requested=False))
            self._rewrite(batch.id, lambda fresh: replace(fresh,
                                                          status=str(BatchPhase.Completing)))
        self._launch()
        return self.info(self._store.batches.get_by_id(batch.id))

    def remove(self, name: str) -> BatchInfo | None:
        """Delete the batch and its state now, or mark it Removing while a runner still holds
        some of its users (the runner deletes it once they are released). Mail is never
        touched."""
        batch = self.resolve(name)
        check_remove(derive_status(self._store, batch), batch.name)
        running = users_being_synced(self._store)
        users = self._store.users.list(batch_id=batch.id)
        if not any(user.id in running for user in users):
            self._store.batches.remove(batch.name)
            return None
        with self._store.transaction():
            for user in users:
                self._store.users.update(with_status(user, U.Removing, stop_requested=True,
                                                     next_sync_due_at=None))
            self._rewrite(batch.id, lambda fresh: replace(fresh,
                                                          status=str(BatchPhase.Removing)))
        if wait_released(self._store, {user.id for user in users}):
            try:
                self._store.batches.remove(batch.name)
                return None
            except NotFoundError:
                return None  # the runner's housekeeping removed it meanwhile
        return self.info(self._store.batches.get_by_id(batch.id))

    def wait(self, name: str, until: frozenset[BatchStatus], timeout: timedelta,
             on_poll: Callable[[BatchInfo], None], interval: float = 0.25) -> BatchInfo:
        """Poll until the batch reaches a status in ``until`` with no pass still due (a
        Start or -SyncNow on a synced batch is waited for); raise on Failed or timeout."""
        deadline = time.monotonic() + timeout.total_seconds()
        watch = _RunnerWatch(self._store, self._launch)
        while True:
            info = self.get(name)
            info = replace(info, totals=self._store.statistics.batch_totals(info.id))
            on_poll(info)
            if info.status in until and not self._pass_due(info.id):
                return info
            _check_waitable(info, until)
            watch.check(info)
            if time.monotonic() >= deadline:
                raise ImshError(
                    f'The migration batch "{info.name}" didn\'t reach {_either(until)} within '
                    f"{int(timeout.total_seconds())} seconds (status {info.status})."
                    + ("" if watch.alive else " No runner is working on it."),
                    category=ErrorCategory.OperationTimeout, error_id="WaitTimedOut")
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


class _RunnerWatch:
    """Wait-MigrationBatch makes sure a runner works on the batch it waits for.

    Whenever no live runner serves the state (a SIGKILLed one does not count,
    engine/runner/liveness.py), the launcher is asked to start one (at most every
    :data:`RELAUNCH_SECONDS`). When none has appeared :data:`NO_RUNNER_SECONDS` after the first
    request — or there is no launcher to ask — the wait ends with an error saying so, instead
    of waiting on a batch nobody works on.
    """

    def __init__(self, store: Store, launch: Launcher) -> None:
        self._store = store
        self._launch = launch
        self.alive = True
        self._missing_since: float | None = None
        self._last_launch = float("-inf")

    def check(self, info: BatchInfo) -> None:
        self.alive = runner_alive(self._store)
        if self.alive:
            self._missing_since = None
            return
        moment = time.monotonic()
        if self._missing_since is None:
            self._missing_since = moment
        if self._launch.available and moment - self._last_launch >= RELAUNCH_SECONDS:
            self._last_launch = moment
            self._launch()
        if moment - self._missing_since >= NO_RUNNER_SECONDS:
            hint = ("the runner that was started did not come up; see logs/imsh-service.log and "
                    "logs/imsh-runner.out "
                    "in the state directory" if self._launch.available
                    else "start one with 'imsh service'")
            raise InvalidStateError(
                f'No runner is working on the migration batch "{info.name}" (status '
                f"{info.status}): {hint}.", error_id="NoRunner")


RELAUNCH_SECONDS = 5.0
NO_RUNNER_SECONDS = 30.0


def _check_waitable(info: BatchInfo, until: frozenset[BatchStatus]) -> None:
    if info.status is B.Failed:
        raise InvalidStateError(
            f'The migration batch "{info.name}" failed: all of its users failed. '
            "Get-MigrationUserStatistics shows why.", error_id="BatchFailed")
    if info.status is B.Created:
        raise InvalidStateError(
            f'The migration batch "{info.name}" hasn\'t been started; run Start-MigrationBatch '
            "first.", error_id="BatchNotStarted")


_NOT_GOOD = _RETRYABLE | _RESUMABLE | {U.Corrupted}


def _check_all_good(batch: BatchRow, users: Sequence[MigrationUserRow]) -> None:
    """-SyncAndComplete: "the batch must have zero failed, corrupted, or stopped items;
    otherwise, the cmdlet returns an error"."""
    bad = [f"{u.email_address} ({u.status})" for u in users if U(u.status) in _NOT_GOOD]
    if bad:
        raise InvalidStateError(
            f'The migration batch "{batch.name}" can\'t be completed with -SyncAndComplete '
            f"because {len(bad)} of its users failed or stopped: {', '.join(bad)}. Retry them "
            "(Start-MigrationBatch), move them to another batch (New-MigrationBatch -Users) "
            "or complete without -SyncAndComplete.", error_id="SyncAndCompleteNotAllSynced")


def _either(statuses: frozenset[BatchStatus]) -> str:
    names = sorted(str(s) for s in statuses)
    return names[0] if len(names) == 1 else "one of " + ", ".join(names)


def _restarts(kind: StartKind, status: MigrationUserStatus) -> bool:
    if kind is StartKind.Start:
        return True
    if status in _RETRYABLE:
        return True
    return kind is StartKind.Resume and status in _RESUMABLE


def _user_spec(row: CsvUserRow, target: EndpointRow, due: datetime | None,
               oauth_source: bool = False) -> MigrationUserSpec:
    try:  # an OAuth source signs in with XOAUTH2 as the UserName: no password to check
        if not oauth_source:
            plan_login(row.user_name, row.password, row.user_root)
    except ValidationError as exc:
        raise ValidationError(f"Row {row.row_number}: {exc.message}",
                              error_id=exc.error_id) from None
    if target.kind == EndpointType.IMAP and target.password is None \
            and row.target_user_name is None:
        raise ValidationError(
            f"Row {row.row_number} has no TargetUserName and TargetPassword, and the target "
            f"endpoint '{target.name}' has no -Credentials to log in for it. Add the columns, "
            "or give the endpoint administrator credentials, and re-submit the file.",
            error_id="CsvTargetCredentialsRequired")
    return MigrationUserSpec(
        email_address=row.email_address, user_name=row.user_name,
        password=row.password, user_root=row.user_root,
        target_user_name=row.target_user_name, target_password=row.target_password,
        status=str(U.Queued), status_summary="Active", next_sync_due_at=due,
        started_at=due,
    )


def _token_login(source: EndpointRow) -> bool:
    """The source signs users in with tokens (OAuth app, Gmail service account): no CSV
    password is needed."""
    return is_oauth(source) or is_gmail(source)


def _apply(batch: BatchRow, changes: BatchChanges) -> BatchRow:
    updated = batch
    if changes.notification_emails is not None:
        _check_addresses(changes.notification_emails)
        updated = replace(updated, notification_emails=tuple(changes.notification_emails))
    if changes.report_interval is not None:
        seconds = int(validate_report_interval(changes.report_interval).total_seconds())
        updated = replace(updated, report_interval_seconds=seconds)
    if not isinstance(changes.incremental_sync_interval, Unset):
        interval = check_interval(changes.incremental_sync_interval)
        updated = replace(updated, incremental_sync_interval_seconds=seconds_of(interval))
    for field_name in ("bad_item_limit", "large_item_limit"):
        value = getattr(changes, field_name)
        if not isinstance(value, Unset):
            _check_limit(field_name, value)
            updated = replace(updated, **{field_name: value})
    if changes.approve_skipped_items:
        extra = {**updated.extra, "skipped_items_approved_at": now().isoformat()}
        updated = replace(updated, extra=extra)
    if changes.gmail_label_policy is not None:  # copies made so far stay where they are
        updated = replace(updated, extra={**updated.extra,
                                          POLICY_KEY: parse_policy(changes.gmail_label_policy)})
    return delays_for(updated, changes.start_after, changes.complete_after, changes.time_zone)


def _retries_skipped(batch: BatchRow, changes: BatchChanges) -> bool:
    """-ApproveSkippedItems, or a changed item limit: skipped items are tried again."""
    if changes.approve_skipped_items:
        return True
    return any(not isinstance(getattr(changes, name), Unset)
               and getattr(changes, name) != getattr(batch, name)
               for name in ("bad_item_limit", "large_item_limit"))


def _check_addresses(addresses: Sequence[str]) -> None:
    for address in addresses:
        if not is_valid_address(address.strip()):
            raise ValidationError(
                f'The notification e-mail address "{address}" isn\'t valid. Enter an SMTP '
                "address such as admin@contoso.com.", error_id="InvalidNotificationEmail")


def _check_limit(parameter: str, value: int | None) -> None:
    if value is not None and value < 0:
        raise ValidationError(
            f'The value "{value}" of parameter {parameter} isn\'t valid. Enter a non-negative '
            "integer or the value Unlimited.", error_id="InvalidUnlimitedValue")


def _batch_exists() -> AlreadyExistsError:
    # Exchange's text (reference §B9).
    return AlreadyExistsError("The migration batch already exists.",
                              error_id="BatchAlreadyExists")


def _preview(store: Store, source: EndpointRow, users: Iterable[MigrationUserSpec],
             batch: BatchSpec, target: EndpointRow | None) -> builtins.list[UserPreview]:
    """-WhatIf's preview (engine/service/preview.py), imported when asked for: it reaches the
    servers and loads the sync engine, which no other batch operation needs."""
    from engine.service.preview import preview_users

    return preview_users(store, source, users, batch, target)
