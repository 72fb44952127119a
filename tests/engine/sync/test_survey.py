"""The light first phase of a pass (engine/sync/survey.py): what it keeps between surveying
and applying, and that its moves are the ones plan_account finds for the whole mailbox."""

from __future__ import annotations

from engine.sync.model import (
    Copy,
    DeleteOnTarget,
    FolderPlan,
    FolderSnapshot,
    FolderState,
    FolderStatus,
    KnownMessage,
    MessageState,
    SourceMessage,
    SyncKind,
)
from engine.sync.planner import plan_account, plan_folder
from engine.sync.survey import Survey, without_moves

STATUS = FolderStatus(1, 10, 5)
COPIED = MessageState.COPIED


def state(name: str, *rows: tuple[int, str]) -> FolderState:
    return FolderState(name, STATUS, tuple(KnownMessage(u, f, COPIED, f"{name}-{u}")
                                           for u, f in rows))


def snapshot(name: str, *messages: tuple[int, str]) -> FolderSnapshot:
    return FolderSnapshot(name, FolderStatus(1, 20, 6),
                          tuple(SourceMessage(u, f, 10) for u, f in messages))


def mailbox() -> tuple[list[FolderSnapshot], list[FolderState]]:
    """x moved A -> B, y moved B -> A, z deleted from A, w new in B, v in a vanished folder C
    moved to B, u in C gone."""
    known = [state("A", (1, "x"), (2, "z")), state("B", (1, "y")), state("C", (1, "v"), (2, "u"))]
    sources = [snapshot("A", (3, "y")), snapshot("B", (2, "x"), (3, "w"), (4, "v"))]
    return sources, known


def survey_of(budget: int) -> Survey:
    """The executor's survey, with the store's answer (fingerprints copied elsewhere) faked
    from the known rows."""
    sources, known = mailbox()
    by_name = {s.name: s for s in known}
    survey = Survey(budget)
    for source in sources:
        plan = plan_folder(source, by_name.get(source.name), phase=SyncKind.incremental)
        elsewhere = {m.fingerprint for s in known if s.name != source.name for m in s.messages}
        survey.add(plan, {c.fingerprint for c in plan.of_type(Copy)} & elsewhere)
    prints = survey.copy_prints()
    survey.add(plan_folder(None, by_name["C"], phase=SyncKind.incremental), movable_deletes=prints)
    return survey


def test_survey_pairs_the_same_moves_as_plan_account() -> None:
    sources, known = mailbox()
    whole = plan_account(sources, known, phase=SyncKind.incremental)
    for budget in (0, 2, 1000):
        survey = survey_of(budget)
        assert sorted(survey.moves(), key=repr) == sorted(whole.moves, key=repr)
        for plan in whole.folders:
            if plan.folder in survey.kept:
                assert survey.kept[plan.folder] == plan


def test_only_movable_actions_are_candidates_and_the_budget_limits_kept_plans() -> None:
    assert set(survey_of(2).kept) == set()  # every plan has 3 actions
    survey = survey_of(3)
    assert set(survey.kept) == {"A"}  # the first takes the whole budget
    candidates = {name: {(type(a).__name__, a.fingerprint) for a in plan.actions}
                  for name, plan in survey.candidates.items()}
    assert candidates == {
        "A": {("DeleteOnTarget", "x"), ("DeleteOnTarget", "z"), ("Copy", "y")},
        "B": {("DeleteOnTarget", "y"), ("Copy", "x"), ("Copy", "v")},  # w is new: no move
        "C": {("DeleteOnTarget", "v")},  # u pairs with no copy: not held
    }
    assert survey.statuses == {"A": FolderStatus(1, 20, 6), "B": FolderStatus(1, 20, 6)}


def test_without_moves_drops_exactly_the_moved_actions() -> None:
    plan = FolderPlan("A", (DeleteOnTarget(1, "A-1", "x"), DeleteOnTarget(2, "A-2", "z"),
                            Copy(3, "y", 10), Copy(4, "y", 10, recopy=True)))
    moves = survey_of(1000).moves()
    assert without_moves(plan, moves).actions == (DeleteOnTarget(2, "A-2", "z"),
                                                  Copy(4, "y", 10, recopy=True))
    assert without_moves(FolderPlan("Q", (Copy(3, "y", 10),)), moves).actions == (
        Copy(3, "y", 10),)
