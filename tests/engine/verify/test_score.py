"""DataConsistencyScore thresholds (docs/proof.md) on literal counts, and a user's score from
its latest proof and its skipped items in a real store."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.model import DataConsistencyScore as S
from engine.paths import resolve_state_paths
from engine.store import Store
from engine.store.batches import BatchSpec
from engine.store.codec import utc_now
from engine.store.endpoints import EndpointSpec
from engine.store.proofs import ProofRow
from engine.store.users import MigrationUserSpec
from engine.verify.score import ScoreInputs, batch_score, score, user_score


@pytest.mark.parametrize(("inputs", "grade"), [
    (ScoreInputs(1000), S.Perfect),
    (ScoreInputs(0), S.Perfect),
    (ScoreInputs(1000, changed=3), S.Good),  # flags or dates differ, nothing lost
    (ScoreInputs(1000, extra=1), S.Good),
    (ScoreInputs(30, skipped=1), S.Good),  # one item lost is at most max(1, 1 %)
    (ScoreInputs(1000, skipped=6, missing=4), S.Good),  # 10 of 1000 = 1 %
    (ScoreInputs(1000, skipped=6, missing=5), S.Investigate),  # 11 of 1000
    (ScoreInputs(1000, folders_missing=1), S.Investigate),
    (ScoreInputs(1000, missing=50), S.Investigate),  # 5 %
    (ScoreInputs(1000, missing=51), S.Poor),
    (ScoreInputs(30, missing=3), S.Poor),
])
def test_score_thresholds(inputs: ScoreInputs, grade: S) -> None:
    assert score(inputs) is grade


def test_a_users_score_follows_its_latest_proof_and_later_skips(tmp_path: Path) -> None:
    with Store.open(resolve_state_paths(tmp_path / "state", env={})) as store:
        source = store.endpoints.add(EndpointSpec("Src", "IMAP", remote_server="h", port=143))
        target = store.endpoints.add(EndpointSpec("T", "Maildir", path=str(tmp_path / "m")))
        batch = store.batches.add(BatchSpec("B", source.id, target.id))
        user = store.users.add(batch.id, MigrationUserSpec("a@contoso.com", "a"))
        store.statistics.add_counts(user.id, synced=300, skipped=5)  # before any proof
        assert user_score(store, user.id) is S.Investigate  # 5 of 305 > max(1, 1 %)
        store.proofs.record(ProofRow(user.id, utc_now(), "manual", "Good", 17, 300, 300, 0, 0,
                                     0, 1, 0))
        assert user_score(store, user.id) is S.Investigate  # the 5 skipped now count
        store.statistics.clear_skipped_items(user.id)
        assert user_score(store, user.id) is S.Good  # the proof's own skipped item
        store.proofs.record(ProofRow(user.id, utc_now(), "manual", "Good", 0, 0, 0, 0, 0, 0,
                                     0, 0, error="unreachable"))
        assert user_score(store, user.id) is S.Good  # a failed proof keeps the score
        assert batch_score(store, [user.id]) is S.Good
