"""The folder applier on a real SQLite store with an in-memory target and source: intent before
every append, resume through pending rows, refused and too-large items, flag changes, deletions
and the item limits. The in-memory target lets a test fail or crash exactly where it wants."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest

from engine.errors import PermanentError
from engine.folders import FolderPath, TargetNaming
from engine.imap.source import ImapSource
from engine.mail import ExaminedStatus, fingerprint_of
from engine.paths import resolve_state_paths
from engine.secrets import Secret
from engine.store import Store
from engine.store.batches import BatchSpec
from engine.store.endpoints import EndpointSpec
from engine.store.sync_state import FolderRow
from engine.store.users import MigrationUserSpec
from engine.sync.apply import FolderApplier, FolderContext, ItemLimits
from engine.sync.faults import CrashAtStep, SimulatedCrash
from engine.sync.model import (
    Copy,
    DeleteOnTarget,
    FolderPlan,
    FolderStatus,
    Skip,
    SkipReason,
    UpdateFlags,
)
from engine.targets.base import (
    AppendResult,
    Lookup,
    OutgoingMessage,
    Rejected,
    TargetFolders,
    TargetMailbox,
    TargetRef,
)

FOLDER: FolderPath = ("INBOX",)
WHEN = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def raw(n: int, size: int = 0) -> bytes:
    body = b"x" * size
    return (b"From: a@example.org\r\nSubject: message %d\r\nMessage-ID: <m%d@example.org>\r\n"
            b"Date: Mon, 6 May 2024 07:08:09 +0000\r\n\r\nbody %d\r\n%s" % (n, n, n, body))


class MemorySource:
    """Serves bodies by UID for one folder."""

    def __init__(self, bodies: dict[int, bytes], uidvalidity: int = 7) -> None:
        self.bodies = bodies
        self.uidvalidity = uidvalidity
        self.serves_crlf = False  # no known server: the target checks line ends

    def select(self, folder: object) -> ExaminedStatus:
        return ExaminedStatus(self.uidvalidity, max(self.bodies, default=0) + 1,
                              len(self.bodies), None)

    def fetch_bodies(self, uids: Sequence[int], max_batch_bytes: int = 0,
                     sizes: object = None) -> Iterator[tuple[int, bytes]]:
        for uid in uids:
            if uid in self.bodies:
                yield uid, self.bodies[uid]


@dataclass
class MemoryTarget:
    """A target in memory; ``refuse`` names message numbers it rejects permanently."""

    store: Store | None = None
    folder_id: int = 0
    messages: dict[str, OutgoingMessage] = field(default_factory=dict)
    flags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    refuse: set[bytes] = field(default_factory=set)
    appends: int = 0
    pending_seen: list[int] = field(default_factory=list)

    @property
    def naming(self) -> TargetNaming:
        return TargetNaming("/")

    def open_user(self, mailbox: TargetMailbox) -> None: ...

    def close(self) -> None: ...

    def ensure_folders(self, paths: Sequence[FolderPath]) -> TargetFolders:
        return TargetFolders()

    def mark(self, folder: FolderPath) -> str | None:
        return None

    def list_ids(self, folder: FolderPath) -> frozenset[str] | None:
        return frozenset(self.messages)

    def append_batch(self, folder: FolderPath,
                     messages: Sequence[OutgoingMessage]) -> list[AppendResult]:
        if self.store is not None:  # intent must be committed before anything is stored
            pending = self.store.messages.list(self.folder_id, "pending")
            self.pending_seen.append(len(pending))
            assert len(pending) >= len(messages)
        results: list[AppendResult] = []
        for message in messages:
            if any(word in message.raw for word in self.refuse):
                results.append(Rejected(folder, "The server refused the message: too odd"))
                continue
            self.appends += 1
            item = f"item{self.appends}"
            self.messages[item] = message
            self.flags[item] = (*message.flags, *message.keywords)
            results.append(TargetRef(folder, item))
        return results

    def find_existing(self, folder: FolderPath, lookup: Lookup) -> TargetRef | None:
        for item, message in self.messages.items():
            if message.source_key == lookup.source_key and item not in lookup.exclude_ids:
                return TargetRef(folder, item)
        return None

    def change_flags(self, folder: FolderPath, ref: TargetRef, add: Sequence[str],
                     remove: Sequence[str]) -> TargetRef:
        if ref.item_id not in self.messages:
            raise PermanentError("gone", error_id="MessageNotFound")
        now = set(self.flags.get(ref.item_id, ())) - set(remove) | set(add)
        self.flags[ref.item_id] = tuple(sorted(now, key=lambda f: (not f.startswith("\\"), f)))
        return ref

    def delete(self, folder: FolderPath, refs: Sequence[TargetRef]) -> None:
        for ref in refs:
            self.messages.pop(ref.item_id or "", None)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(resolve_state_paths(tmp_path / "state"))
    source = opened.endpoints.add(EndpointSpec("S", "IMAP", remote_server="h", port=143))
    target = opened.endpoints.add(EndpointSpec("T", "Maildir", path=str(tmp_path / "m")))
    batch = opened.batches.add(BatchSpec("B", source.id, target.id))
    opened.users.add(batch.id, MigrationUserSpec("u@example.org", "u", Secret("pw")))
    yield opened
    opened.close()


def context(store: Store, target: MemoryTarget, source: MemorySource | None,
            limits: ItemLimits | None = None, hook: CrashAtStep | None = None,
            batch_count: int = 2) -> FolderContext:
    user_id = store.users.get("u@example.org").id
    row = store.folders.find(user_id, "INBOX") or store.folders.save(
        user_id, FolderRow("INBOX", "/", '["INBOX"]', 7))
    target.store, target.folder_id = store, row.id
    return FolderContext(store, user_id, row, FOLDER, target,
                         cast(ImapSource, source), limits or ItemLimits(None, None),
                         hook or CrashAtStep(), batch_count=batch_count)


def copies(bodies: dict[int, bytes], flags: Sequence[str] = ("\\Seen",)) -> list[Copy]:
    return [Copy(uid, fingerprint_of(body, len(body), WHEN).key, len(body), frozenset(flags),
                 WHEN) for uid, body in sorted(bodies.items())]


def plan(*actions: object) -> FolderPlan:
    return FolderPlan("INBOX", tuple(actions), FolderStatus(7, 10))  # type: ignore[arg-type]


def test_copies_commit_intent_before_each_append_and_record_after(store: Store) -> None:
    bodies = {uid: raw(uid) for uid in (1, 2, 3, 5, 8)}
    target = MemoryTarget()
    ctx = context(store, target, MemorySource(bodies))
    FolderApplier(ctx).apply(plan(*copies(bodies)))
    assert target.appends == 5 and target.pending_seen == [2, 2, 1]
    rows = store.messages.list(ctx.folder_id)
    assert [(r.source_uid, r.state, r.flags) for r in rows] == [
        (uid, "copied", "\\Seen") for uid in (1, 2, 3, 5, 8)]
    stats = store.statistics.get(ctx.user_id)
    assert stats.synced_item_count == 5
    assert stats.bytes_transferred == sum(len(b) for b in bodies.values())
    assert store.folders.get(ctx.user_id, "INBOX").source_uidnext == 10


@pytest.mark.parametrize("step", [1, 2, 3])
def test_a_crash_anywhere_in_a_batch_resumes_without_loss_or_duplicate(store: Store,
                                                                       step: int) -> None:
    bodies = {uid: raw(uid) for uid in (1, 2, 3)}
    target = MemoryTarget()
    crash = CrashAtStep(step)  # 1 before_append, 2 after_append, 3 after_record
    with pytest.raises(SimulatedCrash):
        FolderApplier(context(store, target, MemorySource(bodies), hook=crash)).apply(
            plan(*copies(bodies)))
    applier = FolderApplier(context(store, target, MemorySource(bodies)))
    applier.resolve_pending()
    done = {r.source_uid for r in store.messages.list(applier.ctx.folder_id, "copied")}
    assert not store.messages.list(applier.ctx.folder_id, "pending")
    applier.apply(plan(*[c for c in copies(bodies) if c.uid not in done]))
    keys = sorted(m.source_key or "" for m in target.messages.values())
    assert len(keys) == 3 == len(set(keys))  # each message stored exactly once
    assert store.statistics.get(applier.ctx.user_id).synced_item_count == 3


def test_refused_messages_are_skipped_items_and_the_bad_item_limit_fails(store: Store
                                                                         ) -> None:
    bodies = {1: raw(1), 2: raw(2) + b"odd", 3: raw(3), 4: raw(4) + b"odd"}
    target = MemoryTarget(refuse={b"odd"})
    ctx = context(store, target, MemorySource(bodies), ItemLimits(bad_limit=1, large_limit=None),
                  batch_count=10)
    with pytest.raises(PermanentError, match="BadItemLimit allows 1"):
        FolderApplier(ctx).apply(plan(*copies(bodies)))
    skipped = store.statistics.skipped_items(ctx.user_id)
    assert [(s.kind, s.subject, s.folder) for s in skipped] == [
        ("bad", "message 2", "INBOX"), ("bad", "message 4", "INBOX")]
    states = {r.source_uid: r.state for r in store.messages.list(ctx.folder_id)}
    assert states == {1: "copied", 2: "skipped", 3: "copied", 4: "skipped"}
    assert store.statistics.get(ctx.user_id).skipped_item_count == 2


def test_too_large_items_are_recorded_and_counted_against_the_large_item_limit(
        store: Store) -> None:
    target = MemoryTarget()
    ctx = context(store, target, None, ItemLimits(None, large_limit=0))
    with pytest.raises(PermanentError, match="LargeItemLimit"):
        FolderApplier(ctx).apply(plan(Skip(4, "fp", 50_000_000, SkipReason.TOO_LARGE)))
    [item] = store.statistics.skipped_items(ctx.user_id)
    assert (item.kind, item.size) == ("large", 50_000_000)
    assert store.messages.list(ctx.folder_id)[0].state == "skipped"
    assert target.appends == 0


def test_flag_changes_and_deletions_reach_the_target_then_the_store(store: Store) -> None:
    bodies = {1: raw(1), 2: raw(2), 3: raw(3)}
    target = MemoryTarget()
    ctx = context(store, target, MemorySource(bodies))
    FolderApplier(ctx).apply(plan(*copies(bodies)))
    refs = {r.source_uid: r.target_ref for r in store.messages.list(ctx.folder_id)}
    del target.messages[refs[3] or ""]  # someone deleted this copy on the target
    new = frozenset({"\\Flagged", "$Work"})
    FolderApplier(context(store, target, None)).apply(plan(
        UpdateFlags(1, refs[1], "f1", new, frozenset({"\\Seen"}), new),
        UpdateFlags(3, refs[3], "f3", new, frozenset({"\\Seen"}), new),
        DeleteOnTarget(2, refs[2], "f2")))
    assert target.flags[refs[1] or ""] == ("\\Flagged", "$Work")
    assert refs[2] not in target.messages
    rows = {r.id: r for r in store.messages.list(ctx.folder_id)}
    by_ref = {r.target_ref: r for r in rows.values()}
    assert by_ref[refs[1]].flags == "$Work \\Flagged"
    assert by_ref[refs[2]].state == "deleted" and by_ref[refs[2]].source_uid is None
    assert refs[3] not in by_ref  # its copy was gone: forgotten, so it is copied again
    [warning] = store.statistics.report_entries(ctx.user_id)
    assert warning.kind == "warning" and "copied again" in warning.message
