"""Test-MigrationUser and Test-MigrationBatch: prove that a user's target holds the source.

:func:`prove_user` reads the user's source mailbox (EXAMINE, ``BODY.PEEK[]``: nothing
changes, so it runs while the batch is Synced or syncing) and the target mailbox, and compares
them with the one comparer (engine/verify/compare.py):

- **Which folders.** The source folders the batch migrates: its ``-ExcludeFolders`` applied as
  the sync applies them (engine/excludes.py). Each is compared with the target folder the sync
  put it in: the one recorded in the user's folder state, else the one the mapping would choose
  now (special-use folders to the target's well-known folders, engine/folders.py).
- **Skipped items** are the user's messages the sync recorded as skipped (too large, bad): a
  missing message whose source UID is one of them counts as skipped, not as missing.
- **Target-only folders that hold nothing** are not differences (targets create well-known
  folders of their own); one that holds messages is an extra folder.
- **A Gmail-shaped source** is seen through the batch's label policy (engine/verify/gmail.py):
  each message where the policy puts it, no view folders, All Mail's unlabeled mail in Archive.
- **Targets.** IMAP (logged in as the sync logs in), Maildir (read directly: opening it the way
  the target does would create the tree), EWS (engine/verify/ews.py: what EWS can show).

The verdict is stored (engine/store/proofs.py) with its DataConsistencyScore
(engine/verify/score.py), and a report entry tells the user's report what was found. A proof
that cannot finish (a server is down) raises the engine's error after recording a failed proof
with the reason; it leaves the score as it was (it did not look, so it proves nothing).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from engine.endpoints import Endpoints, resolve
from engine.errors import ImshError, TransientError
from engine.excludes import ExcludeCandidate, filter_folders, parse_exclude_folders
from engine.folders import FolderPath, SourceFolderName, TargetNaming, map_folders
from engine.imap.connection import open_session
from engine.model import DataConsistencyScore
from engine.store import Store, codec
from engine.store.batches import BatchRow
from engine.store.endpoints import EndpointRow
from engine.store.proofs import ProofRow
from engine.store.sync_state import FolderRow
from engine.store.users import MigrationUserRow
from engine.sync.gmail_labels import ARCHIVE
from engine.sync.gmail_source import batch_policy
from engine.sync.state import decode_target_path
from engine.targets.imap import ImapTarget
from engine.targets.maildir import MaildirTarget, mailbox_dir_name
from engine.verify.compare import compare
from engine.verify.gmail import gmail_view
from engine.verify.model import (
    Difference,
    FolderDiff,
    FolderInfo,
    MailboxSource,
    MessageRecord,
    Report,
    show,
)
from engine.verify.readers import ImapReader, MaildirReader
from engine.verify.score import ScoreInputs, score, user_score

_REPORT_DIFFERENCES = 5  # differences named in the user's report entry


@dataclass(frozen=True)
class FolderProof:
    """One row of the per-folder table."""

    folder: str
    target_folder: str
    source_items: int
    target_items: int
    missing: int = 0
    altered: int = 0
    changed: int = 0  # flags, keywords, dates
    extra: int = 0  # extra and duplicated
    skipped: int = 0
    result: str = "Identical"  # Identical | Different | Missing | Extra


@dataclass(frozen=True)
class ProofVerdict:
    """A stored proof's counts as the façade hands them out (the store's ``ProofRow`` stays
    inside the engine)."""

    proved_at: datetime
    score: DataConsistencyScore
    identical: bool
    folders: int
    source_items: int
    target_items: int
    missing: int  # missing and altered messages, and messages of missing folders
    changed: int  # flag, keyword and date differences
    extra: int  # extra and duplicated messages, extra folders
    skipped: int
    folders_missing: int
    error: str | None  # the proof could not run to its end

    @classmethod
    def of(cls, row: ProofRow) -> ProofVerdict:
        return cls(row.proved_at, DataConsistencyScore(row.score), row.identical, row.folders,
                   row.source_items, row.target_items, row.missing, row.changed, row.extra,
                   row.skipped, row.folders_missing, row.error)


@dataclass(frozen=True)
class UserProof:
    """What Test-MigrationUser returns for one user."""

    email_address: str
    batch_name: str
    verdict: ProofVerdict
    folders: tuple[FolderProof, ...]
    differences: tuple[Difference, ...]
    source: str
    target: str
    seconds: float
    source_bytes: int = 0
    extra_folders_ignored: tuple[str, ...] = field(default_factory=tuple)

    @property
    def score(self) -> DataConsistencyScore:
        return self.verdict.score

    @property
    def result(self) -> str:
        return "Identical" if self.verdict.identical else "Different"


class ProofCancelled(TransientError):
    """The runner was asked to stop (Stop-, Remove-, SIGTERM) while it proved a user."""

    def __init__(self) -> None:
        super().__init__("The proof was stopped.", error_id="ProofCancelled")


def prove_user(store: Store, identity: str, *, moment: str = "manual",
               clock: Callable[[], float] = time.monotonic,
               cancelled: Callable[[], bool] | None = None) -> UserProof:
    """Prove one user (see the module docstring); raises the engine's error if it cannot.
    ``cancelled`` is polled between messages: a stopped proof records nothing."""
    user = store.users.get(identity)
    batch = store.batches.get_by_id(user.batch_id)
    source_ep = store.endpoints.get_by_id(batch.source_endpoint_id)
    target_ep = store.endpoints.get_by_id(batch.target_endpoint_id)
    started = clock()
    try:
        with ExitStack() as stack:
            endpoints = resolve(user, source_ep, target_ep)
            session = open_session(endpoints.source, endpoints.login)
            source = ImapReader(session, user_root=endpoints.login.user_root,
                                description=f"source {source_ep.name}")
            stack.callback(source.close)
            target, naming, view = _open_target(stack, target_ep, endpoints)
            if cancelled is not None:
                view = _watched(view, cancelled)
            report, ignored, mapping = _compare(store, user, batch, source, target, naming,
                                                view)
            missing_items = sum(source.count(f) for f in _missing_folders(source, report))
    except ProofCancelled:
        raise
    except ImshError as exc:
        _record_failure(store, user, moment, str(exc))
        raise
    proof = _row(store, user, report, moment, missing_items)
    recorded = store.proofs.record(proof)
    _report_entry(store, user, recorded, report)
    return UserProof(user.email_address, user.batch_name, ProofVerdict.of(recorded),
                     tuple(_folder_rows(report, mapping)), tuple(report.differences_list()),
                     report.a, report.b, clock() - started,
                     sum(f.bytes_a for f in report.folders), tuple(ignored))


def prove_batch(store: Store, identity: str) -> list[UserProof]:
    """Prove every user of a batch; a user whose proof cannot finish gets a failed proof (its
    reason in ``verdict.error``) and the others are still proven."""
    batch = store.batches.get(identity)
    results = []
    for user in store.users.list(batch_id=batch.id):
        try:
            results.append(prove_user(store, user.email_address))
        except ImshError:
            row = store.proofs.latest(user.id)
            assert row is not None and row.error is not None
            results.append(UserProof(user.email_address, user.batch_name,
                                     ProofVerdict.of(row), (), (), "", "", 0.0))
    return results


View = Callable[[MailboxSource], MailboxSource]


def _same(source: MailboxSource) -> MailboxSource:
    return source


def prove_after_pass(open_store: Callable[[], Store], user_id: int, moment: str,
                     cancelled: Callable[[], bool] | None = None) -> None:
    """The automatic proof (``moment`` initial-sync or completion), when AutomaticProofs is
    on: run by the runner after a successful initial or final pass, before the pass's outcome
    is recorded, so the user is Synced (or Completed) with its proof in the report. Never
    raises: a proof that cannot finish is recorded as such (a report entry; the score stays) and
    does not fail the pass, whose copies are fine; the administrator can prove again."""
    from engine.service.config_keys import AUTOMATIC_PROOFS

    store = open_store()
    try:
        if not store.config.get(AUTOMATIC_PROOFS, True):
            return
        user = store.users.get_by_id(user_id)
        with contextlib.suppress(ImshError):  # recorded by prove_user
            prove_user(store, user.email_address, moment=moment, cancelled=cancelled)
    finally:
        store.close()


def _open_target(stack: ExitStack, endpoint: EndpointRow, endpoints: Endpoints
                 ) -> tuple[MailboxSource, TargetNaming, View]:
    """The target's reader, its naming, and how the source is seen against it."""
    if endpoint.kind == "Maildir":
        naming = MaildirTarget(endpoint.path or ".").naming
        root = Path(endpoint.path or ".") / mailbox_dir_name(endpoints.mailbox.address)
        return MaildirReader(root), naming, _same
    target = endpoints.new_target()
    stack.callback(target.close)
    target.open_user(endpoints.mailbox)
    if isinstance(target, ImapTarget):
        return (ImapReader(target.session, description=f"target {endpoint.name}"),
                target.naming, _same)
    from engine.targets.ews import EwsTarget  # exchangelib: EWS proofs only
    from engine.verify.ews import AsExchangeHolds, EwsReader

    assert isinstance(target, EwsTarget), endpoint.kind
    return (EwsReader(target, description=f"target {endpoint.name}"), target.naming,
            AsExchangeHolds)


def _compare(store: Store, user: MigrationUserRow, batch: BatchRow, source: ImapReader,
             target: MailboxSource, naming: TargetNaming, view: View
             ) -> tuple[Report, list[str], dict[FolderPath, FolderPath]]:
    listed = source.folders()
    patterns = parse_exclude_folders(batch.exclude_folders)
    kept = {f.path for f in filter_folders(
        [ExcludeCandidate(f.path, frozenset({f.special_use} if f.special_use else ()))
         for f in listed], patterns)}
    states = {s.source_name: s for s in store.folders.list(user.id)}
    ignored_source = [f.path for f in listed
                      if f.path not in kept or (f.native in states and states[f.native].excluded)]
    included = [f for f in listed if f.path not in ignored_source]
    mapping = map_folders([SourceFolderName(f.path, _role(f)) for f in included], naming)
    skipped: dict[FolderPath, set[int]] = {}
    copied: dict[str, frozenset[int]] = {}  # per source folder, for a Gmail-shaped source
    for folder in included:
        state = states.get(folder.native)
        if state is None:
            continue
        stored = decode_target_path(state.target_name)
        if stored is not None:
            mapping[folder.path] = stored
        uids = set(store.messages.uids_in_state(state.id, "skipped"))
        if uids:
            skipped[folder.path] = uids
        copied[folder.native] = frozenset(store.messages.uids_in_state(state.id, "copied"))
    seen: MailboxSource = _Only(source, set(ignored_source))
    gmail = gmail_view(source, seen, batch_policy(batch), copied)  # the label policy's view
    if gmail is not None:
        seen = gmail
        all_mail = gmail.all_mail
        if all_mail is not None and not _stored(states, listed, all_mail):
            mapping[all_mail] = ARCHIVE  # where the sync puts it when nothing is recorded
    report = compare(view(seen), target, folder_map=mapping, skipped_uids=skipped)
    target_folders = {f.path: f for f in target.folders()}
    empty = [p for p in report.folders_extra
             if p in target_folders and _is_empty(target, target_folders[p])]
    report.folders_extra = [p for p in report.folders_extra if p not in empty]
    return report, [show(p) for p in empty], mapping


def _stored(states: dict[str, FolderRow], listed: list[FolderInfo], path: FolderPath) -> bool:
    """Whether the store recorded a target folder for the source folder at ``path``."""
    native = next((f.native for f in listed if f.path == path), None)
    state = states.get(native) if native is not None else None
    return state is not None and decode_target_path(state.target_name) is not None


def _watched(view: View, cancelled: Callable[[], bool]) -> View:
    return lambda source: _Watched(view(source), cancelled)


class _Watched:
    """A mailbox whose reading stops (ProofCancelled) once ``cancelled()`` is true."""

    def __init__(self, inner: MailboxSource, cancelled: Callable[[], bool]) -> None:
        self._inner = inner
        self._cancelled = cancelled
        self.description = inner.description

    def folders(self) -> list[FolderInfo]:
        return self._inner.folders()

    def messages(self, folder: FolderInfo) -> Iterator[MessageRecord]:
        for record in self._inner.messages(folder):
            if self._cancelled():
                raise ProofCancelled()
            yield record

    def close(self) -> None:
        self._inner.close()


class _Only:
    """The source without the folders the batch does not migrate."""

    def __init__(self, reader: ImapReader, ignored: set[FolderPath]) -> None:
        self._reader = reader
        self._ignored = ignored
        self.description = reader.description

    def folders(self) -> list[FolderInfo]:
        return [f for f in self._reader.folders() if f.path not in self._ignored]

    def messages(self, folder: FolderInfo) -> Iterator[MessageRecord]:
        return self._reader.messages(folder)

    def close(self) -> None:
        pass


def _role(folder: FolderInfo) -> str | None:
    return folder.special_use.lstrip("\\") if folder.special_use else None


def _is_empty(reader: MailboxSource, folder: FolderInfo) -> bool:
    return next(iter(reader.messages(folder)), None) is None


def _missing_folders(source: ImapReader, report: Report) -> list[FolderInfo]:
    missing = set(report.folders_missing)
    return [f for f in source.folders() if f.path in missing]


def _row(store: Store, user: MigrationUserRow, report: Report, moment: str,
         missing_folder_items: int) -> ProofRow:
    f = report.folders
    missing = sum(len(d.missing) + len(d.altered) for d in f) + missing_folder_items
    changed = sum(len(d.flags) + len(d.keywords) + len(d.dates) for d in f)
    extra = sum(len(d.extra) + len(d.duplicated) for d in f) + len(report.folders_extra)
    source_items = report.messages_compared + missing_folder_items
    stats = store.statistics.get(user.id)
    skipped = max(report.skipped, stats.skipped_item_count)
    grade = score(ScoreInputs(source_items, skipped=skipped, missing=missing, changed=changed,
                              extra=extra, folders_missing=len(report.folders_missing)))
    return ProofRow(user.id, codec.utc_now(), moment, str(grade), len(f), source_items,
                    sum(d.count_b for d in f), missing, changed, extra, skipped,
                    len(report.folders_missing))


def _record_failure(store: Store, user: MigrationUserRow, moment: str, reason: str) -> None:
    """A proof that could not look proves nothing either way: it is recorded (Result Failed,
    the reason in the report) with the score the user had, which it does not change."""
    before = user_score(store, user.id)
    store.proofs.record(ProofRow(user.id, codec.utc_now(), moment, str(before),
                                 0, 0, 0, 0, 0, 0, 0, 0, error=reason))
    store.statistics.add_report_entry(user.id, "error",
                                      f"The proof of the migration could not finish: {reason}")


def _report_entry(store: Store, user: MigrationUserRow, proof: ProofRow, report: Report) -> None:
    if proof.identical:
        text = (f"Proof: the target holds exactly the source's {proof.source_items} messages "
                f"in {proof.folders} folders (DataConsistencyScore {proof.score}"
                + (f"; {proof.skipped} skipped items" if proof.skipped else "") + ").")
        store.statistics.add_report_entry(user.id, "info", text)
        return
    named = [f"{d.kind} {d.folder}" + (f": {d.message}" if d.message else "")
             for d in report.differences_list()
             if d.kind != "Skipped"][:_REPORT_DIFFERENCES]
    text = (f"Proof: the target differs from the source ({proof.missing} missing or altered, "
            f"{proof.changed} with other flags or dates, {proof.extra} extra, "
            f"{proof.folders_missing} folders missing; DataConsistencyScore {proof.score}). "
            + "; ".join(named))
    store.statistics.add_report_entry(user.id, "warning", text)


def _folder_rows(report: Report, mapping: dict[FolderPath, FolderPath]) -> list[FolderProof]:
    rows = [_folder_row(d, show(mapping.get(d.path, d.path))) for d in report.folders]
    rows += [FolderProof(show(p), show(mapping.get(p, p)), 0, 0, result="Missing")
             for p in report.folders_missing]
    rows += [FolderProof("", show(p), 0, 0, result="Extra") for p in report.folders_extra]
    return sorted(rows, key=lambda r: (r.folder or r.target_folder).lower())


def _folder_row(diff: FolderDiff, target: str) -> FolderProof:
    return FolderProof(
        show(diff.path), target, diff.count_a, diff.count_b, len(diff.missing),
        len(diff.altered), len(diff.flags) + len(diff.keywords) + len(diff.dates),
        len(diff.extra) + len(diff.duplicated), len(diff.skipped),
        "Identical" if diff.identical else "Different")
