"""DataConsistencyScore: Exchange's grade of a migration, computed from what imsh knows.

Exchange Online grades Perfect / Good / Investigate / Poor from the items it skipped and the
items it found missing at completion. imsh grades a user from its skipped items
(Get-MigrationUserStatistics' SkippedItemCount) and, when one ran, its latest proof
(Test-MigrationUser, or an automatic proof). *Lost* items are the skipped ones plus those the
proof found missing or altered (a missing folder's messages count as missing):

=============  ==============================================================================
Perfect        nothing lost, and the latest proof (if any) found no difference at all
Good           at most ``max(1, 1 %)`` of the source's items lost, no folder missing; or no
               loss but flags, keywords, dates or extra messages differ
Investigate    a folder missing, or more than that lost but at most 5 % of the items
Poor           more than 5 % of the items lost
=============  ==============================================================================

A proof that could not finish (a mailbox could not be read) does not change the score. A
batch's score is the worst of its users' (engine.model.worst_score, as Exchange documents).
Pure: literal counts in, a grade out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.model import DataConsistencyScore, worst_score
from engine.store import Store
from engine.store.proofs import ProofRow
from engine.store.stats import UserStatistics

GOOD_LOSS_SHARE = 0.01
INVESTIGATE_LOSS_SHARE = 0.05


@dataclass(frozen=True)
class ScoreInputs:
    source_items: int
    skipped: int = 0
    missing: int = 0  # missing + altered (+ messages of missing folders)
    changed: int = 0  # flags, keywords, dates
    extra: int = 0  # extra, duplicated, extra folders
    folders_missing: int = 0


def score(inputs: ScoreInputs) -> DataConsistencyScore:
    S = DataConsistencyScore
    lost = inputs.skipped + inputs.missing
    total = max(inputs.source_items, 1)
    if not (lost or inputs.changed or inputs.extra or inputs.folders_missing):
        return S.Perfect
    if lost > INVESTIGATE_LOSS_SHARE * total:
        return S.Poor
    if inputs.folders_missing or lost > max(1.0, GOOD_LOSS_SHARE * total):
        return S.Investigate
    return S.Good


def user_score(store: Store, user_id: int) -> DataConsistencyScore:
    """A user's score: its latest proof's counts with the skipped items as they are now (a
    pass after the proof may have skipped more), else what its skipped items alone give; a
    failed proof keeps the score it recorded (the one before it)."""
    return score_of(store.proofs.latest(user_id), store.statistics.get(user_id))


def score_of(proof: ProofRow | None, stats: UserStatistics) -> DataConsistencyScore:
    """:func:`user_score` from the user's latest proof and statistics, already read."""
    if proof is not None and proof.error is not None:
        return DataConsistencyScore(proof.score)
    if proof is not None:
        return score(ScoreInputs(proof.source_items,
                                 skipped=max(proof.skipped, stats.skipped_item_count),
                                 missing=proof.missing, changed=proof.changed,
                                 extra=proof.extra, folders_missing=proof.folders_missing))
    total = max(stats.total_items_in_source,
                stats.synced_item_count + stats.skipped_item_count)
    return score(ScoreInputs(total, skipped=stats.skipped_item_count))


def batch_score(store: Store, user_ids: Iterable[int]) -> DataConsistencyScore:
    """A batch's score: the worst of its users' (Perfect for a batch without users)."""
    return worst_score(user_score(store, user_id) for user_id in user_ids)


def proof_text(proof: ProofRow | None) -> str | None:
    """One line about a proof for mail and CSV: None when the user was never proven."""
    if proof is None:
        return None
    when = f"{proof.proved_at:%Y-%m-%d %H:%M}Z"
    if proof.error:
        return f"Failed {when}: {proof.error}"
    if proof.identical:
        return f"Identical {when}: {proof.source_items} messages"
    return (f"Different {when}: {proof.missing} missing or altered, {proof.changed} changed, "
            f"{proof.extra} extra, {proof.folders_missing} folders missing")
