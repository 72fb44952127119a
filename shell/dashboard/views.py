"""What the dashboard's pages and JSON show: façade results turned into plain values.

Pure functions of the façade's answers (no HTTP here): the pages render these dicts, the live
endpoints send them as JSON, so what the page first shows and what the poll updates agree.
Passwords never appear: the user values carry no password field at all, and the CSV masks it
as Export-Csv does (``********``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from cmdlets.migration.records import user_statistics_record
from engine.bytesize import byte_quantified_size
from engine.service import Engine
from engine.service.batches import BatchInfo
from engine.service.users import UserInfo
from engine.store.codec import utc_now
from shell.dashboard import chart
from shell.format.csvtext import to_csv


def _time(value: datetime | None) -> str | None:
    return f"{value:%Y-%m-%d %H:%M:%S}Z" if value is not None else None


def percent(done: int, total: int) -> int:
    """Progress as a whole percentage, 0 when nothing is known yet, never over 100."""
    if total <= 0:
        return 0
    return min(100, done * 100 // total)


def batch_summary(info: BatchInfo, users: Iterable[UserInfo]) -> dict[str, Any]:
    """One batch as Get-MigrationBatch counts it, with its users' items and bytes added up."""
    counts = info.counts
    stats = [u.statistics for u in users]
    synced = sum(s.synced_item_count for s in stats)
    total = sum(s.total_items_in_source for s in stats)
    moved = sum(s.bytes_transferred for s in stats)
    return {
        "identity": info.name,
        "status": str(info.status),
        "total_count": counts.total,
        "active_count": counts.active,
        "synced_count": counts.synced,
        "finalized_count": counts.finalized,
        "failed_count": counts.failed,
        "stopped_count": counts.stopped,
        "pending_count": counts.pending,
        "synced_items": synced,
        "skipped_items": sum(s.skipped_item_count for s in stats),
        "total_items": total,
        "bytes_transferred": byte_quantified_size(moved),
        "percent": percent(synced, total),
        "source_endpoint": info.source_endpoint,
        "target_endpoint": info.target_endpoint,
        "last_synced": _time(info.last_synced_at),
        "message": info.error or info.attention,
    }


def user_summary(info: UserInfo) -> dict[str, Any]:
    """One user's row on its batch's page (no password, no credentials of any kind)."""
    stats = info.statistics
    return {
        "identity": info.email_address,
        "batch": info.batch_name,
        "status": str(info.status),
        "status_summary": str(info.status_summary),
        "synced_items": stats.synced_item_count,
        "skipped_items": stats.skipped_item_count,
        "total_items": stats.total_items_in_source,
        "bytes_transferred": byte_quantified_size(stats.bytes_transferred),
        "percent": stats.percentage_complete,
        "last_sync": _time(info.last_successful_sync_at),
        "error": info.error or stats.last_error,
        # the latest proof's grade, else the skipped items' (engine/verify/score.py)
        "data_consistency_score": str(info.data_consistency_score),
    }


def overview(engine: Engine) -> dict[str, Any]:
    """The main page: every batch, and Get-MigrationStatistics' totals."""
    users = engine.get_users()
    by_batch: dict[str, list[UserInfo]] = {}
    for user in users:
        by_batch.setdefault(user.batch_name, []).append(user)
    totals = engine.get_statistics().counts
    return {
        "batches": [batch_summary(b, by_batch.get(b.name, []))
                    for b in engine.get_batches()],
        "totals": {"total_count": totals.total, "active_count": totals.active,
                   "synced_count": totals.synced, "failed_count": totals.failed,
                   "finalized_count": totals.finalized, "stopped_count": totals.stopped,
                   "pending_count": totals.pending},
    }


def batch_page(engine: Engine, name: str, now: datetime | None = None) -> dict[str, Any]:
    """A batch, every one of its users and its throughput chart's figures (at ``now``).
    Raises the façade's not-found error if unknown."""
    info = engine.get_batches(name)[0]
    users = engine.get_users(batch=info.name)
    drawn = chart.chart(engine.get_batch_passes(info.name), now or utc_now())
    return {"batch": batch_summary(info, users), "users": [user_summary(u) for u in users],
            "chart": chart.summary(drawn)}


def throughput_svg(engine: Engine, name: str, now: datetime | None = None) -> str:
    """The batch's throughput-over-time chart (shell/dashboard/chart.py)."""
    info = engine.get_batches(name)[0]
    drawn = chart.chart(engine.get_batch_passes(info.name), now or utc_now())
    return chart.svg(drawn, f"Items copied per minute in batch {info.name}")


def user_page(engine: Engine, identity: str) -> dict[str, Any]:
    """A user's statistics, folders, skipped items and report (no message content beyond the
    subject line Get-MigrationUserStatistics -IncludeSkippedItems shows)."""
    stats = engine.get_user_statistics(identity, include_report=True,
                                       include_skipped_items=True, skipped_limit=500)
    folders = engine.get_user_folders(identity)
    return {
        "user": user_summary(stats.user),
        "folders": [{"source": f.source, "target": f.target, "excluded": f.excluded,
                     "last_synced": _time(f.last_synced_at)} for f in folders],
        "skipped": [{"kind": "LargeItem" if s.kind == "large" else "CorruptItem",
                     "folder": s.folder, "subject": s.subject, "size": s.size,
                     "reason": s.reason} for s in stats.skipped_items or ()],
        "report": [{"time": _time(e.created_at), "kind": e.kind, "message": e.message,
                    "folder": e.folder} for e in stats.report or ()],
    }


def statistics_csv(engine: Engine, batch: str | None = None) -> str:
    """``Get-MigrationUser [-BatchId B] | Get-MigrationUserStatistics | Export-Csv``'s file."""
    records = [user_statistics_record(engine.get_user_statistics(u.email_address))
               for u in engine.get_users(batch=batch)]
    return "".join(line + "\n" for line in to_csv(records))
