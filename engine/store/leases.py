"""Leases: plain rows (resource, owner, expiry) that give one process a resource for a while.

A runner claims a migration user (resource ``user:<id>``) or the state directory
(``runner``) by acquiring a lease, renews it while it works and releases it when done. A lease
whose expiry has passed can be taken over by anyone, so a killed process blocks nothing for
longer than the lease's time-to-live. The expiry is wall-clock UTC: processes sharing a store
(on several hosts, later) need synchronised clocks, and the TTL should be far larger than any
plausible clock skew.

Acquisition is one atomic upsert inside a write transaction — insert, or take over when the
holder is the same owner or the lease has expired — followed by a read of who holds it now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.store import codec
from engine.store.db import Database, Row


@dataclass(frozen=True)
class Lease:
    resource: str
    owner: str
    acquired_at: datetime
    expires_at: datetime


class LeaseRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def acquire(
        self, resource: str, owner: str, ttl: timedelta, now: datetime | None = None
    ) -> bool:
        """Take ``resource`` for ``owner`` until ``now + ttl``; False if someone else holds it.

        Acquiring a lease one already holds extends it.
        """
        now = now or codec.utc_now()
        stamp, expiry = codec.time_to_db(now), codec.time_to_db(now + ttl)
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO leases (resource, owner, acquired_at, expires_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (resource) DO UPDATE SET "
                "owner = excluded.owner, acquired_at = excluded.acquired_at, "
                "expires_at = excluded.expires_at "
                "WHERE leases.owner = excluded.owner OR leases.expires_at <= ?",
                (resource, owner, stamp, expiry, stamp),
            )
            holder = self.get(resource)
        return holder is not None and holder.owner == owner

    def renew(self, resource: str, owner: str, ttl: timedelta, now: datetime | None = None) -> bool:
        """Extend a lease ``owner`` still holds; False if it was lost (expired and taken)."""
        now = now or codec.utc_now()
        with self._db.transaction():
            changed = self._db.execute(
                "UPDATE leases SET expires_at = ? WHERE resource = ? AND owner = ?",
                (codec.time_to_db(now + ttl), resource, owner),
            ).rowcount
        return changed == 1

    def holds(self, resource: str, owner: str, until: datetime) -> bool:
        """Whether ``owner`` holds ``resource`` with an expiry after ``until``. Call it inside
        the write transaction it guards: no other process can take the lease meanwhile."""
        found = self._db.query_one(
            "SELECT 1 FROM leases WHERE resource = ? AND owner = ? AND expires_at > ?",
            (resource, owner, codec.time_to_db(until)),
        )
        return found is not None

    def release(self, resource: str, owner: str) -> bool:
        """Give the lease up; False if ``owner`` did not hold it."""
        with self._db.transaction():
            changed = self._db.execute(
                "DELETE FROM leases WHERE resource = ? AND owner = ?", (resource, owner)
            ).rowcount
        return changed == 1

    def release_all(self, owner: str) -> int:
        """Give up every lease of ``owner`` (a runner shutting down); returns how many."""
        with self._db.transaction():
            return int(self._db.execute("DELETE FROM leases WHERE owner = ?", (owner,)).rowcount)

    def get(self, resource: str) -> Lease | None:
        found = self._db.query_one("SELECT * FROM leases WHERE resource = ?", (resource,))
        return _lease(found) if found is not None else None

    def active(self, now: datetime | None = None, prefix: str = "") -> list[Lease]:
        """Unexpired leases, optionally only on resources starting with ``prefix``."""
        rows = self._db.query_all(
            "SELECT * FROM leases WHERE expires_at > ? AND substr(resource, 1, ?) = ? "
            "ORDER BY resource",
            (codec.time_to_db(now or codec.utc_now()), len(prefix), prefix),
        )
        return [_lease(r) for r in rows]


def _lease(r: Row) -> Lease:
    return Lease(
        resource=r["resource"],
        owner=r["owner"],
        acquired_at=codec.required_time(r["acquired_at"]),
        expires_at=codec.required_time(r["expires_at"]),
    )
