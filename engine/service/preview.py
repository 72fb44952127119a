"""The preview of a batch: what would move, per user, before anything moves.

``New-MigrationBatch ... -WhatIf`` and ``Start-MigrationBatch -WhatIf`` call
:func:`preview_users` after every check the real command makes has passed. For each user it logs
in to the source as the sync would (the CSV's UserName/Password, the admin formats, UserRoot),
LISTs the folders the batch migrates, EXAMINEs each and lists UID, FLAGS, RFC822.SIZE and
INTERNALDATE: nothing is fetched but the header fields (Subject, Message-ID) of the items that
would be refused, and nothing changes.

- **Selection**: the sync's own (the executor's ``_list`` and its snapshot filters), so
  ItemCount and TotalSize count what the sync would copy: ``-ExcludeFolders`` and
  ``-IncludeFolders`` (engine/excludes.py), ``-ContentFilter`` (engine/sync/selection.py; a
  preview assumes the store recorded nothing), and on a Gmail-shaped source the
  ``-GmailLabelPolicy`` placement (engine/sync/gmail_source.py): its views are no folders, and
  a message another folder already contributes is not counted again.

- **Refused items** are those the sync would skip: larger than the pass's message size limit
  (:func:`engine.limits.message_size_limit`, as the executor decides it: the target endpoint's
  ``-MaxMessageSize``, else 35 MB; a target server's APPENDLIMIT is known only once the sync
  connects to it, so it is not applied here), and the items past
  :data:`engine.limits.MAX_ITEMS_PER_MAILBOX` (Exchange Online's 500,000).
- **Estimated duration**: the mailbox's bytes at the source endpoint's measured throughput
  (bytes transferred over initial-sync seconds of every user already migrated from it), or
  :data:`DEFAULT_BYTES_PER_SECOND` (2 MB/s) before anything was measured; plus
  :data:`SECONDS_PER_MESSAGE` per message for the per-item round trips. A user that cannot be
  read gets its error instead of numbers; the others are still previewed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import timedelta

from engine.content_filter import Node, matches
from engine.endpoints import imap_settings, max_message_size, source_login
from engine.errors import ImshError
from engine.excludes import (
    ExcludeCandidate,
    FolderPattern,
    filter_folders,
    keep_included,
    parse_exclude_folders,
)
from engine.folders import display_name
from engine.imap.commands import fetch
from engine.imap.connection import ImapSession, ImapSettings, imap_errors, open_session
from engine.imap.source import HEADER_ITEM, ImapSource
from engine.limits import (
    MAX_ITEMS_PER_MAILBOX,
    MAX_MESSAGE_SIZE_BYTES,
    MessageSizeLimit,
    message_size_limit,
)
from engine.mail import message_id
from engine.store import Store
from engine.store.batches import BatchSpec
from engine.store.endpoints import EndpointRow
from engine.store.users import MigrationUserRow, MigrationUserSpec
from engine.sync.gmail_source import label_placement
from engine.sync.selection import content_filter, included_folders
from engine.verify.model import header

DEFAULT_BYTES_PER_SECOND = 2 * 1024 * 1024
SECONDS_PER_MESSAGE = 0.01
_HEADER_LIMIT = 200  # refused items named per user (their headers are fetched)


@dataclass(frozen=True)
class RefusedItem:
    folder: str
    subject: str
    message_id: str | None
    size: int
    reason: str


@dataclass(frozen=True)
class FolderSize:
    folder: str
    messages: int
    bytes: int


@dataclass(frozen=True)
class UserPreview:
    email_address: str
    folders: tuple[FolderSize, ...] = ()
    refused: tuple[RefusedItem, ...] = ()
    estimated_duration: timedelta = timedelta(0)
    throughput: float = DEFAULT_BYTES_PER_SECOND  # bytes per second the estimate assumed
    measured: bool = False  # the throughput was measured on this endpoint
    error: str | None = None

    @property
    def messages(self) -> int:
        return sum(f.messages for f in self.folders)

    @property
    def bytes(self) -> int:
        return sum(f.bytes for f in self.folders)


def measured_throughput(store: Store, source: EndpointRow) -> float | None:
    """Bytes per second over the initial syncs of every user migrated from ``source``."""
    moved, seconds = 0, 0.0
    for batch in store.batches.list():
        if batch.source_endpoint_id != source.id:
            continue
        for user in store.users.list(batch_id=batch.id):
            stats = store.statistics.get(user.id)
            if stats.initial_sync_seconds and stats.bytes_transferred:
                moved += stats.bytes_transferred
                seconds += stats.initial_sync_seconds
    return moved / seconds if moved and seconds > 0 else None


@dataclass(frozen=True)
class _Selection:
    """What the batch migrates, parsed once for all its users."""

    batch: BatchSpec
    excluded: Sequence[FolderPattern]
    included: Sequence[FolderPattern]
    content: Node | None


def preview_users(store: Store, source: EndpointRow, users: Iterable[MigrationUserSpec],
                  batch: BatchSpec, target: EndpointRow | None = None
                  ) -> list[UserPreview]:
    size_limit = message_size_limit(
        MAX_MESSAGE_SIZE_BYTES,
        max_message_size(target) if target is not None and target.kind == "IMAP" else None)
    measured = measured_throughput(store, source)
    rate = measured or DEFAULT_BYTES_PER_SECOND
    selection = _Selection(batch, parse_exclude_folders(batch.exclude_folders),
                           parse_exclude_folders(included_folders(batch)), content_filter(batch))
    results = []
    for spec in users:
        try:
            results.append(_preview(source, _row(spec), selection, rate, measured is not None,
                                    size_limit))
        except ImshError as exc:
            results.append(UserPreview(spec.email_address, error=exc.message))
    return results


def _row(spec: MigrationUserSpec) -> MigrationUserRow:
    if isinstance(spec, MigrationUserRow):
        return spec
    return MigrationUserRow(**{f.name: getattr(spec, f.name) for f in fields(spec)})


def _preview(endpoint: EndpointRow, user: MigrationUserRow, selection: _Selection,
             rate: float, measured: bool, size_limit: MessageSizeLimit | None) -> UserPreview:
    settings = imap_settings(endpoint)
    plan = source_login(user, endpoint)
    session = open_session(settings, plan)
    try:
        reader = ImapSource(session, user_root=plan.user_root)
        folders = reader.list_folders()
        separator = next((f.separator for f in folders if f.separator), "/")
        kept = {f.path for f in keep_included(filter_folders(
            [ExcludeCandidate(f.path, frozenset(f.flags)) for f in folders],
            selection.excluded, separator=separator), selection.included, separator=separator)}
        included = [f for f in folders if f.path in kept]
        labels = label_placement(reader, included, selection.batch, lambda _name: None)
        views = labels.views if labels is not None else frozenset()
        listed = [f for f in included if f.selectable and f.name not in views]
        sizes: list[FolderSize] = []
        refused: list[RefusedItem] = []
        count = 0
        for folder in (f for f in listed if f.path in kept):
            status = reader.select(folder)
            messages = [m for m in reader.listing(folder, fingerprints_from_uid=2**32,
                                                  status=status)
                        if (selection.content is None or matches(selection.content,
                                                                 m.internaldate))
                        and (labels is None or labels.keeps(folder.name, m.uid))]
            name = display_name(folder.path)
            sizes.append(FolderSize(name, len(messages), sum(m.size for m in messages)))
            too_large = [m for m in messages
                         if size_limit is not None and m.size > size_limit.limit]
            over = messages[max(0, MAX_ITEMS_PER_MAILBOX - count):]
            count += len(messages)
            named = {m.uid: m for m in [*too_large, *over]}
            heads = _headers(session, settings, list(named)[:_HEADER_LIMIT])
            for m in too_large:
                assert size_limit is not None
                refused.append(_refused(name, m.uid, m.size, heads, size_limit.reason(m.size)))
            for m in over:
                refused.append(_refused(name, m.uid, m.size, heads, (
                    f"beyond the {MAX_ITEMS_PER_MAILBOX:,} items migrated per mailbox")))
    finally:
        session.close()
    total_bytes = sum(f.bytes for f in sizes)
    seconds = total_bytes / rate + count * SECONDS_PER_MESSAGE
    return UserPreview(user.email_address, tuple(sizes), tuple(refused),
                       timedelta(seconds=round(seconds)), rate, measured)


def _headers(session: ImapSession, settings: ImapSettings, uids: list[int]
             ) -> dict[int, bytes]:
    if not uids:
        return {}
    with imap_errors(settings, "read message headers"):
        rows = fetch(session.client, uids, [HEADER_ITEM])
    found: dict[int, bytes] = {}
    for uid, row in rows.items():
        for key, value in row.items():
            if key.upper().startswith(b"BODY[HEADER") and isinstance(value, bytes):
                found[uid] = value
    return found


def _refused(folder: str, uid: int, size: int, heads: dict[int, bytes], reason: str
             ) -> RefusedItem:
    head = heads.get(uid, b"").replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return RefusedItem(folder, header(head, b"subject") or f"(UID {uid})",
                       message_id(head) if head else None, size, reason)
