"""The planner's rules, one literal scenario each, then properties over a simulated world."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.sync.model import (
    Copy,
    DeleteFolderIfEmpty,
    DeleteOnTarget,
    Detach,
    FolderPlan,
    FolderSnapshot,
    FolderState,
    FolderStatus,
    Forget,
    ForgetFolder,
    KnownMessage,
    Limits,
    MessageState,
    MoveOnTarget,
    Rematch,
    RenameOnTarget,
    ResolvePending,
    Skip,
    SkipReason,
    SourceMessage,
    SyncKind,
    UpdateFlags,
)
from engine.sync.planner import needs_listing, plan_account, plan_folder
from tests.engine.sync.simulation import World

INITIAL, INCREMENTAL = SyncKind.initial, SyncKind.incremental
COPIED, PENDING, SKIPPED = MessageState.COPIED, MessageState.PENDING, MessageState.SKIPPED


def msg(uid: int, fp: str, flags: tuple[str, ...] = (), size: int = 10) -> SourceMessage:
    return SourceMessage(uid, fp, size, frozenset(flags))


def row(
    uid: int | None, fp: str, state: MessageState = COPIED, flags: tuple[str, ...] = ()
) -> KnownMessage:
    ref = f"t-{fp}-{uid}" if state is COPIED else None
    return KnownMessage(uid, fp, state, ref, frozenset(flags))


def snap(*messages: SourceMessage, validity: int = 7, uidnext: int = 50) -> FolderSnapshot:
    return FolderSnapshot("INBOX", FolderStatus(validity, uidnext, None), messages)


def state(*rows: KnownMessage, validity: int = 7, uidnext: int = 10) -> FolderState:
    return FolderState("INBOX", FolderStatus(validity, uidnext, None), rows, True)


def kinds(plan: FolderPlan) -> list[str]:
    return [type(a).__name__ for a in plan.actions]


# --- initial phase -------------------------------------------------------------------------------


def test_initial_copies_every_message_in_uid_order() -> None:
    plan = plan_folder(snap(msg(5, "b"), msg(2, "a")), None, phase=INITIAL)
    assert [(a.uid, a.fingerprint) for a in plan.of_type(Copy)] == [(2, "a"), (5, "b")]
    assert plan.is_new and plan.status == FolderStatus(7, 50, None)


def test_initial_resume_copies_only_what_is_not_copied_yet() -> None:
    plan = plan_folder(snap(msg(1, "a"), msg(2, "b")), state(row(1, "a")), phase=INITIAL)
    assert [a.uid for a in plan.of_type(Copy)] == [2]
    assert len(plan.actions) == 1


def test_initial_never_deletes_a_vanished_copy_but_detaches_it() -> None:
    plan = plan_folder(snap(msg(2, "b")), state(row(1, "a"), row(2, "b")), phase=INITIAL)
    assert plan.actions == (Detach(1, "t-a-1", "a"),)


def test_detached_row_is_deleted_by_the_next_incremental_pass() -> None:
    known = state(row(None, "a"), row(2, "b"))
    plan = plan_folder(snap(msg(2, "b")), known, phase=INCREMENTAL)
    assert plan.actions == (DeleteOnTarget(None, "t-a-None", "a"),)
    assert plan_folder(snap(msg(2, "b")), known, phase=INITIAL).is_empty


# --- pending rows --------------------------------------------------------------------------------


def test_pending_rows_are_resolved_before_anything_else() -> None:
    known = state(row(1, "a"), row(2, "b", PENDING, ("\\Seen",)))
    plan = plan_folder(snap(msg(2, "b"), msg(3, "c")), known, phase=INCREMENTAL)
    assert plan.actions == (ResolvePending(2, "b", frozenset({"\\Seen"})),)
    assert plan.resolve_first and plan.status is None


def test_pending_rows_of_a_vanished_folder_are_resolved_first() -> None:
    plan = plan_folder(None, state(row(2, "b", PENDING)), phase=INCREMENTAL)
    assert kinds(plan) == ["ResolvePending"]


# --- incremental phase ---------------------------------------------------------------------------


def test_incremental_copies_new_uids() -> None:
    known = state(row(1, "a"), row(2, "b"), uidnext=3)
    plan = plan_folder(snap(msg(1, "a"), msg(2, "b"), msg(3, "c")), known, phase=INCREMENTAL)
    assert plan.actions == (Copy(3, "c", 10),)


def test_flag_change_is_a_delta_ignoring_recent_and_system_flag_case() -> None:
    known = state(row(1, "a", flags=("\\Seen", "$Work")))
    source = snap(msg(1, "a", ("\\SEEN", "\\Recent", "\\flagged")))
    plan = plan_folder(source, known, phase=INCREMENTAL)
    assert plan.actions == (
        UpdateFlags(
            1,
            "t-a-1",
            "a",
            add=frozenset({"\\Flagged"}),
            remove=frozenset({"$Work"}),
            flags=frozenset({"\\Seen", "\\Flagged"}),
        ),
    )


def test_same_flags_in_other_case_and_recent_is_no_change() -> None:
    known = state(row(1, "a", flags=("\\Seen", "$Label1")))
    source = snap(msg(1, "a", ("\\seen", "$Label1", "\\Recent")))
    assert plan_folder(source, known, phase=INCREMENTAL).is_empty


def test_keywords_are_compared_exactly() -> None:
    known = state(row(1, "a", flags=("$label1",)))
    plan = plan_folder(snap(msg(1, "a", ("$Label1",))), known, phase=INCREMENTAL)
    assert kinds(plan) == ["UpdateFlags"]


def test_vanished_copied_message_is_deleted_only_in_incremental() -> None:
    known = state(row(1, "a", flags=("\\Seen",)), row(2, "b"))
    plan = plan_folder(snap(msg(2, "b")), known, phase=INCREMENTAL)
    assert plan.actions == (DeleteOnTarget(1, "t-a-1", "a", frozenset({"\\Seen"})),)
    initial = plan_folder(snap(msg(2, "b")), known, phase=INITIAL)
    assert not initial.of_type(DeleteOnTarget)


def test_vanished_never_copied_message_is_forgotten() -> None:
    known = state(row(1, "big", SKIPPED), row(2, "b"))
    for phase in (INITIAL, INCREMENTAL):
        plan = plan_folder(snap(msg(2, "b")), known, phase=phase)
        assert plan.actions == (Forget(1, None, "big"),)


def test_uid_reused_with_other_content_is_delete_then_copy() -> None:
    plan = plan_folder(snap(msg(1, "z")), state(row(1, "a")), phase=INCREMENTAL)
    assert kinds(plan) == ["DeleteOnTarget", "Copy"]


def test_message_refiled_in_the_same_folder_is_rematched_not_copied() -> None:
    plan = plan_folder(snap(msg(9, "a")), state(row(1, "a")), phase=INCREMENTAL)
    assert plan.actions == (Rematch(1, 9, "t-a-1", "a"),)


# --- limits --------------------------------------------------------------------------------------


def test_too_large_message_is_skipped_once() -> None:
    limits = Limits(max_message_size=100)
    source = snap(msg(1, "big", size=500), msg(2, "a"))
    plan = plan_folder(source, None, phase=INITIAL, limits=limits)
    assert plan.actions == (Skip(1, "big", 500, SkipReason.TOO_LARGE), Copy(2, "a", 10))
    known = state(row(1, "big", SKIPPED), row(2, "a"))
    assert plan_folder(source, known, phase=INCREMENTAL, limits=limits).is_empty


def test_skipped_row_is_left_alone_even_when_its_flags_change() -> None:
    known = state(row(1, "big", SKIPPED))
    source = snap(msg(1, "big", ("\\Seen",), size=500))
    assert plan_folder(source, known, phase=INCREMENTAL, limits=Limits(100)).is_empty


# --- UIDVALIDITY change --------------------------------------------------------------------------


def test_uidvalidity_change_rematches_by_fingerprint_as_a_multiset() -> None:
    known = state(row(1, "a"), row(2, "a"), row(3, "b"), row(4, "gone"), validity=7)
    source = snap(msg(10, "a"), msg(11, "b"), msg(12, "a"), msg(13, "a"), validity=8)
    plan = plan_folder(source, known, phase=INCREMENTAL)
    assert plan.uidvalidity_changed
    assert plan.actions == (
        DeleteOnTarget(4, "t-gone-4", "gone"),
        Rematch(1, 10, "t-a-1", "a"),
        Rematch(3, 11, "t-b-3", "b"),
        Rematch(2, 12, "t-a-2", "a"),
        Copy(13, "a", 10),
    )


def test_uidvalidity_change_in_initial_phase_detaches_unmatched_copies() -> None:
    known = state(row(1, "a"), row(2, "gone"), validity=7)
    plan = plan_folder(snap(msg(1, "a"), validity=8), known, phase=INITIAL)
    assert plan.actions == (Detach(2, "t-gone-2", "gone"),)


def test_uidvalidity_change_with_swapped_uids_rematches_both() -> None:
    known = state(row(1, "a"), row(2, "b"), validity=7)
    plan = plan_folder(snap(msg(1, "b"), msg(2, "a"), validity=8), known, phase=INCREMENTAL)
    assert set(plan.actions) == {Rematch(1, 2, "t-a-1", "a"), Rematch(2, 1, "t-b-2", "b")}


def test_uidvalidity_change_frees_uids_before_rematching_onto_them() -> None:
    known = state(row(1, "gone"), row(2, "a"), validity=7)
    plan = plan_folder(snap(msg(1, "a"), validity=8), known, phase=INCREMENTAL)
    assert kinds(plan) == ["DeleteOnTarget", "Rematch"]


# --- the remote overrides the store --------------------------------------------------------------


def test_copy_gone_from_the_target_is_copied_again_not_assumed() -> None:
    known = state(row(1, "a"), row(2, "b"))
    source = snap(msg(1, "a"), msg(2, "b"))
    plan = plan_folder(source, known, phase=INCREMENTAL, present_on_target={"t-b-2"})
    assert plan.actions == (Copy(1, "a", 10, recopy=True),)


def test_vanished_message_whose_copy_is_gone_is_forgotten_not_deleted() -> None:
    known = state(row(1, "a"))
    plan = plan_folder(snap(), known, phase=INCREMENTAL, present_on_target=set())
    assert plan.actions == (Forget(1, "t-a-1", "a"),)


def test_present_copy_is_preferred_over_a_lost_row_of_the_same_content() -> None:
    known = state(row(1, "a"), row(2, "a"))
    plan = plan_folder(snap(msg(1, "a")), known, phase=INCREMENTAL, present_on_target={"t-a-2"})
    assert plan.actions == (Forget(1, "t-a-1", "a"), Rematch(2, 1, "t-a-2", "a"))


# --- folders -------------------------------------------------------------------------------------


def test_excluded_folder_gets_no_actions() -> None:
    plan = plan_folder(snap(msg(1, "a")), state(row(2, "b")), phase=INCREMENTAL, excluded=True)
    assert plan.is_empty and plan.status is None


def test_vanished_folder_in_incremental_deletes_copies_then_the_folder_if_empty() -> None:
    known = state(row(1, "a"), row(2, "big", SKIPPED))
    plan = plan_folder(None, known, phase=INCREMENTAL)
    assert plan.actions == (
        DeleteOnTarget(1, "t-a-1", "a"),
        Forget(2, None, "big"),
        DeleteFolderIfEmpty("INBOX"),
        ForgetFolder("INBOX"),
    )


def test_vanished_folder_not_created_by_the_migration_is_kept_on_the_target() -> None:
    known = FolderState("INBOX", FolderStatus(7, 2), (row(1, "a"),), created_by_migration=False)
    plan = plan_folder(None, known, phase=INCREMENTAL)
    assert kinds(plan) == ["DeleteOnTarget", "ForgetFolder"]


def test_vanished_folder_in_initial_phase_is_left_alone() -> None:
    assert plan_folder(None, state(row(1, "a")), phase=INITIAL).is_empty


def test_plan_folder_needs_something_to_plan() -> None:
    with pytest.raises(ValueError, match="source snapshot or a known"):
        plan_folder(None, None, phase=INITIAL)


def test_duplicate_uids_in_a_listing_are_refused() -> None:
    with pytest.raises(ValueError, match="repeats a UID"):
        plan_folder(snap(msg(1, "a"), msg(1, "b")), None, phase=INITIAL)


def test_account_plan_orders_vanished_folders_deepest_first() -> None:
    known = [
        FolderState("A", FolderStatus(1, 1), (), True),
        FolderState("A/B", FolderStatus(2, 1), (), True),
        FolderState("C", FolderStatus(3, 2), (row(1, "c"),), True),
    ]
    sources = [FolderSnapshot("C", FolderStatus(3, 2), (msg(1, "c"),))]
    plan = plan_account(sources, known, phase=INCREMENTAL)
    assert [p.folder for p in plan.folders] == ["C", "A/B", "A"]
    assert plan.folders[1].actions == (DeleteFolderIfEmpty("A/B"), ForgetFolder("A/B"))


def test_account_plan_detects_a_rename() -> None:
    known = [FolderState("Old", FolderStatus(5, 3), (row(1, "a"), row(2, "b")), True)]
    sources = [FolderSnapshot("New", FolderStatus(5, 4), (msg(1, "a"), msg(2, "b"), msg(3, "c")))]
    plan = plan_account(sources, known, phase=INCREMENTAL)
    assert plan.renames == (RenameOnTarget("Old", "New"),)
    assert [p.folder for p in plan.folders] == ["New"]
    assert plan.folders[0].actions == (Copy(3, "c", 10),) and not plan.folders[0].is_new


def test_account_plan_turns_delete_and_copy_across_folders_into_a_move() -> None:
    known = [
        FolderState("A", FolderStatus(1, 2), (row(1, "a", flags=("\\Seen",)),), True),
        FolderState("B", FolderStatus(2, 1), (), True),
    ]
    sources = [
        FolderSnapshot("A", FolderStatus(1, 2), ()),
        FolderSnapshot("B", FolderStatus(2, 2), (msg(1, "a", ("\\Seen", "\\Flagged")),)),
    ]
    plan = plan_account(sources, known, phase=INCREMENTAL)
    assert plan.moves == (
        MoveOnTarget(
            "A",
            1,
            "t-a-1",
            "B",
            1,
            "a",
            10,
            frozenset({"\\Seen", "\\Flagged"}),
            frozenset({"\\Seen"}),
        ),
    )
    assert all(p.is_empty for p in plan.folders)


def test_account_plan_excluded_folder_is_untouched() -> None:
    sources = [FolderSnapshot("Junk", FolderStatus(1, 2), (msg(1, "a"),))]
    plan = plan_account(sources, [], phase=INITIAL, excluded={"Junk"})
    assert plan.is_empty and plan.folders_to_create == ()


# --- the cheap path ------------------------------------------------------------------------------


def test_needs_listing() -> None:
    known = FolderState("INBOX", FolderStatus(7, 3, 40), (row(1, "a"), row(2, "b")))
    assert not needs_listing(FolderStatus(7, 3, 40, 2), known)
    assert not needs_listing(FolderStatus(7, 3, 40), known)
    assert needs_listing(FolderStatus(7, 3, 40), None)
    assert needs_listing(FolderStatus(8, 3, 40), known)  # UIDVALIDITY changed
    assert needs_listing(FolderStatus(7, 4, 40), known)  # new mail
    assert needs_listing(FolderStatus(7, 3, 41), known)  # flags changed
    assert needs_listing(FolderStatus(7, 3, None), known)  # no CONDSTORE
    assert needs_listing(FolderStatus(7, 3, 40, 1), known)  # an expunge modseq did not show
    pending = FolderState("INBOX", FolderStatus(7, 3, 40), (row(1, "a", PENDING),))
    assert needs_listing(FolderStatus(7, 3, 40), pending)


def test_unchanged_folder_plans_empty_without_a_listing() -> None:
    known = FolderState("INBOX", FolderStatus(7, 3, 40), (row(1, "a"),))
    plan = plan_folder(FolderSnapshot("INBOX", FolderStatus(7, 3, 40)), known, phase=INCREMENTAL)
    assert plan.is_empty and plan.status == FolderStatus(7, 3, 40)
    with pytest.raises(ValueError, match="list its messages"):
        plan_folder(FolderSnapshot("INBOX", FolderStatus(7, 4, 41)), known, phase=INCREMENTAL)


def test_planning_is_deterministic() -> None:
    known = state(row(1, "a"), row(2, "a"), row(3, "b"), validity=7)
    source = snap(msg(10, "a"), msg(11, "b"), msg(12, "a"), msg(13, "a"), validity=8)
    plans = {plan_folder(source, known, phase=INCREMENTAL) for _ in range(3)}
    assert len(plans) == 1


# --- properties over a simulated world -----------------------------------------------------------

FOLDERS = ("INBOX", "Archive", "Work", "Junk")
FPS = ("a", "b", "c", "big")
FLAGS = st.frozensets(st.sampled_from(("\\Seen", "\\Flagged", "$Work")), max_size=2)
OP = st.tuples(
    st.sampled_from(
        ("deliver", "deliver", "expunge", "flags", "move", "renumber", "rename", "drop", "lose",
         "reindex")
    ),
    st.integers(0, 3),
    st.integers(0, 50),
    st.sampled_from(FPS),
    FLAGS,
)
PASS = st.tuples(st.lists(OP, max_size=6), st.none() | st.integers(0, 40))


def apply_op(world: World, op: tuple[str, int, int, str, frozenset[str]]) -> None:
    kind, folder_index, pick, fp, flags = op
    name = FOLDERS[folder_index]
    other = FOLDERS[(folder_index + 1 + pick) % len(FOLDERS)]
    folder = world.source.get(name)
    uids = sorted(folder.messages) if folder else []
    if kind == "deliver":
        world.deliver(name, fp, flags)
    elif kind == "drop" and folder is not None:
        del world.source[name]
    elif kind == "rename" and folder is not None and other not in world.source:
        world.rename(name, other)
    elif kind == "renumber" and folder is not None:
        world.renumber(name)
    elif kind == "reindex":
        world.reindex(name)  # the target's index rebuilt: its copies are adopted again
    elif kind == "lose" and world.target.get(name):
        refs = sorted(world.target[name])
        del world.target[name][refs[pick % len(refs)]]  # someone deleted it on the target
    elif not uids:
        return
    elif kind == "expunge":
        world.expunge(name, uids[pick % len(uids)])
    elif kind == "flags":
        world.set_flags(name, uids[pick % len(uids)], flags)
    elif kind == "move":
        world.move(name, uids[pick % len(uids)], other)


def check_plan_properties(world: World) -> None:
    for record in world.plans:
        if record.phase is INITIAL:  # (3) the initial phase never deletes
            assert not record.plan.moves
            for folder_plan in record.plan.folders:
                assert not folder_plan.of_type(DeleteOnTarget)
                assert not folder_plan.of_type(DeleteFolderIfEmpty)
        for folder_plan in record.plan.folders:  # (4) no copy of what the target already holds
            name = folder_plan.folder
            copies = Counter(c.fingerprint for c in folder_plan.of_type(Copy))
            copies += Counter(m.fingerprint for m in record.plan.moves if m.to_folder == name)
            for fp, count in copies.items():
                wanted = record.source.get(name, Counter())[fp]
                assert count <= wanted - record.target[name][fp], (name, fp, record.plan)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.lists(st.tuples(st.integers(0, 3), st.sampled_from(FPS), FLAGS), max_size=8),
    initial_passes=st.lists(PASS, min_size=1, max_size=2),
    incremental_passes=st.lists(PASS, max_size=2),
    final_ops=st.lists(OP, max_size=8),
)
def test_one_incremental_pass_converges_from_any_reachable_state(
    start: list[tuple[int, str, frozenset[str]]],
    initial_passes: list[tuple[list[tuple[str, int, int, str, frozenset[str]]], int | None]],
    incremental_passes: list[tuple[list[tuple[str, int, int, str, frozenset[str]]], int | None]],
    final_ops: list[tuple[str, int, int, str, frozenset[str]]],
) -> None:
    world = World()
    world.add_folder("INBOX")
    for folder_index, fp, flags in start:
        world.deliver(FOLDERS[folder_index], fp, flags)
    passes = [(INITIAL, p) for p in initial_passes] + [(INCREMENTAL, p) for p in incremental_passes]
    for phase, (ops, crash_at) in passes:
        for op in ops:
            apply_op(world, op)
        world.run_pass(phase, crash_at)
    for op in final_ops:
        apply_op(world, op)

    assert world.run_pass(INCREMENTAL)
    # (1) one incremental pass reaches "target == source" (as multisets with flags)
    assert world.actual_target() == world.expected_target()
    # (2) planning again finds nothing to do, and unchanged folders need no listing
    assert world.plan(INCREMENTAL).is_empty
    known = {state.name: state for state in world.known()}
    for snapshot in world.snapshots():
        if snapshot.name not in world.excluded:
            assert not needs_listing(snapshot.status, known[snapshot.name])
    check_plan_properties(world)
