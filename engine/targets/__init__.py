"""Targets: the mailbox stores the sync engine copies into (:mod:`.base` is the contract).

:mod:`.imap` appends to an IMAP server, :mod:`.maildir` writes Maildir++ trees. Stateless
I/O: nothing here touches the store.
"""

from engine.targets.base import (
    AppendResult,
    Lookup,
    OutgoingMessage,
    Rejected,
    Target,
    TargetFolders,
    TargetMailbox,
    TargetRef,
)

__all__ = [
    "AppendResult",
    "Lookup",
    "OutgoingMessage",
    "Rejected",
    "Target",
    "TargetFolders",
    "TargetMailbox",
    "TargetRef",
]
