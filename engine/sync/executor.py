"""The sync executor: one pass (initial or incremental) over one migration user's mailbox.

``sync_user`` is what the runner calls (:class:`engine.runner.jobs.UserSyncer`). One pass:

1. connect to the source (the CSV login plan, admin formats included) and open the target
   mailbox; LIST the source, drop ``-ExcludeFolders``, map names to the target;
2. resolve every ``pending`` row left by an interrupted pass on the target (never append again
   before looking);
3. detect renames (one new and one vanished folder at a time) and rename on the target;
4. survey: per folder, snapshot it (cheap STATUS-like facts first, listing only when needed;
   on an incremental pass the target folder's item ids too, ``present_on_target``), plan it
   with the pure :func:`engine.sync.planner.plan_folder`, keep only what
   :class:`engine.sync.survey.Survey` needs, and drop the listing: memory follows the folder,
   not the mailbox (docs/sync-planner.md, "Memory");
5. pair moves, create ALL target folders up front on one connection (Dovecot may crash when
   one session CREATEs while another APPENDs), then carry out the moves;
6. apply the folders in parallel (a small pool of workers, each with its own source session,
   target object and store, largest first), each its kept plan or a fresh one; then the
   folders the source lost (incremental only: delete copies, empty folders, state);
7. write the statistics of the pass.

Faults come back as a :class:`SyncOutcome`: ``failed`` for permanent ones (Exchange's wording),
``transient`` for ones worth a retry, ``stopped`` when the cancel token was set (checked between
append batches) or the job's lease fence failed (checked in the transactions that write intent
and record copies; the token is then cancelled with ``lease_lost``). The step hook
(:mod:`engine.sync.faults`) lets tests stop the pass after any side-effecting step.
engine/sync/apply.py states the crash-safety argument per action.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

from engine.errors import ErrorCategory, PermanentError, TransientError
from engine.excludes import SourceFolder as ExcludeFolder
from engine.excludes import filter_folders, parse_exclude_folders
from engine.folders import (
    FolderPath,
    SourceFolderName,
    display_name,
    map_folders,
    with_parents,
)
from engine.imap.source import ImapSource, SourceFolder
from engine.limits import MAX_MESSAGE_SIZE_BYTES
from engine.runner.jobs import (
    CancelReason,
    CancelToken,
    StoreFactory,
    SyncJob,
    SyncKind,
    SyncOutcome,
)
from engine.store import Store
from engine.store.batches import BatchRow
from engine.store.sync_state import CopiedMessage, PendingMessage
from engine.store.sync_state import FolderState as FolderRow
from engine.sync import faults
from engine.sync.apply import (
    DEFAULT_BATCH_BYTES,
    DEFAULT_BATCH_COUNT,
    FolderApplier,
    FolderContext,
    ItemLimits,
    Stopped,
)
from engine.sync.endpoints import Endpoints, resolve
from engine.sync.faults import StepHook
from engine.sync.folderops import delete_folder_if_empty, rename_folder, reopen
from engine.sync.guard import (
    DELETE,
    DeletionTally,
    Verdict,
    copies_of,
    hold_plan,
    inbox_change,
    judge,
)
from engine.sync.model import (
    Copy,
    DeleteFolderIfEmpty,
    DeleteOnTarget,
    FolderPlan,
    FolderSnapshot,
    FolderState,
    ForgetFolder,
    Hold,
    Limits,
    MessageState,
    MoveOnTarget,
    Phase,
    RenameOnTarget,
)
from engine.sync.moves import choose_renames, rename_score
from engine.sync.planner import plan_folder
from engine.sync.progress import record_finish, record_totals
from engine.sync.snapshot import snapshot_folder
from engine.sync.state import decode_target_path, encode_target_path, known_folder
from engine.sync.survey import DEFAULT_KEEP_BUDGET, Survey
from engine.sync.target_names import Placement, distinct_targets
from engine.targets.base import Target

DEFAULT_WORKERS = 4
_PLACEHOLDER_UID = 1 << 32  # above every IMAP UID (32-bit)


@dataclass(frozen=True)
class SyncOptions:
    """Tuning and test knobs of a pass (the defaults are production's)."""

    workers: int = DEFAULT_WORKERS
    batch_bytes: int = DEFAULT_BATCH_BYTES
    batch_count: int = DEFAULT_BATCH_COUNT
    max_message_size: int | None = MAX_MESSAGE_SIZE_BYTES
    maildir_fsync: bool = True
    hook: StepHook = faults.no_hook
    plan_keep_budget: int = DEFAULT_KEEP_BUDGET  # plan actions kept from survey to apply


def sync_user(store_factory: StoreFactory, job: SyncJob, token: CancelToken, *,
              options: SyncOptions | None = None) -> SyncOutcome:
    """One pass for ``job``'s user; see the module docstring."""
    store = store_factory()
    try:
        return _guarded(store, store_factory, job, token, options or SyncOptions())
    finally:
        store.close()


def _guarded(store: Store, store_factory: StoreFactory, job: SyncJob, token: CancelToken,
             options: SyncOptions) -> SyncOutcome:
    try:
        _Pass(store, store_factory, job, token, options).run()
    except Stopped:
        return SyncOutcome.stopped()
    except PermanentError as exc:
        store.statistics.add_report_entry(job.user_id, "error", exc.message)
        record_finish(store, job.user_id, error=exc.message)
        return SyncOutcome.failed(exc.message)
    except TransientError as exc:
        store.statistics.add_report_entry(job.user_id, "warning", exc.message)
        # the server's backoff hint (IMAP "Suggested Backoff Time", EWS throttling) goes on
        return SyncOutcome.transient(exc.message, getattr(exc, "retry_after", None))
    return SyncOutcome.ok()


class _Pass:
    """The state of one pass over one user's mailbox."""

    def __init__(self, store: Store, store_factory: StoreFactory, job: SyncJob,
                 token: CancelToken, options: SyncOptions) -> None:
        self.store = store
        self.store_factory = store_factory
        self.job = job
        self.token = token
        self.options = options
        self.hook = options.hook
        user = store.users.get_by_id(job.user_id)
        self.batch: BatchRow = store.batches.get_by_id(user.batch_id)
        self.endpoints: Endpoints = resolve(
            user, store.endpoints.get_by_id(self.batch.source_endpoint_id),
            store.endpoints.get_by_id(self.batch.target_endpoint_id),
            maildir_fsync=options.maildir_fsync)
        self.phase = Phase.INCREMENTAL if job.kind == SyncKind.incremental else Phase.INITIAL
        self.limits = _item_limits(store, job.user_id, self.batch)
        self.rows: dict[str, FolderRow] = {}
        self.mapping: dict[str, FolderPath] = {}
        self.moved_away: dict[str, FolderPath] = {}  # new folders placed off their mapped path
        self.listed: dict[str, SourceFolder] = {}
        self.survey = Survey()
        self.verdict: Verdict = DELETE  # the deletion guard's, decided after the survey

    @property
    def user_id(self) -> int:
        return self.job.user_id

    def run(self) -> None:
        started = time.monotonic()
        self.source = ImapSource.open(self.endpoints.source, self.endpoints.login)
        try:
            self.target = self._open_target()
            try:
                self._run()
            finally:
                self.target.close()
        finally:
            self.source.close()
        record_finish(self.store, self.user_id, seconds=time.monotonic() - started,
                      initial=self.phase is Phase.INITIAL)

    def _run(self) -> None:
        self._load_rows()
        included, excluded = self._list()
        self._resolve_pending()
        selectable = [f for f in included if f.selectable]
        self._release_returned(selectable)
        # a folder the target could not rename lost its copies' state; the survey below
        # reads the store as the renames left it, so they are copied again in this pass
        self._renames(self._detect_renames(selectable, excluded))
        tally = DeletionTally(copies=self.store.messages.count_by_state(self.user_id)
                              .get("copied", 0), known_folders=len(self.rows))
        survey = self.survey = self._survey(selectable, excluded, tally)
        record_totals(self.store, self.user_id, survey.items, survey.size)
        moves = survey.moves()
        if self.phase is Phase.INCREMENTAL:
            self.verdict = judge(tally.without_moves(moves))
        self._prepare_folders(survey, included)
        self._moves(moves)
        self._apply_folders([f.name for f in selectable])
        self._vanished(self._vanished_names(selectable, excluded))
        self._record_holds()

    # --- connections -----------------------------------------------------------------------------

    def _open_target(self) -> Target:
        target = self.endpoints.new_target()
        try:
            target.open_user(self.endpoints.mailbox)
        except PermanentError as exc:
            target.close()
            # an IMAP target refusing the admin's proxy login means no such mailbox; any
            # other refusal (EWS credentials, per-user target passwords) is shown as it is
            if exc.error_id == "AuthenticationFailed" and self._proxy_login():
                raise _recipient_not_found(self.endpoints.mailbox.address) from None
            raise
        except BaseException:
            target.close()
            raise
        return target

    def _proxy_login(self) -> bool:
        """True when the target is IMAP and logged in with the endpoint's admin credentials."""
        return self.endpoints.target_kind == "IMAP" and self.endpoints.mailbox.login is None

    def _open_source(self) -> ImapSource:
        return ImapSource.open(self.endpoints.source, self.endpoints.login)

    # --- folders and state -----------------------------------------------------------------------

    def _list(self) -> tuple[list[SourceFolder], set[str]]:
        """Source folders to sync (order kept) and the raw names excluded by the batch."""
        folders = self.source.list_folders()
        patterns = parse_exclude_folders(self.batch.exclude_folders)
        separator = next((f.separator for f in folders if f.separator), "/")
        kept = filter_folders([ExcludeFolder(f.path, frozenset(f.flags)) for f in folders],
                              patterns, separator=separator)
        kept_paths = {k.path for k in kept}
        included = [f for f in folders if f.path in kept_paths]
        mapping = map_folders([SourceFolderName(f.path, f.role) for f in included],
                              self.target.naming)
        self.listed = {f.name: f for f in included}
        self.mapping = {f.name: mapping[f.path] for f in included}
        self.mapping.update(distinct_targets(
            [Placement(f.name, f.path, mapping[f.path], self._stored_path(f.name))
             for f in included if f.selectable], self.target.naming))
        self.moved_away = {f.name: mapping[f.path] for f in included
                           if self.mapping[f.name] != mapping[f.path]}
        return included, {f.name for f in folders if f.path not in kept_paths}

    def _release_returned(self, selectable: Sequence[SourceFolder]) -> None:
        """A folder whose removal was held and that the source lists again is simply back."""
        for folder in selectable:
            row = self.rows.get(folder.name)
            if row is not None and row.hold is not None:
                self.rows[folder.name] = self.store.folders.save(self.user_id,
                                                                 replace(row, hold=None))

    def _load_rows(self) -> None:
        self.rows = {row.source_name: row for row in self.store.folders.list(self.user_id)}

    def _known(self, store: Store, name: str) -> tuple[FolderState | None, int]:
        """One folder's rows as the planner sees them, and the bytes they hold."""
        row = store.folders.find(self.user_id, name)
        if row is None:
            return None, 0
        messages = store.messages.list(row.id)
        return (known_folder(row, messages),
                sum(m.size for m in messages if m.state != "deleted"))

    def _vanished_names(self, selectable: Sequence[SourceFolder],
                        excluded: Collection[str]) -> list[str]:
        """Folders the store remembers and the source no longer lists, deepest first (a
        parent is only considered for deletion after its children)."""
        listed = {f.name for f in selectable}
        names = [n for n in self.rows if n not in listed and n not in excluded]
        return sorted(names, key=lambda n: (-len(n), n))

    # --- planning, one folder at a time ----------------------------------------------------------

    def _detect_renames(self, selectable: Sequence[SourceFolder],
                        excluded: Collection[str]) -> list[RenameOnTarget]:
        """Score each new folder against each vanished one of the same UIDVALIDITY, holding
        one listing and one folder's rows at a time."""
        vanished = [self.rows[n] for n in self._vanished_names(selectable, excluded)
                    if self.rows[n].created_by_migration]
        scored: list[tuple[int, str, str]] = []
        for folder in (f for f in selectable if f.name not in self.rows and vanished):
            validity = self.source.select(folder).uidvalidity
            olds = [r for r in vanished if r.source_uidvalidity == validity]
            if not olds:
                continue
            snapshot = snapshot_folder(self.source, folder, None, {})
            for old in olds:
                state, _ = self._known(self.store, old.source_name)
                if state is not None and (score := rename_score(state, snapshot)) > 0:
                    scored.append((score, old.source_name, folder.name))
        return choose_renames(scored)

    def _survey(self, selectable: Sequence[SourceFolder], excluded: Collection[str],
                tally: DeletionTally) -> Survey:
        """Phase one: list and plan every folder, keep what the moves and statistics need,
        and count for the deletion guard what each plan would delete."""
        survey = Survey(self.options.plan_keep_budget)
        for folder in selectable:
            plan, snapshot, known_bytes, known = self._plan_listed(
                folder, self.source, self.target, self.store)
            survey.count(snapshot, known_bytes)
            survey.add(plan, self._movable_copies(plan))
            tally.add_plan(plan, known)
            if known is not None and tally.inbox is None:
                tally.inbox = inbox_change(folder.name, known.status.uidvalidity,
                                           snapshot.status.uidvalidity, copies_of(known),
                                           snapshot.status.messages)
        if self.phase is Phase.INCREMENTAL:  # an initial pass leaves vanished folders alone
            copies = survey.copy_prints()
            for name in self._vanished_names(selectable, excluded):
                known, _ = self._known(self.store, name)
                plan = self._plan_vanished(name, self.store)
                survey.add(plan, movable_deletes=copies)
                tally.add_plan(plan, known, vanished=True)
                if name in self.listed and not self.listed[name].selectable:
                    tally.unselectable.add(name)
        return survey

    def _movable_copies(self, plan: FolderPlan) -> set[str] | None:
        """Fingerprints of the plan's copies that a copied row of another folder holds."""
        if self.phase is not Phase.INCREMENTAL or plan.uidvalidity_changed:
            return None
        prints = [c.fingerprint for c in plan.of_type(Copy) if not c.recopy]
        if not prints:
            return None
        row = self.rows.get(plan.folder)
        return self.store.messages.copied_elsewhere(self.user_id, row.id if row else 0, prints)

    def _plan_listed(self, folder: SourceFolder, source: ImapSource, target: Target,
                     store: Store) -> tuple[FolderPlan, FolderSnapshot, int, FolderState | None]:
        known, known_bytes = self._known(store, folder.name)
        snapshot = snapshot_folder(source, folder, known, _fingerprints(known))
        plan = plan_folder(snapshot, known, phase=self.phase,
                           limits=Limits(self.options.max_message_size),
                           present_on_target=self._present_on_target(target, snapshot, known))
        return plan, snapshot, known_bytes, known

    def _plan_vanished(self, name: str, store: Store) -> FolderPlan:
        known, _ = self._known(store, name)
        if known is None:
            return FolderPlan(name)
        return plan_folder(None, known, phase=self.phase)

    def _plan_again(self, name: str, source: ImapSource, target: Target,
                    store: Store) -> FolderPlan:
        """Phase three: the survey's plan, or for a folder whose plan was too large to keep,
        a new listing and plan (after the moves, which the store now shows)."""
        kept = self.survey.kept.get(name)
        if kept is not None:
            return kept
        if name not in self.listed:
            return self._plan_vanished(name, store)
        return self._plan_listed(self.listed[name], source, target, store)[0]

    def _stored_path(self, name: str) -> FolderPath | None:
        row = self.rows.get(name)
        return decode_target_path(row.target_name) if row is not None else None

    def _present_on_target(self, target: Target, snapshot: FolderSnapshot,
                           known: FolderState | None) -> frozenset[str] | None:
        """Incremental passes: the item ids of the target folder when its source folder is
        planned from a listing anyway and holds copies (an unchanged folder costs nothing)."""
        if self.phase is not Phase.INCREMENTAL or snapshot.messages is None or known is None:
            return None
        if not any(m.state is MessageState.COPIED and m.target_ref for m in known.messages):
            return None
        try:
            return target.list_ids(self.target_path(snapshot.name))
        except PermanentError as exc:
            if exc.error_id != "FolderNotFound":
                raise
            return frozenset()  # someone deleted the target folder: its copies are gone

    def target_path(self, name: str) -> FolderPath:
        stored = self._stored_path(name)
        return stored if stored is not None else self.mapping[name]

    def _context(self, row: FolderRow, source: ImapSource | None, target: Target,
                 store: Store | None = None, token: object | None = None) -> FolderContext:
        return FolderContext(
            store=store or self.store, user_id=self.user_id, row=row,
            target_path=self.target_path(row.source_name), target=target, source=source,
            limits=self.limits, hook=self.hook, token=token or self.token,  # type: ignore[arg-type]
            batch_bytes=self.options.batch_bytes, batch_count=self.options.batch_count,
            fence=self._fence)

    def _fence(self, store: Store) -> None:
        """Stop unless the job still holds its user lease (see LeaseFence); the runner, told
        by the token's reason, then records nothing for a user another runner owns now."""
        fence = self.job.fence
        if fence is not None and not fence.holds(store):
            self.token.cancel(CancelReason.lease_lost)
            raise Stopped

    def _resolve_pending(self) -> None:
        """Pending rows of an interrupted pass: look on the target before anything else."""
        for row in list(self.rows.values()):
            if self.store.messages.list(row.id, "pending"):
                FolderApplier(self._context(row, None, self.target)).resolve_pending()

    def _renames(self, renames: Sequence[RenameOnTarget]) -> bool:
        """Rename target folders and re-file their state; False when one could not be
        renamed (its copies are not in the new target folder, so only skips are kept)."""
        if not renames:
            return True
        all_renamed = True
        for rename in renames:
            old_row = self.rows[rename.old_name]
            old_path = self.target_path(rename.old_name)
            new_path = self.mapping[rename.new_name]
            renamed = rename_folder(self.target, old_path, new_path)
            if not renamed:
                all_renamed = False
                self.store.statistics.add_report_entry(
                    self.user_id, "warning", f"The target folder '{'/'.join(old_path)}' could "
                    "not be renamed; its messages will be copied again.", '/'.join(new_path))
            self.hook(faults.AFTER_FOLDER_OP)
            self._move_state(old_row, rename.new_name, new_path, keep_copies=renamed)
            self.hook(faults.AFTER_FOLDER_STATE)
        reopen(self.target, self.endpoints.mailbox)
        self._load_rows()
        return all_renamed

    def _move_state(self, old: FolderRow, new_name: str, new_path: FolderPath, *,
                    keep_copies: bool = True) -> None:
        """Re-file a renamed folder's rows under its new name, in one transaction.

        A detached row (no source UID) passes through a placeholder UID above the IMAP UID
        range and is detached again; tombstones are not carried over. Without
        ``keep_copies`` only skipped rows are: the copies stayed behind on the target.
        """
        rows = [r for r in self.store.messages.list(old.id) if r.state != "deleted"
                and (keep_copies or r.state == "skipped")]
        uids = {r.id: r.source_uid if r.source_uid is not None else _PLACEHOLDER_UID + r.id
                for r in rows}
        separator = self.listed[new_name].separator
        with self.store.transaction():
            self._fence(self.store)
            self.store.folders.remove(old.id)
            new = self.store.folders.save(self.user_id, replace(
                old, id=0, source_name=new_name, source_separator=separator,
                target_name=encode_target_path(new_path)))
            self.store.messages.record_pending(new.id, [
                PendingMessage(uids[r.id], r.fingerprint, r.size, r.internaldate, r.flags)
                for r in rows])
            self.store.messages.record_copied(new.id, [
                CopiedMessage(uids[r.id], r.target_ref or "", r.target_uidvalidity, r.flags)
                for r in rows if r.state == "copied"])
            self.store.messages.record_skipped(new.id, [
                PendingMessage(uids[r.id], r.fingerprint, r.size, r.internaldate, r.flags)
                for r in rows if r.state == "skipped"])
            self.store.messages.detach(new.id, [uids[r.id] for r in rows
                                                if r.source_uid is None])

    def _prepare_folders(self, survey: Survey, included: Sequence[SourceFolder]) -> None:
        """Every target folder, up front on one connection; then a folder row (with its
        UIDVALIDITY, before any message row) for every folder to sync."""
        paths = {self.target_path(f.name) for f in included}
        result = self.target.ensure_folders(with_parents(sorted(paths)))
        if result.created:
            self.hook(faults.AFTER_FOLDER_OP)
        created = set(result.created)
        for name, status in survey.statuses.items():
            if name in self.rows:
                continue
            self.rows[name] = self.store.folders.save(self.user_id, FolderRow(
                source_name=name, source_separator=self.listed[name].separator,
                target_name=encode_target_path(self.mapping[name]),
                source_uidvalidity=status.uidvalidity,
                created_by_migration=self.mapping[name] in created))
            if name in self.moved_away:
                self._report_moved_away(name)

    def _report_moved_away(self, name: str) -> None:
        wanted, chosen = display_name(self.moved_away[name]), display_name(self.mapping[name])
        self.store.statistics.add_report_entry(
            self.user_id, "warning", f"The source folder '{name}' maps to the target folder "
            f"'{wanted}', which another source folder fills; it is copied to '{chosen}'.",
            chosen)

    # --- moves -----------------------------------------------------------------------------------

    def _moves(self, moves: Sequence[MoveOnTarget]) -> None:
        """A message re-filed on the source: copy it into its new folder (intent first), then
        delete the old copy. The target ends with one copy, in the right folder."""
        groups: dict[tuple[str, str], list[MoveOnTarget]] = defaultdict(list)
        for move in moves:
            groups[(move.from_folder, move.to_folder)].append(move)
        for (from_name, to_name), group in groups.items():
            to_ctx = self._context(self.rows[to_name], self.source, self.target)
            copies = [Copy(m.to_uid, m.fingerprint, m.size, m.flags, m.internaldate)
                      for m in group]
            FolderApplier(to_ctx).copy(copies, self.survey.statuses[to_name])
            from_ctx = self._context(self.rows[from_name], None, self.target)
            FolderApplier(from_ctx).delete([
                DeleteOnTarget(m.from_uid, m.target_ref, m.fingerprint, m.old_flags)
                for m in group])

    # --- folder plans ----------------------------------------------------------------------------

    def _apply_folders(self, names: Sequence[str]) -> None:
        """Phase three: each listed folder's kept plan, or a fresh one, largest first."""
        weights = self.survey.weights
        busy = sorted((n for n in names if n in self.survey.statuses),
                      key=lambda n: -weights.get(n, 0))
        workers = min(self.options.workers, len(busy))
        if workers <= 1:
            for name in busy:
                self._check_cancel()
                self.apply_folder(name, self.source, self.target, self.store)
            return
        _Pool(self, busy, workers).run()

    def apply_folder(self, name: str, source: ImapSource, target: Target, store: Store,
                     token: object | None = None) -> None:
        """Plan (when the survey kept no plan) and apply one listed folder, its deletions as
        the guard's verdict allows."""
        plan, _ = hold_plan(self._plan_again(name, source, target, store), self.verdict)
        row = store.folders.get(self.user_id, name)
        ctx = self._context(row, source, target, store, token)
        if plan.actions:
            FolderApplier(ctx).apply(plan)
        elif plan.status is not None and (
                row.source_uidvalidity, row.source_uidnext, row.source_highestmodseq) != (
                plan.status.uidvalidity, plan.status.uidnext, plan.status.highestmodseq):
            FolderApplier(ctx).save_status(plan.status)

    def _vanished(self, names: Sequence[str]) -> None:
        """Folders the source no longer lists (incremental): copies, empty folder, state."""
        for name in names:
            row = self.rows.get(name)
            if row is None:
                continue
            plan, kept = hold_plan(self._plan_again(name, self.source, self.target, self.store),
                                   self.verdict, Hold(row.hold) if row.hold else None)
            if kept and row.hold != Hold.HELD:
                row = self.rows[name] = self.store.folders.save(
                    self.user_id, replace(row, hold=str(Hold.HELD)))
            if not plan.actions:
                continue
            ctx = self._context(row, None, self.target)
            FolderApplier(ctx).apply(plan)
            for action in plan.actions:
                if isinstance(action, DeleteFolderIfEmpty):
                    delete_folder_if_empty(self.target, ctx.target_path)
                    self.hook(faults.AFTER_FOLDER_OP)
                    reopen(self.target, self.endpoints.mailbox)  # its selection is gone
                elif isinstance(action, ForgetFolder):
                    self.store.folders.remove(row.id)
                    self.hook(faults.AFTER_FOLDER_STATE)

    def _record_holds(self) -> None:
        """Tell the administrator about held deletions (statistics and report), or clear the
        reason once nothing is held any more (the source was fixed, or they were approved)."""
        held = (self.store.messages.count_held(self.user_id)
                + self.store.messages.count_held_folders(self.user_id))
        stats = self.store.statistics.get(self.user_id)
        reason = stats.held_deletions_reason
        if self.verdict.hold:
            reason = self.verdict.reason
            self.store.statistics.add_report_entry(self.user_id, "warning", held_warning(
                self.verdict, self.endpoints.mailbox.address))
        if not held:
            reason = None
        if reason != stats.held_deletions_reason:
            self.store.statistics.save(replace(stats, held_deletions_reason=reason))

    def _check_cancel(self) -> None:
        if self.token.cancelled:
            raise Stopped


class _Pool:
    """Folder workers: each opens its own source session, target and store, and takes the
    next folder until none is left or one of them failed (the first failure is re-raised)."""

    def __init__(self, owner: _Pass, names: Sequence[str], workers: int) -> None:
        self.owner = owner
        self.queue = deque(names)
        self.workers = workers
        self.lock = threading.Lock()
        self.errors: list[BaseException] = []
        self.abort = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self.abort.is_set() or self.owner.token.cancelled

    def run(self) -> None:
        threads = [threading.Thread(target=self._work, name=f"imsh-folder-{i}", daemon=True)
                   for i in range(self.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if self.errors:
            raise self.errors[0]
        if self.owner.token.cancelled:
            raise Stopped

    def _next(self) -> str | None:
        with self.lock:
            return self.queue.popleft() if self.queue and not self.cancelled else None

    def _work(self) -> None:
        owner = self.owner
        store: Store | None = None
        source: ImapSource | None = None
        target: Target | None = None
        try:
            while (name := self._next()) is not None:
                if store is None:
                    store = owner.store_factory()
                    source = owner._open_source()
                    target = owner._open_target()
                assert source is not None and target is not None
                owner.apply_folder(name, source, target, store, self)
        except BaseException as exc:
            with self.lock:
                if not isinstance(exc, Stopped) or not self.errors:
                    self.errors.append(exc)
            self.abort.set()
        finally:
            for closable in (target, source, store):
                if closable is not None:
                    closable.close()


def _recipient_not_found(address: str) -> PermanentError:
    """Exchange's text when the target has no mailbox for the user (ms-cmdlets.md §B9)."""
    return PermanentError(
        f"A recipient wasn't found for {address} on the target. Create a recipient of the "
        "appropriate type for this migration on the target and try again.",
        category=ErrorCategory.ObjectNotFound, error_id="RecipientNotFound")


def held_warning(verdict: Verdict, identity: str) -> str:
    """The report's words when a pass held its deletions (docs/sync-planner.md)."""
    return (f"Deletions held: {verdict.reason}. No message was deleted on the target. If the "
            "source is right, approve the deletions with 'Set-MigrationUser -Identity "
            f"{identity} -ApproveDeletions'; if it is not, fix the source (or the source "
            "endpoint), and the next pass finds nothing to delete.")


def _fingerprints(known: FolderState | None) -> dict[int, str]:
    if known is None:
        return {}
    return {m.source_uid: m.fingerprint for m in known.messages if m.source_uid is not None}


def _item_limits(store: Store, user_id: int, batch: BatchRow) -> ItemLimits:
    skipped = store.statistics.skipped_items(user_id)
    return ItemLimits(batch.bad_item_limit, batch.large_item_limit,
                      bad=sum(1 for s in skipped if s.kind == "bad"),
                      large=sum(1 for s in skipped if s.kind == "large"))
