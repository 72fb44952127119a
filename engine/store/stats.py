"""Per-user statistics, report entries and skipped items (Get-MigrationUserStatistics).

Counters are bumped with :meth:`StatisticsRepository.add_counts` in the same transaction that
records the copies they count, so the numbers never run ahead of the sync state.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from engine.store import codec
from engine.store.db import Database, Row

REPORT_KINDS = ("info", "warning", "error")
SKIP_KINDS = ("bad", "large")


@dataclass(frozen=True)
class UserStatistics:
    user_id: int
    synced_item_count: int = 0
    skipped_item_count: int = 0
    total_items_in_source: int = 0
    bytes_transferred: int = 0
    total_bytes: int = 0
    percentage_complete: int = 0
    queued_seconds: float = 0.0
    in_progress_seconds: float = 0.0
    initial_sync_seconds: float | None = None
    last_sync_seconds: float | None = None
    last_error: str | None = None
    held_deletions_reason: str | None = None  # why the latest pass held deletions (guard)
    updated_at: datetime | None = None


@dataclass(frozen=True)
class BatchTotals:
    """The users' statistics of one batch added up (Wait-MigrationBatch's progress)."""

    synced_items: int = 0
    skipped_items: int = 0
    total_items: int = 0
    bytes_transferred: int = 0
    total_bytes: int = 0
    surveyed_users: int = 0  # users whose source totals are known (their survey is done)


@dataclass(frozen=True)
class ReportEntry:
    id: int
    user_id: int
    created_at: datetime
    kind: str  # info | warning | error
    message: str
    folder: str | None


@dataclass(frozen=True)
class SkippedItem:
    id: int
    user_id: int
    folder: str
    subject: str | None
    item_date: datetime | None
    size: int | None
    kind: str  # bad | large
    reason: str
    recorded_at: datetime


_STAT_COLUMNS = tuple(
    f.name for f in fields(UserStatistics) if f.name not in ("user_id", "updated_at")
)


class StatisticsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, user_id: int) -> UserStatistics:
        """The user's statistics (all zero before the first sync)."""
        found = self._db.query_one("SELECT * FROM user_statistics WHERE user_id = ?", (user_id,))
        return _stats(found) if found is not None else UserStatistics(user_id=user_id)

    def of_users(self, batch_id: int | None = None) -> dict[int, UserStatistics]:
        """Every user's statistics row (only batch ``batch_id``'s when given), by user id, in
        one query (a user without a row has all-zero statistics: :meth:`get`)."""
        if batch_id is None:
            rows = self._db.query_all("SELECT * FROM user_statistics")
        else:
            rows = self._db.query_all(
                "SELECT s.* FROM user_statistics s JOIN migration_users u ON u.id = s.user_id "
                "WHERE u.batch_id = ?", (batch_id,))
        return {int(r["user_id"]): _stats(r) for r in rows}

    def save(self, stats: UserStatistics) -> None:
        """Insert or overwrite the user's statistics row."""
        updates = ", ".join(f"{c} = excluded.{c}" for c in (*_STAT_COLUMNS, "updated_at"))
        placeholders = ", ".join("?" for _ in range(len(_STAT_COLUMNS) + 2))
        with self._db.transaction():
            self._db.execute(
                f"INSERT INTO user_statistics (user_id, {', '.join(_STAT_COLUMNS)}, updated_at) "
                f"VALUES ({placeholders}) ON CONFLICT (user_id) DO UPDATE SET {updates}",
                (
                    stats.user_id,
                    *(getattr(stats, c) for c in _STAT_COLUMNS),
                    codec.time_to_db(codec.utc_now()),
                ),
            )

    def add_counts(
        self, user_id: int, synced: int = 0, skipped: int = 0, bytes_transferred: int = 0
    ) -> None:
        """Add to the running counters atomically (no read-modify-write in Python)."""
        now = codec.time_to_db(codec.utc_now())
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO user_statistics (user_id, updated_at) VALUES (?, ?) "
                "ON CONFLICT (user_id) DO NOTHING",
                (user_id, now),
            )
            # PercentageComplete follows the counters (at most 99 until the pass ends: the
            # end of a pass writes 100), so it moves while a big mailbox is copied
            self._db.execute(
                "UPDATE user_statistics SET synced_item_count = synced_item_count + ?, "
                "skipped_item_count = skipped_item_count + ?, "
                "bytes_transferred = bytes_transferred + ?, "
                "percentage_complete = CASE WHEN total_items_in_source <= 0 "
                "THEN percentage_complete "
                "WHEN (synced_item_count + skipped_item_count + ?) * 100 "
                "/ total_items_in_source > 99 THEN 99 "
                "ELSE (synced_item_count + skipped_item_count + ?) * 100 "
                "/ total_items_in_source END, "
                "updated_at = ? WHERE user_id = ?",
                (synced, skipped, bytes_transferred, synced + skipped, synced + skipped, now,
                 user_id),
            )

    def clear_skipped_items(self, user_id: int) -> None:
        """Forget the user's skipped items and their count (they are being tried again)."""
        with self._db.transaction():
            self._db.execute("DELETE FROM skipped_items WHERE user_id = ?", (user_id,))
            self._db.execute(
                "UPDATE user_statistics SET skipped_item_count = 0, updated_at = ? "
                "WHERE user_id = ?", (codec.time_to_db(codec.utc_now()), user_id))

    def add_report_entry(
        self, user_id: int, kind: str, message: str, folder: str | None = None
    ) -> None:
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO report_entries (user_id, created_at, kind, message, folder) "
                "VALUES (?, ?, ?, ?, ?)",
                (user_id, codec.time_to_db(codec.utc_now()), kind, message, folder),
            )

    def report_entries(self, user_id: int, limit: int | None = None) -> list[ReportEntry]:
        """The user's report, oldest first (the newest ``limit`` entries when given)."""
        sql, params = _limited(
            "SELECT * FROM report_entries WHERE user_id = ? ORDER BY id DESC", (user_id,), limit
        )
        rows = self._db.query_all(sql, params)
        return [_entry(r) for r in reversed(rows)]

    def add_skipped_item(
        self,
        user_id: int,
        folder: str,
        kind: str,
        reason: str,
        subject: str | None = None,
        item_date: datetime | None = None,
        size: int | None = None,
    ) -> None:
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO skipped_items (user_id, folder, subject, item_date, size, kind, "
                "reason, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    user_id,
                    folder,
                    subject,
                    codec.time_to_db(item_date),
                    size,
                    kind,
                    reason,
                    codec.time_to_db(codec.utc_now()),
                ),
            )

    def batch_totals(self, batch_id: int) -> BatchTotals:
        row = self._db.query_one(
            "SELECT COALESCE(SUM(s.synced_item_count), 0) AS synced, "
            "COALESCE(SUM(s.skipped_item_count), 0) AS skipped, "
            "COALESCE(SUM(s.total_items_in_source), 0) AS total, "
            "COALESCE(SUM(s.bytes_transferred), 0) AS sent, "
            "COALESCE(SUM(s.total_bytes), 0) AS size, "
            "COUNT(CASE WHEN s.total_items_in_source > 0 OR s.percentage_complete = 100 "
            "THEN 1 END) AS surveyed "
            "FROM user_statistics s JOIN migration_users u ON u.id = s.user_id "
            "WHERE u.batch_id = ?",
            (batch_id,),
        )
        if row is None:
            return BatchTotals()
        return BatchTotals(int(row["synced"]), int(row["skipped"]), int(row["total"]),
                           int(row["sent"]), int(row["size"]), int(row["surveyed"]))

    def skipped_items(self, user_id: int, limit: int | None = None) -> list[SkippedItem]:
        sql, params = _limited(
            "SELECT * FROM skipped_items WHERE user_id = ? ORDER BY id", (user_id,), limit
        )
        rows = self._db.query_all(sql, params)
        return [_skipped(r) for r in rows]


def _limited(sql: str, params: tuple[Any, ...], limit: int | None) -> tuple[str, tuple[Any, ...]]:
    return (sql, params) if limit is None else (sql + " LIMIT ?", (*params, limit))


def _stats(r: Row) -> UserStatistics:
    values: dict[str, Any] = {c: r[c] for c in _STAT_COLUMNS}
    return UserStatistics(
        user_id=int(r["user_id"]), updated_at=codec.time_from_db(r["updated_at"]), **values
    )


def _entry(r: Row) -> ReportEntry:
    return ReportEntry(
        id=int(r["id"]),
        user_id=int(r["user_id"]),
        created_at=codec.required_time(r["created_at"]),
        kind=r["kind"],
        message=r["message"],
        folder=r["folder"],
    )


def _skipped(r: Row) -> SkippedItem:
    return SkippedItem(
        id=int(r["id"]),
        user_id=int(r["user_id"]),
        folder=r["folder"],
        subject=r["subject"],
        item_date=codec.time_from_db(r["item_date"]),
        size=r["size"],
        kind=r["kind"],
        reason=r["reason"],
        recorded_at=codec.required_time(r["recorded_at"]),
    )
