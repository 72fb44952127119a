"""The target contract: what the executor may ask of any mailbox store it copies into.

A :class:`Target` serves one migration user at a time (:meth:`Target.open_user`). Folders are
logical paths (:data:`engine.folders.FolderPath`); each target spells them its own way
(:attr:`Target.naming`, used with :func:`engine.folders.map_folders`).

Crash safety (DESIGN.md §4) rests on three promises every target keeps (and the executor
relies on, engine/sync/apply.py):

1. :meth:`Target.append_batch` returns one result per message, in input order: a
   :class:`TargetRef` when the message is stored (``item_id`` is the target's stable reference:
   ``"<uidvalidity>:<uid>"`` from APPENDUID, a Maildir unique name, an EWS item id; None when
   the server gave none), or a :class:`Rejected` with the server's reason. A batch that fails
   as a whole (connection lost) raises instead; some of its messages may then be stored.
2. :meth:`Target.mark` returns, before a batch, a token that bounds where new messages will
   appear (an IMAP target's UIDVALIDITY and UIDNEXT; None where the source key finds a copy,
   Maildir and EWS). The executor commits it with the pending rows (``target_mark``).
3. :meth:`Target.find_existing` answers, after a crash, whether a pending message is already
   stored, from its :class:`Lookup` (source key, fingerprint, the mark). Only a positive answer
   from the target itself counts: local state never concludes "already copied".

Flag changes are deltas (:meth:`Target.change_flags`): only what changed on the source is
added or removed, so a flag or keyword the target's user set on the copy survives.

And one for incremental passes: :meth:`Target.list_ids` returns the item ids a target folder
holds (None when that is not cheap: EWS), so that "already copied" yields to what the target
shows and a copy deleted on the target is copied again (the planner's ``present_on_target``).

And one for adoption (docs/sync-planner.md, "Adopting what the target holds"):
:meth:`Target.list_messages` returns the :class:`TargetMessage` of every item of a folder
outside ``exclude_ids``, its fingerprint computed exactly as the source's
(:func:`engine.mail.fingerprint_of` over the same header fields, RFC822.SIZE and
INTERNALDATE), so that a folder that already holds the messages (a re-created batch, a lost
state, an index rebuilt on the target, a folder merged into) is matched, not appended again.
None when the target cannot tell (EWS: see engine/targets/ews.py).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from engine.folders import FolderPath, TargetNaming
from engine.imap.settings import LoginPlanLike
from engine.mail import Fingerprint, split_flags, storable_flags


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message to store. ``source_key`` is stable across runs (e.g. user/folder/uid).
    ``crlf``: every line of ``raw`` is known to end with CRLF (the source server always serves
    it so, engine/imap/source.py ``serves_crlf``): a target that mends bare LF need not look."""

    raw: bytes
    flags: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    internaldate: datetime | None = None
    source_key: str | None = None
    crlf: bool = False


@dataclass(frozen=True, slots=True)
class TargetRef:
    """Where a message is stored. ``dropped_keywords`` could not be stored there."""

    folder: FolderPath
    item_id: str | None
    dropped_keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rejected:
    """The target refused this one message; ``permanent`` means retrying will not help.

    ``capacity``: the refusal is about the target, not the message (quota, disk full,
    throttling, mailbox in use): it is never permanent, and the executor appends nothing more
    in this pass and retries later (:class:`engine.errors.CapacityError`).

    ``large``: refused for its size (a permanent refusal): a large item, not a bad one.
    """

    folder: FolderPath
    reason: str
    permanent: bool = True
    capacity: bool = False
    large: bool = False

    def __post_init__(self) -> None:
        if self.capacity and self.permanent:
            raise ValueError("a capacity refusal is never permanent")


def capacity_refusal(folder: FolderPath, reason: str) -> Rejected:
    """A refusal for lack of room or capacity (see :class:`Rejected`)."""
    return Rejected(folder, reason, permanent=False, capacity=True)


AppendResult = TargetRef | Rejected


@dataclass(frozen=True, slots=True)
class Lookup:
    """What is known of a pending message when looking for it on the target.

    ``exclude_ids`` are item ids already matched to other pending rows: two identical source
    messages must not both claim the same stored copy.
    """

    source_key: str | None = None
    fingerprint: Fingerprint | None = None
    mark: str | None = None
    item_id: str | None = None
    exclude_ids: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class TargetMessage:
    """One item a target folder holds: its id, fingerprint (as the source computes it) and
    flags (system flags and keywords)."""

    item_id: str
    fingerprint: Fingerprint
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class TargetMailbox:
    """Whose mailbox to open: the EmailAddress, and per-user credentials when the CSV had
    ``TargetUserName``/``TargetPassword`` (else the endpoint's admin credentials are used)."""

    address: str
    login: LoginPlanLike | None = None


@dataclass
class TargetFolders:
    """The result of :meth:`Target.ensure_folders`: which paths were created now."""

    created: list[FolderPath] = field(default_factory=list)
    existing: list[FolderPath] = field(default_factory=list)


def split_names(names: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(system flags a target can store, keywords) of a mixed list of flag names."""
    return storable_flags(names), split_flags(names)[1]


class Target(Protocol):
    """A mailbox store the executor copies into."""

    @property
    def naming(self) -> TargetNaming:
        """How this target spells folder names (valid after :meth:`open_user`)."""
        ...

    def open_user(self, mailbox: TargetMailbox) -> None:
        """Open this user's mailbox (log in / create the tree); closes any previous user."""
        ...

    def ensure_folders(self, paths: Sequence[FolderPath]) -> TargetFolders:
        """Create every path, all up front on one connection. Intermediate levels are the
        target's business: created as real folders only where a child needs a parent (EWS);
        an IMAP server or a Maildir++ tree holds ``A/B`` without a selectable ``A``."""
        ...

    def missing_folders(self, paths: Sequence[FolderPath]) -> list[FolderPath]:
        """Which of ``paths`` do not exist now (asked before creating them, so that the
        executor can record "created by this migration" before the CREATE: intent first)."""
        ...

    def rename_folder(self, old: FolderPath, new: FolderPath) -> bool:
        """Rename ``old`` with its subfolders to ``new`` (neither INBOX, ``old != new``). True
        when the target now has ``new`` and not ``old`` (also when an interrupted pass already
        renamed it); False when it cannot, and the executor copies instead. The caller re-opens
        the user afterwards (caches of folder names are stale)."""
        ...

    def delete_folder_if_empty(self, path: FolderPath) -> bool:
        """Delete ``path`` (not INBOX) only when it holds no message and has no subfolder. True
        when it is gone (also when it was never there); False when it is kept."""
        ...

    def mark(self, folder: FolderPath) -> str | None:
        """A token bounding where the next appended messages land (see module docstring)."""
        ...

    def append_batch(self, folder: FolderPath,
                     messages: Sequence[OutgoingMessage]) -> list[AppendResult]:
        """Store the messages; one result per message, in order."""
        ...

    def list_ids(self, folder: FolderPath) -> frozenset[str] | None:
        """The item ids the folder holds now, if one cheap request can tell (else None)."""
        ...

    def count(self, folder: FolderPath) -> int | None:
        """How many messages the folder holds now, from one cheap request (IMAP ``STATUS
        MESSAGES``, a Maildir's two directory listings); None when the target cannot tell
        cheaply. Raises ``FolderNotFound`` for a missing folder."""
        ...

    def find_existing(self, folder: FolderPath, lookup: Lookup) -> TargetRef | None:
        """The stored copy of a pending message, if the target holds one."""
        ...

    def list_messages(self, folder: FolderPath,
                      exclude_ids: Collection[str] = frozenset()) -> list[TargetMessage] | None:
        """Every item of the folder but ``exclude_ids``, with its fingerprint (None: the
        target cannot tell; a missing folder raises FolderNotFound)."""
        ...

    def change_flags(self, folder: FolderPath, ref: TargetRef, add: Sequence[str],
                     remove: Sequence[str]) -> TargetRef:
        """Add and remove these flags and keywords (a delta: whatever else the copy carries,
        e.g. a flag its user set on the target, stays); returns the (possibly new) reference
        with the keywords that could not be stored."""
        ...

    def delete(self, folder: FolderPath, refs: Sequence[TargetRef]) -> None:
        """Remove these messages (missing ones are fine)."""
        ...

    def close(self) -> None:
        """Release connections and files; the target may be opened for another user."""
        ...
