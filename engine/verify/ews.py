"""Reading an Exchange mailbox over EWS for a proof: what EWS can show, as IMAP would show it.

A proof into an EWS target compares each source message with the item the sync created from it
(engine/targets/ews_items.py says what is stored):

- content: the item's MIME content (``GetItem`` with ``MimeContent``), hashed as IMAP bodies
  are; it is exactly the bytes that were uploaded;
- flags: ``\\Seen`` from IsRead, ``\\Flagged`` from flag status 2, ``\\Answered`` from last verb
  "replied", ``\\Draft`` from ``PR_MESSAGE_FLAGS`` *unsent*; keywords: the categories, plus
  ``$Forwarded`` for last verb "forwarded";
- INTERNALDATE: ``PR_MESSAGE_DELIVERY_TIME``.

Exchange cannot hold everything IMAP can, so the *source* side is read through the same
projection (:func:`as_exchange_holds`): ``\\Deleted`` is dropped, keywords Exchange does not
take as categories are dropped (``$`` keywords, junk markers: the sync reports those as
dropped), and a message both answered and forwarded shows "replied". What cannot be stored is
then not called a difference; everything that can be stored is checked.

Folders: the mail folders (``IPF.Note``) below the Top of Information Store; the Inbox is
``INBOX``, the other well-known folders keep their Exchange names (Sent Items, Deleted Items
...), to which the folder mapping sends the source's special-use folders. Items are read in
pages of :data:`PAGE_ITEMS` ids and fetched :data:`CHUNK_ITEMS` at a time, so memory stays a
few messages' MIME.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from engine.targets.ews import EwsTarget
from engine.targets.ews_items import (
    FLAG_STATUS_FLAGGED,
    FORWARDED_KEYWORD,
    MSGFLAG_UNSENT,
    VERB_FORWARDED,
    VERB_REPLIED,
    split_keywords,
)
from engine.verify.hashing import message_digest
from engine.verify.model import FolderInfo, MailboxSource, MessageRecord, head_of, make_record

PAGE_ITEMS = 100
CHUNK_ITEMS = 10
FORWARDED = "$Forwarded"
_FIELDS = ("mime_content", "is_read", "categories", "imsh_flag_status", "imsh_last_verb",
           "imsh_message_flags", "imsh_delivery_time", "datetime_received")


class EwsReader:
    """The open mailbox of an :class:`EwsTarget` (after ``open_user``), read-only."""

    def __init__(self, target: EwsTarget, description: str | None = None) -> None:
        self._target = target
        self._account = target.account
        self.description = description or f"ews:{self._account.primary_smtp_address}"
        self._by_id: dict[str, Any] = {}

    def folders(self) -> list[FolderInfo]:
        with self._target._call("list the folders"):
            root = self._account.msg_folder_root
            inbox_id = self._account.inbox.id
            found = list(root.walk())
        by_id = {f.id: f for f in found}
        self._by_id = by_id
        result = []
        for folder in found:
            if folder.folder_class not in (None, "IPF.Note") and not str(
                    folder.folder_class).startswith("IPF.Note."):
                continue
            parts: list[str] = []
            current: Any = folder
            below_top = False
            while current is not None:
                parts.append("INBOX" if current.id == inbox_id else current.name)
                parent = current.parent_folder_id
                if parent is not None and parent.id == root.id:
                    below_top = True
                    break
                current = by_id.get(parent.id) if parent is not None else None
            if not below_top:
                continue  # not below the Top of Information Store
            result.append(FolderInfo(tuple(reversed(parts)), folder.id))
        return sorted(result, key=lambda f: f.path)

    def messages(self, folder: FolderInfo) -> Iterator[MessageRecord]:
        if not self._by_id:
            self.folders()
        ews_folder = self._by_id[folder.native]
        with self._target._call(f"read the folder '{'/'.join(folder.path)}'"):
            query = ews_folder.all().only(*_FIELDS)
            query.page_size = PAGE_ITEMS
            query.chunk_size = CHUNK_ITEMS
            items = iter(query)
            while True:
                item = next(items, None)
                if item is None:
                    return
                if isinstance(item, Exception):  # one item could not be read
                    continue
                yield _record(item)

    def close(self) -> None:
        pass  # the target owns the connection


def _record(item: Any) -> MessageRecord:
    raw = bytes(item.mime_content or b"")
    flags: list[str] = []
    if item.is_read:
        flags.append("\\Seen")
    if item.imsh_flag_status == FLAG_STATUS_FLAGGED:
        flags.append("\\Flagged")
    if item.imsh_last_verb == VERB_REPLIED:
        flags.append("\\Answered")
    if item.imsh_message_flags is not None and item.imsh_message_flags & MSGFLAG_UNSENT:
        flags.append("\\Draft")
    flags += list(item.categories or ())
    if item.imsh_last_verb == VERB_FORWARDED:
        flags.append(FORWARDED)
    when = item.imsh_delivery_time or item.datetime_received
    internaldate = (datetime.fromtimestamp(when.timestamp(), UTC) if when is not None
                    else None)
    return make_record(message_digest(raw), head_of(raw), flags, internaldate,
                       size=len(raw))


def as_exchange_holds(record: MessageRecord) -> MessageRecord:
    """A source message as an Exchange item can hold it (see the module docstring)."""
    categories, _dropped = split_keywords(sorted(record.keywords))
    keywords = set(categories)
    forwarded = any(k.lower() == FORWARDED_KEYWORD for k in record.keywords)
    if forwarded and "\\Answered" not in record.flags:
        keywords.add(FORWARDED)
    return replace(record, flags=record.flags - {"\\Deleted"}, keywords=frozenset(keywords))


class AsExchangeHolds:
    """A mailbox read through :func:`as_exchange_holds`."""

    def __init__(self, source: MailboxSource) -> None:
        self.source = source
        self.description = source.description

    def folders(self) -> list[FolderInfo]:
        return self.source.folders()

    def messages(self, folder: FolderInfo) -> Iterator[MessageRecord]:
        for record in self.source.messages(folder):
            yield as_exchange_holds(record)

    def close(self) -> None:
        self.source.close()
