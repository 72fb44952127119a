"""Leases: plain rows (resource, owner, host, token, expiry) that give one process a resource
for a while, and the fence that keeps a process that lost one from writing.

A runner claims a migration user (resource ``user:<id>``) or the state directory
(``runner``) by acquiring a lease, renews it while it works and releases it when done. A lease
whose expiry has passed can be taken over by anyone, so a killed process blocks nothing for
longer than the lease's time-to-live. The expiry is wall-clock UTC: processes sharing a store
(on several hosts) need synchronised clocks, and the TTL should be far larger than any
plausible clock skew.

Acquisition (:meth:`LeaseRepository.claim`) is one atomic upsert inside a write transaction —
insert, or take over when the holder is the same owner or the lease has expired — followed by
a read of who holds it now.

**Fencing tokens.** Every tenure of a lease gets a number from one counter (table
``lease_tokens``, one row, incremented in the claiming transaction): a takeover always gets a
larger token than the tenure it ends, and an owner re-acquiring a lease it still holds keeps
its token. A :class:`LeaseFence` (resource, owner, token) is what a pass carries;
:meth:`LeaseRepository.check_fence`, called inside a write transaction, raises
:class:`LeaseLost` unless that very tenure is still the lease's and unexpired. The check reads
the lease row ``FOR SHARE`` on PostgreSQL (a takeover, an ``UPDATE`` of that row, then waits
for the write to commit), and on SQLite runs under ``BEGIN IMMEDIATE``, where no other writer
runs at all. A store opened for one pass is fenced as a whole (:meth:`Store.fenced`): every
write transaction on it checks the fence first, so a runner that stalled past its lease's
expiry and lost the user to another writes nothing — no message row, no statistic, no report
entry. The host (``IMSH_HOST_ID``, engine/runner/liveness.py) is recorded with each lease.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.errors import ErrorCategory, StateStoreError
from engine.store import codec
from engine.store.db import Database, Row


class LeaseLost(StateStoreError):
    """A fenced write found that its lease was taken over (or expired): nothing was written.

    Not a failure of the migration user: another runner owns the user now. The pass stops
    and its runner records nothing for the user (engine/runner/runner.py)."""

    default_category = ErrorCategory.ResourceUnavailable
    default_error_id = "LeaseLost"


@dataclass(frozen=True)
class Lease:
    resource: str
    owner: str
    acquired_at: datetime
    expires_at: datetime
    token: int = 0
    host: str | None = None


@dataclass(frozen=True)
class LeaseFence:
    """One tenure of a lease that a pass's writes depend on: ``resource`` held by ``owner``
    with fencing token ``token``.

    ``min_left`` bounds how long one append batch may take: a batch starts only while the
    lease has at least that long to live (:meth:`holds`), so no other runner can take the
    user over (and resolve the batch's pending rows) before the append is done. The runner
    uses a third of its lease TTL (20 s of the default 60 s; it renews every third, so a
    healthy runner always has more). An append batch is at most 4 MB / 200 messages; a link
    too slow for that needs a longer TTL (``IMSH_LEASE_TTL``, seconds, in the runner's
    environment). Every write of a fenced store checks the tenure with no margin
    (:meth:`LeaseRepository.check_fence`)."""

    resource: str
    owner: str
    token: int
    min_left: timedelta = timedelta(0)


class LeaseRepository:
    def __init__(self, db: Database, host: str | None = None) -> None:
        self._db = db
        self._host = host

    def claim(
        self, resource: str, owner: str, ttl: timedelta, now: datetime | None = None,
        host: str | None = None,
    ) -> int | None:
        """Take ``resource`` for ``owner`` until ``now + ttl`` and return the tenure's fencing
        token; None if someone else holds it. Claiming a lease one already holds extends it
        and keeps its token; a lease taken over (or re-taken after it expired) gets a new,
        larger token."""
        now = now or codec.utc_now()
        stamp, expiry = codec.time_to_db(now), codec.time_to_db(now + ttl)
        with self._db.transaction():
            self._db.execute("UPDATE lease_tokens SET last_token = last_token + 1 WHERE one = 1")
            counter = self._db.query_one("SELECT last_token FROM lease_tokens WHERE one = 1")
            token = int(counter[0]) if counter is not None else 0
            self._db.execute(
                "INSERT INTO leases (resource, owner, host, token, acquired_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (resource) DO UPDATE SET "
                "token = CASE WHEN leases.owner = excluded.owner AND leases.expires_at > ? "
                "THEN leases.token ELSE excluded.token END, "
                "owner = excluded.owner, host = excluded.host, "
                "acquired_at = excluded.acquired_at, expires_at = excluded.expires_at "
                "WHERE leases.owner = excluded.owner OR leases.expires_at <= ?",
                (resource, owner, host or self._host, token, stamp, expiry, stamp, stamp),
            )
            holder = self.get(resource)
        return holder.token if holder is not None and holder.owner == owner else None

    def acquire(
        self, resource: str, owner: str, ttl: timedelta, now: datetime | None = None
    ) -> bool:
        """:meth:`claim` for callers that need no token; False if someone else holds it."""
        return self.claim(resource, owner, ttl, now) is not None

    def renew(self, resource: str, owner: str, ttl: timedelta, now: datetime | None = None) -> bool:
        """Extend a lease ``owner`` still holds; False if it was lost (expired and taken).
        The token stays: it is the same tenure."""
        now = now or codec.utc_now()
        with self._db.transaction():
            changed = self._db.execute(
                "UPDATE leases SET expires_at = ? WHERE resource = ? AND owner = ?",
                (codec.time_to_db(now + ttl), resource, owner),
            ).rowcount
        return changed == 1

    def holds(self, resource: str, owner: str, until: datetime, token: int | None = None
              ) -> bool:
        """Whether ``owner`` holds ``resource`` (in the tenure ``token``, when given) with an
        expiry after ``until``. Call it inside the write transaction it guards: no other
        process can take the lease meanwhile (the row is read ``FOR SHARE`` on PostgreSQL)."""
        sql = ("SELECT token FROM leases WHERE resource = ? AND owner = ? AND expires_at > ?"
               + self._db.share_lock)
        found = self._db.query_one(sql, (resource, owner, codec.time_to_db(until)))
        return found is not None and (token is None or int(found[0]) == token)

    def check_fence(self, fence: LeaseFence, now: datetime | None = None) -> None:
        """Raise :class:`LeaseLost` unless ``fence``'s tenure still holds its lease, unexpired.
        Call it inside the write transaction it guards."""
        if not self.holds(fence.resource, fence.owner, now or codec.utc_now(), fence.token):
            raise LeaseLost(
                f"the lease {fence.resource} (token {fence.token}) of {fence.owner} was lost: "
                "another runner holds it now, so this one writes nothing more for it")

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
        token=int(r["token"]),
        host=r["host"],
    )
