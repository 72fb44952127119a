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
Poor           more than 5 % of the items lost, or a proof that could not be completed
=============  ==============================================================================

A batch's score is the worst of its users' (engine.model.worst_score, as Exchange documents).
Pure: literal counts in, a grade out.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.model import DataConsistencyScore

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
    failed: bool = False  # the proof could not read everything


def score(inputs: ScoreInputs) -> DataConsistencyScore:
    S = DataConsistencyScore
    if inputs.failed:
        return S.Poor
    lost = inputs.skipped + inputs.missing
    total = max(inputs.source_items, 1)
    if not (lost or inputs.changed or inputs.extra or inputs.folders_missing):
        return S.Perfect
    if lost > INVESTIGATE_LOSS_SHARE * total:
        return S.Poor
    if inputs.folders_missing or lost > max(1.0, GOOD_LOSS_SHARE * total):
        return S.Investigate
    return S.Good
