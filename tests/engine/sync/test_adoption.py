"""Adoption: the planner matches what a target folder already holds by fingerprint (literal
inputs), and engine/sync/adoption.py decides when the executor looks; a property over the
simulation: after the state is lost (a re-created batch), the target still ends with exactly
one copy of each message."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.sync.adoption import claimed_refs, wants_target_messages
from engine.sync.model import (
    Adopt,
    Copy,
    DeleteOnTarget,
    FolderSnapshot,
    FolderState,
    FolderStatus,
    Forget,
    KnownMessage,
    MessageState,
    OnTarget,
    SourceMessage,
    SyncKind,
)
from engine.sync.planner import plan_folder
from tests.engine.sync.simulation import World

INITIAL, INCREMENTAL = SyncKind.initial, SyncKind.incremental
COPIED = MessageState.COPIED


def snap(*messages: SourceMessage) -> FolderSnapshot:
    return FolderSnapshot("Work", FolderStatus(7, 50), messages)


def test_three_identical_messages_two_on_the_target_adopt_two_and_copy_one() -> None:
    source = snap(*(SourceMessage(uid, "dup", 10, {"\\Seen"}) for uid in (1, 2, 3)))
    held = (OnTarget("t1", "dup"), OnTarget("t2", "dup", {"\\Seen"}), OnTarget("t3", "own"))
    plan = plan_folder(source, None, phase=INITIAL, on_target=held)
    adopted = plan.of_type(Adopt)
    assert [(a.uid, a.target_ref) for a in adopted] == [(1, "t1"), (2, "t2")]
    assert [a.target_flags for a in adopted] == [frozenset(), {"\\Seen"}]
    assert [c.uid for c in plan.of_type(Copy)] == [3]
    assert not plan.of_type(DeleteOnTarget)  # "own" is the user's: no row, never deleted


def test_target_uidvalidity_change_adopts_the_copies_again() -> None:
    rows = tuple(KnownMessage(uid, fp, COPIED, f"5:{uid}") for uid, fp in ((1, "a"), (2, "b")))
    known = FolderState("Work", FolderStatus(7, 3), rows)
    source = snap(SourceMessage(1, "a", 10), SourceMessage(2, "b", 10))
    present = {"9:1", "9:2"}  # the target renumbered everything under UIDVALIDITY 9
    plan = plan_folder(source, known, phase=INCREMENTAL, present_on_target=present)
    assert wants_target_messages(plan, known, present)
    held = (OnTarget("9:1", "b"), OnTarget("9:2", "a"))
    plan = plan_folder(source, known, phase=INCREMENTAL, present_on_target=present,
                       on_target=held)
    assert [(a.uid, a.target_ref, a.recopy) for a in plan.of_type(Adopt)] == [
        (1, "9:2", True), (2, "9:1", True)]
    assert not plan.of_type(Copy)


def test_a_vanished_message_after_a_target_reindex_is_deleted_under_its_new_reference() -> None:
    rows = tuple(KnownMessage(uid, fp, COPIED, f"5:{uid}") for uid, fp in ((1, "a"), (2, "b")))
    known = FolderState("Work", FolderStatus(7, 3), rows)
    source = snap(SourceMessage(1, "a", 10))
    held = (OnTarget("9:1", "a"), OnTarget("9:2", "b"), OnTarget("9:3", "own"))
    plan = plan_folder(source, known, phase=INCREMENTAL, present_on_target={"9:1", "9:2", "9:3"},
                       on_target=held)
    assert plan.of_type(Forget) == (Forget(2, "5:2", "b"),)
    assert plan.of_type(DeleteOnTarget) == (DeleteOnTarget(None, "9:2", "b"),)
    assert [a.target_ref for a in plan.of_type(Adopt)] == ["9:1"]


def test_the_executor_looks_only_when_the_state_cannot_vouch_for_the_target() -> None:
    source = snap(SourceMessage(1, "a", 10), SourceMessage(2, "b", 10))
    fresh = plan_folder(source, None, phase=INITIAL)
    assert wants_target_messages(fresh, None, None)  # nothing known: look before copying
    known = FolderState("Work", FolderStatus(7, 2), (KnownMessage(1, "a", COPIED, "5:1"),))
    usual = plan_folder(source, known, phase=INCREMENTAL, present_on_target={"5:1"})
    assert not wants_target_messages(usual, known, {"5:1"})  # new mail, copies all there
    assert claimed_refs(known) == {"5:1"}
    nothing = plan_folder(snap(SourceMessage(1, "a", 10)), known, phase=INCREMENTAL,
                          present_on_target={"5:1"})
    assert not wants_target_messages(nothing, known, {"5:1"})


FOLDERS = ("INBOX", "Archive", "Work", "Junk")
FPS = ("a", "b", "c", "big")
FLAGS = st.frozensets(st.sampled_from(("\\Seen", "\\Flagged")), max_size=2)
MAIL = st.lists(st.tuples(st.integers(0, 3), st.sampled_from(FPS), FLAGS), max_size=10)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=MAIL, later=MAIL, lose=st.none() | st.integers(0, 3),
       crash_at=st.none() | st.integers(0, 30))
def test_a_lost_state_never_duplicates(
    start: list[tuple[int, str, frozenset[str]]],
    later: list[tuple[int, str, frozenset[str]]],
    lose: int | None,
    crash_at: int | None,
) -> None:
    world = World()
    world.add_folder("INBOX")
    for index, fp, flags in start:
        world.deliver(FOLDERS[index], fp, flags)
    assert world.run_pass(INITIAL)
    world.lose_state(None if lose is None else FOLDERS[lose])  # the batch is re-created
    for index, fp, flags in later:
        world.deliver(FOLDERS[index], fp, flags)
    world.run_pass(INITIAL, crash_at)
    assert world.run_pass(INITIAL)
    assert world.run_pass(INCREMENTAL)
    assert world.actual_target() == world.expected_target()
    assert world.plan(INCREMENTAL).is_empty
    for record in world.plans:  # no plan copies what the target already holds
        for folder_plan in record.plan.folders:
            copies = Counter(c.fingerprint for c in folder_plan.of_type(Copy))
            for fp, count in copies.items():
                wanted = record.source.get(folder_plan.folder, Counter())[fp]
                assert count <= wanted - record.target[folder_plan.folder][fp]
