"""The deletion guard's rules on literal inputs (engine/sync/guard.py)."""

from __future__ import annotations

from engine.sync.guard import (
    DELETE,
    DeletionTally,
    InboxChange,
    Verdict,
    hold_plan,
    judge,
)
from engine.sync.model import (
    Copy,
    DeleteFolderIfEmpty,
    DeleteOnTarget,
    FolderPlan,
    ForgetFolder,
    Hold,
    HoldDeletion,
    MoveOnTarget,
)


def tally(copies: int, deletions: dict[str, int], folder_copies: dict[str, int] | None = None,
          **extra: object) -> DeletionTally:
    t = DeletionTally(copies=copies, known_folders=len(folder_copies or deletions) or 1,
                      folder_copies=dict(folder_copies or {}), deletions=dict(deletions))
    for key, value in extra.items():
        setattr(t, key, value)
    return t


def test_a_few_deletions_go_ahead() -> None:
    assert not judge(tally(1000, {"INBOX": 3}, {"INBOX": 1000})).hold


def test_many_deletions_that_are_a_small_share_go_ahead() -> None:
    assert not judge(tally(10_000, {"INBOX": 900}, {"INBOX": 10_000})).hold


def test_more_than_ten_percent_and_fifty_is_held() -> None:
    verdict = judge(tally(400, {"INBOX": 60}, {"INBOX": 400}))
    assert verdict.hold
    assert "60 of the 400" in verdict.reason


def test_exactly_fifty_is_not_more_than_fifty() -> None:
    assert not judge(tally(100, {"A": 50}, {"A": 100, "B": 0})).hold


def test_a_whole_folder_of_more_than_fifty_is_held_even_when_the_share_is_small() -> None:
    verdict = judge(tally(10_000, {"Archive": 51}, {"Archive": 51, "INBOX": 9949}))
    assert verdict.hold
    assert "'Archive' looks empty: all 51" in verdict.reason


def test_a_vanished_folder_of_more_than_fifty_is_held() -> None:
    verdict = judge(tally(10_000, {"Old": 80}, {"Old": 80, "INBOX": 9920}, vanished={"Old"}))
    assert verdict.hold
    assert "'Old' is gone from the source" in verdict.reason


def test_a_small_emptied_mailbox_is_held() -> None:
    assert judge(tally(20, {"INBOX": 20}, {"INBOX": 20})).hold


def test_a_tiny_emptied_mailbox_goes_ahead() -> None:
    assert not judge(tally(10, {"INBOX": 10}, {"INBOX": 10})).hold


def test_a_different_inbox_is_held() -> None:
    verdict = judge(tally(30, {"INBOX": 5}, {"INBOX": 30},
                          inbox=InboxChange(100, 200, copies=30, messages=25)))
    assert verdict.hold
    assert "UIDVALIDITY 100 is now 200" in verdict.reason


def test_an_inbox_reset_that_kept_its_messages_goes_ahead() -> None:
    assert not judge(tally(30, {"INBOX": 1}, {"INBOX": 30},
                           inbox=InboxChange(100, 200, copies=30, messages=30))).hold


def test_most_folders_gone_is_held() -> None:
    verdict = judge(tally(30, {"A": 2, "B": 2, "C": 2}, {"A": 2, "B": 2, "C": 2, "INBOX": 24},
                          vanished={"A", "B", "C"}, known_folders=4))
    assert verdict.hold
    assert "3 of the 4 folders" in verdict.reason


def test_one_small_folder_deleted_by_the_user_goes_ahead() -> None:
    assert not judge(tally(300, {"Junk": 4}, {"Junk": 4, "INBOX": 296}, vanished={"Junk"},
                           known_folders=2)).hold


def test_a_folder_turned_unselectable_is_held() -> None:
    verdict = judge(tally(300, {"Work": 3}, {"Work": 3, "INBOX": 297}, vanished={"Work"},
                          unselectable={"Work"}, known_folders=2))
    assert verdict.hold
    assert "'Work' can no longer be opened" in verdict.reason


def test_nothing_to_delete_is_never_held() -> None:
    assert judge(tally(0, {})) == Verdict(False, (), 0)


def test_moves_are_not_deletions() -> None:
    moves = [MoveOnTarget("INBOX", uid, str(uid), "Archive", 1000 + uid, f"f{uid}", 1,
                          frozenset(), frozenset()) for uid in range(60)]
    t = tally(100, {"INBOX": 60}, {"INBOX": 100})
    assert judge(t).hold
    assert not judge(t.without_moves(moves)).hold


def _deletes(*holds: Hold | None) -> tuple[DeleteOnTarget, ...]:
    return tuple(DeleteOnTarget(i, f"t{i}", f"f{i}", hold=h) for i, h in enumerate(holds, 1))


def test_holding_turns_deletions_into_held_ones_and_keeps_copies() -> None:
    plan = FolderPlan("INBOX", (*_deletes(None, None), Copy(9, "f9", 10)))
    held, kept = hold_plan(plan, Verdict(True, ("x",)))
    assert [type(a) for a in held.actions] == [HoldDeletion, HoldDeletion, Copy]
    assert not kept


def test_an_approved_deletion_goes_ahead_even_when_the_pass_holds() -> None:
    plan = FolderPlan("INBOX", _deletes(Hold.APPROVED, None))
    held, _ = hold_plan(plan, Verdict(True, ("x",)))
    assert [type(a) for a in held.actions] == [DeleteOnTarget, HoldDeletion]


def test_a_held_deletion_stays_held_when_the_guard_would_now_allow_it() -> None:
    plan = FolderPlan("INBOX", _deletes(Hold.HELD, None))
    held, _ = hold_plan(plan, DELETE)
    assert [type(a) for a in held.actions] == [HoldDeletion, DeleteOnTarget]


def test_a_vanished_folder_is_kept_while_its_removal_is_held() -> None:
    plan = FolderPlan("Old", (*_deletes(None), DeleteFolderIfEmpty("Old"), ForgetFolder("Old")))
    held, kept = hold_plan(plan, Verdict(True, ("x",)))
    assert kept and [type(a) for a in held.actions] == [HoldDeletion]
    again, kept = hold_plan(FolderPlan("Old", (ForgetFolder("Old"),)), DELETE, Hold.HELD)
    assert kept and again.actions == ()


def test_an_approved_vanished_folder_goes() -> None:
    plan = FolderPlan("Old", (*_deletes(Hold.APPROVED), DeleteFolderIfEmpty("Old"),
                              ForgetFolder("Old")))
    held, kept = hold_plan(plan, Verdict(True, ("x",)), Hold.APPROVED)
    assert not kept and held == plan


def test_no_verdict_to_hold_leaves_the_plan_as_it_is() -> None:
    plan = FolderPlan("Old", (*_deletes(None), DeleteFolderIfEmpty("Old"), ForgetFolder("Old")))
    assert hold_plan(plan, DELETE) == (plan, False)


def test_deferred_deletions_become_detaches_and_approved_ones_stay() -> None:
    from engine.sync.guard import defer_deletions, deletions_in
    from engine.sync.model import Detach

    plan = FolderPlan("INBOX", (*_deletes(None, Hold.APPROVED),
                                DeleteOnTarget(None, "t9", "f9"), Copy(9, "f9", 10)))
    assert deletions_in(plan) == 2
    deferred = defer_deletions(plan)
    assert [type(a) for a in deferred.actions] == [Detach, DeleteOnTarget, Copy]
    assert deletions_in(deferred) == 0


def test_a_held_copy_found_under_a_new_reference_stays_held_on_its_row() -> None:
    """After a target UIDVALIDITY change the planner forgets the row and deletes the copy
    under its new reference; a held (unapproved) row must keep its mark and its copy."""
    from engine.sync.model import Forget

    pair = (Forget(None, "1:5", "f5"), DeleteOnTarget(None, "2:5", "f5", hold=Hold.HELD))
    for verdict in (DELETE, Verdict(True, ("x",))):
        held, _ = hold_plan(FolderPlan("INBOX", pair), verdict)
        assert held.actions == (HoldDeletion(None, "1:5", "f5"),)
    approved = (Forget(None, "1:5", "f5"), DeleteOnTarget(None, "2:5", "f5",
                                                           hold=Hold.APPROVED))
    assert hold_plan(FolderPlan("INBOX", approved), Verdict(True, ("x",)))[0].actions == \
        approved


def test_deferring_a_copy_found_under_a_new_reference_keeps_its_row() -> None:
    from engine.sync.guard import defer_deletions
    from engine.sync.model import Forget

    plan = FolderPlan("INBOX", (Forget(None, "1:5", "f5"), DeleteOnTarget(None, "2:5", "f5"),
                                Forget(7, None, "f7")))
    assert defer_deletions(plan).actions == (Forget(7, None, "f7"),)
