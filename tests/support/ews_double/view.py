"""The double's stored mailbox as the referee (scripts/compare.py) reads mailboxes.

:class:`DoubleMailbox` lists a double mailbox's folders below the Top of Information Store
(Inbox as ``INBOX``; the other well-known folders by their Exchange names, which the referee
matches to the source's special-use folders with ``by_special_use=True``) and reads each
stored item back as IMAP would show it:

- the identity is the SHA-256 of the stored MIME bytes;
- ``\\Seen`` from ``IsRead``; ``\\Flagged`` from flag status 2; ``\\Answered`` from last verb
  102 (replied); ``\\Draft`` from ``PR_MESSAGE_FLAGS`` carrying *unsent*;
- keywords: the categories, plus ``$Forwarded`` for last verb 104 (forwarded);
- the received date: ``PR_MESSAGE_DELIVERY_TIME``.

:class:`AsExchangeStores` reads a source mailbox through what Exchange can hold, so that the
referee compares like with like: ``$`` keywords other than ``$Forwarded`` and junk markers are
not categories, and an answered message shows "replied", not also "forwarded". These rules
are written here from docs/ews.md, independently of engine/targets/ews_items.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from scripts.compare import FolderInfo, MailboxSource, MessageRecord, message_digest
from tests.support.ews_double.server import EwsDouble
from tests.support.ews_double.store import Mailbox, StoredFolder, StoredItem

FLAG_STATUS_FLAGGED = 2
VERB_REPLIED = 102
VERB_FORWARDED = 104
MSGFLAG_UNSENT = 0x8
FORWARDED = "$Forwarded"
_NOT_CATEGORIES = {"junk", "nonjunk", "notjunk"}
# Folders every Exchange mailbox has that an IMAP source does not.
EXCHANGE_ONLY = (("Outbox",),)


class DoubleMailbox:
    """One mailbox of an :class:`EwsDouble`, readable by scripts.compare."""

    def __init__(self, double: EwsDouble, address: str) -> None:
        self.double = double
        self.address = address
        self.description = f"ews-double:{address}"

    @property
    def mailbox(self) -> Mailbox:
        return self.double.mailboxes[self.address.lower()]

    def folders(self) -> list[FolderInfo]:
        with self.double.lock:
            mailbox = self.mailbox
            top = mailbox.by_distinguished["msgfolderroot"]
            return [FolderInfo(self._path(mailbox, f, top), f.folder_id)
                    for f in mailbox.descendants(top)]

    @staticmethod
    def _path(mailbox: Mailbox, folder: StoredFolder, top: str) -> tuple[str, ...]:
        parts: list[str] = []
        current: StoredFolder | None = folder
        while current is not None and current.folder_id != top:
            parts.append("INBOX" if current.distinguished == "inbox" else current.name)
            current = mailbox.folders.get(current.parent_id or "")
        return tuple(reversed(parts))

    def messages(self, folder: FolderInfo) -> Iterator[MessageRecord]:
        with self.double.lock:
            items = list(self.mailbox.items_in(folder.native))
        for item in items:
            yield record_of(item)

    def close(self) -> None:
        pass


def record_of(item: StoredItem) -> MessageRecord:
    """How an IMAP client would see the stored item (see the module docstring)."""
    flags = set()
    if item.is_read:
        flags.add("\\Seen")
    if item.flag_status == FLAG_STATUS_FLAGGED:
        flags.add("\\Flagged")
    if item.last_verb == VERB_REPLIED:
        flags.add("\\Answered")
    if item.is_draft:
        flags.add("\\Draft")
    keywords = set(item.categories)
    if item.last_verb == VERB_FORWARDED:
        keywords.add(FORWARDED)
    digest = message_digest(item.mime)
    return MessageRecord(digest, frozenset(flags), frozenset(keywords), item.delivery_time,
                         f"{item.item_id} sha256:{digest[:12]}")


class AsExchangeStores:
    """A source mailbox read through what an Exchange item can carry (module docstring)."""

    def __init__(self, source: MailboxSource) -> None:
        self.source = source
        self.description = source.description

    def folders(self) -> list[FolderInfo]:
        return self.source.folders()

    def messages(self, folder: FolderInfo) -> Iterator[MessageRecord]:
        for record in self.source.messages(folder):
            yield replace(record, keywords=exchange_keywords(record.flags, record.keywords),
                          flags=record.flags - {"\\Deleted"})

    def close(self) -> None:
        self.source.close()


def exchange_keywords(flags: frozenset[str], keywords: frozenset[str]) -> frozenset[str]:
    kept = {k for k in keywords if not k.startswith("$") and k.lower() not in _NOT_CATEGORIES
            and "," not in k}
    if any(k.lower() == FORWARDED.lower() for k in keywords) and "\\Answered" not in flags:
        kept.add(FORWARDED)
    return frozenset(kept)
