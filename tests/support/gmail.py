"""A Gmail-shaped mailbox on a real Dovecot (``start_dovecot(special_use="gmail")``).

Gmail's IMAP shows one message in many folders; Dovecot stores a copy per folder, so a
:class:`GmailMessage` is APPENDed to each folder Gmail would show it in, with the same bytes,
flags and INTERNALDATE (so imsh's fingerprint, like Gmail's X-GM-MSGID, names it once):

* every label folder (``INBOX``, user labels, ``[Gmail]/Sent Mail`` ...);
* ``[Gmail]/All Mail`` (``\\All``) unless it is in Trash or Spam, as on Gmail;
* ``[Gmail]/Starred`` (``\\Flagged``) when starred (then ``\\Flagged`` on every copy, as Gmail
  reports it) and ``[Gmail]/Important`` when important.

All Mail is a real folder, not Dovecot's virtual plugin: a virtual folder over the label folders
would show a message once per label (Dovecot's copies are separate messages), which Gmail never
does; a real folder holding each message once is the faithful model (docs/gmail.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from imapclient import imap_utf7

from tests.support.servers import ImapServer

ALL_MAIL, STARRED, IMPORTANT = "[Gmail]/All Mail", "[Gmail]/Starred", "[Gmail]/Important"
SENT, TRASH, SPAM = "[Gmail]/Sent Mail", "[Gmail]/Trash", "[Gmail]/Spam"
# a special-use folder -> the system label Gmail's X-GM-LABELS names it by
_SYSTEM_LABELS = {b"\\Sent": b"\\Sent", b"\\Drafts": b"\\Draft", b"\\Flagged": b"\\Starred",
                  b"\\Important": b"\\Important", b"\\Trash": b"\\Trash", b"\\Junk": b"\\Spam"}


@dataclass(frozen=True)
class GmailMessage:
    subject: str
    labels: tuple[str, ...]  # folder names: "INBOX", "Work/ProjectX", SENT, TRASH ...
    starred: bool = False
    important: bool = False
    day: int = 1

    def raw(self) -> bytes:
        return (f"From: a@example.com\r\nTo: b@example.com\r\nSubject: {self.subject}\r\n"
                f"Message-ID: <{self.subject}@gmail.example>\r\n\r\n{self.subject} body\r\n"
                ).encode()

    def folders(self) -> list[str]:
        out = list(self.labels)
        if not {TRASH, SPAM} & set(self.labels):
            out.append(ALL_MAIL)
        if self.starred:
            out.append(STARRED)
        if self.important:
            out.append(IMPORTANT)
        return out


# The example of docs/gmail.md
EXAMPLE = (
    GmailMessage("a", ("INBOX", "Work"), starred=True, important=True),
    GmailMessage("b", ("Work", "Work/ProjectX"), day=2),
    GmailMessage("c", (SENT,), important=True, day=3),
    GmailMessage("d", (), day=4),  # archived: All Mail only
    GmailMessage("e", (TRASH,), day=5),
)


def fill_gmail(server: ImapServer, user: str, messages: Sequence[GmailMessage] = EXAMPLE
               ) -> None:
    client = server.login(user)
    try:
        existing = {name for _f, _s, name in client.list_folders()}
        for message in messages:
            for folder in message.folders():
                if folder not in existing:
                    client.create_folder(folder)
                    existing.add(folder)
                flags = (b"\\Flagged",) if message.starred else ()
                client.append(folder, message.raw(), flags,
                              datetime(2024, 3, message.day, 9, 0, tzinfo=UTC))
    finally:
        client.logout()


def subjects_by_folder(server: ImapServer, user: str) -> dict[str, list[tuple[str, bool]]]:
    """Per non-empty folder: (subject, flagged) of each message, sorted."""
    client = server.login(user)
    try:
        result: dict[str, list[tuple[str, bool]]] = {}
        for _flags, _sep, name in client.list_folders():
            client.select_folder(name, readonly=True)
            uids = client.search(["ALL"])
            rows = client.fetch(uids, ["FLAGS", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]) \
                if uids else {}
            items = sorted(
                (row[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip(),
                 b"\\Flagged" in row[b"FLAGS"]) for row in rows.values())
            if items:
                result[name] = items
        return result
    finally:
        client.logout()


def labels_by_message_id(server: ImapServer, user: str) -> dict[bytes, tuple[bytes, ...]]:
    """Gmail's X-GM-LABELS of each message (by Message-ID value), derived from which folders
    show it now, the way Gmail derives folders from labels: INBOX ``\\Inbox``, a special-use
    folder its system label, any other folder its name (quoted, modified UTF-7); All Mail
    adds none."""
    client = server.login(user)
    try:
        labels: dict[bytes, list[bytes]] = {}
        for flags, _sep, name in client.list_folders():
            if b"\\All" in flags or b"\\Noselect" in flags:
                continue
            system = next((_SYSTEM_LABELS[f] for f in flags if f in _SYSTEM_LABELS), None)
            label = b"\\Inbox" if name == "INBOX" else system or (
                b'"' + imap_utf7.encode(name).replace(b'"', b'\\"') + b'"')
            client.select_folder(name, readonly=True)
            uids = client.search(["ALL"])
            rows = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]) if uids else {}
            for row in rows.values():
                header = row[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].strip()
                key = header.split(b":", 1)[-1].strip()
                labels.setdefault(key, []).append(label)
        return {key: tuple(values) for key, values in labels.items()}
    finally:
        client.logout()


def add_label(server: ImapServer, user: str, subject: str, folder: str) -> None:
    """Give the message ``subject`` the label ``folder`` (a copy there, as Gmail shows it)."""
    client = server.login(user)
    try:
        client.select_folder(ALL_MAIL, readonly=True)
        client.copy(client.search(["SUBJECT", subject]), folder)
    finally:
        client.logout()


def remove_label(server: ImapServer, user: str, subject: str, folder: str) -> None:
    """Take the label ``folder`` off the message ``subject`` (its copy there expunged)."""
    client = server.login(user)
    try:
        client.select_folder(folder)
        client.delete_messages(client.search(["SUBJECT", subject]))
        client.expunge()
    finally:
        client.logout()
