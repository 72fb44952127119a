"""Reading a Gmail-shaped source for the label policy (engine/sync/gmail_labels.py decides).

Before the survey the executor asks :func:`label_placement`: when the source is laid out like
Gmail (:func:`~engine.sync.gmail_labels.is_gmail_shaped`, Gmail itself through an OAuth or an
app-password login, or anything that mimics it) every folder is read once for the identity of
its messages: ``X-GM-MSGID`` (one ``UID FETCH`` item) when the server offers ``X-GM-EXT-1``,
else the fingerprint (headers are fetched only for messages the store does not know yet, as
the survey does: one more listing per folder per pass, the price of deciding before
copying). Anything else returns ``None`` and the pass goes on as for any IMAP server.

The filter (:func:`by_labels`) keeps the ContentFilter's safety rule: a message the store has
recorded for a folder always stays in its listing, so a policy never makes a copy look deleted
on the source and have it deleted on the target.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from engine.imap.source import GMAIL_MSGID_ITEM, ImapSource, SourceFolder, SourceFolderGone
from engine.store.batches import BatchSpec
from engine.sync.gmail_labels import (
    GMAIL_EXTENSION,
    POLICY_KEY,
    VIEW_FLAGS,
    LabelFolder,
    LabelPlacement,
    is_gmail_shaped,
    parse_policy,
    place,
)
from engine.sync.model import FolderSnapshot, FolderState
from engine.sync.snapshot import snapshot_folder

MSGID_ITEM = GMAIL_MSGID_ITEM


def batch_policy(batch: BatchSpec) -> str:
    text = batch.extra.get(POLICY_KEY)
    return parse_policy(text if isinstance(text, str) else None)


def label_placement(source: ImapSource, folders: Sequence[SourceFolder], batch: BatchSpec,
                    known: Callable[[str], FolderState | None]) -> LabelPlacement | None:
    """The batch policy's placement for a Gmail-shaped source, ``None`` for any other.
    ``known``: what the store remembers of a folder (its recorded UIDs and fingerprints)."""
    shape = [LabelFolder(f.name, f.path, f.flags) for f in folders]
    capabilities = source.session.capabilities
    if not is_gmail_shaped(shape, capabilities):
        return None
    by_msgid = GMAIL_EXTENSION in capabilities
    listed: list[LabelFolder] = []
    for folder, bare in zip(folders, shape, strict=True):
        if not folder.selectable:
            continue
        if VIEW_FLAGS & {f.lower() for f in folder.flags}:
            listed.append(bare)  # a view is never copied: no need to read it
            continue
        state = known(folder.name)
        try:
            messages = _identities(source, folder, by_msgid, state)
        except SourceFolderGone:
            continue  # the survey reports it
        recorded = frozenset(m.source_uid for m in state.messages
                             if m.source_uid is not None) if state is not None else frozenset()
        listed.append(replace(bare, messages=messages, recorded=recorded))
    return place(listed, batch_policy(batch))


def _identities(source: ImapSource, folder: SourceFolder, by_msgid: bool,
                known: FolderState | None) -> tuple[tuple[int, str], ...]:
    if not by_msgid:  # always listed; headers fetched only for messages the store lacks
        forced = None if known is None else replace(
            known, status=replace(known.status, highestmodseq=None))
        prints = {m.source_uid: m.fingerprint for m in known.messages
                  if m.source_uid is not None} if known is not None else {}
        snapshot = snapshot_folder(source, folder, forced, prints)
        return tuple((m.uid, m.fingerprint) for m in snapshot.messages or ())
    status = source.select(folder)
    if status.exists == 0:
        return ()
    ids = source.gmail_message_ids(status.uidnext)
    return tuple((uid, "gm:" + ids[uid]) for uid in sorted(ids))


def by_labels(snapshot: FolderSnapshot, known: FolderState | None,
              placement: LabelPlacement | None) -> FolderSnapshot:
    """``snapshot`` without the unrecorded messages the policy copies from another folder."""
    if placement is None or snapshot.messages is None:
        return snapshot
    uids = {m.source_uid for m in known.messages} if known is not None else set()
    prints = {m.fingerprint for m in known.messages} if known is not None else set()
    return replace(snapshot, messages=tuple(  # recorded here by UID or (detached) fingerprint
        m for m in snapshot.messages
        if m.uid in uids or m.fingerprint in prints or placement.keeps(snapshot.name, m.uid)))
