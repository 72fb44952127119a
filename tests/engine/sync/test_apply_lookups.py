"""The folder applier looks rows up in the store per action chunk instead of loading its
folder: the store's batched lookups, re-keying and deletions across chunk boundaries, and
resume never claiming a target copy that a copied row already holds."""

from __future__ import annotations

import pytest

import engine.sync.apply as apply_module
from engine.store import Store
from engine.store.sync_state import CopiedMessage, PendingMessage
from engine.sync.apply import FolderApplier
from engine.sync.model import DeleteOnTarget, Detach, FolderPlan, FolderStatus, Forget, Rematch
from engine.targets.base import OutgoingMessage
from tests.engine.sync.test_apply import MemoryTarget, context, store

__all__ = ["store"]  # the fixture, shared with test_apply


def seed(store: Store, folder_id: int, copied: dict[int, str], pending: tuple[int, ...] = ()
         ) -> None:
    """Copied rows (source UID -> target ref, fingerprint ``f<uid>``) and pending rows."""
    store.messages.record_pending(folder_id, [
        PendingMessage(uid, f"f{uid}", 10) for uid in (*copied, *pending)])
    store.messages.record_copied(folder_id, [
        CopiedMessage(uid, ref) for uid, ref in copied.items()])


def test_store_lookups_by_uid_and_ref_are_batched_past_the_in_list_bound(store: Store
                                                                        ) -> None:
    folder_id = context(store, MemoryTarget(), None).folder_id
    copied = {uid: f"r{uid}" for uid in range(1, 1201)}
    seed(store, folder_id, copied, pending=(2000,))
    store.messages.mark_deleted(folder_id, [5])
    messages = store.messages
    by_uid = messages.find_by_source_uids(folder_id, [*range(1, 1201), 2000, 9999])
    assert len(by_uid) == 1200 and 5 not in by_uid and by_uid[2000].state == "pending"
    by_ref = messages.find_by_target_refs(folder_id, [f"r{n}" for n in range(1, 1300)])
    assert len(by_ref) == 1199 and "r5" not in by_ref  # a tombstone is no live row
    assert by_ref["r700"].source_uid == 700
    assert messages.claimed_target_refs(folder_id, ["r1", "r5", "r1200", "nope"]) == {
        "r1", "r1200"}


def test_deletes_and_rekeying_find_their_rows_across_chunks(store: Store,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.setattr(apply_module, "ROW_CHUNK", 2)
    target = MemoryTarget()
    ctx = context(store, target, None)
    seed(store, ctx.folder_id, {uid: f"r{uid}" for uid in range(1, 10)})
    store.messages.detach(ctx.folder_id, [3])  # found by its target ref only
    FolderApplier(ctx).apply(FolderPlan("INBOX", (
        DeleteOnTarget(1, "r1", "f1"), DeleteOnTarget(None, "r3", "f3"),
        DeleteOnTarget(2, "r2", "f2"),
        Forget(4, "r4", "f4"), Detach(5, "r5", "f5"),
        Rematch(6, 7, "r6", "f6"), Rematch(7, 8, "r7", "f7"), Rematch(8, 6, "r8", "f8"),
    ), FolderStatus(7, 10)))
    rows = {r.target_ref: r for r in store.messages.list(ctx.folder_id)}
    assert {ref for ref, r in rows.items() if r.state == "deleted"} == {"r1", "r2", "r3"}
    assert "r4" not in rows and rows["r5"].source_uid is None
    assert [rows[f"r{n}"].source_uid for n in (6, 7, 8, 9)] == [7, 8, 6, 9]


def test_resume_skips_a_candidate_that_a_copied_row_holds(store: Store) -> None:
    target = MemoryTarget()
    ctx = context(store, target, None)
    applier = FolderApplier(ctx)
    key = applier.source_key
    # item1 looks like uid 5's copy but a copied row holds it; item2 is the free one.
    # uid 6's only candidate is held too, so uid 6 was never copied.
    target.messages.update({
        "item1": OutgoingMessage(b"a", source_key=key(5)),
        "item2": OutgoingMessage(b"a", source_key=key(5)),
        "item3": OutgoingMessage(b"b", source_key=key(6)),
    })
    seed(store, ctx.folder_id, {1: "item1", 2: "item3"}, pending=(5, 6))
    assert applier.resolve_pending() == (1, 1)
    rows = {r.source_uid: r for r in store.messages.list(ctx.folder_id)}
    assert rows[5].state == "copied" and rows[5].target_ref == "item2"
    assert 6 not in rows
    assert (rows[1].target_ref, rows[2].target_ref) == ("item1", "item3")
