"""The latest proofs of each migration user (Test-MigrationUser, the automatic proofs).

One row per proof; the newest decides the user's DataConsistencyScore together with its
skipped items (engine/verify/score.py). Counts are stored, not the message list: the list can
be long and is shown by ``Test-MigrationUser -Detailed`` when it runs; the report entry the
service writes names the first differences. Older proofs of a user beyond
:data:`KEEP_PER_USER` are deleted when a new one is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.store import codec
from engine.store.db import Database, Row

KEEP_PER_USER = 10
PROOF_MOMENTS = ("manual", "initial-sync", "completion")


@dataclass(frozen=True)
class ProofRow:
    """One proof's verdict. ``moment`` says who asked: the admin or an automatic proof."""

    user_id: int
    proved_at: datetime
    moment: str
    score: str  # Perfect | Good | Investigate | Poor
    folders: int
    source_items: int
    target_items: int
    missing: int  # missing and altered messages, and messages of missing folders
    changed: int  # flag, keyword and date differences
    extra: int  # extra and duplicated messages, extra folders
    skipped: int
    folders_missing: int
    error: str | None = None  # the proof could not run to its end
    id: int = 0

    @property
    def identical(self) -> bool:
        return self.error is None and not (self.missing or self.changed or self.extra
                                           or self.folders_missing)


_COLUMNS = ("user_id", "proved_at", "moment", "score", "folders", "source_items",
            "target_items", "missing", "changed", "extra", "skipped", "folders_missing", "error")


class ProofRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, proof: ProofRow) -> ProofRow:
        values = [getattr(proof, c) for c in _COLUMNS]
        values[1] = codec.time_to_db(proof.proved_at)
        with self._db.transaction():
            inserted = self._db.query_one(
                f"INSERT INTO proofs ({', '.join(_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in _COLUMNS)}) RETURNING id", tuple(values))
            assert inserted is not None
            self._db.execute(
                "DELETE FROM proofs WHERE user_id = ? AND id NOT IN (SELECT id FROM proofs "
                "WHERE user_id = ? ORDER BY id DESC LIMIT ?)",
                (proof.user_id, proof.user_id, KEEP_PER_USER))
        found = self._db.query_one("SELECT * FROM proofs WHERE id = ?", (int(inserted["id"]),))
        assert found is not None
        return _row(found)

    def latest_of_users(self, batch_id: int | None = None) -> dict[int, ProofRow]:
        """Every proven user's latest proof (only batch ``batch_id``'s when given), by user
        id, in one query."""
        newest = "SELECT MAX(p2.id) FROM proofs p2 GROUP BY p2.user_id"
        if batch_id is None:
            rows = self._db.query_all(f"SELECT * FROM proofs WHERE id IN ({newest})")
        else:
            rows = self._db.query_all(
                f"SELECT p.* FROM proofs p JOIN migration_users u ON u.id = p.user_id "
                f"WHERE u.batch_id = ? AND p.id IN ({newest})", (batch_id,))
        return {int(r["user_id"]): _row(r) for r in rows}

    def latest(self, user_id: int) -> ProofRow | None:
        found = self._db.query_one(
            "SELECT * FROM proofs WHERE user_id = ? ORDER BY id DESC LIMIT 1", (user_id,))
        return _row(found) if found is not None else None


def _row(r: Row) -> ProofRow:
    proved_at = codec.time_from_db(r["proved_at"])
    assert proved_at is not None
    return ProofRow(r["user_id"], proved_at, r["moment"], r["score"], r["folders"],
                    r["source_items"], r["target_items"], r["missing"], r["changed"],
                    r["extra"], r["skipped"], r["folders_missing"], r["error"], r["id"])
