"""-ContentFilter never makes a copy look deleted (engine/sync/selection.py): literal inputs."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.content_filter import parse_content_filter
from engine.sync.model import (
    Copy,
    DeleteOnTarget,
    FolderSnapshot,
    FolderState,
    FolderStatus,
    KnownMessage,
    MessageState,
    SourceMessage,
    SyncKind,
)
from engine.sync.planner import plan_folder
from engine.sync.selection import by_content_filter, filtered_out

SINCE_2020 = parse_content_filter("Received -gt '2020-01-01'")
OLD = datetime(2015, 6, 1, tzinfo=UTC)
NEW = datetime(2024, 6, 1, tzinfo=UTC)


def listing(validity: int, *messages: tuple[int, str, datetime]) -> FolderSnapshot:
    return FolderSnapshot("INBOX", FolderStatus(validity, 100), tuple(
        SourceMessage(uid, fp, 10, internaldate=when) for uid, fp, when in messages))


def test_an_unrecorded_old_message_is_left_out_and_a_new_one_kept() -> None:
    snapshot = listing(7, (1, "fp-old", OLD), (2, "fp-new", NEW))
    assert filtered_out(snapshot, SINCE_2020) == ["fp-old"]
    kept = by_content_filter(snapshot, None, SINCE_2020)
    assert [m.uid for m in kept.messages or ()] == [2]


def test_after_a_uidvalidity_reset_an_old_copy_is_re_paired_not_deleted() -> None:
    # the copy was made before the filter (or by the batch the user moved from); the source's
    # UIDVALIDITY changed, so the row no longer has a UID: only its fingerprint records it
    known = FolderState("INBOX", FolderStatus(6, 5), (
        KnownMessage(None, "fp-old", MessageState.COPIED, "t1"),), True)
    snapshot = listing(7, (1, "fp-old", OLD))
    kept = by_content_filter(snapshot, known, SINCE_2020)
    assert [m.uid for m in kept.messages or ()] == [1]
    plan = plan_folder(kept, known, phase=SyncKind.incremental)
    assert not plan.of_type(DeleteOnTarget) and not plan.of_type(Copy)  # re-paired: one copy


def test_an_old_message_moved_into_this_folder_stays_listed_so_the_move_pairs() -> None:
    # another folder holds its copy; without it here, that folder would delete the copy
    snapshot = listing(7, (3, "fp-moved", OLD))
    assert by_content_filter(snapshot, None, SINCE_2020).messages == ()
    kept = by_content_filter(snapshot, None, SINCE_2020, copied_elsewhere={"fp-moved"})
    assert [m.uid for m in kept.messages or ()] == [3]
