"""The planner's vocabulary: frozen inputs (what the source shows, what the store remembers) and
the actions a plan is made of.

The executor adapts store rows and IMAP listings into these types; nothing here does I/O.

Identity of a known message row: its ``source_uid`` while it is attached to the current
UIDVALIDITY, else (a *detached* row, ``source_uid is None``) its ``target_ref``. Every action that
touches an existing row carries both, so the executor can find the row either way.

Flag sets are expected normalized (:func:`engine.mail.normalize_flags`); the constructors
normalize them, so a raw IMAP FLAGS tuple may be passed as well.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from engine.mail import Flags, Hold, MessageState, normalize_flags
from engine.model import SyncKind as SyncKind  # defined with the light vocabulary (cmdlets read it)

A = TypeVar("A")


def _flags(value: Iterable[str]) -> Flags:
    return normalize_flags(value)


class SkipReason(StrEnum):
    """Why a source message is deliberately not copied."""

    TOO_LARGE = "too-large"


@dataclass(frozen=True)
class Limits:
    """What the target accepts. ``None`` means unlimited."""

    max_message_size: int | None = None

    def too_large(self, size: int) -> bool:
        return self.max_message_size is not None and size > self.max_message_size


@dataclass(frozen=True)
class FolderStatus:
    """The cheap per-folder facts (STATUS/SELECT): enough to decide whether to list at all.

    ``messages`` is the folder's message count (STATUS MESSAGES), when the caller has it; it lets
    :func:`engine.sync.planner.needs_listing` notice expunges on servers whose HIGHESTMODSEQ does
    not move on expunge.
    """

    uidvalidity: int
    uidnext: int
    highestmodseq: int | None = None
    messages: int | None = None


@dataclass(frozen=True)
class SourceMessage:
    """One row of the source listing: UID, FLAGS, RFC822.SIZE, INTERNALDATE, fingerprint."""

    uid: int
    fingerprint: str
    size: int
    flags: Flags = frozenset()
    internaldate: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "flags", _flags(self.flags))


@dataclass(frozen=True)
class FolderSnapshot:
    """A source folder as seen now. ``messages`` is ``None`` when the listing was not fetched
    (allowed only when :func:`~engine.sync.planner.needs_listing` said it is not needed)."""

    name: str
    status: FolderStatus
    messages: tuple[SourceMessage, ...] | None = None


@dataclass(frozen=True)
class KnownMessage:
    """A message row the store remembers for this folder."""

    source_uid: int | None  # None: detached (its UIDVALIDITY is gone; kept for its target copy)
    fingerprint: str
    state: MessageState
    target_ref: str | None = None
    flags: Flags = frozenset()  # the flags last synced to the target
    hold: Hold | None = None  # its deletion was held by the guard (or held, then approved)

    def __post_init__(self) -> None:
        object.__setattr__(self, "flags", _flags(self.flags))
        object.__setattr__(self, "state", MessageState(self.state))
        if self.hold is not None:
            object.__setattr__(self, "hold", Hold(self.hold))

    @property
    def detached(self) -> bool:
        return self.source_uid is None


@dataclass(frozen=True)
class OnTarget:
    """A message the target folder holds that no row claims (what the executor saw when it
    looked, :meth:`engine.targets.base.Target.list_messages`): adoptable by fingerprint."""

    ref: str
    fingerprint: str
    flags: Flags = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "flags", _flags(self.flags))


@dataclass(frozen=True)
class FolderState:
    """What the store remembers about one source folder.

    ``status`` holds the values recorded after the last *completed* pass over the folder; the
    executor must record a plan's ``status`` only after every action of that plan is recorded.
    """

    name: str
    status: FolderStatus
    messages: tuple[KnownMessage, ...] = ()
    created_by_migration: bool = False  # the target folder was created by this migration
    hold: Hold | None = None  # the folder's removal (it vanished) was held / approved


# --- actions on messages (one folder) ----------------------------------------------------------


@dataclass(frozen=True)
class ResolvePending:
    """Look on the target for a pending row's message before anything is appended again.

    Found (by APPENDUID state or a Message-ID/size/date search, among target items no other row
    claims): record it copied with its target_ref. Not found: drop the row. A plan holding
    ResolvePending holds nothing else for that folder; plan again once they are resolved.
    """

    source_uid: int
    fingerprint: str
    flags: Flags = frozenset()


@dataclass(frozen=True)
class Copy:
    """Append source message ``uid`` to the target (pending row first, target_ref after).

    ``recopy``: a row existed but its copy is gone from the target; the row is overwritten.
    """

    uid: int
    fingerprint: str
    size: int
    flags: Flags = frozenset()
    internaldate: datetime | None = None
    recopy: bool = False


@dataclass(frozen=True)
class Adopt:
    """The target folder already holds a copy of source message ``uid`` at ``target_ref``
    (same fingerprint, claimed by no row): bring its flags from ``target_flags`` to ``flags``,
    then record it copied instead of appending it again. ``recopy``: a row existed but its
    copy was gone (e.g. the target's UIDVALIDITY changed); the row is overwritten."""

    uid: int
    fingerprint: str
    size: int
    target_ref: str
    flags: Flags = frozenset()
    target_flags: Flags = frozenset()
    internaldate: datetime | None = None
    recopy: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "flags", _flags(self.flags))
        object.__setattr__(self, "target_flags", _flags(self.target_flags))


@dataclass(frozen=True)
class Skip:
    """Record source message ``uid`` as deliberately not copied."""

    uid: int
    fingerprint: str
    size: int
    reason: SkipReason


@dataclass(frozen=True)
class UpdateFlags:
    """Bring the target copy's flags to ``flags`` (``add``/``remove`` are the delta from the
    flags last synced), then record ``flags`` on the row."""

    source_uid: int
    target_ref: str | None
    fingerprint: str
    add: Flags
    remove: Flags
    flags: Flags


@dataclass(frozen=True)
class DeleteOnTarget:
    """Delete a copy this migration made whose source message vanished; then drop the row (or
    keep a tombstone without a source UID). Incremental phase only. ``flags``: last synced.
    ``hold``: the row's mark from an earlier held pass (engine/sync/guard.py): a deletion
    still ``held`` stays held, an ``approved`` one goes ahead whatever the guard says."""

    source_uid: int | None
    target_ref: str | None
    fingerprint: str
    flags: Flags = frozenset()
    hold: Hold | None = None

    @property
    def approved(self) -> bool:
        return self.hold is Hold.APPROVED


@dataclass(frozen=True)
class HoldDeletion:
    """A deletion the guard held (engine/sync/guard.py): keep the copy, detach the row from
    its source UID (a new message may take that UID after a UIDVALIDITY change) and mark it
    held, for the administrator to approve. Never planned by the planner; the executor turns
    a DeleteOnTarget into it when the pass's verdict is to hold."""

    source_uid: int | None
    target_ref: str | None
    fingerprint: str


@dataclass(frozen=True)
class Forget:
    """Drop a row whose message vanished and that has no copy on the target."""

    source_uid: int | None
    target_ref: str | None
    fingerprint: str


@dataclass(frozen=True)
class Detach:
    """Keep a copied row whose source message is gone but must not be deleted now (initial
    phase): clear its source UID, keep target_ref, so a later incremental pass can delete it."""

    source_uid: int
    target_ref: str | None
    fingerprint: str


@dataclass(frozen=True)
class Rematch:
    """The row (``old_uid``, or the detached row at ``target_ref``) is source UID ``new_uid``
    now (same fingerprint). All Rematch actions of a plan are one re-keying: apply them in one
    transaction (UIDs may be swapped among rows)."""

    old_uid: int | None
    new_uid: int
    target_ref: str | None
    fingerprint: str


# --- actions on folders ------------------------------------------------------------------------


@dataclass(frozen=True)
class DeleteFolderIfEmpty:
    """The source folder is gone and this migration created the target folder: delete it, but
    only if the target shows it empty (no messages, no children) — the executor checks."""

    name: str


@dataclass(frozen=True)
class ForgetFolder:
    """Drop the folder's state rows: the source folder is gone and its copies are handled."""

    name: str


@dataclass(frozen=True)
class RenameOnTarget:
    """The source folder ``old_name`` is now ``new_name``: rename the target folder and the
    folder's state instead of deleting and copying everything again."""

    old_name: str
    new_name: str


@dataclass(frozen=True)
class MoveOnTarget:
    """A message vanished from ``from_folder`` and appeared in ``to_folder`` (same fingerprint):
    move the target copy (UID MOVE, or COPY + expunge), set ``flags``, re-key the row.
    Write the destination row as pending before moving (intent first)."""

    from_folder: str
    from_uid: int | None
    target_ref: str | None
    to_folder: str
    to_uid: int
    fingerprint: str
    size: int
    flags: Flags
    old_flags: Flags
    internaldate: datetime | None = None


MessageAction = (
    ResolvePending | Copy | Adopt | Skip | UpdateFlags | DeleteOnTarget | Forget | Detach
    | Rematch | HoldDeletion
)
Action = MessageAction | DeleteFolderIfEmpty | ForgetFolder


@dataclass(frozen=True)
class FolderPlan:
    """The ordered actions for one folder.

    ``status``: record it as the folder's state once every action is done (``None``: record
    nothing). ``is_new``: no state existed; the target folder must be created up front.
    ``uidvalidity_changed``: the rows were re-matched by fingerprint (no moves pair with it).
    """

    folder: str
    actions: tuple[Action, ...] = ()
    status: FolderStatus | None = None
    is_new: bool = False
    uidvalidity_changed: bool = False

    @property
    def resolve_first(self) -> bool:
        """Pending rows must be resolved, then the folder planned again."""
        return any(isinstance(a, ResolvePending) for a in self.actions)

    @property
    def is_empty(self) -> bool:
        return not self.actions

    def of_type(self, kind: type[A]) -> tuple[A, ...]:
        return tuple(a for a in self.actions if isinstance(a, kind))


@dataclass(frozen=True)
class AccountPlan:
    """One pass over a migration user's mailbox, in execution order: renames, folder creation
    (``folders_to_create``, all up front), moves, per-folder plans (vanished folders last,
    deepest first)."""

    renames: tuple[RenameOnTarget, ...] = ()
    moves: tuple[MoveOnTarget, ...] = ()
    folders: tuple[FolderPlan, ...] = field(default=())

    @property
    def folders_to_create(self) -> tuple[str, ...]:
        """Every folder the source lists (and imsh syncs): make sure its target folder exists,
        creating it when missing — not only for new folders, since a crashed pass may have
        deleted a target folder whose source folder came back."""
        return tuple(p.folder for p in self.folders if p.status is not None)

    @property
    def is_empty(self) -> bool:
        """Nothing to do on the target or in the store (status updates aside)."""
        return (
            not self.renames
            and not self.moves
            and all(p.is_empty and not p.is_new for p in self.folders)
        )

    @property
    def resolve_first(self) -> bool:
        return any(p.resolve_first for p in self.folders)
