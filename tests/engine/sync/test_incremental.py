"""engine/sync/incremental.py with literal inputs: which listing a folder needs, the count
check for expunges, and that the planner given only what changed plans what it plans given
the whole folder."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.mail import MessageState
from engine.store.sync_state import FolderTally, MessageRow
from engine.sync.incremental import (
    Listing,
    changes_inputs,
    choose_listing,
    expunges_possible,
    lost_copies,
    touches_target_rows,
    vanished_uids,
)
from engine.sync.model import (
    Copy,
    DeleteOnTarget,
    FolderSnapshot,
    FolderState,
    FolderStatus,
    KnownMessage,
    Rematch,
    SourceMessage,
    SyncKind,
    UpdateFlags,
)
from engine.sync.planner import plan_folder

DATE = datetime(2024, 5, 6, tzinfo=UTC)
RECORDED = FolderStatus(7, 11, 500)
TEN = FolderTally(live=10, attached=10, copies=10, copies_with_ref=10, size=1000, max_uid=10)


@pytest.mark.parametrize(("now", "recorded", "tally", "expected"), [
    (FolderStatus(7, 11, 500, 10), RECORDED, TEN, Listing.NONE),
    (FolderStatus(7, 12, 501, 11), RECORDED, TEN, Listing.CHANGES),  # new mail
    (FolderStatus(7, 11, 502, 10), RECORDED, TEN, Listing.CHANGES),  # flags changed
    (FolderStatus(7, 11, 500, 9), RECORDED, TEN, Listing.CHANGES),  # an expunge, modseq still
    (FolderStatus(8, 11, 500, 10), RECORDED, TEN, Listing.FULL),  # UIDVALIDITY changed
    (FolderStatus(7, 11, None, 10), RECORDED, TEN, Listing.FULL),  # no CONDSTORE now
    (FolderStatus(7, 12, 501, 11), FolderStatus(7, 11, None), TEN, Listing.FULL),
    (FolderStatus(7, 12, 501, 11), None, TEN, Listing.FULL),  # never completed
    (FolderStatus(7, 12, 501, 11), FolderStatus(7, 0, 500), TEN, Listing.FULL),
    (FolderStatus(7, 11, 500, 10), RECORDED, FolderTally(live=10, attached=9, detached=1,
                                                         copies=10, max_uid=10), Listing.FULL),
    (FolderStatus(7, 11, 500, 10), RECORDED, FolderTally(live=10, attached=10, pending=1,
                                                         copies=9, max_uid=10), Listing.FULL),
    (FolderStatus(7, 12, 499, 11), RECORDED, TEN, Listing.FULL),  # modseq went back
    (FolderStatus(7, 10, 501, 11), RECORDED, TEN, Listing.FULL),  # UIDNEXT went back
    # a row at the recorded UIDNEXT: a pass recorded copies but not its status
    (FolderStatus(7, 13, 501, 12), RECORDED, FolderTally(live=11, attached=11, copies=11,
                                                         copies_with_ref=11, max_uid=11),
     Listing.FULL),
    # nothing copied yet (adoption must see the whole folder)
    (FolderStatus(7, 12, 501, 11), RECORDED, FolderTally(live=10, attached=10, max_uid=10),
     Listing.FULL),
])
def test_which_listing_a_folder_needs(now: FolderStatus, recorded: FolderStatus | None,
                                      tally: FolderTally, expected: Listing) -> None:
    assert choose_listing(now, recorded, tally) is expected


def test_without_changedsince_or_with_a_whole_folder_filter_a_changed_folder_is_listed_whole(
        ) -> None:
    changed = FolderStatus(7, 12, 501, 11)
    assert choose_listing(changed, RECORDED, TEN, changedsince=False) is Listing.FULL
    assert choose_listing(changed, RECORDED, TEN, whole_folder=True) is Listing.FULL
    same = FolderStatus(7, 11, 500, 10)  # nothing moved: still nothing to read
    assert choose_listing(same, RECORDED, TEN, whole_folder=True) is Listing.NONE


def test_the_count_says_when_messages_may_have_vanished() -> None:
    assert not expunges_possible(12, TEN, 2)
    assert expunges_possible(11, TEN, 2)  # one of the ten is gone
    assert expunges_possible(12, TEN, 3)  # three new and 12 in all: one of the ten is gone
    assert vanished_uids([1, 2, 3, 5], [1, 3, 4, 5]) == ([2], [4])


def _row(uid: int, flags: str = "", state: MessageState = MessageState.COPIED,
         fingerprint: str | None = None) -> MessageRow:
    return MessageRow(uid, 1, uid, fingerprint or f"fp{uid}", 100, DATE, f"t{uid}", 1, flags,
                      state, DATE)


def _known(rows: list[MessageRow], status: FolderStatus = RECORDED) -> FolderState:
    return FolderState("INBOX", status, tuple(
        KnownMessage(r.source_uid, r.fingerprint, r.state, r.target_ref,
                     frozenset(r.flags.split()), r.hold) for r in rows))


def test_the_plan_from_the_changes_is_the_plan_from_the_whole_folder() -> None:
    rows = {uid: _row(uid, "\\Seen") for uid in range(1, 11)}
    rows[4] = _row(4, "\\Seen", MessageState.SKIPPED)
    now = FolderStatus(7, 14, 520, 11)
    # 2 and 6 vanished; 3 flagged; 11 new; 12 is the vanished 6 filed again (same fingerprint)
    new = [SourceMessage(11, "fp11", 50, {"\\Seen"}, DATE),
           SourceMessage(12, "fp6", 100, {"\\Seen"}, DATE)]
    flags = {3: frozenset({"\\Seen", "\\Flagged"}), 5: frozenset({"\\Seen"})}  # 5: same flags
    vanished = [2, 6]
    whole = FolderSnapshot("INBOX", now, tuple(
        [SourceMessage(u, f"fp{u}", 100, flags.get(u, {"\\Seen"}), DATE)
         for u in range(1, 11) if u not in vanished] + new))
    expected = plan_folder(whole, _known(list(rows.values())), phase=SyncKind.incremental)

    inputs = changes_inputs("INBOX", now, FolderState("INBOX", RECORDED), new, flags,
                            {u: rows[u] for u in (*flags, *vanished)}, vanished)
    assert inputs is not None
    snapshot, known = inputs
    assert [m.uid for m in snapshot.messages or ()] == [3, 5, 11, 12]
    assert sorted(m.source_uid or 0 for m in known.messages) == [2, 3, 5, 6]
    got = plan_folder(snapshot, known, phase=SyncKind.incremental)
    assert got.actions == expected.actions
    assert got.status == expected.status == now
    kinds = {type(a) for a in got.actions}
    assert kinds == {DeleteOnTarget, Rematch, UpdateFlags, Copy}
    assert touches_target_rows(got.actions)


def test_a_reflagged_uid_without_a_row_asks_for_the_whole_listing() -> None:
    assert changes_inputs("INBOX", FolderStatus(7, 11, 501, 10), FolderState("INBOX", RECORDED),
                          [], {3: frozenset({"\\Seen"})}, {}, []) is None


def test_new_mail_alone_touches_no_row_and_a_lost_copy_is_noticed() -> None:
    new = [SourceMessage(11, "fp11", 50, (), DATE)]
    inputs = changes_inputs("INBOX", FolderStatus(7, 12, 501, 11), FolderState("INBOX", RECORDED),
                            new, {}, {}, [])
    assert inputs is not None
    plan = plan_folder(*inputs, phase=SyncKind.incremental)
    assert [type(a) for a in plan.actions] == [Copy]
    assert not touches_target_rows(plan.actions)
    known = _known([_row(2)])
    assert lost_copies(known, frozenset({"t1"}))
    assert not lost_copies(known, frozenset({"t2"}))
