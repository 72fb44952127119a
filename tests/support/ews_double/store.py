"""The EWS test double's in-memory mailboxes: folders, items and their properties.

Ids are opaque to clients (base64 of ``kind:mailbox:n``) but let the double find the mailbox
an id belongs to. Folder names compare without case, as Exchange's do. Soft-deleted items
leave their folder for the mailbox's ``recoverable`` list (Recoverable Items).
"""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass, field
from datetime import datetime

# Distinguished folder id -> (display name, parent distinguished id, folder class)
DISTINGUISHED = {
    "root": ("Root", None, ""),
    "msgfolderroot": ("Top of Information Store", "root", "IPF.Note"),
    "inbox": ("Inbox", "msgfolderroot", "IPF.Note"),
    "sentitems": ("Sent Items", "msgfolderroot", "IPF.Note"),
    "drafts": ("Drafts", "msgfolderroot", "IPF.Note"),
    "deleteditems": ("Deleted Items", "msgfolderroot", "IPF.Note"),
    "junkemail": ("Junk Email", "msgfolderroot", "IPF.Note"),
    "outbox": ("Outbox", "msgfolderroot", "IPF.Note"),
}

# Extended property keys the tests read back (see :func:`tests.support.ews_double.shapes`).
PR_MESSAGE_FLAGS = "tag:0x0e07"
PR_MESSAGE_DELIVERY_TIME = "tag:0x0e06"
PID_TAG_FLAG_STATUS = "tag:0x1090"
PID_TAG_LAST_VERB = "tag:0x1081"
PR_ICON_INDEX = "tag:0x1080"

_counter = itertools.count(1)


def new_id(kind: str, mailbox: str) -> str:
    return base64.b64encode(f"{kind}:{mailbox}:{next(_counter)}".encode()).decode()


def mailbox_of(opaque_id: str) -> str | None:
    try:
        kind, mailbox, _ = base64.b64decode(opaque_id, validate=True).decode().split(":", 2)
    except (ValueError, UnicodeError):
        return None
    return mailbox if kind in ("F", "I") else None


@dataclass
class StoredFolder:
    folder_id: str
    parent_id: str | None
    name: str
    folder_class: str
    distinguished: str | None = None
    change_key: str = "CK1"


@dataclass
class StoredItem:
    """One stored message, with what the client sent for it (values as sent, text)."""

    item_id: str
    folder_id: str
    mime: bytes
    is_read: bool = False
    categories: list[str] = field(default_factory=list)
    extended: dict[str, str] = field(default_factory=dict)
    importance: str = "Normal"
    sensitivity: str = "Normal"
    change_key: str = "CK1"

    @property
    def message_flags(self) -> int | None:
        value = self.extended.get(PR_MESSAGE_FLAGS)
        return None if value is None else int(value)

    @property
    def is_draft(self) -> bool:
        """What Exchange would show: PR_MESSAGE_FLAGS defaults to UNSENT|UNMODIFIED."""
        flags = self.message_flags
        return True if flags is None else bool(flags & 0x8)

    @property
    def delivery_time(self) -> datetime | None:
        value = self.extended.get(PR_MESSAGE_DELIVERY_TIME)
        return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))

    @property
    def flag_status(self) -> int | None:
        value = self.extended.get(PID_TAG_FLAG_STATUS)
        return None if value is None else int(value)

    @property
    def last_verb(self) -> int | None:
        value = self.extended.get(PID_TAG_LAST_VERB)
        return None if value is None else int(value)

    def named(self, property_set: str, name: str) -> str | None:
        return self.extended.get(named_key(property_set, name))


def named_key(property_set: str, name: str) -> str:
    return f"name:{property_set.lower()}:{name}"


class Mailbox:
    """One mailbox: the distinguished folder tree plus whatever clients create."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.folders: dict[str, StoredFolder] = {}
        self.items: dict[str, StoredItem] = {}
        self.recoverable: list[StoredItem] = []
        self.by_distinguished: dict[str, str] = {}
        for key, (name, parent, folder_class) in DISTINGUISHED.items():
            parent_id = self.by_distinguished[parent] if parent else None
            folder = self.add_folder(parent_id, name, folder_class)
            folder.distinguished = key
            self.by_distinguished[key] = folder.folder_id

    def add_folder(self, parent_id: str | None, name: str, folder_class: str) -> StoredFolder:
        folder = StoredFolder(new_id("F", self.address), parent_id, name, folder_class)
        self.folders[folder.folder_id] = folder
        return folder

    def children(self, folder_id: str) -> list[StoredFolder]:
        return [f for f in self.folders.values() if f.parent_id == folder_id]

    def child_named(self, folder_id: str, name: str) -> StoredFolder | None:
        return next((f for f in self.children(folder_id) if f.name.casefold() == name.casefold()),
                    None)

    def descendants(self, folder_id: str) -> list[StoredFolder]:
        found: list[StoredFolder] = []
        for child in self.children(folder_id):
            found += [child, *self.descendants(child.folder_id)]
        return found

    def items_in(self, folder_id: str) -> list[StoredItem]:
        return [i for i in self.items.values() if i.folder_id == folder_id]

    def folder_at(self, path: tuple[str, ...]) -> StoredFolder | None:
        """A folder by display names below the Top of Information Store."""
        folder: StoredFolder | None = self.folders[self.by_distinguished["msgfolderroot"]]
        for part in path:
            if folder is None:
                return None
            folder = self.child_named(folder.folder_id, part)
        return folder
