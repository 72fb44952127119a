"""Migration users: one CSV row each, belonging to exactly one batch.

The e-mail address (the target mailbox) is unique case-insensitively across all batches, as in
Exchange. Source and target passwords are sealed (purposes ``migration_users.password`` and
``migration_users.target_password``). Rows go away with their batch (ON DELETE CASCADE).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.errors import AlreadyExistsError, NotFoundError
from engine.secrets import Sealer, Secret
from engine.store import codec
from engine.store.db import Database, Row

PASSWORD_PURPOSE = "migration_users.password"
TARGET_PASSWORD_PURPOSE = "migration_users.target_password"

_COLUMNS = (
    "email_address",
    "user_name",
    "password_sealed",
    "user_root",
    "target_user_name",
    "target_password_sealed",
    "status",
    "status_summary",
    "error",
    "sync_kind",
    "stop_requested",
    "started_at",
    "last_successful_sync_at",
    "next_sync_due_at",
    "sync_attempt",
)

_SELECT = (
    "SELECT u.*, b.name AS batch_name FROM migration_users u JOIN batches b ON b.id = u.batch_id"
)


@dataclass(frozen=True)
class MigrationUserSpec:
    """One CSV row plus its sync status, as given to ``add``."""

    email_address: str
    user_name: str
    password: Secret | None = None
    user_root: str | None = None
    target_user_name: str | None = None
    target_password: Secret | None = None
    status: str = "Queued"
    status_summary: str = "Active"
    error: str | None = None
    sync_kind: str = "initial"  # initial | incremental
    stop_requested: bool = False
    started_at: datetime | None = None
    last_successful_sync_at: datetime | None = None
    next_sync_due_at: datetime | None = None
    sync_attempt: int = 0  # transient failures of the current pass in a row (the runner's)


@dataclass(frozen=True)
class MigrationUserRow(MigrationUserSpec):
    """A stored migration user, with its batch's name for display."""

    id: int = 0
    batch_id: int = 0
    batch_name: str = ""
    created_at: datetime | None = None


class MigrationUserRepository:
    def __init__(self, db: Database, sealer: Sealer) -> None:
        self._db = db
        self._sealer = sealer

    def add(self, batch_id: int, spec: MigrationUserSpec) -> MigrationUserRow:
        """Add one user to a batch; the e-mail address must not be in any batch yet."""
        return self.add_many(batch_id, [spec])[0]

    def add_many(self, batch_id: int, specs: Sequence[MigrationUserSpec]) -> list[MigrationUserRow]:
        """Add users to a batch in one transaction: all of them or none."""
        with self._db.transaction():
            return [self._insert(batch_id, spec) for spec in specs]

    def _insert(self, batch_id: int, spec: MigrationUserSpec) -> MigrationUserRow:
        existing = self.find(spec.email_address)
        if existing is not None:
            raise AlreadyExistsError(
                f"The user '{spec.email_address}' already exists in migration batch "
                f"'{existing.batch_name}'.",
                error_id="MigrationUserAlreadyExists",
            )
        placeholders = ", ".join("?" for _ in range(len(_COLUMNS) + 3))
        row = self._db.query_one(
            f"INSERT INTO migration_users ({', '.join(_COLUMNS)}, batch_id, email_key, "
            f"created_at) VALUES ({placeholders}) RETURNING id",
            (
                *self._values(spec),
                batch_id,
                codec.name_key(spec.email_address),
                codec.time_to_db(codec.utc_now()),
            ),
        )
        assert row is not None
        return self.get_by_id(int(row["id"]))

    def update(self, row: MigrationUserRow) -> MigrationUserRow:
        """Write back every field of ``row`` except its batch and e-mail address."""
        with self._db.transaction():
            assignments = ", ".join(f"{c} = ?" for c in _COLUMNS[1:])
            self._db.execute(
                f"UPDATE migration_users SET {assignments} WHERE id = ?",
                (*self._values(row)[1:], row.id),
            )
            return self.get_by_id(row.id)

    def move_to_batch(self, user_id: int, batch_id: int) -> None:
        """Put a user into another batch; everything keyed by its id stays with it
        (New-MigrationBatch -Users, engine/service/moved_users.py)."""
        with self._db.transaction():
            self._db.execute("UPDATE migration_users SET batch_id = ? WHERE id = ?",
                             (batch_id, user_id))

    def set_status(
        self,
        user_id: int,
        status: str,
        status_summary: str,
        error: str | None = None,
    ) -> None:
        with self._db.transaction():
            self._db.execute(
                "UPDATE migration_users SET status = ?, status_summary = ?, error = ? WHERE id = ?",
                (status, status_summary, error, user_id),
            )

    def request_stop(self, user_id: int, requested: bool = True) -> None:
        with self._db.transaction():
            self._db.execute(
                "UPDATE migration_users SET stop_requested = ? WHERE id = ?",
                (codec.bool_to_db(requested), user_id),
            )

    def find(self, email_address: str) -> MigrationUserRow | None:
        found = self._db.query_one(
            f"{_SELECT} WHERE u.email_key = ?", (codec.name_key(email_address),)
        )
        return self._row(found) if found is not None else None

    def get(self, email_address: str) -> MigrationUserRow:
        found = self.find(email_address)
        if found is None:
            raise NotFoundError(
                f"The migration user '{email_address}' couldn't be found.",
                error_id="MigrationUserNotFound",
            )
        return found

    def lock_for_claim(self, user_id: int) -> bool:
        """Take the user's row for the claiming transaction; False when another transaction
        holds it (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, passing over it instead of waiting)
        or the user is gone. Call it inside the write transaction that claims the user."""
        return self._db.query_one("SELECT id FROM migration_users WHERE id = ?"
                                  + self._db.skip_locked, (user_id,)) is not None

    def count_leased(self, source_endpoint_id: int, sync_kind: str, now: datetime,
                     prefix: str = "user:") -> int:
        """How many users of batches from ``source_endpoint_id`` in a ``sync_kind`` pass hold
        an unexpired lease ``<prefix><id>`` now, whichever runner holds it: the passes running
        against that endpoint on every host. Call it inside the claiming transaction."""
        found = self._db.query_one(
            "SELECT COUNT(*) FROM leases l "
            "JOIN migration_users u ON l.resource = CAST(? AS TEXT) || CAST(u.id AS TEXT) "
            "JOIN batches b ON b.id = u.batch_id "
            "WHERE l.expires_at > ? AND b.source_endpoint_id = ? AND u.sync_kind = ?",
            (prefix, codec.time_to_db(now), source_endpoint_id, sync_kind))
        return int(found[0]) if found is not None else 0

    def get_by_id(self, user_id: int) -> MigrationUserRow:
        found = self._db.query_one(f"{_SELECT} WHERE u.id = ?", (user_id,))
        if found is None:
            raise NotFoundError(
                f"No migration user has id {user_id}.", error_id="MigrationUserNotFound"
            )
        return self._row(found)

    def list(
        self, batch_id: int | None = None, status: str | None = None
    ) -> list[MigrationUserRow]:
        clauses, params = _filters(batch_id, status)
        rows = self._db.query_all(f"{_SELECT}{clauses} ORDER BY u.id", params)
        return [self._row(r) for r in rows]

    def list_due(
        self, now: datetime, statuses: Sequence[str], limit: int = 100
    ) -> builtins.list[MigrationUserRow]:
        """Users in one of ``statuses`` whose next sync is due at ``now``, oldest due first."""
        if not statuses:
            return []
        marks = ", ".join("?" for _ in statuses)
        rows = self._db.query_all(
            f"{_SELECT} WHERE u.next_sync_due_at <= ? AND u.stop_requested = 0 "
            f"AND u.status IN ({marks}) ORDER BY u.next_sync_due_at, u.id LIMIT ?",
            (codec.time_to_db(now), *statuses, limit),
        )
        return [self._row(r) for r in rows]

    def count_by_status(self, batch_id: int | None = None) -> dict[str, int]:
        clauses, params = _filters(batch_id, None)
        rows = self._db.query_all(
            f"SELECT u.status AS status, COUNT(*) AS n FROM migration_users u{clauses} "
            "GROUP BY u.status",
            params,
        )
        return {r["status"]: int(r["n"]) for r in rows}

    def remove(self, email_address: str) -> None:
        """Delete one user and, by cascade, its sync state and statistics."""
        with self._db.transaction():
            user = self.get(email_address)
            self._db.execute("DELETE FROM migration_users WHERE id = ?", (user.id,))

    def _seal(self, secret: Secret | None, purpose: str) -> str | None:
        return self._sealer.seal(secret, purpose) if secret is not None else None

    def _unseal(self, sealed: str | None, purpose: str) -> Secret | None:
        return self._sealer.unseal(sealed, purpose) if sealed else None

    def _values(self, spec: MigrationUserSpec) -> tuple[Any, ...]:
        t = codec.time_to_db
        return (
            spec.email_address,
            spec.user_name,
            self._seal(spec.password, PASSWORD_PURPOSE),
            spec.user_root,
            spec.target_user_name,
            self._seal(spec.target_password, TARGET_PASSWORD_PURPOSE),
            spec.status,
            spec.status_summary,
            spec.error,
            spec.sync_kind,
            codec.bool_to_db(spec.stop_requested),
            t(spec.started_at),
            t(spec.last_successful_sync_at),
            t(spec.next_sync_due_at),
            spec.sync_attempt,
        )

    def _row(self, r: Row) -> MigrationUserRow:
        t = codec.time_from_db
        return MigrationUserRow(
            id=int(r["id"]),
            batch_id=int(r["batch_id"]),
            batch_name=r["batch_name"],
            email_address=r["email_address"],
            user_name=r["user_name"],
            password=self._unseal(r["password_sealed"], PASSWORD_PURPOSE),
            user_root=r["user_root"],
            target_user_name=r["target_user_name"],
            target_password=self._unseal(r["target_password_sealed"], TARGET_PASSWORD_PURPOSE),
            status=r["status"],
            status_summary=r["status_summary"],
            error=r["error"],
            sync_kind=r["sync_kind"],
            stop_requested=bool(r["stop_requested"]),
            created_at=t(r["created_at"]),
            started_at=t(r["started_at"]),
            last_successful_sync_at=t(r["last_successful_sync_at"]),
            next_sync_due_at=t(r["next_sync_due_at"]),
            sync_attempt=int(r["sync_attempt"]),
        )


def _filters(batch_id: int | None, status: str | None) -> tuple[str, tuple[Any, ...]]:
    clauses: list[str] = []
    params: list[Any] = []
    if batch_id is not None:
        clauses.append("u.batch_id = ?")
        params.append(batch_id)
    if status is not None:
        clauses.append("u.status = ?")
        params.append(status)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)
