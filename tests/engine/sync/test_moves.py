"""Moves across folders and renamed folders."""

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
    MoveOnTarget,
    RenameOnTarget,
    SourceMessage,
)
from engine.sync.moves import detect_renames, plan_moves

SEEN = frozenset({"\\Seen"})


def delete(uid: int, fp: str, ref: str | None = "r1") -> DeleteOnTarget:
    return DeleteOnTarget(uid, ref, fp, SEEN)


def test_delete_in_one_folder_and_copy_in_another_is_a_move() -> None:
    plans = [
        FolderPlan("A", (delete(4, "x"),)),
        FolderPlan("B", (Copy(9, "x", 100, frozenset()), Copy(10, "y", 5))),
    ]
    moves, rest = plan_moves(plans)
    assert moves == [MoveOnTarget("A", 4, "r1", "B", 9, "x", 100, frozenset(), SEEN)]
    assert rest == [FolderPlan("A"), FolderPlan("B", (Copy(10, "y", 5),))]


def test_identical_copies_pair_as_a_multiset() -> None:
    plans = [
        FolderPlan("A", (delete(1, "x", "r1"), delete(2, "x", "r2"), delete(3, "x", "r3"))),
        FolderPlan("B", (Copy(7, "x", 1), Copy(8, "x", 1))),
    ]
    moves, rest = plan_moves(plans)
    assert [(m.from_uid, m.to_uid) for m in moves] == [(1, 7), (2, 8)]
    assert rest[0].actions == (delete(3, "x", "r3"),) and rest[1].is_empty


def test_no_move_within_one_folder_without_ref_or_across_a_uidvalidity_change() -> None:
    same_folder = [FolderPlan("A", (delete(1, "x"), Copy(2, "x", 1)))]
    no_ref = [FolderPlan("A", (delete(1, "x", None),)), FolderPlan("B", (Copy(2, "x", 1),))]
    rekeyed = [
        FolderPlan("A", (delete(1, "x"),)),
        FolderPlan("B", (Copy(2, "x", 1),), uidvalidity_changed=True),
    ]
    recopy = [FolderPlan("A", (delete(1, "x"),)), FolderPlan("B", (Copy(2, "x", 1, recopy=True),))]
    for plans in (same_folder, no_ref, rekeyed, recopy):
        moves, rest = plan_moves(plans)
        assert moves == [] and rest == plans


def test_unrelated_plans_pass_through_unchanged() -> None:
    plans = [FolderPlan("A", (delete(1, "x"),)), FolderPlan("B", (Copy(2, "y", 1),))]
    assert plan_moves(plans) == ([], plans)


def known(name: str, validity: int, *prints: str, created: bool = True) -> FolderState:
    rows = tuple(
        KnownMessage(uid, fp, MessageState.COPIED, f"r{uid}")
        for uid, fp in enumerate(prints, start=1)
    )
    return FolderState(name, FolderStatus(validity, len(prints) + 1), rows, created)


def listed(name: str, validity: int, *prints: str) -> FolderSnapshot:
    messages = tuple(SourceMessage(uid, fp, 10) for uid, fp in enumerate(prints, start=1))
    return FolderSnapshot(name, FolderStatus(validity, len(prints) + 1), messages)


def test_same_uidvalidity_and_messages_under_a_new_name_is_a_rename() -> None:
    renames = detect_renames([known("Old", 5, "a", "b")], [listed("New", 5, "a", "b", "c")])
    assert renames == [RenameOnTarget("Old", "New")]


def test_rename_tolerates_some_changes_since_the_last_pass() -> None:
    state = known("Old", 5, "a", "b", "c", "d")
    snapshot = FolderSnapshot(
        "New", FolderStatus(5, 9), (SourceMessage(1, "a", 10), SourceMessage(2, "b", 10))
    )
    assert detect_renames([state], [snapshot]) == [RenameOnTarget("Old", "New")]


def test_no_rename_without_evidence() -> None:
    cases = [
        ([known("Old", 5, "a")], [listed("New", 6, "a")]),  # other UIDVALIDITY
        ([known("Old", 5, "a", "b")], [listed("New", 5, "a", "z")]),  # contradicted UID
        ([known("Old", 5, "a", "b", "c")], [listed("New", 5, "a")]),  # too little in common
        ([known("Old", 5)], [listed("New", 5)]),  # empty: nothing proves it
        ([known("Old", 5, "a", created=False)], [listed("New", 5, "a")]),  # not our folder
        ([known("Old", 5, "a")], [FolderSnapshot("New", FolderStatus(5, 2))]),  # not listed
    ]
    for vanished, appeared in cases:
        assert detect_renames(vanished, appeared) == []


def test_ambiguous_rename_is_no_rename() -> None:
    appeared = [listed("New1", 5, "a"), listed("New2", 5, "a")]
    assert detect_renames([known("Old", 5, "a")], appeared) == []
    vanished = [known("Old1", 5, "a"), known("Old2", 5, "a")]
    assert detect_renames(vanished, [listed("New", 5, "a")]) == []


def test_two_renames_at_once() -> None:
    vanished = [known("A", 1, "a"), known("B", 2, "b")]
    appeared = [listed("B2", 2, "b"), listed("A2", 1, "a")]
    assert detect_renames(vanished, appeared) == [
        RenameOnTarget("A", "A2"),
        RenameOnTarget("B", "B2"),
    ]
