"""Reading a Gmail-shaped source for the label policy (engine/sync/gmail_labels.py decides).

Before the survey the executor asks :func:`label_placement`: when the source is laid out like
Gmail (:func:`~engine.sync.gmail_labels.is_gmail_shaped`, Gmail itself through an OAuth or an
app-password login, or anything that mimics it) the identities of its messages are read:

* with ``X-GM-EXT-1``: All Mail once, ``UID FETCH (X-GM-MSGID X-GM-LABELS)``: every message's
  id and labels, so which folders show it; then only the label folders whose UIDs the
  placement needs (``UID FETCH (X-GM-MSGID)``: recorded copies, Trash and Spam, folders the
  policy drops a message from; :func:`~engine.sync.gmail_labels.needs_reading`). Without an
  All Mail folder, each folder's ``X-GM-MSGID``;
* without it, every folder's fingerprints (headers are fetched only for messages the store
  does not know yet, as the survey does: one more listing per folder per pass, the price of
  deciding before copying).

Anything else returns ``None`` and the pass goes on as for any IMAP server.

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
    ALL_FLAG,
    GMAIL_EXTENSION,
    POLICY_KEY,
    VIEW_FLAGS,
    LabelFolder,
    LabelPlacement,
    from_labels,
    is_gmail_shaped,
    members_by_label,
    needs_reading,
    parse_policy,
    place,
    unread_with_drops,
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
    policy = batch_policy(batch)
    homes = [(folder, bare) for folder, bare in zip(folders, shape, strict=True)
             if folder.selectable and not VIEW_FLAGS & {f.lower() for f in folder.flags}]
    views = [bare for folder, bare in zip(folders, shape, strict=True)
             if folder.selectable and VIEW_FLAGS & {f.lower() for f in folder.flags}]
    all_mail = next((folder for folder, _ in homes
                     if ALL_FLAG in {f.lower() for f in folder.flags}), None)
    labels = _all_mail_labels(source, all_mail) if by_msgid and all_mail is not None else None
    if labels is None:  # no X-GM-LABELS: every folder's listing says what it shows
        read = [_read(source, folder, bare, by_msgid, known) for folder, bare in homes]
        return place([*views, *(f for f in read if f is not None)], policy)
    all_uids, by_identity = labels
    members = members_by_label(by_identity, shape)
    listed: dict[str, LabelFolder] = {}
    for folder, bare in homes:
        if folder is all_mail:
            listed[folder.name] = replace(bare, messages=all_uids)
        elif needs_reading(bare, known(folder.name) is not None):
            if (got := _read(source, folder, bare, True, known)) is not None:
                listed[folder.name] = got
        else:
            listed[folder.name] = from_labels(bare, members.get(folder.name, ()))
    placement = place([*views, *listed.values()], policy)
    again = unread_with_drops(placement, list(listed.values()))
    if not again:
        return placement
    by_name = {folder.name: (folder, bare) for folder, bare in homes}
    for name in again:  # their UIDs are needed to leave out what the policy drops there
        got = _read(source, *by_name[name], True, known)
        if got is None:
            listed.pop(name)
        else:
            listed[name] = got
    return place([*views, *listed.values()], policy)


def _all_mail_labels(source: ImapSource, all_mail: SourceFolder
                     ) -> tuple[tuple[tuple[int, str], ...], dict[str, tuple[str, ...]]] | None:
    """All Mail's (UID, identity) pairs and each identity's labels; ``None`` when the folder
    is gone (the other folders' listings then decide)."""
    try:
        status = source.select(all_mail)
    except SourceFolderGone:
        return None
    rows = source.gmail_labels(status.uidnext) if status.exists else {}
    uids = tuple((uid, "gm:" + rows[uid][0]) for uid in sorted(rows))
    return uids, {"gm:" + msgid: labels for msgid, labels in rows.values()}


def _read(source: ImapSource, folder: SourceFolder, bare: LabelFolder, by_msgid: bool,
          known: Callable[[str], FolderState | None]) -> LabelFolder | None:
    """A folder read for the identities of its messages; ``None`` when it is gone."""
    state = known(folder.name)
    try:
        messages = _identities(source, folder, by_msgid, state)
    except SourceFolderGone:
        return None  # the survey reports it
    recorded = frozenset(m.source_uid for m in state.messages
                         if m.source_uid is not None) if state is not None else frozenset()
    return replace(bare, messages=messages, recorded=recorded)


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
