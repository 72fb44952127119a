"""Reading one source folder into the planner's :class:`~engine.sync.model.FolderSnapshot`.

The cheap path first: EXAMINE gives UIDVALIDITY, UIDNEXT, EXISTS and (CONDSTORE) HIGHESTMODSEQ;
when they equal what the last completed pass recorded (:func:`engine.sync.planner.
needs_listing`), the folder is not listed at all. Otherwise UID/FLAGS/SIZE/INTERNALDATE are
listed, and header fields for the fingerprint are fetched only for messages the store does not
already know under the same UIDVALIDITY (a UID never names another message while UIDVALIDITY
holds, so the stored fingerprint is still right).

On a CONDSTORE source whose folder changed, :func:`read_changes` reads only what changed
since the recorded status (engine/sync/incremental.py says when and why that is enough).

The listing is bounded by the UIDNEXT of the EXAMINE whose status the folder records, so mail
arriving while the folder is read is listed by the next pass, never lost between two. A folder
that cannot be examined any more raises :class:`engine.imap.source.SourceFolderGone`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from engine.imap.source import ImapSource
from engine.mail import (
    ExaminedStatus,
    Flags,
    ListedMessage,
    SourceFolder,
    fingerprint_of,
    normalize_flags,
)
from engine.sync.model import FolderSnapshot, FolderState, FolderStatus, SourceMessage
from engine.sync.planner import needs_listing


def status_of(examined: ExaminedStatus) -> FolderStatus:
    """The planner's view of an EXAMINE."""
    return FolderStatus(examined.uidvalidity, examined.uidnext, examined.highestmodseq,
                        examined.exists)


def snapshot_folder(source: ImapSource, folder: SourceFolder, known: FolderState | None,
                    fingerprints: Mapping[int, str], examined: ExaminedStatus | None = None
                    ) -> FolderSnapshot:
    """The folder as the source shows it now. ``fingerprints``: the stored fingerprint of each
    source UID the store knows for this folder (under ``known``'s UIDVALIDITY); ``examined``:
    what :meth:`ImapSource.select` just returned for it (saves an EXAMINE)."""
    if examined is None:
        examined = source.select(folder)
    status = status_of(examined)
    if not needs_listing(status, known):
        return FolderSnapshot(folder.name, status, None)
    same_validity = known is not None and known.status.uidvalidity == status.uidvalidity
    reusable = fingerprints if same_validity else {}
    first_unknown = 1
    if reusable and known is not None and known.status.uidnext:
        first_unknown = known.status.uidnext
    listed = source.listing(folder, fingerprints_from_uid=first_unknown,
                            status=examined)
    return FolderSnapshot(folder.name, status, _source_messages(source, listed, reusable))


def snapshot_windows(source: ImapSource, folder: SourceFolder, examined: ExaminedStatus
                     ) -> Iterator[FolderSnapshot]:
    """A folder nothing is known of, one listing window at a time (each snapshot holds one
    window's messages, fingerprints fetched; all carry the examined status): for the
    windowed initial copy of a large folder (engine/sync/executor.py, ``_apply_windows``)."""
    status = status_of(examined)
    for listed in source.listing_windows(folder, status=examined):
        yield FolderSnapshot(folder.name, status, _source_messages(source, listed, {}))


def read_changes(source: ImapSource, examined: ExaminedStatus, recorded: FolderStatus
                 ) -> tuple[tuple[SourceMessage, ...], dict[int, Flags]]:
    """What changed in the selected folder since ``recorded`` (engine/sync/incremental.py,
    ``CHANGES``): the messages from the recorded UIDNEXT on, with fingerprints, and the flags
    of the older messages whose MODSEQ passed the recorded HIGHESTMODSEQ."""
    assert recorded.highestmodseq is not None
    new = _source_messages(source, source.new_messages(recorded.uidnext, examined), {})
    flags = {uid: normalize_flags(raw) for uid, raw in
             source.changed_flags(recorded.uidnext, recorded.highestmodseq).items()}
    return new, flags


def _source_messages(source: ImapSource, listed: list[ListedMessage],
                     reusable: Mapping[int, str]) -> tuple[SourceMessage, ...]:
    """The planner's messages of a listing: fingerprints from the listing's headers, else
    ``reusable`` (stored), else header fields fetched now for the rest."""
    missing = [m.uid for m in listed if m.fingerprint is None and m.uid not in reusable]
    fetched = _fingerprints(source, listed, missing) if missing else {}
    return tuple(SourceMessage(m.uid, _fingerprint(m, reusable, fetched), m.size,
                               frozenset((*m.flags, *m.keywords)), m.internaldate)
                 for m in listed)


def _fingerprint(message: ListedMessage, reusable: Mapping[int, str],
                 fetched: Mapping[int, str]) -> str:
    if message.fingerprint is not None:
        return message.fingerprint.key
    return reusable.get(message.uid) or fetched[message.uid]


def _fingerprints(source: ImapSource, listed: list[ListedMessage], uids: list[int]
                  ) -> dict[int, str]:
    """Fingerprint keys for ``uids`` of the selected folder (header fields fetched now)."""
    by_uid = {m.uid: m for m in listed}
    blocks = source.header_blocks(uids)
    result: dict[int, str] = {}
    for uid in uids:
        header = blocks.get(uid, b"")
        message = by_uid[uid]
        result[uid] = fingerprint_of(header, message.size, message.internaldate).key
    return result
