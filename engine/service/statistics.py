"""Get-MigrationUserStatistics and Get-MigrationStatistics: what the store knows, no more.

Every number comes from the store (``user_statistics``, ``report_entries``,
``skipped_items``), written by the runner as it syncs; before a user's first pass the counts are
zero and ``LastSuccessfulSyncTime`` is empty. ``-Diagnostic`` adds imsh's own facts about the
user's sync state (folders known, messages recorded, lease holder, next pass due) and where the
runner's logs are (engine/logs.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.logs import log_files
from engine.model import BatchCounts, MigrationUserStatus, count_users
from engine.service.common import user_lease
from engine.service.users import UserInfo, user_info
from engine.store import Store
from engine.store.stats import ReportEntry, SkippedItem


@dataclass(frozen=True)
class UserStatisticsInfo:
    user: UserInfo
    report: tuple[ReportEntry, ...] | None
    skipped_items: tuple[SkippedItem, ...] | None
    diagnostic: str | None


@dataclass(frozen=True)
class MigrationTotals:
    counts: BatchCounts
    batch_count: int


def user_statistics(store: Store, identity: str, *, include_report: bool = False,
                    include_skipped_items: bool = False, skipped_limit: int | None = None,
                    diagnostic: bool = False) -> UserStatisticsInfo:
    row = store.users.get(identity)
    report = tuple(store.statistics.report_entries(row.id)) if include_report else None
    skipped = (tuple(store.statistics.skipped_items(row.id, limit=skipped_limit))
               if include_skipped_items else None)
    info = user_info(store, row)
    return UserStatisticsInfo(info, report, skipped,
                              _diagnostic(store, row.id, info) if diagnostic else None)


def migration_totals(store: Store) -> MigrationTotals:
    statuses = [MigrationUserStatus(u.status) for u in store.users.list()
                if u.status != MigrationUserStatus.Removing]
    return MigrationTotals(count_users(statuses), store.batches.count())


def _diagnostic(store: Store, user_id: int, info: UserInfo) -> str:
    folders = store.folders.list(user_id)
    messages = store.messages.count_by_state(user_id)
    lease = store.leases.get(user_lease(user_id))
    holder = f"{lease.owner} until {lease.expires_at:%Y-%m-%d %H:%M:%S}Z" if lease else "none"
    due = (f"{info.next_sync_due_at:%Y-%m-%d %H:%M:%S}Z" if info.next_sync_due_at
           else "not scheduled")
    return "; ".join((
        f"sync kind: {info.sync_kind}",
        f"folders known: {len(folders)}",
        "messages: " + (", ".join(f"{n} {state}" for state, n in sorted(messages.items()))
                        or "none recorded"),
        f"runner lease: {holder}",
        f"next pass due: {due}",
        "logs: " + ", ".join(str(path) for path in log_files(store.paths.log_dir)),
    ))
