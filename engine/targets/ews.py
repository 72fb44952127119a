"""The Exchange (EWS) target: store a migration user's messages through exchangelib.

Connection and error translation live in :mod:`.ews_connection`; the properties stored with
each message in :mod:`.ews_items`. This module maps the :class:`~engine.targets.base.Target`
calls onto EWS operations:

- folders (:meth:`EwsTarget.ensure_folders`): a path whose first part is a well-known name
  (``INBOX``, ``Sent Items``, ``Drafts``, ``Deleted Items``, ``Junk Email``; see
  :data:`WELL_KNOWN`) starts at that distinguished folder; any other path starts at the
  mailbox root (``msgfolderroot``, "Top of Information Store"). Each missing part is created
  as a mail folder (``IPF.Note``). Exchange compares folder names without case, so ``Foo``
  and ``foo`` on the source share one target folder.
- :meth:`EwsTarget.append_batch`: ``CreateItem`` with ``MessageDisposition="SaveOnly"`` (no
  transport: nothing is sent), the exact MIME bytes and the properties of
  :mod:`.ews_items`; requests are bounded by ``batch_bytes`` of MIME (base64 on the wire adds
  a third) and ``batch_items``. Every per-item error comes back as a
  :class:`~engine.targets.base.Rejected` in the message's position (permanent unless the code
  is a transient one, e.g. ``ErrorMailboxStoreUnavailable``): the executor records those as
  skipped items; only whole-request failures raise. ``item_id`` is the EWS ItemId.
- :meth:`EwsTarget.find_existing`: ``FindItem`` restricted on the source-key property, so a
  message appended just before a crash is found, not duplicated.
- :meth:`EwsTarget.change_flags`: ``UpdateItem`` (read receipts suppressed) of only the fields
  the flag delta touches: read state for ``\\Seen``, the flag for ``\\Flagged``, the last verb
  for ``\\Answered``/``$Forwarded``, and the categories as the item holds them now
  (``GetItem``) plus/minus the changed keywords, so a category or flag the mailbox's user set
  stays. ``PR_MESSAGE_FLAGS`` itself is fixed at creation.
- folder changes of incremental sync, beyond the Target contract (called by
  engine/sync/folderops.py): :meth:`EwsTarget.rename_folder` is ``MoveFolder`` to the new
  parent when it differs, then ``UpdateFolder`` of the display name; item ids survive both,
  so the copies stay matched. :meth:`EwsTarget.delete_folder_if_empty` is ``DeleteFolder``
  (``SoftDelete``) of a folder that holds no item and no subfolder. Well-known folders are
  never renamed or deleted.
- :meth:`EwsTarget.delete`: ``DeleteItem`` with ``SoftDelete``. Deletion sync only removes
  messages this migration copied that vanished from the source; a soft delete takes them out
  of the folder (as the source did) into Recoverable Items, where the user or admin can still
  recover them for the retention period. Moving them to Deleted Items instead would duplicate
  the source's own Trash copy that the sync also brings over.

Throttling: exchangelib waits as ``ErrorServerBusy`` asks (``BackOffMilliseconds``); past the
endpoint's ``max_wait`` per operation an :class:`~.ews_connection.EwsBusyError`
(TransientError, ``retry_after`` = the server's hint) is raised.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator, Sequence
from dataclasses import replace
from typing import Any

from exchangelib import Account, Folder, Message
from exchangelib import errors as ewserr
from exchangelib.items import ALWAYS_OVERWRITE, SAVE_ONLY, SEND_TO_NONE, SOFT_DELETE
from exchangelib.services import CreateItem
from exchangelib.transport import OAUTH2

from engine.errors import MAILBOX_FULL, ErrorCategory, PermanentError
from engine.folders import INBOX, FolderPath, TargetNaming, display_name, with_parents
from engine.secrets import Secret
from engine.targets.base import (
    AppendResult,
    Lookup,
    OutgoingMessage,
    Rejected,
    TargetFolders,
    TargetMailbox,
    TargetMessage,
    TargetRef,
    capacity_refusal,
)
from engine.targets.ews_connection import (
    CAPACITY_ITEM_ERRORS,
    TRANSIENT_ITEM_ERRORS,
    EwsSettings,
    connect,
    ews_errors,
    policy_of,
)
from engine.targets.ews_items import (
    delivery_time,
    header_importance,
    item_state,
    message_flags,
    register_properties,
    state_change,
)

DEFAULT_BATCH_BYTES = 8 * 1024 * 1024
DEFAULT_BATCH_ITEMS = 100
MAIL_FOLDER_CLASS = "IPF.Note"
# Target path (first part, case-folded) -> the Account attribute of that distinguished folder.
WELL_KNOWN = {"inbox": "inbox", "sent items": "sent", "drafts": "drafts",
              "deleted items": "trash", "junk email": "junk"}
SPECIAL: dict[str, FolderPath] = {"Sent": ("Sent Items",), "Drafts": ("Drafts",),
                                  "Trash": ("Deleted Items",), "Junk": ("Junk Email",)}

register_properties()


class _CreateItems(CreateItem):
    """CreateItem returning every per-item error instead of raising some (ErrorQuotaExceeded,
    ErrorInvalidRecipients...) and losing the results of the other items in the request."""

    ERRORS_TO_CATCH_IN_RESPONSE = (ewserr.EWSWarning, ewserr.ResponseMessageError)


class EwsTarget:
    """Writes into Exchange mailboxes over EWS, one migration user at a time."""

    def __init__(self, settings: EwsSettings, *, batch_bytes: int = DEFAULT_BATCH_BYTES,
                 batch_items: int = DEFAULT_BATCH_ITEMS) -> None:
        self.settings = settings
        self.batch_bytes = max(1, batch_bytes)
        self.batch_items = max(1, batch_items)
        self._account: Account | None = None
        self._user_settings = settings
        self._folders: dict[FolderPath, Any] = {}

    @property
    def naming(self) -> TargetNaming:
        return TargetNaming(separator="/", special=SPECIAL)

    # --- session ---------------------------------------------------------------------------------

    @property
    def account(self) -> Account:
        if self._account is None:
            raise PermanentError("No target mailbox is open.", error_id="TargetNotOpen")
        return self._account

    def open_user(self, mailbox: TargetMailbox) -> None:
        """Open the mailbox: the endpoint's account (impersonating or delegated), or the CSV's
        own target credentials; one GetFolder proves access before anything is copied."""
        self.close()
        settings = self.settings
        if mailbox.login is not None:
            password = mailbox.login.password
            secret = password if isinstance(password, Secret) else Secret(
                password if isinstance(password, str) else password.reveal())
            # the user's own password: Basic/NTLM as configured (asked of the server when
            # the endpoint itself uses OAuth), delegate access to their own mailbox
            auth = None if settings.auth_type == OAUTH2 else settings.authentication
            settings = replace(settings, username=mailbox.login.authcid, password=secret,
                               authentication=auth, impersonation=False)
        self._user_settings = settings
        self._account = connect(settings, mailbox.address)
        with self._call(f"open the mailbox '{mailbox.address}'"):
            self._folders[()] = self.account.msg_folder_root

    def close(self) -> None:
        """Forget the mailbox; exchangelib keeps the endpoint's connection pool for reuse."""
        self._account = None
        self._folders = {}

    @contextlib.contextmanager
    def _call(self, action: str) -> Iterator[None]:
        """One target operation: a fresh throttling budget, and engine errors out."""
        address = self._account.primary_smtp_address if self._account is not None else None
        if self._account is not None:
            policy = policy_of(self._account)
            if policy is not None:
                policy.reset()
        with ews_errors(self._user_settings, action, mailbox=address):
            yield

    # --- folders ---------------------------------------------------------------------------------

    def ensure_folders(self, paths: Sequence[FolderPath]) -> TargetFolders:
        result = TargetFolders()
        for path in with_parents(paths):
            with self._call(f"create the folder '{display_name(path)}'"):
                created = self._ensure(path)
            (result.created if created else result.existing).append(path)
        return result

    def missing_folders(self, paths: Sequence[FolderPath]) -> list[FolderPath]:
        missing: list[FolderPath] = []
        for path in paths:
            with self._call(f"open the folder '{display_name(path)}'"):
                if self._lookup(path) is None:
                    missing.append(path)
        return missing

    def _ensure(self, path: FolderPath) -> bool:
        """Make sure one folder exists (its parent already does); True when created now."""
        if self._lookup(path) is not None:
            return False
        parent = self._folders[path[:-1]]
        try:
            folder = Folder(parent=parent, name=path[-1], folder_class=MAIL_FOLDER_CLASS)
            folder.save()
        except ewserr.ErrorFolderExists:
            # created meanwhile (another runner), or a name differing only in case
            return self._lookup(path, refresh=True) is None
        self._folders[path] = folder
        return True

    def _lookup(self, path: FolderPath, *, refresh: bool = False) -> Any | None:
        """The folder at ``path`` if it exists (cached; well-known ones by distinguished id)."""
        if not refresh and path in self._folders:
            return self._folders[path]
        well_known = WELL_KNOWN.get(path[0].casefold()) if len(path) == 1 else None
        if well_known is not None:
            folder = getattr(self.account, well_known)
        else:
            parent = self._folders.get(path[:-1]) or self._lookup(path[:-1])
            if parent is None:
                return None
            try:
                folder = parent // path[-1]
            except ewserr.ErrorFolderNotFound:
                return None
        self._folders[path] = folder
        return folder

    def rename_folder(self, old: FolderPath, new: FolderPath) -> bool:
        """Rename ``old`` (with its subfolders and items) to ``new``. True when the mailbox now
        has ``new`` and not ``old``, also when an interrupted pass already renamed it."""
        if old == new:
            return True
        if _is_well_known(old) or _is_well_known(new):
            return False
        action = f"rename the folder '{display_name(old)}'"
        with self._call(action):
            if self._lookup(new, refresh=True) is not None:
                return self._lookup(old, refresh=True) is None
            folder = self._lookup(old, refresh=True)
        if folder is None:
            return False
        if new[:-1]:
            self.ensure_folders([new[:-1]])
        with self._call(action):
            parent = self._folders[new[:-1]]
            if folder.parent_folder_id is None or folder.parent_folder_id.id != parent.id:
                folder.move(parent)
            if folder.name != new[-1]:
                folder.name = new[-1]
                folder.save(update_fields=["name"])
        self._forget_folders()
        return True

    def delete_folder_if_empty(self, path: FolderPath) -> bool:
        """Delete ``path`` only when it holds no item and has no subfolder. True if gone."""
        if _is_well_known(path) or not path:
            return False
        with self._call(f"delete the folder '{display_name(path)}'"):
            folder = self._lookup(path, refresh=True)
            if folder is None:
                return True
            folder.refresh()  # the counts, as the server has them now
            if folder.total_count or folder.child_folder_count:
                return False
            folder.delete(delete_type=SOFT_DELETE)
        self._forget_folders()
        return True

    def _forget_folders(self) -> None:
        """Paths below a changed folder now mean other folders: keep only the root."""
        self._folders = {(): self._folders[()]}

    def _folder(self, path: FolderPath) -> Any:
        with self._call(f"open the folder '{display_name(path)}'"):
            folder = self._lookup(path)
        if folder is None:
            raise PermanentError(f"The folder '{display_name(path)}' does not exist in the "
                                 f"mailbox '{self.account.primary_smtp_address}'.",
                                 category=ErrorCategory.ObjectNotFound, error_id="FolderNotFound")
        return folder

    # --- messages --------------------------------------------------------------------------------

    def mark(self, folder: FolderPath) -> str | None:
        return None  # every copy carries its source key: find_existing needs no bound

    def count(self, folder: FolderPath) -> int | None:
        return None  # a GetFolder's TotalCount could; not needed while list_ids says None

    def list_ids(self, folder: FolderPath) -> frozenset[str] | None:
        # FindItem pages 100..1000 ids per request: a request per thousand messages of every
        # changed folder on every pass is not cheap, so EWS copies deleted on the target are
        # not noticed (flag changes to them still are: the item is then found missing)
        return None

    def list_messages(self, folder: FolderPath,
                      exclude_ids: Collection[str] = frozenset()) -> list[TargetMessage] | None:
        """Not offered: EWS cannot adopt by fingerprint yet, so a re-created batch or a lost
        state copies into an Exchange mailbox again (docs/ews.md, "Adoption").

        The source key property does not help there (it names the migration user's and the
        folder's state ids, which a new batch does not share); the fingerprint would need each
        item's header fields (MIME content or PR_TRANSPORT_MESSAGE_HEADERS), its size as IMAP
        counted it and the stored ``imsh_delivery_time``: FindItem pages of ids, then GetItem
        of those properties, not yet written or tested against the double."""
        return None

    def append_batch(self, folder: FolderPath,
                     messages: Sequence[OutgoingMessage]) -> list[AppendResult]:
        if not messages:
            return []
        target = self._folder(folder)
        results: list[AppendResult] = []
        for chunk in self._chunks(messages):
            items = [self._message(target, m) for m in chunk]
            with self._call(f"store messages in '{display_name(folder)}'"):
                created = list(_CreateItems(account=self.account, chunk_size=len(items)).call(
                    items=items, folder=target, message_disposition=SAVE_ONLY,
                    send_meeting_invitations=SEND_TO_NONE))
            if len(created) != len(chunk):
                raise PermanentError(f"The Exchange server answered {len(created)} results for "
                                     f"{len(chunk)} messages.", error_id="EwsResultMismatch")
            results += [_result(folder, m, r) for m, r in zip(chunk, created, strict=True)]
        return results

    def _chunks(self, messages: Sequence[OutgoingMessage]) -> Iterator[list[OutgoingMessage]]:
        chunk: list[OutgoingMessage] = []
        size = 0
        for message in messages:
            if chunk and (size + len(message.raw) > self.batch_bytes
                          or len(chunk) >= self.batch_items):
                yield chunk
                chunk, size = [], 0
            chunk.append(message)
            size += len(message.raw)
        if chunk:
            yield chunk

    def _message(self, folder: Any, message: OutgoingMessage) -> Message:
        state = item_state(message.flags, message.keywords)
        importance, sensitivity = header_importance(message.raw)
        fields = state.fields()
        fields.update(imsh_source_key=message.source_key,
                      imsh_message_flags=message_flags(message.flags),
                      imsh_delivery_time=delivery_time(message.internaldate))
        present = {k: v for k, v in fields.items() if v is not None}
        return Message(account=self.account, folder=folder, mime_content=message.raw,
                       importance=importance, sensitivity=sensitivity, **present)

    def find_existing(self, folder: FolderPath, lookup: Lookup) -> TargetRef | None:
        target = self._folder(folder)
        with self._call(f"search '{display_name(folder)}'"):
            if lookup.source_key:
                found = target.filter(imsh_source_key=lookup.source_key).only("id", "changekey")
                for item in found:
                    if item.id not in lookup.exclude_ids:
                        return TargetRef(folder, item.id)
                return None
            if lookup.item_id and lookup.item_id not in lookup.exclude_ids:
                return self._by_id(folder, target, lookup.item_id)
        return None

    def _by_id(self, path: FolderPath, folder: Any, item_id: str) -> TargetRef | None:
        fetched = list(self.account.fetch(ids=[(item_id, None)], only_fields=["parent_folder_id"]))
        item = fetched[0] if fetched else None
        if not isinstance(item, Message) or item.parent_folder_id is None:
            return None
        return TargetRef(path, item_id) if item.parent_folder_id.id == folder.id else None

    def change_flags(self, folder: FolderPath, ref: TargetRef, add: Sequence[str],
                     remove: Sequence[str]) -> TargetRef:
        """``UpdateItem`` of just the fields the delta touches; categories are the item's
        current ones (``GetItem``) plus/minus the changed keywords."""
        change = state_change(add, remove)
        if not ref.item_id:
            raise _missing(folder, ref)
        current: Sequence[str] = ()
        if change.add_categories or change.remove_categories:
            with self._call(f"read the categories in '{display_name(folder)}'"):
                fetched = list(self.account.fetch(ids=[(ref.item_id, None)],
                                                  only_fields=["categories"]))
            item_now = fetched[0] if fetched else None
            if not isinstance(item_now, Message):
                raise _missing(folder, ref)
            current = item_now.categories or ()
        fields = change.with_categories(current)
        if not fields:
            return TargetRef(folder, ref.item_id, change.dropped_keywords)
        item = Message(account=self.account, id=ref.item_id, changekey=None, **fields)
        with self._call(f"set flags in '{display_name(folder)}'"):
            outcome = self.account.bulk_update([(item, list(fields))],
                                               conflict_resolution=ALWAYS_OVERWRITE,
                                               suppress_read_receipts=True)
        if outcome and isinstance(outcome[0], ewserr.ErrorItemNotFound):
            raise _missing(folder, ref)
        if outcome and isinstance(outcome[0], Exception):
            with self._call(f"set flags in '{display_name(folder)}'"):
                raise outcome[0]
        return TargetRef(folder, ref.item_id, change.dropped_keywords)

    def delete(self, folder: FolderPath, refs: Sequence[TargetRef]) -> None:
        ids = [(r.item_id, None) for r in refs if r.item_id]
        if not ids:
            return
        with self._call(f"delete messages in '{display_name(folder)}'"):
            outcomes = self.account.bulk_delete(ids, delete_type=SOFT_DELETE,
                                                suppress_read_receipts=True)
            for outcome in outcomes:
                if isinstance(outcome, Exception) and not isinstance(
                        outcome, ewserr.ErrorItemNotFound):
                    raise outcome


def _is_well_known(path: FolderPath) -> bool:
    return len(path) == 1 and path[0].casefold() in WELL_KNOWN


def _result(folder: FolderPath, message: OutgoingMessage, created: Any) -> AppendResult:
    if not isinstance(created, Exception):
        return TargetRef(folder, created.id, item_state(message.flags,
                                                        message.keywords).dropped_keywords)
    return rejected(folder, created)


def rejected(folder: FolderPath, error: Exception) -> Rejected:
    """A per-item error as a refusal with an Exchange-style reason: a full mailbox or a busy
    server is a capacity refusal (retried later, see engine/targets/base.py), a transient
    error is retried, anything else makes a skipped item."""
    code = type(error).__name__
    if isinstance(error, ewserr.ErrorMessageSizeExceeded):
        return Rejected(folder, "The message is larger than the maximum size the target "
                        f"mailbox accepts ({code}).")
    if isinstance(error, ewserr.ErrorQuotaExceeded):
        return capacity_refusal(folder, f"{MAILBOX_FULL} ({code})")
    if isinstance(error, CAPACITY_ITEM_ERRORS):
        return capacity_refusal(folder, f"The Exchange server is busy ({code}): {error}")
    transient = isinstance(error, TRANSIENT_ITEM_ERRORS)
    return Rejected(folder, f"The Exchange server refused the message ({code}): {error}",
                    permanent=not transient)


def _missing(folder: FolderPath, ref: TargetRef) -> PermanentError:
    return PermanentError(f"The message '{ref.item_id}' is no longer in the folder "
                          f"'{display_name(folder)}'.", category=ErrorCategory.ObjectNotFound,
                          error_id="MessageNotFound")


__all__ = ["INBOX", "EwsSettings", "EwsTarget", "rejected"]
