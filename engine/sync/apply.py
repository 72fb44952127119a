"""Carrying out one folder's plan on the target and in the store, crash-safely.

One :class:`FolderApplier` works on one folder with its own source session, target object and
store (a folder worker's). The invariants it keeps (DESIGN.md §4, docs/state.md):

- **Intent first.** A copy batch is fetched from the source, then its ``pending`` rows are
  committed together with the target's mark (where the batch can land), then it is
  appended, then the target references and the counters are committed in one transaction.
  A crash between the commits leaves ``pending`` rows, which
  :meth:`FolderApplier.resolve_pending` looks up on the target (above the mark) before
  anything is appended again: found copies are recorded, the others forgotten (and planned
  again).
- Flag changes (deltas: ``UpdateFlags.add``/``remove``) and deletions are recorded after the
  target confirmed them; repeating one after a crash is harmless. A deletion the guard held
  (engine/sync/guard.py) touches only the store (the row is detached and marked held, with
  the re-keying below): a crash before or after that commit leaves the copy on the target,
  and the next pass holds it again.
- **Fenced.** The transactions that write intent and record copies first check that the
  job still holds its user lease (:class:`engine.runner.jobs.LeaseFence`); a runner that
  lost it stops there (``Stopped``), so it never appends once another runner may own the user.
- **Order** (:data:`STAGES`): deletions, then re-keying, flags, skips, copies. Deletions go
  first because they free source UIDs (a tombstone has none): after a UIDVALIDITY reset the
  re-keying hands the survivors new UIDs, and one of them may be the old UID of a message
  that vanished. (Re-keying first failed every pass on ``UNIQUE (folder_id, source_uid)``.)
  A crash between a deletion and the re-keying leaves tombstones and the old UIDVALIDITY;
  the next pass plans the same re-keying again from the same rows. The re-keying also
  detaches any row still holding a UID it hands out (a held deletion), so it cannot collide.
- Re-keying after a UIDVALIDITY change (Rematch) and detaching are one transaction together
  with the folder's new UIDVALIDITY.
- The folder's UIDNEXT/HIGHESTMODSEQ is saved only after every action is recorded, and not
  at all while a copy of it waits for a retry (so the next pass lists the folder again).
- **Capacity refusals are not verdicts** (DESIGN.md §4). A message the target refused for lack
  of room or capacity (:attr:`~engine.targets.base.Rejected.capacity`: quota, disk full,
  throttling) or transiently is forgotten, not skipped: the next pass plans it again. After a
  capacity refusal no more copies are attempted in this pass (every folder worker sees
  :attr:`ItemLimits.full`); deletions and flag changes still run. The executor ends such a
  pass with a :class:`~engine.errors.CapacityError` (or TransientError), so the runner retries
  it with backoff; and a move deletes its old copy only once the new one is recorded.

Memory is bounded by two copy batches (``batch_bytes``, or one larger message, each: the one
being appended and the next, read ahead meanwhile by engine/sync/prefetch.py), all folder
workers of the process together by the body budget (engine/sync/budget.py), and by chunks
of actions: the applier never loads its folder's rows, it asks the store for the rows an
action chunk names (by source UID or target reference, ``ROW_CHUNK`` at a time).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.header import decode_header, make_header
from email.utils import parsedate_to_datetime
from typing import Protocol

from engine.errors import CapacityError, ErrorCategory, PermanentError, TransientError
from engine.folders import FolderPath, display_name
from engine.imap.source import ImapSource, byte_chunks
from engine.limits import MessageSizeLimit
from engine.mail import fingerprint_from_key, flags_text, split_flags
from engine.store import Store
from engine.store.codec import utc_now
from engine.store.sync_state import CopiedMessage, FolderRow, MessageRow, PendingMessage
from engine.sync import faults
from engine.sync.budget import BodyBudget, BudgetWaitCancelled
from engine.sync.faults import StepHook
from engine.sync.model import (
    Adopt,
    Copy,
    DeleteOnTarget,
    Detach,
    FolderPlan,
    FolderStatus,
    Forget,
    HoldDeletion,
    Rematch,
    Skip,
    UpdateFlags,
)
from engine.sync.prefetch import ReadAhead
from engine.sync.target_copy import Holders, copy_within
from engine.targets.base import Lookup, OutgoingMessage, Rejected, Target, TargetRef

DEFAULT_BATCH_BYTES = 4 * 1024 * 1024  # per folder worker: 4 workers stay well under 150 MB
DEFAULT_BATCH_COUNT = 200
FLAG_RECORD_EVERY = 200
ROW_CHUNK = 500  # actions whose rows are looked up in the store together
_GONE_IDS = ("StaleTargetReference", "MessageNotFound")


# The stages of :meth:`FolderApplier.apply`, in the order they run; each takes the plan's
# actions of its types (the in-memory simulation of tests/engine/sync follows this order).
REKEY: tuple[type, ...] = (Forget, Detach, Rematch, HoldDeletion)
DELETE: tuple[type, ...] = (DeleteOnTarget,)
FLAGS: tuple[type, ...] = (UpdateFlags,)
SKIP: tuple[type, ...] = (Skip,)
ADOPT: tuple[type, ...] = (Adopt,)
COPY: tuple[type, ...] = (Copy,)
STAGES: tuple[tuple[type, ...], ...] = (DELETE, REKEY, FLAGS, SKIP, ADOPT, COPY)


class Cancellation(Protocol):
    @property
    def cancelled(self) -> bool: ...


class Stopped(Exception):
    """The cancel token was set (or the lease lost); the folder stopped at a safe point."""


Fence = Callable[[Store], None]


def no_fence(store: Store) -> None:
    """No lease to check (tests and tools that run a pass outside a runner)."""


def too_many_items_error(kind: str, found: int, limit: int) -> PermanentError:
    """Exchange fails the request when more bad/large items appear than its limit allows."""
    parameter = "BadItemLimit" if kind == "bad" else "LargeItemLimit"
    noun = "bad items" if kind == "bad" else "large items"
    return PermanentError(
        f"The migration encountered too many {noun} ({found}); {parameter} allows {limit}. "
        f"Review the skipped items with Get-MigrationUserStatistics -IncludeSkippedItems, or "
        f"raise {parameter} with Set-MigrationUser and start the migration again.",
        category=ErrorCategory.LimitsExceeded,
        error_id="TooManyBadItems" if kind == "bad" else "TooManyLargeItems")


@dataclass
class ItemLimits:
    """BadItemLimit / LargeItemLimit over a whole pass, shared by the folder workers, and the
    refusals that are no verdict on an item: ``refused`` messages the target refused for now,
    ``refusal`` the first reason, ``full`` once one was about capacity (then nothing more is
    appended in this pass)."""

    bad_limit: int | None
    large_limit: int | None
    bad: int = 0
    large: int = 0
    refused: int = 0
    refusal: str | None = None
    full: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def refuse(self, rejected: Sequence[Rejected]) -> None:
        """Count messages refused for now (capacity or transient), to retry later."""
        if not rejected:
            return
        with self._lock:
            self.refused += len(rejected)
            capacity = next((r for r in rejected if r.capacity), None)
            if capacity is not None and not self.full:
                self.full, self.refusal = True, capacity.reason
            elif self.refusal is None:
                self.refusal = rejected[0].reason

    def retry_error(self) -> TransientError | None:
        """How the pass ends when messages wait for a retry (None: none do)."""
        if not self.refused:
            return None
        reason = (self.refusal or "The target refused them for now.").rstrip(".")
        text = (f"{reason}. {self.refused} item(s) were not copied yet; they will be copied "
                "when the target accepts them.")
        if self.full:
            return CapacityError(text)
        return TransientError(text, category=ErrorCategory.ResourceUnavailable,
                              error_id="ItemsRefusedForNow")

    def add(self, kind: str, count: int = 1) -> None:
        """Count skipped items; raise once a limit is exceeded (None = Unlimited)."""
        with self._lock:
            if kind == "bad":
                self.bad += count
                found, limit = self.bad, self.bad_limit
            else:
                self.large += count
                found, limit = self.large, self.large_limit
        if limit is not None and found > limit:
            raise too_many_items_error(kind, found, limit)


@dataclass
class FolderContext:
    """Everything one folder's work needs; ``source`` is None for a folder the source lost."""

    store: Store
    user_id: int
    row: FolderRow
    target_path: FolderPath
    target: Target
    source: ImapSource | None
    limits: ItemLimits
    hook: StepHook = faults.no_hook
    token: Cancellation | None = None
    batch_bytes: int = DEFAULT_BATCH_BYTES
    batch_count: int = DEFAULT_BATCH_COUNT
    fence: Fence = no_fence  # raises Stopped when the job lost its lease (in a transaction)
    size_limit: MessageSizeLimit | None = None  # the plan's, for the skipped items' reason
    holders: Holders | None = None  # copies the target holds elsewhere (engine/sync/target_copy)
    read_ahead: bool = True  # fetch the next copy batch while one is appended (prefetch.py)
    budget: BodyBudget | None = None  # the process's bodies in flight (engine/sync/budget.py)

    @property
    def folder_id(self) -> int:
        return self.row.id

    @property
    def display(self) -> str:
        return display_name(self.target_path)


class FolderApplier:
    """Applies the message actions of one folder."""

    def __init__(self, ctx: FolderContext) -> None:
        self.ctx = ctx
        self._examined: str | None = None
        self._waiting = False  # a copy of this folder waits for a later pass

    def source_key(self, uid: int) -> str:
        """Stable across runs for one source message (Maildir finds a copy by it)."""
        row = self.ctx.row
        return f"imsh:{self.ctx.user_id}:{row.id}:{row.source_uidvalidity or 0}:{uid}"

    def _check_cancel(self) -> None:
        if self._token_cancelled():
            raise Stopped

    def _token_cancelled(self) -> bool:
        token = self.ctx.token
        return token is not None and token.cancelled

    # --- resume ----------------------------------------------------------------------------------

    def resolve_pending(self) -> tuple[int, int]:
        """Look every pending row up on the target: record found copies, forget the rest.

        Returns (found, forgotten). Copies other rows hold are never claimed twice.
        """
        ctx = self.ctx
        claimed: set[str] = set()  # ids copied rows hold, learnt one lookup at a time
        found: list[tuple[int, MessageRow, TargetRef]] = []
        lost: list[int] = []
        for row in ctx.store.messages.list(ctx.folder_id, "pending"):
            uid = row.source_uid
            if uid is None:
                continue
            ref = self._find_unclaimed(uid, row, claimed)
            if ref is None or not ref.item_id:
                lost.append(uid)
            else:
                claimed.add(ref.item_id)
                found.append((uid, row, ref))
        with ctx.store.transaction():
            ctx.fence(ctx.store)
            ctx.store.messages.record_copied(ctx.folder_id, [
                CopiedMessage(uid, ref.item_id or "", None, row.flags)
                for uid, row, ref in found])
            ctx.store.messages.forget(ctx.folder_id, lost)
            if found:
                ctx.store.statistics.add_counts(
                    ctx.user_id, synced=len(found),
                    bytes_transferred=sum(row.size for _, row, _ in found))
        if found or lost:
            ctx.hook(faults.AFTER_RESOLVE)
        return len(found), len(lost)

    def _find_unclaimed(self, uid: int, row: MessageRow, claimed: set[str]) -> TargetRef | None:
        """The copy of ``row`` on the target that no copied row holds.

        Targets return the first candidate outside ``exclude_ids``; rather than load every
        copied row's reference, a candidate some copied row holds is excluded and the target
        asked again. ``claimed`` grows with what is learnt, for the next pending rows.
        """
        while True:
            ref = self._find(uid, row, frozenset(claimed))
            if ref is None or not ref.item_id or ref.item_id in claimed:
                return None  # (a target ignoring exclude_ids must not loop here)
            if not self.ctx.store.messages.claimed_target_refs(self.ctx.folder_id,
                                                               [ref.item_id]):
                return ref
            claimed.add(ref.item_id)

    def _find(self, uid: int, row: MessageRow, claimed: frozenset[str]) -> TargetRef | None:
        lookup = Lookup(source_key=self.source_key(uid),
                        fingerprint=fingerprint_from_key(row.fingerprint),
                        mark=row.target_mark, item_id=row.target_ref, exclude_ids=claimed)
        try:
            return self.ctx.target.find_existing(self.ctx.target_path, lookup)
        except PermanentError as exc:
            if exc.error_id == "FolderNotFound":
                return None  # the target folder is gone, so the copy is too
            raise

    # --- a plan ----------------------------------------------------------------------------------

    @property
    def waiting(self) -> bool:
        """Whether copies wait for the target's capacity (the folder's status must not be
        saved: the next pass lists it again)."""
        return self._waiting

    def apply(self, plan: FolderPlan, *, final: bool = True) -> None:
        """Every message action of ``plan``, stage by stage (:data:`STAGES`), then the
        folder's new status (not while refused copies wait for the target's capacity).
        ``final=False``: ``plan`` is one window of the folder; the caller saves the status
        after the last one."""
        fallback: list[Copy] = []  # adoptions whose target message vanished meanwhile
        for stage in STAGES:
            if stage is DELETE:
                self.delete(plan.of_type(DeleteOnTarget))
            elif stage is REKEY:
                if plan.uidvalidity_changed or any(isinstance(a, REKEY) for a in plan.actions):
                    self._rekey(plan)
            elif stage is FLAGS:
                if self.ctx.source is not None and any(isinstance(a, Skip | Copy)
                                                       for a in plan.actions):
                    self._check_source(self.ctx.source, plan.status)
                self._update_flags(plan.of_type(UpdateFlags))
            elif stage is SKIP:
                self._skip(plan.of_type(Skip))
            elif stage is ADOPT:
                fallback = self.adopt(plan.of_type(Adopt))
            elif stage is COPY:
                self.copy(sorted([*plan.of_type(Copy), *fallback], key=lambda c: c.uid),
                          plan.status)
        if final and plan.status is not None and not self._waiting:
            self.save_status(plan.status)

    def save_status(self, status: FolderStatus) -> None:
        ctx = self.ctx
        ctx.row = ctx.store.folders.save(ctx.user_id, replace(
            ctx.row, source_uidvalidity=status.uidvalidity, source_uidnext=status.uidnext,
            source_highestmodseq=status.highestmodseq, last_synced_at=utc_now()))
        ctx.hook(faults.AFTER_FOLDER_STATE)

    def _rows(self, keys: Sequence[tuple[int | None, str | None]]) -> list[MessageRow | None]:
        """The live row of each (source UID, target reference): by UID, else by reference.

        Two queries for the whole of ``keys``; callers pass at most ``ROW_CHUNK`` of them.
        """
        messages, folder_id = self.ctx.store.messages, self.ctx.folder_id
        by_uid = messages.find_by_source_uids(folder_id, [u for u, _ in keys if u is not None])
        by_ref = messages.find_by_target_refs(
            folder_id, [r for u, r in keys if r and (u is None or u not in by_uid)])
        return [by_uid[u] if u is not None and u in by_uid else by_ref.get(r) if r else None
                for u, r in keys]

    def _chunked_rows(self, keys: Sequence[tuple[int | None, str | None]]
                      ) -> Iterator[tuple[int, MessageRow | None]]:
        """(index in ``keys``, row) for every key, looked up ``ROW_CHUNK`` keys at a time."""
        for start in range(0, len(keys), ROW_CHUNK):
            chunk = keys[start:start + ROW_CHUNK]
            yield from enumerate(self._rows(chunk), start)

    def _rekey(self, plan: FolderPlan) -> None:
        """Forget, Detach, HoldDeletion and Rematch (and a new UIDVALIDITY) in one
        transaction. A held deletion changes nothing on the target: its row only gives up
        its source UID and is marked held, so a crash on either side of the commit leaves
        the copy where it was and the next pass holds (or deletes) it again."""
        ctx = self.ctx
        forget: list[int] = []
        tombstones: list[int] = []
        detach: list[int] = []
        hold_uids: list[int] = []
        hold_rows: list[int] = []
        new_uid: dict[int, int] = {}
        actions = [a for a in plan.actions
                   if isinstance(a, Forget | Detach | Rematch | HoldDeletion)]
        keys = [(a.old_uid if isinstance(a, Rematch) else a.source_uid, a.target_ref)
                for a in actions]
        # every row is looked up before anything is written: re-keying moves source UIDs
        for index, row in self._chunked_rows(keys):
            action = actions[index]
            if row is None:
                continue
            if isinstance(action, Rematch):
                new_uid[row.id] = action.new_uid
            elif isinstance(action, HoldDeletion):
                if row.source_uid is None:
                    hold_rows.append(row.id)
                else:
                    hold_uids.append(row.source_uid)
            elif row.source_uid is None:
                tombstones.append(row.id)  # a detached row: no UID to forget it by
            elif isinstance(action, Forget):
                forget.append(row.source_uid)
            else:
                detach.append(row.source_uid)
        with ctx.store.transaction():
            ctx.store.messages.forget(ctx.folder_id, forget)
            ctx.store.messages.mark_deleted_rows(ctx.folder_id, tombstones)
            ctx.store.messages.detach(ctx.folder_id, detach)
            ctx.store.messages.hold(ctx.folder_id, hold_uids, hold_rows)
            if new_uid:
                # a row still holding a UID the re-keying hands out (its deletion was held,
                # or a crashed pass left it): its UID names another message now, so it is
                # detached, keeping its copy, rather than failing every pass on UNIQUE
                holders = ctx.store.messages.find_by_source_uids(ctx.folder_id,
                                                                 new_uid.values())
                ctx.store.messages.detach(ctx.folder_id, [
                    uid for uid, held in holders.items() if held.id not in new_uid])
                ctx.store.messages.reassign_source_uids(ctx.folder_id, new_uid)
            if plan.status is not None and plan.uidvalidity_changed:
                ctx.row = ctx.store.folders.save(ctx.user_id, replace(
                    ctx.row, source_uidvalidity=plan.status.uidvalidity, source_uidnext=None,
                    source_highestmodseq=None))
        ctx.hook(faults.AFTER_FORGET)

    def delete(self, actions: Sequence[DeleteOnTarget]) -> None:
        if not actions:
            return
        ctx = self.ctx
        refs = [TargetRef(ctx.target_path, a.target_ref) for a in actions if a.target_ref]
        if refs:
            try:
                ctx.target.delete(ctx.target_path, refs)
            except PermanentError as exc:
                if exc.error_id != "FolderNotFound":
                    raise  # the target folder is gone, and the copies with it
            ctx.hook(faults.AFTER_DELETE)
        uids: list[int] = []
        row_ids: list[int] = []
        for _, row in self._chunked_rows([(a.source_uid, a.target_ref) for a in actions]):
            if row is not None and row.source_uid is not None:
                uids.append(row.source_uid)
            elif row is not None:
                row_ids.append(row.id)
        with ctx.store.transaction():
            ctx.store.messages.mark_deleted(ctx.folder_id, uids)
            ctx.store.messages.mark_deleted_rows(ctx.folder_id, row_ids)
        ctx.hook(faults.AFTER_FORGET)

    def _update_flags(self, actions: Sequence[UpdateFlags]) -> None:
        ctx = self.ctx
        done: dict[int, str] = {}
        gone: list[int] = []
        for action in actions:
            if action.target_ref is None:
                gone.append(action.source_uid)
                continue
            try:  # the delta only: what the target's user set on the copy stays
                ctx.target.change_flags(ctx.target_path, TargetRef(ctx.target_path,
                                                                   action.target_ref),
                                        sorted(action.add), sorted(action.remove))
            except PermanentError as exc:
                if exc.error_id not in _GONE_IDS:
                    raise
                gone.append(action.source_uid)  # planned again next pass: copied anew
                continue
            ctx.hook(faults.AFTER_FLAGS)
            done[action.source_uid] = flags_text(action.flags)
            if len(done) >= FLAG_RECORD_EVERY:
                self._record_flags(done)
                done = {}
        self._record_flags(done)
        if gone:
            ctx.store.messages.forget(ctx.folder_id, gone)
            ctx.store.statistics.add_report_entry(
                ctx.user_id, "warning", f"{len(gone)} copied messages were no longer on the "
                "target; they will be copied again.", ctx.display)

    def _record_flags(self, done: dict[int, str]) -> None:
        if done:
            self.ctx.store.messages.update_flags(self.ctx.folder_id, done)
            self.ctx.hook(faults.AFTER_FLAGS_RECORD)

    # --- skips -----------------------------------------------------------------------------------

    def _skip(self, actions: Sequence[Skip]) -> None:
        if not actions:
            return
        ctx = self.ctx
        headers = self._headers([a.uid for a in actions])
        with ctx.store.transaction():
            ctx.store.messages.record_skipped(ctx.folder_id, [
                PendingMessage(a.uid, a.fingerprint, a.size) for a in actions])
            for action in actions:
                subject, date = headers.get(action.uid, (None, None))
                reason = (ctx.size_limit.reason(action.size) if ctx.size_limit else
                          f"The message is larger than the maximum message size "
                          f"({action.size} bytes).")
                ctx.store.statistics.add_skipped_item(
                    ctx.user_id, ctx.display, "large", reason, subject, date, action.size)
            ctx.store.statistics.add_counts(ctx.user_id, skipped=len(actions))
        ctx.hook(faults.AFTER_SKIP)
        ctx.limits.add("large", len(actions))

    def _headers(self, uids: Sequence[int]) -> dict[int, tuple[str | None, datetime | None]]:
        source = self.ctx.source
        if source is None or not uids:
            return {}
        # a NO/BAD or garbled answer yields no headers: they are only for the report, and a
        # missing subject must not fail the pass; a lost connection is transient, as anywhere
        blocks = source.header_blocks(uids, action="read the headers of skipped messages",
                                      best_effort=True)
        return {uid: _subject_and_date(block) for uid, block in blocks.items()}

    # --- adoptions -------------------------------------------------------------------------------

    def adopt(self, actions: Sequence[Adopt]) -> list[Copy]:
        """Record target messages matched by fingerprint as this migration's copies.

        First the flags of those whose target flags differ (the target confirms each), then
        every row of the plan, copied with its target reference, in ONE transaction. Why one:
        the executor only looks at the target's messages while no row of the folder holds a
        copy (engine/sync/adoption.py), so a half-recorded adoption would make the next pass
        append the other half again. A crash before the commit leaves no row: the next pass
        adopts the same messages again (still unclaimed, same fingerprints) and setting their
        flags again is harmless; recording before the flags could leave a row claiming flags
        the target does not show. A message gone from the target meanwhile is returned, to be
        copied instead.
        """
        if not actions:
            return []
        ctx = self.ctx
        gone: list[Copy] = []
        kept: list[Adopt] = []
        for action in actions:
            if len(kept) % max(1, ctx.batch_count) == 0:
                self._check_cancel()
            if action.target_flags != action.flags and not self._adopt_flags(action):
                gone.append(Copy(action.uid, action.fingerprint, action.size, action.flags,
                                 action.internaldate, recopy=action.recopy))
                continue
            kept.append(action)
        if kept:
            with ctx.store.transaction():
                ctx.fence(ctx.store)
                ctx.store.messages.record_pending(ctx.folder_id, [
                    PendingMessage(a.uid, a.fingerprint, a.size, a.internaldate,
                                   flags_text(a.flags)) for a in kept])
                ctx.store.messages.record_copied(ctx.folder_id, [
                    CopiedMessage(a.uid, a.target_ref, None, flags_text(a.flags))
                    for a in kept])
                ctx.store.statistics.add_counts(ctx.user_id, synced=len(kept))
                ctx.store.statistics.add_report_entry(
                    ctx.user_id, "info", f"{len(kept)} messages the target folder already "
                    "held were matched to source messages and kept instead of being copied "
                    "again.", ctx.display)
            ctx.hook(faults.AFTER_RECORD)
        return gone

    def _adopt_flags(self, action: Adopt) -> bool:
        """Give an adopted target message the source's flags; False when it is gone."""
        ctx = self.ctx
        add, remove = action.flags - action.target_flags, action.target_flags - action.flags
        if not add and not remove:
            return True
        try:
            ctx.target.change_flags(ctx.target_path,
                                    TargetRef(ctx.target_path, action.target_ref),
                                    sorted(add), sorted(remove))
        except PermanentError as exc:
            if exc.error_id not in _GONE_IDS:
                raise
            return False
        ctx.hook(faults.AFTER_FLAGS)
        return True

    # --- copies ----------------------------------------------------------------------------------

    def copy(self, copies: Sequence[Copy], status: FolderStatus | None) -> None:
        """Fetch, intend, append and record ``copies`` batch by batch; those another folder's
        copy on the target can make (``holders``) are made there (engine/sync/target_copy.py)."""
        if not copies:
            return
        source = self.ctx.source
        if source is None:
            raise TransientError("The source folder is not open.", error_id="SourceNotOpen")
        if self._examined != self.ctx.row.source_name:
            self._check_source(source, status)
        if self.ctx.holders is not None and not self.ctx.limits.full:
            copies = copy_within(self.ctx, copies, self.ctx.holders)  # no bytes sent again
        by_uid = {c.uid: c for c in copies}
        sizes = {c.uid: c.size for c in copies}

        budget = self.ctx.budget

        def read(chunk: list[int]) -> tuple[int, dict[int, bytes | None]]:
            taken = 0
            if budget is not None:  # the process's bodies in flight (engine/sync/budget.py)
                try:
                    taken = budget.take(sum(sizes.get(uid, 0) for uid in chunk),
                                        self._token_cancelled)
                except BudgetWaitCancelled:
                    raise Stopped from None
            try:
                return taken, dict(source.fetch_bodies(chunk, self.ctx.batch_bytes, sizes))
            except BaseException:
                give(taken)
                raise

        def give(taken: int) -> None:
            if budget is not None and taken:
                budget.give(taken)

        chunks = byte_chunks(list(by_uid), sizes, self.ctx.batch_bytes, self.ctx.batch_count)
        self._check_cancel()
        if self.ctx.limits.full:
            self._waiting = True  # the target is full: these wait for a later pass
            return
        with ReadAhead(chunks, read, ahead=self.ctx.read_ahead,
                       discard=lambda item: give(item[0])) as batches:
            for chunk, read_batch in batches:
                try:
                    self._check_cancel()
                    if self.ctx.limits.full:
                        self._waiting = True
                        return
                    self._copy_read(chunk, read_batch[1], by_uid)
                finally:
                    give(read_batch[0])
                del read_batch  # its bodies are not held while the next batch is read

    def _copy_read(self, chunk: list[int], bodies: dict[int, bytes | None],
                   by_uid: dict[int, Copy]) -> None:
        """Append and record one batch read from the source (a body-less one as bad)."""
        batch = [(by_uid[uid], raw) for uid in chunk if (raw := bodies.get(uid)) is not None]
        if batch:
            self._copy_batch(batch)
        self._bodiless([by_uid[uid] for uid in chunk if uid in bodies and bodies[uid] is None])

    def _bodiless(self, copies: Sequence[Copy]) -> None:
        """Messages the source lists but twice served without a body: bad items, reported."""
        if not copies:
            return
        ctx = self.ctx
        reason = ("The source server answered without the message body (BODY[]) twice; the "
                  "message could not be read.")
        with ctx.store.transaction():
            self._record_bad([(c, Rejected(ctx.target_path, reason)) for c in copies], ())
            ctx.store.statistics.add_counts(ctx.user_id, skipped=len(copies))
        ctx.limits.add("bad", len(copies))

    def _check_source(self, source: ImapSource, status: FolderStatus | None) -> None:
        """EXAMINE the folder on this session; its UIDVALIDITY must be the planned one."""
        current = source.select(self.ctx.row.source_name)
        self._examined = self.ctx.row.source_name
        if status is not None and current.uidvalidity != status.uidvalidity:
            raise TransientError(
                f"The folder '{self.ctx.display}' changed on the source during the sync "
                "(UIDVALIDITY); it will be synchronized again.", error_id="SourceFolderReset")

    def _copy_batch(self, batch: Sequence[tuple[Copy, bytes]]) -> None:
        ctx = self.ctx
        mark = ctx.target.mark(ctx.target_path)  # bounds where this batch can land
        with ctx.store.transaction():
            ctx.fence(ctx.store)  # the append below must finish while the lease is ours
            ctx.store.messages.record_pending(ctx.folder_id, [
                PendingMessage(c.uid, c.fingerprint, c.size, c.internaldate,
                               flags_text(c.flags), mark)
                for c, _ in batch])
        ctx.hook(faults.BEFORE_APPEND)
        outgoing = [self._outgoing(c, raw) for c, raw in batch]
        results = ctx.target.append_batch(ctx.target_path, outgoing)
        ctx.hook(faults.AFTER_APPEND)
        copied: list[CopiedMessage] = []
        dropped: list[str] = []
        rejected: list[tuple[Copy, Rejected]] = []
        for (c, _raw), result in zip(batch, results, strict=True):
            if isinstance(result, Rejected):
                rejected.append((c, result))
                continue
            if not result.item_id:
                continue  # appended but unnamed: stays pending, looked up like after a crash
            copied.append(CopiedMessage(c.uid, result.item_id, None, flags_text(c.flags)))
            dropped.extend(result.dropped_keywords)
        size = sum(len(raw) for c, raw in batch if c.uid in {m.source_uid for m in copied})
        bad = [(c, r) for c, r in rejected if r.permanent]
        later = [r for _, r in rejected if not r.permanent]
        with ctx.store.transaction():
            ctx.fence(ctx.store)
            ctx.store.messages.record_copied(ctx.folder_id, copied)
            ctx.store.messages.forget(ctx.folder_id, [c.uid for c, r in rejected
                                                      if not r.permanent])
            self._record_bad(bad, batch)
            ctx.store.statistics.add_counts(ctx.user_id, synced=len(copied), skipped=len(bad),
                                            bytes_transferred=size)
            if dropped:
                ctx.store.statistics.add_report_entry(
                    ctx.user_id, "warning", "The target could not store the keywords "
                    f"{', '.join(sorted(set(dropped)))}.", ctx.display)
        ctx.hook(faults.AFTER_RECORD)
        if later:
            self._waiting = True
            ctx.limits.refuse(later)
        large = sum(1 for _c, r in bad if r.large)
        if large:
            ctx.limits.add("large", large)
        if len(bad) > large:
            ctx.limits.add("bad", len(bad) - large)

    def _record_bad(self, bad: Sequence[tuple[Copy, Rejected]],
                    batch: Sequence[tuple[Copy, bytes]]) -> None:
        if not bad:
            return
        ctx = self.ctx
        raws = {c.uid: raw for c, raw in batch}
        ctx.store.messages.record_skipped(ctx.folder_id, [
            PendingMessage(c.uid, c.fingerprint, c.size, c.internaldate) for c, _ in bad])
        for c, rejected in bad:
            subject, date = _subject_and_date(raws.get(c.uid, b""))
            ctx.store.statistics.add_skipped_item(ctx.user_id, ctx.display,
                                                  "large" if rejected.large else "bad",
                                                  rejected.reason, subject,
                                                  date or c.internaldate, c.size)

    def _outgoing(self, copy: Copy, raw: bytes) -> OutgoingMessage:
        system, keywords = split_flags(copy.flags)
        source = self.ctx.source
        return OutgoingMessage(raw, system, keywords, copy.internaldate,
                               self.source_key(copy.uid),
                               crlf=source is not None and source.serves_crlf)


def _subject_and_date(raw: bytes) -> tuple[str | None, datetime | None]:
    """Subject (decoded) and Date of a message or header block, for skipped-item reports."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    subject: str | None = None
    date: datetime | None = None
    text = head.decode("utf-8", "replace").replace("\r\n ", " ").replace("\r\n\t", " ")
    for line in text.splitlines():
        name, colon, value = line.partition(":")
        if not colon:
            continue
        key = name.strip().lower()
        if key == "subject" and subject is None:
            subject = _decoded(value.strip())
        elif key == "date" and date is None:
            date = _parsed_date(value.strip())
    return subject, date


def _decoded(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError):
        return value


def _parsed_date(value: str) -> datetime | None:
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None


__all__ = ["FolderApplier", "FolderContext", "ItemLimits", "Stopped"]
