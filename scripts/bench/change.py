"""The incremental scenario's change on A: 1 % of a mailbox, made and then taken back.

Half of the changed messages are new (a corpus of another seed APPENDed to INBOX), the other
half are INBOX messages that get ``\\Flagged`` (chosen among those without it, lowest UIDs
first). ``undo`` deletes what was appended and takes the flag off again, so the next tool
starts from the same source mailbox (with a higher UIDNEXT, which no tool's fresh copy minds).
"""

from __future__ import annotations

from dataclasses import dataclass

from imapclient import IMAPClient

from scripts import corpus
from tests.support.servers import ImapServer

CHANGE_SEED = 9001


@dataclass(frozen=True)
class Change:
    user: str
    appended: tuple[int, ...]  # UIDs of the new messages in INBOX
    flagged: tuple[int, ...]  # UIDs that got \Flagged

    @property
    def size(self) -> int:
        return len(self.appended) + len(self.flagged)


def apply(server: ImapServer, user: str, count: int) -> Change:
    """Change ``count`` messages (at least 2) of ``user``'s INBOX on ``server``."""
    new, flag = max(1, count // 2), max(1, count - count // 2)
    client = _login(server, user)
    try:
        client.select_folder("INBOX")
        unflagged = client.search(["UNFLAGGED"])
        to_flag = sorted(unflagged)[:flag]
        client.add_flags(to_flag, [b"\\Flagged"], silent=True)
        before = client.folder_status("INBOX", [b"UIDNEXT"])[b"UIDNEXT"]
        messages = list(corpus.generate(CHANGE_SEED, new, profile="bench").messages())
        client.multiappend("INBOX", [{"msg": m.raw, "flags": m.flags, "date": m.internaldate}
                                     for m in messages])
        client.select_folder("INBOX")
        appended = client.search(["UID", f"{before}:*"])
        return Change(user, tuple(u for u in appended if u >= before), tuple(to_flag))
    finally:
        client.logout()


def undo(server: ImapServer, change: Change) -> None:
    client = _login(server, change.user)
    try:
        client.select_folder("INBOX")
        client.remove_flags(list(change.flagged), [b"\\Flagged"], silent=True)
        client.add_flags(list(change.appended), [b"\\Deleted"], silent=True)
        client.uid_expunge(list(change.appended))
    finally:
        client.logout()


def _login(server: ImapServer, user: str) -> IMAPClient:
    client = IMAPClient(server.host, server.port, ssl=False, timeout=300)
    client.login(user, server.password)
    return client
