"""Which of the source's mail a batch migrates, beyond -ExcludeFolders: New-MigrationBatch's
``-IncludeFolders`` and ``-ContentFilter``, kept in the batch row's ``extra``.

* ``-IncludeFolders`` uses -ExcludeFolders' syntax and matching (engine/excludes.py,
  :func:`~engine.excludes.keep_included`); a folder that is not included is treated exactly
  as an excluded one (never touched on the target, never "vanished").
* ``-ContentFilter`` (engine/content_filter.py) drops from a folder's listing the messages it
  does not match **and that the store has never recorded**: they are not copied, not counted
  in the folder's items, and not missing. A message the store knows always stays in the
  listing — by its UID in this folder (copied before, pending, skipped), by its fingerprint in
  this folder (a UIDVALIDITY reset detaches rows from their UIDs; a new source endpoint gives
  new UIDs), or by its fingerprint as a copy in another folder (a source-side move between
  folders) — so the filter can never make a copy look deleted on the source and have it
  deleted on the target: such a message is re-paired or moved as without a filter. The
  price: an old message the source *copies* (not moves) into a second folder is copied there
  too, although the filter would leave it out — the filter errs toward copying, never toward
  deleting.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from typing import TYPE_CHECKING

from engine.content_filter import Node, matches, parse_content_filter
from engine.store.batches import BatchSpec

if TYPE_CHECKING:  # New-MigrationBatch reads this module: it must not load the sync model
    from engine.sync.model import FolderSnapshot, FolderState

INCLUDE_FOLDERS, CONTENT_FILTER = "include_folders", "content_filter"


def included_folders(batch: BatchSpec) -> tuple[str, ...]:
    return tuple(batch.extra.get(INCLUDE_FOLDERS) or ())


def content_filter(batch: BatchSpec) -> Node | None:
    text = batch.extra.get(CONTENT_FILTER)
    return parse_content_filter(text) if text else None


def filtered_out(snapshot: FolderSnapshot, node: Node | None) -> list[str]:
    """The fingerprints of the listed messages ``node`` does not match (the candidates whose
    copies elsewhere the caller looks up for :func:`by_content_filter`)."""
    if node is None or snapshot.messages is None:
        return []
    return [m.fingerprint for m in snapshot.messages if not matches(node, m.internaldate)]


def by_content_filter(snapshot: FolderSnapshot, known: FolderState | None,
                      node: Node | None,
                      copied_elsewhere: Collection[str] = frozenset()) -> FolderSnapshot:
    """``snapshot`` without the unrecorded messages ``node`` does not match. Recorded: a UID
    or a fingerprint of this folder's rows, or a fingerprint in ``copied_elsewhere`` (copies
    that other folders of the user hold)."""
    if node is None or snapshot.messages is None:
        return snapshot
    uids = {m.source_uid for m in known.messages} if known is not None else set()
    prints = {m.fingerprint for m in known.messages} if known is not None else set()
    return replace(snapshot, messages=tuple(
        m for m in snapshot.messages
        if m.uid in uids or m.fingerprint in prints or m.fingerprint in copied_elsewhere
        or matches(node, m.internaldate)))


def selection_extra(include_folders: tuple[str, ...], content_filter_text: str | None
                    ) -> dict[str, object]:
    """What New-MigrationBatch stores in the batch's ``extra`` (validated by the caller)."""
    extra: dict[str, object] = {}
    if include_folders:
        extra[INCLUDE_FOLDERS] = list(include_folders)
    if content_filter_text:
        extra[CONTENT_FILTER] = content_filter_text.strip()
    return extra
