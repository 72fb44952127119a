"""DataConsistencyScore thresholds (docs/proof.md), on literal counts."""

from __future__ import annotations

import pytest

from engine.model import DataConsistencyScore as S
from engine.verify.score import ScoreInputs, score


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
