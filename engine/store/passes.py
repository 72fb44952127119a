"""Per-pass statistics: one row per sync pass of one migration user (the dashboard's chart).

The runner writes them (engine/runner/passes.py), inside the transactions that claim a user
and record how its pass ended:

- :meth:`PassRepository.begin` when a pass is claimed: the batch, the user, the kind
  (initial / incremental), the attempt's retries, the start time, and the user's copied items
  and bytes so far (``items_at_start``, ``bytes_at_start``, read from ``user_statistics`` in the
  same statement). A user's earlier pass still open (its runner was killed, or lost the user's
  lease) is closed first, as ``interrupted``, at its last statistics update.
- :meth:`PassRepository.finish` when it ends: the end time, the outcome, the items and bytes
  the pass copied (the user's counters now minus at start) and the seconds it made the user
  wait because the server throttled (the backoff scheduled after a throttling reply).

A pass still open has no ``finished_at``; its copies so far are the user's counters minus its
``*_at_start`` (:meth:`PassRepository.for_batch` fills them in), so the chart moves while a
pass runs. Rows go with their user or batch (``ON DELETE CASCADE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.store import codec
from engine.store.db import Database, Row

PASS_KINDS = ("initial", "incremental")
PASS_OUTCOMES = ("ok", "failed", "transient", "stopped", "interrupted")


@dataclass(frozen=True)
class PassRow:
    """One pass. Open (``finished_at`` None, ``outcome`` None) while it runs."""

    id: int
    batch_id: int
    user_id: int
    batch_name: str
    email_address: str
    kind: str  # initial | incremental
    started_at: datetime
    finished_at: datetime | None
    items_copied: int  # so far, while open
    bytes_copied: int
    retries: int  # transient failures of this pass before this attempt
    throttle_wait_seconds: float
    outcome: str | None  # ok | failed | transient | stopped | interrupted

    @property
    def seconds(self) -> float | None:
        """How long the pass ran; None while it runs."""
        if self.finished_at is None:
            return None
        return max(0.0, (self.finished_at - self.started_at).total_seconds())


_COPIED_NOW = ("COALESCE((SELECT s.synced_item_count FROM user_statistics s "
               "WHERE s.user_id = p.user_id), 0)")
_BYTES_NOW = ("COALESCE((SELECT s.bytes_transferred FROM user_statistics s "
              "WHERE s.user_id = p.user_id), 0)")
_SELECT = (
    "SELECT p.id, p.batch_id, p.user_id, b.name AS batch_name, u.email_address, p.kind, "
    "p.started_at, p.finished_at, p.retries, "
    "p.throttle_wait_seconds, p.outcome, "
    f"CASE WHEN p.finished_at IS NULL THEN {_COPIED_NOW} - p.items_at_start "
    "ELSE p.items_copied END AS items, "
    f"CASE WHEN p.finished_at IS NULL THEN {_BYTES_NOW} - p.bytes_at_start "
    "ELSE p.bytes_copied END AS bytes "
    "FROM passes p JOIN batches b ON b.id = p.batch_id JOIN migration_users u ON u.id = p.user_id"
)


class PassRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def begin(self, user_id: int, batch_id: int, kind: str, retries: int,
              started_at: datetime) -> int:
        """Open the user's pass; returns its id. Closes an earlier open one (interrupted)."""
        if kind not in PASS_KINDS:
            raise ValueError(f"a pass is initial or incremental, not {kind!r}")
        with self._db.transaction():
            self._close_open(user_id, "interrupted", None, 0.0)
            row = self._db.query_one(
                "INSERT INTO passes (batch_id, user_id, kind, started_at, items_at_start, "
                "bytes_at_start, retries) "
                "SELECT ?, ?, ?, ?, COALESCE(MAX(s.synced_item_count), 0), "
                "COALESCE(MAX(s.bytes_transferred), 0), ? "
                "FROM user_statistics s WHERE s.user_id = ? RETURNING id",
                (batch_id, user_id, kind, codec.time_to_db(started_at), max(0, retries),
                 user_id))
        assert row is not None
        return int(row["id"])

    def finish(self, user_id: int, outcome: str, finished_at: datetime,
               throttle_wait_seconds: float = 0.0) -> None:
        """Close the user's open pass (if any) with ``outcome``."""
        if outcome not in PASS_OUTCOMES:
            raise ValueError(f"unknown pass outcome {outcome!r}")
        with self._db.transaction():
            self._close_open(user_id, outcome, finished_at, throttle_wait_seconds)

    def _close_open(self, user_id: int, outcome: str, finished_at: datetime | None,
                    throttle_wait_seconds: float) -> None:
        # an interrupted pass ended when it last recorded anything (its statistics' time)
        ended = (codec.time_to_db(finished_at) if finished_at is not None else None)
        self._db.execute(
            "UPDATE passes SET "
            "finished_at = COALESCE(?, (SELECT s.updated_at FROM user_statistics s "
            "WHERE s.user_id = passes.user_id), started_at), "
            "outcome = ?, throttle_wait_seconds = ?, "
            "items_copied = COALESCE((SELECT s.synced_item_count FROM user_statistics s "
            "WHERE s.user_id = passes.user_id), 0) - items_at_start, "
            "bytes_copied = COALESCE((SELECT s.bytes_transferred FROM user_statistics s "
            "WHERE s.user_id = passes.user_id), 0) - bytes_at_start "
            "WHERE user_id = ? AND finished_at IS NULL",
            (ended, outcome, float(throttle_wait_seconds), user_id))

    def for_batch(self, batch_id: int, since: datetime | None = None) -> list[PassRow]:
        """The batch's passes that ran at or after ``since`` (all when None), oldest first."""
        if since is None:
            rows = self._db.query_all(f"{_SELECT} WHERE p.batch_id = ? ORDER BY p.id",
                                      (batch_id,))
        else:
            rows = self._db.query_all(
                f"{_SELECT} WHERE p.batch_id = ? AND (p.finished_at IS NULL "
                "OR p.finished_at >= ?) ORDER BY p.id", (batch_id, codec.time_to_db(since)))
        return [_row(r) for r in rows]

    def finished(self) -> list[PassRow]:
        """Every finished pass of every batch (``/metrics``), oldest first."""
        rows = self._db.query_all(f"{_SELECT} WHERE p.finished_at IS NOT NULL ORDER BY p.id")
        return [_row(r) for r in rows]


def _row(r: Row) -> PassRow:
    started = codec.required_time(r["started_at"])
    finished = codec.time_from_db(r["finished_at"])
    if finished is not None and finished < started:  # interrupted before it recorded a thing
        finished = started
    return PassRow(
        id=int(r["id"]),
        batch_id=int(r["batch_id"]),
        user_id=int(r["user_id"]),
        batch_name=r["batch_name"],
        email_address=r["email_address"],
        kind=r["kind"],
        started_at=started,
        finished_at=finished,
        items_copied=max(0, int(r["items"] or 0)),
        bytes_copied=max(0, int(r["bytes"] or 0)),
        retries=int(r["retries"]),
        throttle_wait_seconds=float(r["throttle_wait_seconds"]),
        outcome=r["outcome"],
    )
