"""A tiny in-memory world for planner tests: a source mailbox, the store's rows, a target, and
an executor that carries plans out the way docs/sync-planner.md says the real one must
(intent before side effects, Rematch as one re-keying, crashes at any step)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

from engine.sync.adoption import claimed_refs, wants_target_messages
from engine.sync.apply import ADOPT, REKEY, STAGES
from engine.sync.model import (
    AccountPlan,
    Action,
    Adopt,
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
    OnTarget,
    Rematch,
    RenameOnTarget,
    ResolvePending,
    Skip,
    SourceMessage,
    SyncKind,
    UpdateFlags,
)
from engine.sync.planner import plan_account, plan_folder

SIZES = {"a": 10, "b": 20, "c": 30, "big": 5000}
LIMITS = Limits(max_message_size=1000)


@dataclass(frozen=True)
class PlanRecord:
    """A plan the executor ran, with what source and target held when it was made."""

    phase: SyncKind
    plan: AccountPlan
    target: dict[str, Counter[str]]  # fingerprints per (post-rename) folder on the target
    source: dict[str, Counter[str]]  # fingerprints per source folder that fit the limits


class Crash(Exception):
    """The executor was killed."""


@dataclass
class SourceFolder:
    uidvalidity: int
    uidnext: int = 1
    modseq: int = 1
    messages: dict[int, SourceMessage] = field(default_factory=dict)

    def status(self) -> FolderStatus:
        return FolderStatus(self.uidvalidity, self.uidnext, self.modseq, len(self.messages))


@dataclass
class Row:
    source_uid: int | None
    fingerprint: str
    state: MessageState
    target_ref: str | None = None
    flags: frozenset[str] = frozenset()


@dataclass
class StoreFolder:
    status: FolderStatus
    rows: list[Row] = field(default_factory=list)
    created: bool = True


@dataclass
class World:
    source: dict[str, SourceFolder] = field(default_factory=dict)
    store: dict[str, StoreFolder] = field(default_factory=dict)
    target: dict[str, dict[str, tuple[str, frozenset[str]]]] = field(default_factory=dict)
    excluded: frozenset[str] = frozenset({"Junk"})
    clock: int = 100  # UIDVALIDITY values and target refs come from here
    steps: int = 0
    crash_at: int | None = None
    plans: list[PlanRecord] = field(default_factory=list)

    # --- the source side: what a mail user does ------------------------------------------------

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    def add_folder(self, name: str) -> SourceFolder:
        return self.source.setdefault(name, SourceFolder(self.tick()))

    def deliver(self, name: str, fingerprint: str, flags: frozenset[str] = frozenset()) -> int:
        folder = self.add_folder(name)
        uid = folder.uidnext
        folder.messages[uid] = SourceMessage(uid, fingerprint, SIZES[fingerprint], flags)
        folder.uidnext += 1
        folder.modseq += 1
        return uid

    def expunge(self, name: str, uid: int) -> SourceMessage:
        folder = self.source[name]
        folder.modseq += 1
        return folder.messages.pop(uid)

    def set_flags(self, name: str, uid: int, flags: frozenset[str]) -> None:
        folder = self.source[name]
        folder.messages[uid] = replace(folder.messages[uid], flags=flags)
        folder.modseq += 1

    def move(self, from_name: str, uid: int, to_name: str) -> None:
        message = self.expunge(from_name, uid)
        self.deliver(to_name, message.fingerprint, message.flags)

    def renumber(self, name: str) -> None:
        """UIDVALIDITY changes and every message gets a new UID (in reverse order)."""
        folder = self.source[name]
        old = sorted(folder.messages.values(), key=lambda m: -m.uid)
        fresh = SourceFolder(self.tick(), modseq=folder.modseq + 1)
        for uid, message in enumerate(old, start=1):
            fresh.messages[uid] = replace(message, uid=uid)
        fresh.uidnext = len(old) + 1
        self.source[name] = fresh

    def rename(self, old: str, new: str) -> None:
        self.source[new] = self.source.pop(old)

    def reindex(self, name: str) -> None:
        """The target folder's index is rebuilt: same messages, every reference new (an IMAP
        UIDVALIDITY change on the target)."""
        items = self.target.get(name)
        if items:
            self.target[name] = {f"r{self.tick()}": items[ref] for ref in sorted(items)}

    def lose_state(self, name: str | None = None) -> None:
        """The store forgets one folder (or everything: a re-created batch, a lost state
        directory); the target keeps its mail."""
        if name is None:
            self.store.clear()
        else:
            self.store.pop(name, None)

    # --- the planner's inputs ------------------------------------------------------------------

    def snapshots(self) -> list[FolderSnapshot]:
        return [
            FolderSnapshot(name, folder.status(), tuple(folder.messages.values()))
            for name, folder in self.source.items()
        ]

    def known(self) -> list[FolderState]:
        return [
            FolderState(
                name,
                folder.status,
                tuple(
                    KnownMessage(r.source_uid, r.fingerprint, r.state, r.target_ref, r.flags)
                    for r in folder.rows
                ),
                folder.created,
            )
            for name, folder in self.store.items()
        ]

    def present(self) -> dict[str, frozenset[str]]:
        return {name: frozenset(items) for name, items in self.target.items()}

    def plan(self, phase: SyncKind) -> AccountPlan:
        """As the executor plans: each folder once (after the renames, before the moves), and
        again with the target folder's unclaimed messages where engine/sync/adoption.py says
        the executor looks (so it may adopt them); then the whole pass with those."""
        # the executor lists the target's ids on incremental passes only
        present = self.present() if phase is SyncKind.incremental else {}
        first = plan_account(self.snapshots(), self.known(), phase=phase, limits=LIMITS,
                             excluded=self.excluded, present_on_target=present)
        old_names = {r.new_name: r.old_name for r in first.renames}
        known = {state.name: state for state in self.known()}
        sources = {snapshot.name: snapshot for snapshot in self.snapshots()}
        held: dict[str, tuple[OnTarget, ...]] = {}
        for folder_plan in first.folders:
            name = folder_plan.folder
            stored = old_names.get(name, name)
            state = known.get(stored)
            if name in self.excluded or (state is None and name not in sources):
                continue
            if state is not None:
                state = replace(state, name=name)
            alone = plan_folder(sources.get(name), state, phase=phase, limits=LIMITS,
                                present_on_target=present.get(stored))
            if wants_target_messages(alone, state, present.get(stored)):
                claimed = claimed_refs(state)
                held[stored] = tuple(OnTarget(ref, fp, flags) for ref, (fp, flags)
                                     in sorted(self.target.get(stored, {}).items())
                                     if ref not in claimed)
        if not held:
            return first
        return plan_account(self.snapshots(), self.known(), phase=phase, limits=LIMITS,
                            excluded=self.excluded, present_on_target=present, on_target=held)

    # --- the executor --------------------------------------------------------------------------

    def step(self) -> None:
        """One side effect or one committed record; the process may die before it."""
        if self.crash_at is not None and self.steps >= self.crash_at:
            raise Crash
        self.steps += 1

    def run_pass(self, phase: SyncKind, crash_at: int | None = None) -> bool:
        """One pass: plan, execute, plan again while pending rows had to be resolved.
        Returns False when the executor was killed."""
        self.steps, self.crash_at = 0, crash_at
        try:
            for _ in range(3):
                plan = self.plan(phase)
                record = PlanRecord(phase, plan, self.target_counts(plan), self.source_counts())
                self.plans.append(record)
                self.apply(plan)
                if not plan.resolve_first:
                    return True
            raise AssertionError("pending rows did not resolve")
        except Crash:
            return False
        finally:
            self.crash_at = None

    def target_counts(self, plan: AccountPlan) -> dict[str, Counter[str]]:
        """Fingerprints the target holds per (post-rename) folder name before ``plan`` runs."""
        renamed = {r.new_name: r.old_name for r in plan.renames}
        counts = {}
        for folder_plan in plan.folders:
            items = self.target.get(renamed.get(folder_plan.folder, folder_plan.folder), {})
            counts[folder_plan.folder] = Counter(fp for fp, _ in items.values())
        return counts

    def source_counts(self) -> dict[str, Counter[str]]:
        return {
            name: Counter(
                m.fingerprint for m in folder.messages.values() if not LIMITS.too_large(m.size)
            )
            for name, folder in self.source.items()
        }

    def apply(self, plan: AccountPlan) -> None:
        for rename in plan.renames:
            self.rename_on_target(rename)
        for folder_plan in plan.folders:
            if folder_plan.folder in plan.folders_to_create:
                self.create_folder(folder_plan)
        for move in plan.moves:
            self.move_on_target(move)
        for folder_plan in plan.folders:
            self.apply_folder(folder_plan)

    def create_folder(self, plan: FolderPlan) -> None:
        assert plan.status is not None
        self.step()
        created = plan.folder not in self.target
        self.target.setdefault(plan.folder, {})
        # the UIDVALIDITY is recorded before any row; UIDNEXT only after a completed pass
        self.store.setdefault(
            plan.folder, StoreFolder(FolderStatus(plan.status.uidvalidity, 0), created=created)
        )

    def apply_folder(self, plan: FolderPlan) -> None:
        """The plan's actions in the real executor's order (engine/sync/apply.py ``STAGES``:
        the stage's actions in plan order), not in plan order; folder actions last."""
        for stage in STAGES:
            chosen = [a for a in plan.actions if isinstance(a, stage)]
            if stage is REKEY:
                if chosen or plan.uidvalidity_changed:
                    self.rekey(plan, chosen)
                continue
            if stage is ADOPT:
                if chosen:
                    self.adopt(plan.folder, plan.of_type(Adopt))
                continue
            for action in chosen:
                self.apply_action(plan.folder, action)
                self.check_unique(plan.folder)
        for action in plan.actions:
            if isinstance(action, DeleteFolderIfEmpty | ForgetFolder | ResolvePending):
                self.apply_action(plan.folder, action)
        if plan.status is not None and plan.folder in self.store:
            self.step()
            self.store[plan.folder].status = plan.status

    def adopt(self, name: str, actions: tuple[Adopt, ...]) -> None:
        """Flags first (each a step), then every adopted row in one transaction."""
        for action in actions:
            if action.target_flags != action.flags:
                self.step()
                self.target[name][action.target_ref] = (action.fingerprint, action.flags)
        rows = self.store[name].rows
        self.step()
        for action in actions:
            if action.recopy:
                rows.remove(self.row(name, action.uid, None))
            rows.append(Row(action.uid, action.fingerprint, MessageState.COPIED,
                            action.target_ref, action.flags))
        self.check_unique(name)

    def rekey(self, plan: FolderPlan, actions: list[Action]) -> None:
        """Forget, Detach, Rematch and a new UIDVALIDITY: one transaction (one step)."""
        name = plan.folder
        folder = self.store.get(name)
        if folder is None:
            return
        rows = [(a, self.row(name, a.old_uid if isinstance(a, Rematch) else a.source_uid,
                             a.target_ref)) for a in actions
                if isinstance(a, Forget | Detach | Rematch)]
        self.step()
        for action, row in rows:
            if isinstance(action, Forget):
                folder.rows.remove(row)
            elif isinstance(action, Detach):
                row.source_uid = None
        for action, row in rows:
            if isinstance(action, Rematch):
                row.source_uid = action.new_uid
        if plan.status is not None and plan.uidvalidity_changed:
            folder.status = FolderStatus(plan.status.uidvalidity, 0)
        self.check_unique(name)

    def apply_action(self, name: str, action: Action) -> None:
        if isinstance(action, ResolvePending):
            self.resolve(name, action)
        elif isinstance(action, Copy):
            self.copy(name, action)
        elif isinstance(action, Skip):
            self.step()
            self.store[name].rows.append(Row(action.uid, action.fingerprint, MessageState.SKIPPED))
        elif isinstance(action, UpdateFlags):
            row = self.row(name, action.source_uid, action.target_ref)
            self.step()
            if action.target_ref in self.target[name]:
                fp, _ = self.target[name][action.target_ref]
                self.target[name][action.target_ref] = (fp, action.flags)
            self.step()
            row.flags = action.flags
        elif isinstance(action, DeleteOnTarget):
            found = self.find_row(name, action.source_uid, action.target_ref)
            self.step()
            self.target[name].pop(action.target_ref or "", None)
            self.step()
            if found is not None:  # a copy re-found by fingerprint has no row of its own
                self.store[name].rows.remove(found)
        elif isinstance(action, Forget):
            row = self.row(name, action.source_uid, action.target_ref)
            self.step()
            self.store[name].rows.remove(row)
        elif isinstance(action, Detach):
            row = self.row(name, action.source_uid, action.target_ref)
            self.step()
            row.source_uid = None
        elif isinstance(action, DeleteFolderIfEmpty):
            self.step()
            if not self.target.get(name):
                self.target.pop(name, None)
        elif isinstance(action, ForgetFolder):
            self.step()
            del self.store[name]
        else:
            raise AssertionError(f"unexpected action {action!r}")

    def copy(self, name: str, action: Copy) -> None:
        rows = self.store[name].rows
        self.step()
        if action.recopy:
            rows.remove(self.row(name, action.uid, None))
        row = Row(action.uid, action.fingerprint, MessageState.PENDING, None, action.flags)
        rows.append(row)
        self.step()
        ref = f"r{self.tick()}"
        self.target[name][ref] = (action.fingerprint, action.flags)
        self.step()
        row.state, row.target_ref = MessageState.COPIED, ref

    def resolve(self, name: str, action: ResolvePending) -> None:
        rows = self.store[name].rows
        row = self.row(name, action.source_uid, None)
        claimed = {r.target_ref for r in rows}
        found = sorted(
            ref
            for ref, (fp, _) in self.target.get(name, {}).items()
            if fp == action.fingerprint and ref not in claimed
        )
        self.step()
        if found:
            row.state, row.target_ref = MessageState.COPIED, found[0]
            row.flags = self.target[name][found[0]][1]
        else:
            rows.remove(row)

    def move_on_target(self, move: MoveOnTarget) -> None:
        old_row = self.find_row(move.from_folder, move.from_uid, move.target_ref)
        self.step()
        row = Row(move.to_uid, move.fingerprint, MessageState.PENDING, None, move.flags)
        self.store[move.to_folder].rows.append(row)
        self.step()
        fp, _ = self.target[move.from_folder].pop(move.target_ref or "")
        ref = f"r{self.tick()}"
        self.target[move.to_folder][ref] = (fp, move.flags)
        self.step()
        row.state, row.target_ref = MessageState.COPIED, ref
        if old_row is not None:  # (a copy re-found by fingerprint has no row of its own)
            self.store[move.from_folder].rows.remove(old_row)
        self.check_unique(move.to_folder)

    def rename_on_target(self, rename: RenameOnTarget) -> None:
        self.step()
        self.target[rename.new_name] = self.target.pop(rename.old_name, {})
        self.store[rename.new_name] = self.store.pop(rename.old_name)

    def row(self, name: str, uid: int | None, ref: str | None) -> Row:
        found = self.find_row(name, uid, ref)
        assert found is not None, (name, uid, ref)
        return found

    def find_row(self, name: str, uid: int | None, ref: str | None) -> Row | None:
        rows = self.store[name].rows
        if uid is not None:
            return next((r for r in rows if r.source_uid == uid), None)
        return next((r for r in rows if r.source_uid is None and r.target_ref == ref), None)

    def check_unique(self, name: str) -> None:
        if name in self.store:
            uids = [r.source_uid for r in self.store[name].rows if r.source_uid is not None]
            assert len(uids) == len(set(uids)), f"{name}: two rows hold one source UID: {uids}"

    # --- the verdict ---------------------------------------------------------------------------

    def expected_target(self) -> dict[str, Counter[tuple[str, frozenset[str]]]]:
        return {
            name: Counter(
                (m.fingerprint, m.flags)
                for m in folder.messages.values()
                if not LIMITS.too_large(m.size)
            )
            for name, folder in self.source.items()
            if name not in self.excluded
        }

    def actual_target(self) -> dict[str, Counter[tuple[str, frozenset[str]]]]:
        return {name: Counter(items.values()) for name, items in self.target.items()}
