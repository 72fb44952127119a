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
   target object and store, largest first), each its kept plan or a fresh one; a windowed
   largest folder is copied by the workers no other folder needs as well (lanes,
   engine/sync/lanes.py); then the folders the source lost (incremental only: delete copies,
   empty folders, state);
7. write the statistics of the pass; when the target refused messages for now (full, busy:
   :meth:`engine.sync.apply.ItemLimits.retry_error`), end the pass with that transient error
   instead, so the runner retries with backoff and the messages are copied then.

Faults come back as a :class:`SyncOutcome`: ``failed`` for permanent ones (Exchange's wording),
``transient`` for ones worth a retry, ``stopped`` when the cancel token was set (checked between
append batches) or the job's lease fence failed (checked in the transactions that write intent
and record copies; the token is then cancelled with ``lease_lost``). The step hook
(:mod:`engine.sync.faults`) lets tests stop the pass after any side-effecting step.
engine/sync/apply.py states the crash-safety argument per action.

Never stuck (docs/service.md, "Deadlines"): every connection of a pass joins one
:class:`engine.imap.deadline.ConnectionGroup`; a cancel cuts them ``abort_grace`` seconds later
if the pass has not stopped by then, and so does the pass deadline armed after the survey. A
folder worker whose connection drops reconnects, resolves that folder's pending rows, plans it
again and carries on with smaller batches (:meth:`_Pass.apply_retrying`), so one drop costs
one batch, not the pass; a transient outcome says whether the pass committed anything first
(``progressed``: the runner then restarts its attempt count).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from engine.endpoints import Endpoints, resolve
from engine.errors import ErrorCategory, PermanentError, TransientError
from engine.excludes import ExcludeCandidate, filter_folders, keep_included, parse_exclude_folders
from engine.folders import (
    FolderPath,
    SourceFolderName,
    display_name,
    map_folders,
)
from engine.imap import deadline
from engine.imap.source import ImapSource, SourceFolderGone
from engine.limits import MAX_MESSAGE_SIZE_BYTES, MessageSizeLimit, message_size_limit
from engine.mail import ExaminedStatus, SourceFolder
from engine.runner.jobs import (
    CancelReason,
    CancelToken,
    StoreFactory,
    SyncJob,
    SyncKind,
    SyncOutcome,
)
from engine.skipped import retry_capacity_skips
from engine.store import Store
from engine.store.batches import BatchRow
from engine.store.codec import utc_now
from engine.store.leases import LeaseLost
from engine.store.sync_state import CopiedMessage, FolderRow, FolderTally, PendingMessage
from engine.store.user_settings import limit_that_applies
from engine.sync import faults
from engine.sync.adoption import claimed_refs, on_target, wants_target_messages
from engine.sync.apply import (
    DEFAULT_BATCH_BYTES,
    DEFAULT_BATCH_COUNT,
    FolderApplier,
    FolderContext,
    ItemLimits,
    Stopped,
)
from engine.sync.budget import PROCESS_BUDGET, BodyBudget
from engine.sync.faults import StepHook
from engine.sync.folderops import delete_folder_if_empty, rename_folder, reopen
from engine.sync.gmail_labels import LabelPlacement
from engine.sync.gmail_source import by_labels, label_placement
from engine.sync.guard import (
    DELETE,
    DeletionTally,
    Verdict,
    copies_of,
    defer_deletions,
    deletions_in,
    hold_plan,
    inbox_change,
    judge,
)
from engine.sync.incremental import (
    Listing,
    changes_inputs,
    choose_listing,
    expunges_possible,
    lost_copies,
    touches_target_rows,
    vanished_uids,
)
from engine.sync.lanes import ConcurrentAppends, Lanes, lanes_allowed, plan_pieces
from engine.sync.model import (
    Copy,
    DeleteFolderIfEmpty,
    DeleteOnTarget,
    FolderPlan,
    FolderSnapshot,
    FolderState,
    FolderStatus,
    ForgetFolder,
    Hold,
    Limits,
    MessageState,
    MoveOnTarget,
    OnTarget,
    RenameOnTarget,
)
from engine.sync.moves import choose_renames, rename_score
from engine.sync.planner import plan_folder
from engine.sync.progress import record_finish, record_totals
from engine.sync.selection import (
    by_content_filter,
    content_filter,
    filtered_out,
    included_folders,
)
from engine.sync.sessions import PROCESS_EXTRA_WORKERS, ExtraWorkers
from engine.sync.snapshot import read_changes, snapshot_folder, snapshot_windows, status_of
from engine.sync.state import decode_target_path, encode_target_path, folder_status, known_folder
from engine.sync.survey import DEFAULT_KEEP_BUDGET, Survey
from engine.sync.target_copy import Holder, Holders
from engine.sync.target_names import Placement, distinct_targets, redirect_unlabeled
from engine.targets.base import Target

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 4
DEFAULT_ABORT_GRACE = 2.0  # seconds a cancelled pass may take to stop by itself
# An initial pass copies a new folder holding more messages than this window by window
# (``_apply_windows``): memory follows the window, not the folder.
DEFAULT_WINDOW_FROM = DEFAULT_KEEP_BUDGET
LANE_PIECE = 1000  # copies a lane takes at a time from a window's plan (engine/sync/lanes.py)
FOLDER_RETRIES = 4  # connection drops in a row, without progress, that cost the pass
_PLACEHOLDER_UID = 1 << 32  # above every IMAP UID (32-bit)
# committed steps: a folder (or pass) that passed one of these since its last drop progressed
_PROGRESS_STEPS = frozenset({faults.AFTER_RECORD, faults.AFTER_FLAGS_RECORD, faults.AFTER_FORGET,
                             faults.AFTER_SKIP, faults.AFTER_RESOLVE})
_DROPS = frozenset({ErrorCategory.ConnectionError, ErrorCategory.OperationTimeout})


@dataclass(frozen=True)
class _Planned:
    """One listed folder planned: the plan, the snapshot (``messages`` None unless it was
    listed whole), the bytes and copies the folder holds (``copies`` None for a folder with
    no state yet) and its recorded UIDVALIDITY, for the survey and the deletion guard."""

    plan: FolderPlan
    snapshot: FolderSnapshot
    known_bytes: int
    copies: int | None
    recorded_uidvalidity: int | None


def _nothing_to_do(name: str, status: FolderStatus, counted: FolderTally, row: FolderRow
                   ) -> _Planned:
    """A folder whose counters are the recorded ones: an empty plan, nothing listed."""
    return _Planned(FolderPlan(name, (), status), FolderSnapshot(name, status, None),
                    counted.size, counted.copies, row.source_uidvalidity)


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
    window_from: int = DEFAULT_WINDOW_FROM  # messages above which a new folder is windowed
    abort_grace: float = DEFAULT_ABORT_GRACE  # after a cancel, then its connections are cut
    budget: BodyBudget | None = PROCESS_BUDGET  # bodies in flight, all passes of the process
    # folder workers beyond each pass's first, shared by the passes of the process
    extra_workers: ExtraWorkers | None = PROCESS_EXTRA_WORKERS


def sync_user(store_factory: StoreFactory, job: SyncJob, token: CancelToken, *,
              options: SyncOptions | None = None) -> SyncOutcome:
    """One pass for ``job``'s user; see the module docstring."""
    def fenced_store() -> Store:  # every write of the pass checks the job's lease tenure
        return store_factory().fenced(job.fence)

    store = fenced_store()
    try:
        return _guarded(store, fenced_store, job, token, options or SyncOptions())
    except LeaseLost:
        token.cancel(CancelReason.lease_lost)
        return SyncOutcome.stopped()
    finally:
        store.close()


def _guarded(store: Store, store_factory: StoreFactory, job: SyncJob, token: CancelToken,
             options: SyncOptions) -> SyncOutcome:
    """Run the pass with its connections in one group: a cancel (Stop, Remove, SIGTERM, a
    lost lease) cuts them ``abort_grace`` seconds later if the pass has not stopped by then,
    so a pass blocked in the network stops too (engine/imap/deadline.py)."""
    group = deadline.ConnectionGroup()
    progress = _Progress(options.hook)
    token.on_cancel(lambda reason: _abort_later(group, options.abort_grace, str(reason)))
    one = None
    try:
        with deadline.joining(group):
            one = _Pass(store, store_factory, job, token, replace(options, hook=progress))
            one.group = group
            one.run()
    except Stopped:
        return SyncOutcome.stopped()
    except PermanentError as exc:
        if token.cancelled:  # an aborted connection may read as anything
            return SyncOutcome.stopped()
        store.statistics.add_report_entry(job.user_id, "error", exc.message)
        record_finish(store, job.user_id, error=exc.message)
        return SyncOutcome.failed(exc.message)
    except TransientError as exc:
        if token.cancelled:
            return SyncOutcome.stopped()
        message = exc.message
        if one is not None and one.overdue is not None:
            message = (f"The pass didn't finish within its deadline of {one.overdue:.0f} s "
                       f"({message.rstrip('.')}); it resumes with the next attempt.")
        store.statistics.add_report_entry(job.user_id, "warning", message)
        # the server's backoff hint (IMAP "Suggested Backoff Time", EWS throttling) goes on
        # (both throttling errors, IMAP's and EWS', carry one, even when it is None)
        return SyncOutcome.transient(message, getattr(exc, "retry_after", None),
                                     progressed=progress.count > 0,
                                     throttled=hasattr(exc, "retry_after"))
    return SyncOutcome.ok()


def _abort_later(group: deadline.ConnectionGroup, grace: float, why: str) -> None:
    timer = threading.Timer(grace, group.abort, args=(f"the sync was cancelled ({why})",))
    timer.daemon = True
    timer.start()


class _Progress:
    """The step hook, counting committed steps (the pass got work done)."""

    def __init__(self, hook: StepHook) -> None:
        self.hook = hook
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, step: str) -> None:
        if step in _PROGRESS_STEPS:
            with self._lock:
                self.count += 1
        self.hook(step)


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
        self.phase = SyncKind(job.kind)
        retry_capacity_skips(store, job.user_id)  # skips an older imsh made of a full target
        self.limits = _item_limits(store, job.user_id, self.batch)
        self.rows: dict[str, FolderRow] = {}
        self.mapping: dict[str, FolderPath] = {}
        self.moved_away: dict[str, FolderPath] = {}  # new folders placed off their mapped path
        self.placements: list[Placement] = []  # the selectable folders as listed
        self.listed: dict[str, SourceFolder] = {}
        self.gone_now: set[str] = set()  # listed, but gone when examined: skipped this pass
        self.survey = Survey()
        self._lanes: dict[str, int] = {}  # windowed folder -> lanes it may copy with
        self.verdict: Verdict = DELETE  # the deletion guard's, decided after the survey
        self.surveyed_deletions: dict[str, int] = {}  # per folder, what the verdict saw
        self.group: deadline.ConnectionGroup | None = None  # the pass's connections
        self.overdue: float | None = None  # the pass deadline (s) once it was missed
        self.held: defaultdict[str, set[str]] = defaultdict(set)  # target refs; see _moves
        self.labels: LabelPlacement | None = None  # a Gmail-shaped source's label policy

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
                      initial=self.phase is SyncKind.initial)

    def _run(self) -> None:
        self._load_rows()
        included, excluded = self._gmail_labels(*self._list())
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
        timer = self._arm_pass_deadline(survey.size, len(included))
        try:
            moves = survey.moves()
            if self.phase is SyncKind.incremental:
                self.verdict = judge(tally.without_moves(moves))
                self.surveyed_deletions = dict(tally.deletions)
            self._prepare_folders(survey, [f for f in included if f.name not in self.gone_now])
            self._moves(moves)
            self._apply_folders([f.name for f in selectable])
            self._vanished(self._vanished_names(selectable, excluded))
            self._record_holds()
        finally:
            timer.cancel()
        waiting = self.limits.retry_error()
        if waiting is not None:
            raise waiting  # refused for now (full, busy): the runner retries with backoff

    def _arm_pass_deadline(self, nbytes: int, folders: int) -> threading.Timer:
        """Cut the pass's connections once it outlived its deadline (engine/imap/deadline)."""
        budget = deadline.pass_budget(deadline.current(), nbytes, folders)

        def overdue() -> None:
            self.overdue = budget
            if self.group is not None:
                self.group.abort(f"the pass took longer than its deadline of {budget:.0f} s")

        timer = threading.Timer(budget, overdue)
        timer.daemon = True
        timer.start()
        return timer

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
        kept = filter_folders([ExcludeCandidate(f.path, frozenset(f.flags)) for f in folders],
                              patterns, separator=separator)
        kept = keep_included(kept, parse_exclude_folders(included_folders(self.batch)),
                             separator=separator)  # -IncludeFolders
        kept_paths = {k.path for k in kept}
        included = [f for f in folders if f.path in kept_paths]
        mapping = map_folders([SourceFolderName(f.path, f.role) for f in included],
                              self.target.naming)
        self.listed = {f.name: f for f in included}
        self.mapping = {f.name: mapping[f.path] for f in included}
        self.placements = [Placement(f.name, f.path, mapping[f.path], self._stored_path(f.name))
                           for f in included if f.selectable]
        self._place(self.placements)
        return included, {f.name for f in folders if f.path not in kept_paths}

    def _gmail_labels(self, included: list[SourceFolder], excluded: set[str]
                      ) -> tuple[list[SourceFolder], set[str]]:
        """A Gmail-shaped source (engine/sync/gmail_source.py): its views are left out like
        excluded folders, All Mail lands in the target's Archive folder."""
        self.labels = label_placement(self.source, included, self.batch,
                                      lambda name: self._known(self.store, name)[0])
        if self.labels is None:
            return included, excluded
        views = self.labels.views
        archive = self.target.naming.role_path("Archive")
        self._place(redirect_unlabeled(self.placements, views, self.labels.all_mail, archive))
        return ([f for f in included if f.name not in views], excluded | set(views))

    def _place(self, placements: Sequence[Placement]) -> None:
        """Every folder's target path, pairwise distinct (engine/sync/target_names.py)."""
        self.mapping.update(distinct_targets(placements, self.target.naming))
        self.moved_away = {p.name: p.mapped for p in placements
                           if self.mapping[p.name] != p.mapped}

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
            try:
                validity = self.source.select(folder).uidvalidity
            except SourceFolderGone:
                continue  # the survey below reports it
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
        listed = self._listed_statuses()
        for folder in selectable:
            try:
                planned = self._unchanged(folder, listed)
                if planned is None:
                    examined = self._survey_windowed(folder, survey)
                    if examined is None:
                        continue  # surveyed for a windowed copy
                    planned = self._plan_listed(folder, self.source, self.target, self.store,
                                                examined)
            except SourceFolderGone as gone:
                self._skip_gone(gone)
                continue
            plan, snapshot = planned.plan, planned.snapshot
            survey.count(snapshot, planned.known_bytes)
            survey.add(plan, self._movable_copies(plan))
            tally.add_plan(plan, None, copies=planned.copies)
            if planned.copies is not None and tally.inbox is None:
                tally.inbox = inbox_change(folder.name, planned.recorded_uidvalidity,
                                           snapshot.status.uidvalidity, planned.copies,
                                           snapshot.status.messages)
        if self.phase is SyncKind.incremental:  # an initial pass leaves vanished folders alone
            copies = survey.copy_prints()
            for name in self._vanished_names(selectable, excluded):
                known, _ = self._known(self.store, name)
                plan = self._plan_vanished(name, self.store)
                survey.add(plan, movable_deletes=copies)
                tally.add_plan(plan, known, vanished=True)
                if name in self.listed and not self.listed[name].selectable:
                    tally.unselectable.add(name)
        return survey

    def _listed_statuses(self) -> dict[str, ExaminedStatus] | None:
        """An incremental pass's counters of every folder in one LIST-STATUS command, where
        the source offers it (engine/imap/source.py); None otherwise."""
        if self.phase is not SyncKind.incremental or not self.rows:
            return None
        return self.source.list_statuses()

    def _unchanged(self, folder: SourceFolder, listed: Mapping[str, ExaminedStatus] | None
                   ) -> _Planned | None:
        """The empty plan of a folder whose LIST-STATUS counters are the ones its last pass
        recorded (:func:`choose_listing` says NONE: nothing is read, the folder is not even
        EXAMINEd); None when the folder must be examined as before. Only ever leaves a folder
        alone: a change the counters do not show waits for the next pass, nothing is
        deleted."""
        examined = listed.get(folder.name) if listed is not None else None
        row = self.store.folders.find(self.user_id, folder.name) if examined else None
        if examined is None or row is None:
            return None
        status = status_of(examined)
        counted = self.store.messages.tally(row.id)
        if choose_listing(status, folder_status(row), counted,
                          whole_folder=self._whole_folders()) is not Listing.NONE:
            return None
        return _nothing_to_do(folder.name, status, counted, row)

    def _skip_gone(self, gone: SourceFolderGone, store: Store | None = None) -> None:
        """A folder LIST showed but EXAMINE no longer finds: left alone for this pass. It is
        still listed, so it is not a vanished folder: none of its copies is deleted now; the
        next pass's LIST tells whether the source really deleted it."""
        self.gone_now.add(gone.folder)
        (store or self.store).statistics.add_report_entry(self.user_id, "warning",
                                                          gone.message, gone.folder)

    def _movable_copies(self, plan: FolderPlan) -> set[str] | None:
        """Fingerprints of the plan's copies that a copied row of another folder holds."""
        if self.phase is not SyncKind.incremental or plan.uidvalidity_changed:
            return None
        prints = [c.fingerprint for c in plan.of_type(Copy) if not c.recopy]
        if not prints:
            return None
        row = self.rows.get(plan.folder)
        return self.store.messages.copied_elsewhere(self.user_id, row.id if row else 0, prints)

    def _survey_windowed(self, folder: SourceFolder, survey: Survey) -> ExaminedStatus | None:
        """Survey a folder for a windowed copy when that is how it will be copied (then
        None): an initial pass, a folder with no state, more than ``window_from`` messages,
        nothing to decide over the whole folder (content filter, Gmail labels) and nothing
        on the target to adopt. Only sizes are listed (no header, no plan), a window at a
        time. Otherwise the EXAMINE's answer, for :meth:`_plan_listed`."""
        examined = self.source.select(folder)
        if (self.phase is not SyncKind.initial or folder.name in self.rows
                or examined.exists <= self.options.window_from or self._whole_folders()
                or self._target_messages(self.target, folder.name, None)):
            return examined
        limits = self._limits(self.target)
        items = size = weight = 0
        for window in self.source.listing_windows(folder, status=examined,
                                                  fingerprints_from_uid=examined.uidnext):
            items += len(window)
            size += sum(m.size for m in window)
            weight += sum(m.size for m in window if not limits.too_large(m.size))
        status = status_of(examined)
        survey.add_windowed(status, folder.name, items, size, weight)
        return None

    def _plan_listed(self, folder: SourceFolder, source: ImapSource, target: Target,
                     store: Store, examined: ExaminedStatus | None = None) -> _Planned:
        """Plan a listed folder from as little as it takes (engine/sync/incremental.py):
        nothing read when its counters are the recorded ones, only what changed where the
        source has CONDSTORE, else the whole listing (:meth:`_plan_whole`). ``examined``:
        the folder's EXAMINE just now, if the caller made it."""
        row = store.folders.find(self.user_id, folder.name)
        if examined is None:
            examined = source.select(folder)
        status = status_of(examined)
        if row is not None:
            counted = store.messages.tally(row.id)
            how = choose_listing(status, folder_status(row), counted,
                                 changedsince=source.session.has("CONDSTORE"),
                                 whole_folder=self._whole_folders())
            if how is Listing.NONE:
                return _nothing_to_do(folder.name, status, counted, row)
            if how is Listing.CHANGES:
                planned = self._plan_changes(folder, row, examined, counted, source, target,
                                             store)
                if planned is not None:
                    return planned
        return self._plan_whole(folder, examined, source, target, store)

    def _whole_folders(self) -> bool:
        """Whether every folder must be listed whole (a content filter or Gmail's labels
        decide over the whole listing)."""
        return self.labels is not None or content_filter(self.batch) is not None

    def _plan_changes(self, folder: SourceFolder, row: FolderRow, examined: ExaminedStatus,
                      counted: FolderTally, source: ImapSource, target: Target, store: Store
                      ) -> _Planned | None:
        """CONDSTORE: plan from what changed since the recorded status, reading only the
        rows of re-flagged and vanished UIDs; None when the folder must be listed whole."""
        recorded = folder_status(row)
        status = status_of(examined)
        new, flags = read_changes(source, examined, recorded)
        vanished: list[int] = []
        if expunges_possible(examined.exists, counted, len(new)):
            vanished, unknown = vanished_uids(
                store.messages.source_uids(row.id, recorded.uidnext),
                source.present_uids(recorded.uidnext))
            if unknown:
                return None
        rows = store.messages.find_by_source_uids(row.id, [*flags, *vanished])
        inputs = changes_inputs(folder.name, status, FolderState(
            row.source_name, recorded, (), created_by_migration=row.created_by_migration,
            hold=row.hold), new, flags, rows, vanished)
        if inputs is None:
            return None
        snapshot, known = inputs
        plan = plan_folder(snapshot, known, phase=self.phase, limits=self._limits(target))
        if self.phase is SyncKind.incremental:
            # the target lost copies (deleted there, or the folder): the whole listing finds
            # them again; its ids are listed only for a plan that deletes, forgets or re-keys
            if touches_target_rows(plan.actions):
                present = self._target_ids(target, folder.name)
                if present is not None and (len(present) < counted.copies_with_ref
                                            or lost_copies(known, present)):
                    return None
            elif self._copies_missing(target, folder.name, counted):
                return None
        known_bytes = (counted.size + sum(m.size for m in new)
                       - sum(rows[uid].size for uid in vanished if uid in rows))
        return _Planned(plan, FolderSnapshot(folder.name, status, None), known_bytes,
                        counted.copies, row.source_uidvalidity)

    def _copies_missing(self, target: Target, name: str, counted: FolderTally) -> bool:
        """Whether the target folder holds fewer messages than the folder's copies (one
        STATUS, not a search): a copy deleted on the target, or the folder gone. Copies lost
        while the target's user filed as many messages of their own there go unnoticed
        until the folder is next listed whole."""
        try:
            held = target.count(self.target_path(name))
        except PermanentError as exc:
            if exc.error_id != "FolderNotFound":
                raise
            return True
        return held is not None and held < counted.copies_with_ref

    def _target_ids(self, target: Target, name: str) -> frozenset[str] | None:
        """The target folder's item ids (None: the target cannot say; empty: folder gone)."""
        try:
            return target.list_ids(self.target_path(name))
        except PermanentError as exc:
            if exc.error_id != "FolderNotFound":
                raise
            return frozenset()

    def _plan_whole(self, folder: SourceFolder, examined: ExaminedStatus, source: ImapSource,
                    target: Target, store: Store) -> _Planned:
        """Today's full path: every row loaded, the folder listed whole, the target's ids
        listed on an incremental pass."""
        known, known_bytes = self._known(store, folder.name)
        snapshot = snapshot_folder(source, folder, known, _fingerprints(known), examined)
        node = content_filter(self.batch)
        candidates = filtered_out(snapshot, node)
        row = self.rows.get(folder.name)
        elsewhere = store.messages.copied_elsewhere(self.user_id, row.id if row else 0,
                                                    candidates) if candidates else set()
        snapshot = by_content_filter(snapshot, known, node, elsewhere)
        snapshot = by_labels(snapshot, known, self.labels)
        present = self._present_on_target(target, snapshot, known)
        limits = self._limits(target)
        plan = plan_folder(snapshot, known, phase=self.phase, limits=limits,
                           present_on_target=present)
        if wants_target_messages(plan, known, present):
            held = self._target_messages(target, folder.name, known)
            if held:
                plan = plan_folder(snapshot, known, phase=self.phase, limits=limits,
                                   present_on_target=present, on_target=held)
        return _Planned(plan, snapshot, known_bytes,
                        copies_of(known) if known is not None else None,
                        known.status.uidvalidity if known is not None else None)

    def _target_messages(self, target: Target, name: str, known: FolderState | None
                         ) -> tuple[OnTarget, ...]:
        """What the target folder holds that no row claims (engine/sync/adoption.py)."""
        try:
            listed = target.list_messages(self.target_path(name), claimed_refs(known))
        except PermanentError as exc:
            if exc.error_id != "FolderNotFound":
                raise
            return ()  # not created yet: nothing to adopt
        return on_target(listed or ())

    def _plan_vanished(self, name: str, store: Store) -> FolderPlan:
        """A folder the source lost; incremental passes look at the target folder too, so
        copies whose references the target changed are found by fingerprint and deleted."""
        known, _ = self._known(store, name)
        if known is None:
            return FolderPlan(name)
        present = self._present_in_vanished(name, known)
        plan = plan_folder(None, known, phase=self.phase, present_on_target=present)
        if wants_target_messages(plan, known, present):
            held = self._target_messages(self.target, name, known)
            if held:
                plan = plan_folder(None, known, phase=self.phase, present_on_target=present,
                                   on_target=held)
        return plan

    def _present_in_vanished(self, name: str, known: FolderState) -> frozenset[str] | None:
        if self.phase is not SyncKind.incremental or not any(
                m.state is MessageState.COPIED and m.target_ref for m in known.messages):
            return None
        try:
            return self.target.list_ids(self.target_path(name))
        except PermanentError as exc:
            if exc.error_id != "FolderNotFound":
                raise
            return frozenset()

    def _plan_again(self, name: str, source: ImapSource, target: Target,
                    store: Store) -> FolderPlan:
        """Phase three: the survey's plan, or for a folder whose plan was too large to keep,
        a new listing and plan (after the moves, which the store now shows)."""
        kept = self.survey.kept.get(name)
        if kept is not None:
            return kept
        if name not in self.listed or not self.listed[name].selectable:
            return self._plan_vanished(name, store)  # gone, or listed \\Noselect: no EXAMINE
        return self._plan_listed(self.listed[name], source, target, store).plan

    def _stored_path(self, name: str) -> FolderPath | None:
        row = self.rows.get(name)
        return decode_target_path(row.target_name) if row is not None else None

    def _present_on_target(self, target: Target, snapshot: FolderSnapshot,
                           known: FolderState | None) -> frozenset[str] | None:
        """Incremental passes: the item ids of the target folder when its source folder is
        planned from a listing anyway and holds copies (an unchanged folder costs nothing)."""
        if self.phase is not SyncKind.incremental or snapshot.messages is None or known is None:
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
                 store: Store | None = None, token: object | None = None,
                 batch: tuple[int, int] | None = None) -> FolderContext:
        batch_bytes, batch_count = batch or (self.options.batch_bytes, self.options.batch_count)
        return FolderContext(
            store=store or self.store, user_id=self.user_id, row=row,
            target_path=self.target_path(row.source_name), target=target, source=source,
            limits=self.limits, hook=self.hook, token=token or self.token,  # type: ignore[arg-type]
            batch_bytes=batch_bytes, batch_count=batch_count, fence=self._fence,
            size_limit=self._size_limit(target), holders=self._holders(store or self.store,
                                                                       row.id),
            budget=self.options.budget)

    def _holders(self, store: Store, folder_id: int) -> Holders | None:
        """For a Gmail-shaped source: the copies of a message that another folder of the
        user holds on the target, which a new copy is made from (engine/sync/target_copy.py:
        a label added later, a copy moved to Archive)."""
        if self.labels is None:
            return None

        def holders(fingerprints: Sequence[str]) -> dict[str, Holder]:
            found = store.messages.copies_elsewhere(self.user_id, folder_id, fingerprints)
            return {fp: Holder(path, ref, flags) for fp, (name, ref, flags) in found.items()
                    if (path := decode_target_path(name)) is not None}

        return holders

    def _limits(self, target: Target) -> Limits:
        """The planner's limits: the message size limit that applies (:meth:`_size_limit`)."""
        size_limit = self._size_limit(target)
        return Limits(size_limit.limit if size_limit else None)

    def _size_limit(self, target: Target) -> MessageSizeLimit | None:
        """imsh's limit, or what the target says it takes (an IMAP target: the endpoint's
        -MaxMessageSize and the server's APPENDLIMIT; engine/targets/imap.py)."""
        own = getattr(target, "message_size_limit", None)
        if callable(own):
            limit: MessageSizeLimit | None = own(self.options.max_message_size)
            return limit
        return message_size_limit(self.options.max_message_size)

    def _fence(self, store: Store) -> None:
        """Stop unless the job still holds its user lease (see LeaseFence); the runner, told
        by the token's reason, then records nothing for a user another runner owns now."""
        fence = self.job.fence
        if fence is not None and not store.leases.holds(
                fence.resource, fence.owner, utc_now() + fence.min_left, fence.token):
            self.token.cancel(CancelReason.lease_lost)
            raise Stopped

    def _resolve_pending(self) -> None:
        """Pending rows of an interrupted pass: look on the target before anything else."""
        for row in list(self.rows.values()):
            if self.store.messages.list(row.id, "pending"):
                FolderApplier(self._context(row, None, self.target)).resolve_pending()

    def _renames(self, renames: Sequence[RenameOnTarget]) -> bool:
        """Rename target folders and re-file their state; False when one could not be
        renamed.

        A target folder that could not be renamed (mostly: the new name is a folder the
        target's user already has) keeps its state where it is. The old folder is then a
        folder the source lost (incremental passes delete its copies, and the folder once
        empty, since this migration created it), and the new one is planned as new: the
        executor adopts what that folder already holds by fingerprint and copies the rest
        (engine/sync/adoption.py), so the two merge with one copy per message, and the user's
        folder is never recorded as created by this migration (``_prepare_folders`` finds it
        existing). Re-filing the state there instead used to leave the old copies untracked.
        """
        if not renames:
            return True
        all_renamed = True
        for rename in renames:
            old_row = self.rows[rename.old_name]
            old_path = self.target_path(rename.old_name)
            new_path = self.mapping[rename.new_name]
            renamed = rename_folder(self.target, old_path, new_path)
            self.hook(faults.AFTER_FOLDER_OP)
            if not renamed:
                all_renamed = False
                self.store.statistics.add_report_entry(
                    self.user_id, "warning", f"The source folder '{rename.old_name}' is now "
                    f"'{rename.new_name}', and the target folder '{display_name(old_path)}' "
                    f"could not be renamed to '{display_name(new_path)}' (it exists already): "
                    "the messages are merged into it, and the copies in "
                    f"'{display_name(old_path)}' are removed by incremental synchronization.",
                    display_name(new_path))
                continue
            self._move_state(old_row, rename.new_name, new_path)
            self.hook(faults.AFTER_FOLDER_STATE)
        reopen(self.target, self.endpoints.mailbox)
        self._load_rows()
        return all_renamed

    def _move_state(self, old: FolderRow, new_name: str, new_path: FolderPath) -> None:
        """Re-file a renamed folder's rows under its new name, in one transaction.

        A detached row (no source UID) passes through a placeholder UID above the IMAP UID
        range and is detached again; tombstones are not carried over.
        """
        rows = [r for r in self.store.messages.list(old.id) if r.state != "deleted"]
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
            # held deletions stay held (or approved) in the folder's new name
            self.store.messages.mark_holds(new.id, {uids[r.id]: r.hold for r in rows
                                                    if r.hold is not None})
            self.store.messages.detach(new.id, [uids[r.id] for r in rows
                                                if r.source_uid is None])

    def _prepare_folders(self, survey: Survey, included: Sequence[SourceFolder]) -> None:
        """A folder row (with its UIDVALIDITY, before any message row) for every folder to
        sync; then every target folder, up front on one connection.

        Intent first: the rows are saved before any CREATE, each saying whether this
        migration creates its target folder (the target does not have it now). A kill while
        the folders are being created keeps that record, so a later rename or removal on the
        source still finds the folders this migration owns (they used to be saved after the
        CREATEs: a kill in between left 0-1 of 17 folders recorded as created). A recorded
        folder whose CREATE never happened is created by the next pass, still by imsh.

        Only the folders the source can select are asked for: a ``\\Noselect`` level of the
        source's hierarchy is no folder, and the target makes the intermediate levels it
        needs (non-selectable where it can: IMAP servers, Maildir++; real folders on EWS).
        """
        new = [name for name in survey.statuses if name not in self.rows]
        missing = set(self.target.missing_folders([self.mapping[name] for name in new]))
        with self.store.transaction():
            for name in new:
                self.rows[name] = self.store.folders.save(self.user_id, FolderRow(
                    source_name=name, source_separator=self.listed[name].separator,
                    target_name=encode_target_path(self.mapping[name]),
                    source_uidvalidity=survey.statuses[name].uidvalidity,
                    created_by_migration=self.mapping[name] in missing))
        if new:
            self.hook(faults.AFTER_FOLDER_STATE)
        paths = {self.target_path(f.name) for f in included if f.selectable}
        result = self.target.ensure_folders(sorted(paths, key=lambda p: (len(p), p)))
        if result.created:
            self.hook(faults.AFTER_FOLDER_OP)
        for name in new:
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
        delete the old copy — only where the store records the new copy as copied (the
        target confirmed it). A new copy the target refused (full, busy) keeps the old one;
        it stays out of this pass's deletions (``held``) and the move is planned again."""
        groups: dict[tuple[str, str], list[MoveOnTarget]] = defaultdict(list)
        for move in moves:
            groups[(move.from_folder, move.to_folder)].append(move)
        for (from_name, to_name), group in groups.items():
            to_ctx = self._context(self.rows[to_name], self.source, self.target)
            copies = [Copy(m.to_uid, m.fingerprint, m.size, m.flags, m.internaldate)
                      for m in group]
            FolderApplier(to_ctx).copy(copies, self.survey.statuses[to_name])
            rows = self.store.messages.find_by_source_uids(to_ctx.folder_id,
                                                           [m.to_uid for m in group])
            done = [m for m in group if m.to_uid in rows and rows[m.to_uid].state == "copied"]
            self.held[from_name].update(m.target_ref for m in group
                                        if m not in done and m.target_ref is not None)
            from_ctx = self._context(self.rows[from_name], None, self.target)
            FolderApplier(from_ctx).delete([
                DeleteOnTarget(m.from_uid, m.target_ref, m.fingerprint, m.old_flags)
                for m in done])

    def _without_held(self, plan: FolderPlan) -> FolderPlan:
        """The plan without deleting the old copy of a move whose new copy is missing."""
        held = self.held.get(plan.folder)
        if not held:
            return plan
        if any(isinstance(a, ForgetFolder) for a in plan.actions):
            return FolderPlan(plan.folder)  # a vanished folder keeps its state until then
        return replace(plan, actions=tuple(
            a for a in plan.actions
            if not (isinstance(a, DeleteOnTarget) and a.target_ref in held)))

    # --- folder plans ----------------------------------------------------------------------------

    def _apply_folders(self, names: Sequence[str]) -> None:
        """Phase three: each listed folder's kept plan, or a fresh one, largest first."""
        weights = self.survey.weights
        busy = sorted((n for n in names if n in self.survey.statuses and not self._idle(n)),
                      key=lambda n: -weights.get(n, 0))
        laned = bool(busy) and busy[0] in self.survey.windowed and lanes_allowed(self.target)
        wanted = self.options.workers - 1 if laned else min(self.options.workers, len(busy)) - 1
        pool = self.options.extra_workers
        extras = pool.take(wanted) if pool is not None else max(wanted, 0)
        try:
            self._apply_busy(busy, 1 + extras, laned)
        finally:
            if pool is not None:
                pool.give(extras)

    def _apply_busy(self, busy: Sequence[str], allowed: int, laned: bool) -> None:
        """The busy folders, largest first, with at most ``allowed`` workers (the pass's
        share of the process's folder workers, engine/sync/sessions.py)."""
        workers = min(allowed, len(busy))
        if laned:
            # the workers no other folder needs copy the largest folder's windows: alone, the
            # folder gets all of them (its own worker only lists); beside others, the spare
            # ones. Sessions stay at most one per worker plus the pass's own.
            spare = allowed if workers <= 1 else allowed - workers
            self._lanes = {busy[0]: spare}
        if workers <= 1:
            main = _Connections(self, self.store, self.source, self.target)
            try:
                for name in busy:
                    self._check_cancel()
                    self.apply_retrying(name, main, self.token)
            finally:
                self.source, self.target = main.source, main.target  # reconnected after a drop
            return
        _Pool(self, busy, workers).run()

    def _idle(self, name: str) -> bool:
        """A folder with nothing to do: its kept plan is empty and its recorded status is
        the one surveyed (a no-change pass opens no worker sessions for it)."""
        plan = self.survey.kept.get(name)
        row = self.rows.get(name)
        if plan is None or plan.actions or plan.status is None or row is None:
            return False
        return (row.source_uidvalidity, row.source_uidnext, row.source_highestmodseq) == (
            plan.status.uidvalidity, plan.status.uidnext, plan.status.highestmodseq)

    def apply_retrying(self, name: str, conns: _Connections, token: object) -> None:
        """Apply one folder; a dropped connection costs only the batch in hand.

        After a drop (a cut, a reset, a command past its deadline) the worker reconnects,
        resolves the folder's pending rows on the target (exactly as a new pass would),
        plans the folder afresh and goes on with batches half as large (down to one
        message), so a link that drops every megabyte still moves. :data:`FOLDER_RETRIES`
        drops in a row without a committed step in between make the fault the pass's.
        """
        batch = (self.options.batch_bytes, self.options.batch_count)
        drops = 0
        while True:
            done = self._progress_count()
            try:
                self.apply_folder(name, conns.source, conns.target, conns.store, token, batch)
                return
            except TransientError as exc:
                if self.token.cancelled or getattr(token, "cancelled", False) or (
                        exc.category not in _DROPS):
                    raise
                drops = 1 if self._progress_count() > done else drops + 1
                if drops >= FOLDER_RETRIES:
                    raise
                log.info("%s: %s; reconnecting to carry on with '%s' (drop %d)",
                         self.job.email_address, exc.message, name, drops)
                batch = (max(batch[0] // 2, 1), max(batch[1] // 2, 1))
            conns.reconnect()
            self.survey.kept.pop(name, None)  # stale: some of its copies may be done
            self._resolve_folder(name, conns)

    def _progress_count(self) -> int:
        return getattr(self.hook, "count", 0)

    def _resolve_folder(self, name: str, conns: _Connections) -> None:
        row = conns.store.folders.find(self.user_id, name)
        if row is not None and conns.store.messages.list(row.id, "pending"):
            FolderApplier(self._context(row, None, conns.target, conns.store)).resolve_pending()

    def apply_folder(self, name: str, source: ImapSource, target: Target, store: Store,
                     token: object | None = None, batch: tuple[int, int] | None = None) -> None:
        """Plan (when the survey kept no plan) and apply one listed folder, its deletions as
        the guard's verdict allows."""
        if name in self.survey.windowed and self._apply_windows(name, source, target, store,
                                                                token, batch):
            return
        try:
            plan = self._without_held(self._plan_again(name, source, target, store))
            if (name not in self.survey.kept and not self.verdict.hold
                    and deletions_in(plan) > self.surveyed_deletions.get(name, 0)):
                plan = defer_deletions(plan)  # the verdict never saw these deletions
            plan, _ = hold_plan(plan, self.verdict)
            row = store.folders.get(self.user_id, name)
            ctx = self._context(row, source, target, store, token, batch)
            if plan.actions:
                FolderApplier(ctx).apply(plan)
                return
        except SourceFolderGone as gone:
            self._skip_gone(gone, store)  # its status is not saved: planned anew next pass
            return
        if plan.status is not None and (
                row.source_uidvalidity, row.source_uidnext, row.source_highestmodseq) != (
                plan.status.uidvalidity, plan.status.uidnext, plan.status.highestmodseq):
            FolderApplier(ctx).save_status(plan.status)

    def _apply_windows(self, name: str, source: ImapSource, target: Target, store: Store,
                       token: object | None, batch: tuple[int, int] | None) -> bool:
        """The windowed initial copy of a large new folder (:meth:`_survey_windowed`): list,
        plan and apply one window of UIDs at a time, so memory holds one window's listing
        and plan, never the folder's. False (nothing done) when the folder must be planned
        whole after all: it has rows now (a dropped connection's retry), its UIDVALIDITY
        changed, or the target folder holds messages to adopt.

        Crash safety is the applier's, batch by batch (engine/sync/apply.py); the folder's
        status is saved only after the last window, so a pass that stops between windows
        leaves a folder with rows and no recorded UIDNEXT: the next pass lists it whole and
        copies what the rows do not hold, each message once."""
        row = store.folders.get(self.user_id, name)
        if store.messages.tally(row.id).live:
            return False
        folder = self.listed[name]
        try:
            examined = source.select(folder)
            status = status_of(examined)
            if (status.uidvalidity != self.survey.statuses[name].uidvalidity
                    or self._target_messages(target, name, None)):
                return False
            limits = self._limits(target)
            applier = FolderApplier(self._context(row, source, target, store, token, batch))
            plans = (hold_plan(plan_folder(snapshot, None, phase=self.phase, limits=limits),
                               self.verdict)[0]
                     for snapshot in snapshot_windows(source, folder, examined))
            lanes = self._lanes.get(name, 1)
            if lanes > 1:
                waiting = self._copy_in_lanes(row, plans, lanes, token, batch)
            else:
                waiting = False
                for plan in plans:
                    applier.apply(plan, final=False)
                    if applier.waiting:
                        waiting = True  # the target is full: the rest waits, unlisted
                        break
        except SourceFolderGone as gone:
            self._skip_gone(gone, store)  # its status is not saved: planned anew next pass
            return True
        if not waiting:
            applier.save_status(status)
        return True

    def _copy_in_lanes(self, row: FolderRow, plans: Iterator[FolderPlan], count: int,
                       token: object | None, batch: tuple[int, int] | None) -> bool:
        """The windows' plans, in pieces of :data:`LANE_PIECE` copies, applied by ``count``
        lanes at once (engine/sync/lanes.py), each with its own connections and store; the
        listing stays on this worker's session. True when the target was full."""
        outer = token or self.token
        full = threading.Event()

        class LaneToken:  # a lane stops when the pass is cancelled or another lane failed
            @property
            def cancelled(self) -> bool:
                return bool(getattr(outer, "cancelled", False)) or lanes.failed

        def open_lane() -> tuple[_Connections, FolderApplier]:
            conns = _Connections.open(self)
            if isinstance(conns.target, ConcurrentAppends):
                conns.target.locate_unnamed = False  # two lanes could name one copy
            ctx = self._context(row, conns.source, conns.target, conns.store, LaneToken(), batch)
            return conns, FolderApplier(replace(ctx, read_ahead=False))

        def work(lane: tuple[_Connections, FolderApplier], piece: FolderPlan) -> bool:
            lane[1].apply(piece, final=False)
            if lane[1].waiting:
                full.set()
            return not full.is_set()

        group = deadline.current_group()

        def joined(run: Callable[[], None]) -> None:
            with deadline.joining(group):
                run()

        lanes: Lanes[tuple[_Connections, FolderApplier], FolderPlan] = Lanes(
            count, open_lane, work, lambda lane: lane[0].close(), wrap=joined,
            name="imsh-lane")
        lanes.run(plan_pieces(plans, LANE_PIECE))
        return full.is_set()

    def _vanished(self, names: Sequence[str]) -> None:
        """Folders the source no longer lists (incremental): copies, empty folder, state."""
        for name in names:
            row = self.rows.get(name)
            if row is None:
                continue
            plan, kept = hold_plan(
                self._without_held(self._plan_again(name, self.source, self.target,
                                                    self.store)),
                self.verdict, Hold(row.hold) if row.hold else None)
            if kept and row.hold != Hold.HELD:
                row = self.rows[name] = self.store.folders.save(
                    self.user_id, replace(row, hold=Hold.HELD))
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
        group = deadline.current_group()
        threads = [threading.Thread(target=self._work, args=(group,), name=f"imsh-folder-{i}",
                                    daemon=True) for i in range(self.workers)]
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

    def _work(self, group: deadline.ConnectionGroup | None) -> None:
        owner = self.owner
        conns: _Connections | None = None
        try:
            with deadline.joining(group):
                while (name := self._next()) is not None:
                    if conns is None:
                        conns = _Connections.open(owner)
                    owner.apply_retrying(name, conns, self)
        except BaseException as exc:
            with self.lock:
                if not isinstance(exc, Stopped) or not self.errors:
                    self.errors.append(exc)
            self.abort.set()
        finally:
            if conns is not None:
                conns.close()


class _Connections:
    """One worker's source session, target and store; the sessions can be opened again."""

    def __init__(self, owner: _Pass, store: Store, source: ImapSource, target: Target) -> None:
        self.owner = owner
        self.store = store
        self.source = source
        self.target = target

    @classmethod
    def open(cls, owner: _Pass) -> _Connections:
        store = owner.store_factory()
        try:
            source = owner._open_source()
            try:
                return cls(owner, store, source, owner._open_target())
            except BaseException:
                source.close()
                raise
        except BaseException:
            store.close()
            raise

    def reconnect(self) -> None:
        """New source and target sessions (the old ones are dropped, quietly)."""
        for closable in (self.target, self.source):
            try:
                closable.close()
            except Exception:  # a dropped session may fail in any way while closing
                log.debug("closing a dropped session failed", exc_info=True)
        self.source = self.owner._open_source()
        self.target = self.owner._open_target()

    def close(self) -> None:
        for closable in (self.target, self.source, self.store):
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
    own = store.user_settings.get(user_id)  # Set-MigrationUser's limits override the batch's
    return ItemLimits(limit_that_applies(own.bad_item_limit, batch.bad_item_limit),
                      limit_that_applies(own.large_item_limit, batch.large_item_limit),
                      bad=sum(1 for s in skipped if s.kind == "bad"),
                      large=sum(1 for s in skipped if s.kind == "large"))
