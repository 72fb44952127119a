"""The DataConsistencyScore of a user and of a batch, from the store (no network).

A user's score is its latest proof's (engine/store/proofs.py), else what its skipped items
alone give (engine/verify/score.py); a batch takes its worst user's score, as Exchange does.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.model import DataConsistencyScore, worst_score
from engine.store import Store
from engine.verify.score import ScoreInputs, score


def user_score(store: Store, user_id: int) -> DataConsistencyScore:
    proof = store.proofs.latest(user_id)
    if proof is not None:
        return DataConsistencyScore(proof.score)
    stats = store.statistics.get(user_id)
    return score(ScoreInputs(stats.total_items_in_source, skipped=stats.skipped_item_count))


def batch_score(store: Store, user_ids: Iterable[int]) -> DataConsistencyScore:
    return worst_score(user_score(store, user_id) for user_id in user_ids)
