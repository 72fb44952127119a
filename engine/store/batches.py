"""Migration batches: a named set of users with a source and a target endpoint.

Names are unique case-insensitively and at most 64 characters. Statuses are stored as the
Exchange words (``Created``, ``Syncing``, ``Synced`` ...); which transitions are legal is the
model's business, not the store's. Removing a batch cascades to its users and everything under
them (sync state, statistics, report entries, skipped items).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.errors import AlreadyExistsError, NotFoundError, ValidationError
from engine.store import codec
from engine.store.db import Database, Row

MAX_NAME_LENGTH = 64

_COLUMNS = (
    "name",
    "source_endpoint_id",
    "target_endpoint_id",
    "status",
    "status_detail",
    "error",
    "exclude_folders_json",
    "auto_start",
    "auto_complete",
    "notification_emails_json",
    "bad_item_limit",
    "large_item_limit",
    "report_interval_seconds",
    "incremental_sync_interval_seconds",
    "csv_row_count",
    "csv_bytes",
    "started_at",
    "initial_sync_completed_at",
    "last_synced_at",
    "completed_at",
    "last_report_sent_at",
    "extra_json",
)

_SELECT = (
    "SELECT b.*, s.name AS source_endpoint_name, t.name AS target_endpoint_name "
    "FROM batches b JOIN endpoints s ON s.id = b.source_endpoint_id "
    "JOIN endpoints t ON t.id = b.target_endpoint_id"
)


@dataclass(frozen=True)
class BatchSpec:
    """The settings of a batch, as given to ``add``."""

    name: str
    source_endpoint_id: int
    target_endpoint_id: int
    status: str = "Created"
    status_detail: str | None = None
    error: str | None = None
    exclude_folders: tuple[str, ...] = ()
    auto_start: bool = False
    auto_complete: bool = False
    notification_emails: tuple[str, ...] = ()
    bad_item_limit: int | None = None  # None = Unlimited
    large_item_limit: int | None = None  # None = Unlimited
    report_interval_seconds: int = 86400
    incremental_sync_interval_seconds: int | None = None  # None: the configured default
    csv_row_count: int = 0
    csv_bytes: int = 0
    started_at: datetime | None = None
    initial_sync_completed_at: datetime | None = None
    last_synced_at: datetime | None = None
    completed_at: datetime | None = None
    last_report_sent_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchRow(BatchSpec):
    """A stored batch, with its endpoints' names for display."""

    id: int = 0
    source_endpoint: str = ""
    target_endpoint: str = ""
    created_at: datetime = field(default_factory=codec.utc_now)


class BatchRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, spec: BatchSpec) -> BatchRow:
        """Store a new batch; its name must be free (case-insensitively)."""
        _check_name(spec.name)
        with self._db.transaction():
            if self.find(spec.name) is not None:
                raise _exists(spec.name)
            placeholders = ", ".join("?" for _ in range(len(_COLUMNS) + 2))
            row = self._db.query_one(
                f"INSERT INTO batches ({', '.join(_COLUMNS)}, name_key, created_at) "
                f"VALUES ({placeholders}) RETURNING id",
                (*_values(spec), codec.name_key(spec.name), codec.time_to_db(codec.utc_now())),
            )
            assert row is not None
            return self.get_by_id(int(row["id"]))

    def update(self, row: BatchRow) -> BatchRow:
        """Write back every setting of ``row`` (identified by ``row.id``)."""
        _check_name(row.name)
        with self._db.transaction():
            other = self.find(row.name)
            if other is not None and other.id != row.id:
                raise _exists(row.name)
            assignments = ", ".join(f"{c} = ?" for c in _COLUMNS)
            self._db.execute(
                f"UPDATE batches SET {assignments}, name_key = ? WHERE id = ?",
                (*_values(row), codec.name_key(row.name), row.id),
            )
            return self.get_by_id(row.id)

    def set_status(
        self, batch_id: int, status: str, detail: str | None = None, error: str | None = None
    ) -> None:
        with self._db.transaction():
            self._db.execute(
                "UPDATE batches SET status = ?, status_detail = ?, error = ? WHERE id = ?",
                (status, detail, error, batch_id),
            )

    def find(self, name: str) -> BatchRow | None:
        found = self._db.query_one(f"{_SELECT} WHERE b.name_key = ?", (codec.name_key(name),))
        return _row(found) if found is not None else None

    def get(self, name: str) -> BatchRow:
        found = self.find(name)
        if found is None:
            raise NotFoundError(
                f"The migration batch '{name}' couldn't be found.", error_id="BatchNotFound"
            )
        return found

    def get_by_id(self, batch_id: int) -> BatchRow:
        found = self._db.query_one(f"{_SELECT} WHERE b.id = ?", (batch_id,))
        if found is None:
            raise NotFoundError(f"No migration batch has id {batch_id}.", error_id="BatchNotFound")
        return _row(found)

    def list(self, status: str | None = None, endpoint_id: int | None = None) -> list[BatchRow]:
        """All batches, optionally only those with ``status`` or using ``endpoint_id``."""
        clauses, params = _filters(status, endpoint_id)
        rows = self._db.query_all(f"{_SELECT}{clauses} ORDER BY b.created_at, b.id", params)
        return [_row(r) for r in rows]

    def count(self) -> int:
        row = self._db.query_one("SELECT COUNT(*) AS n FROM batches")
        return int(row["n"]) if row is not None else 0

    def remove(self, name: str) -> None:
        """Delete the batch and, by cascade, its users and all their state."""
        with self._db.transaction():
            batch = self.get(name)
            self._db.execute("DELETE FROM batches WHERE id = ?", (batch.id,))


def _filters(status: str | None, endpoint_id: int | None) -> tuple[str, tuple[Any, ...]]:
    clauses: list[str] = []
    params: list[Any] = []
    if status is not None:
        clauses.append("b.status = ?")
        params.append(status)
    if endpoint_id is not None:
        clauses.append("(b.source_endpoint_id = ? OR b.target_endpoint_id = ?)")
        params += [endpoint_id, endpoint_id]
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)


def _check_name(name: str) -> None:
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ValidationError(
            f"A migration batch name must be 1 to {MAX_NAME_LENGTH} characters long.",
            error_id="BatchNameInvalid",
        )


def _exists(name: str) -> AlreadyExistsError:
    return AlreadyExistsError(
        f"A migration batch named '{name}' already exists.", error_id="BatchAlreadyExists"
    )


def _values(spec: BatchSpec) -> tuple[Any, ...]:
    t = codec.time_to_db
    return (
        spec.name,
        spec.source_endpoint_id,
        spec.target_endpoint_id,
        spec.status,
        spec.status_detail,
        spec.error,
        codec.json_list_to_db(spec.exclude_folders),
        codec.bool_to_db(spec.auto_start),
        codec.bool_to_db(spec.auto_complete),
        codec.json_list_to_db(spec.notification_emails),
        spec.bad_item_limit,
        spec.large_item_limit,
        spec.report_interval_seconds,
        spec.incremental_sync_interval_seconds,
        spec.csv_row_count,
        spec.csv_bytes,
        t(spec.started_at),
        t(spec.initial_sync_completed_at),
        t(spec.last_synced_at),
        t(spec.completed_at),
        t(spec.last_report_sent_at),
        codec.json_map_to_db(spec.extra),
    )


def _optional_int(value: Any) -> int | None:
    return int(value) if value is not None else None


def _row(r: Row) -> BatchRow:
    t = codec.time_from_db
    return BatchRow(
        id=int(r["id"]),
        name=r["name"],
        source_endpoint_id=int(r["source_endpoint_id"]),
        target_endpoint_id=int(r["target_endpoint_id"]),
        source_endpoint=r["source_endpoint_name"],
        target_endpoint=r["target_endpoint_name"],
        status=r["status"],
        status_detail=r["status_detail"],
        error=r["error"],
        exclude_folders=codec.json_list_from_db(r["exclude_folders_json"]),
        auto_start=bool(r["auto_start"]),
        auto_complete=bool(r["auto_complete"]),
        notification_emails=codec.json_list_from_db(r["notification_emails_json"]),
        bad_item_limit=r["bad_item_limit"],
        large_item_limit=r["large_item_limit"],
        report_interval_seconds=int(r["report_interval_seconds"]),
        incremental_sync_interval_seconds=_optional_int(r["incremental_sync_interval_seconds"]),
        csv_row_count=int(r["csv_row_count"]),
        csv_bytes=int(r["csv_bytes"]),
        created_at=codec.required_time(r["created_at"]),
        started_at=t(r["started_at"]),
        initial_sync_completed_at=t(r["initial_sync_completed_at"]),
        last_synced_at=t(r["last_synced_at"]),
        completed_at=t(r["completed_at"]),
        last_report_sent_at=t(r["last_report_sent_at"]),
        extra=codec.json_map_from_db(r["extra_json"]),
    )
