"""The comparison: mailbox B against mailbox A, folder by folder, as multisets of messages.

It reads what two :class:`~engine.verify.model.MailboxSource` objects yield and changes
nothing (its only writes are its own temporary files, below); never a body is kept.

- Folders are matched by logical path; ``folder_map`` maps A's path to B's where the
  migration put it elsewhere (the target names engine/sync/target_names.py chose, recorded per
  folder); ``by_special_use`` matches Sent/Drafts/Trash/Junk/Archive by role first.
- Messages are keyed by content digest. Copies of one digest pair exact matches first (same
  flags, keywords, date), then in order; what stays unpaired differs in flags, keywords or
  date, or is missing / duplicated.
- A missing and an extra message with the same Message-ID (one each) are one *altered*
  message: its content changed on the way.
- A missing message whose source UID is in ``skipped_uids`` for its folder was recorded as
  skipped by the migration: counted as skipped, not as missing.

**Both sides are read at once** (``parallel``, the default): B's folder is read in a second
thread while A's is read in this one. Each side has its own connection (or directory), and
hashing and socket reads release the GIL, so a proof takes about as long as reading the slower
mailbox once, not the two one after the other.

**Memory stays constant**: each side's records of a folder are stored, as they are read, in a
private temporary SQLite database (engine/verify/spill.py) and merged back digest group by
digest group; only what differs is held. Held in memory, the proof of a 100,000-message folder
once grew the runner from 161 to 388 MB. (A Gmail-shaped source's label view,
engine/verify/gmail.py, still holds its folders' records in memory to place each message once.)
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from engine.folders import FolderPath
from engine.verify.model import (
    FolderDiff,
    FolderInfo,
    MailboxSource,
    MessageRecord,
    Report,
    as_path,
)
from engine.verify.spill import Spill

# Folder names that imply a role when a store has no SPECIAL-USE attributes (Maildir).
ROLE_NAMES = {
    "\\Sent": ("sent", "sent items", "sent messages", "sent mail", "gesendet"),
    "\\Drafts": ("drafts", "draft", "entwürfe"),
    "\\Trash": ("trash", "deleted items", "deleted messages", "papierkorb"),
    "\\Junk": ("junk", "spam", "junk e-mail", "junk email"),
    "\\Archive": ("archive", "archives"),
}


def compare(a: MailboxSource, b: MailboxSource, *,
            ignore_folders: Iterable[FolderPath | str] = (), date_tolerance: float = 0.0,
            by_special_use: bool = False,
            folder_map: Mapping[FolderPath, FolderPath] | None = None,
            skipped_uids: Mapping[FolderPath, Collection[int]] | None = None,
            parallel: bool = True) -> Report:
    """Compare B against A (see the module docstring)."""
    ignored = {as_path(p) for p in ignore_folders}
    folders_a = _keyed(a.folders(), ignored, by_special_use)
    folders_b = _keyed(b.folders(), ignored, by_special_use)
    mapping = dict(folder_map or {})
    report = Report(a.description, b.description)
    wanted_b = {key: mapping.get(key, key) for key in folders_a}
    report.folders_missing = sorted(k for k, kb in wanted_b.items() if kb not in folders_b)
    claimed = set(wanted_b.values())
    report.folders_extra = sorted(k for k in folders_b if k not in claimed)
    skipped = skipped_uids or {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="proof-b") as pool:
        for key in sorted(k for k, kb in wanted_b.items() if kb in folders_b):
            spill_a, spill_b = _read_both(a, folders_a[key], b, folders_b[wanted_b[key]],
                                          pool if parallel else None)
            try:
                diff = compare_spilled(spill_a, spill_b, date_tolerance, skipped.get(key, ()))
            finally:
                spill_a.close()
                spill_b.close()
            diff.path = key
            report.folders.append(diff)
    return report


def _read_both(a: MailboxSource, folder_a: FolderInfo, b: MailboxSource, folder_b: FolderInfo,
               pool: ThreadPoolExecutor | None) -> tuple[Spill, Spill]:
    """One folder of each side, each into its own spill; B in the pool's thread while A is
    read here."""
    spill_a = Spill()
    try:
        spill_b = Spill()
    except BaseException:
        spill_a.close()
        raise
    future: Future[None] | None = None
    try:
        if pool is None:
            spill_a.add_all(a.messages(folder_a))
            spill_b.add_all(b.messages(folder_b))
            return spill_a, spill_b
        future = pool.submit(lambda: spill_b.add_all(b.messages(folder_b)))
        try:
            spill_a.add_all(a.messages(folder_a))
        except BaseException:
            future.cancel()
            with contextlib.suppress(Exception):
                future.result()  # let B's reading end before the error leaves
            raise
        future.result()
        return spill_a, spill_b
    except BaseException:
        spill_a.close()
        if future is None or future.done():
            spill_b.close()
        else:  # interrupted while B still reads: B's file is closed once B is done with it
            future.add_done_callback(lambda _done: spill_b.close())
        raise


def _keyed(folders: list[FolderInfo], ignored: set[FolderPath],
           by_special_use: bool) -> dict[FolderPath, FolderInfo]:
    keyed: dict[FolderPath, FolderInfo] = {}
    for folder in folders:
        if folder.path in ignored:
            continue
        role = _role(folder) if by_special_use else None
        key: FolderPath = (role,) if role and (role,) not in keyed else folder.path
        keyed[key] = folder
    return keyed


def _role(folder: FolderInfo) -> str | None:
    if folder.special_use:
        return folder.special_use
    if len(folder.path) == 1:
        name = folder.path[0].lower()
        return next((r for r, names in ROLE_NAMES.items() if name in names), None)
    return None


def compare_folder(a: Iterable[MessageRecord], b: Iterable[MessageRecord],
                   date_tolerance: float = 0.0, skipped_uids: Collection[int] = ()
                   ) -> FolderDiff:
    """Compare two folders' messages as multisets keyed by digest."""
    spill_a, spill_b = Spill(), Spill()
    try:
        spill_a.add_all(a)
        spill_b.add_all(b)
        return compare_spilled(spill_a, spill_b, date_tolerance, skipped_uids)
    finally:
        spill_a.close()
        spill_b.close()


def compare_spilled(a: Spill, b: Spill, date_tolerance: float = 0.0,
                    skipped_uids: Collection[int] = ()) -> FolderDiff:
    """:func:`compare_folder` over two filled spills: their digest groups are merged in
    digest order, one group of each side in memory at a time; only differences are kept,
    and reported in the order of first appearance (A's, and B's for the extra ones)."""
    diff = FolderDiff(path=(), count_a=a.count, count_b=b.count, bytes_a=a.bytes,
                      bytes_b=b.bytes)
    differing: list[tuple[int, FolderDiff, list[MessageRecord]]] = []  # by A's first position
    extra: list[tuple[int, list[MessageRecord]]] = []  # by B's first position
    for copies_a, first_a, copies_b, first_b in _merged(a.groups(), b.groups()):
        if not copies_a:
            extra.append((first_b, copies_b))
            continue
        group = FolderDiff(path=())
        lacking = _compare_copies(group, copies_a, copies_b, date_tolerance)
        if lacking or group.flags or group.keywords or group.dates or group.duplicated:
            differing.append((first_a, group, lacking))
    missing: list[MessageRecord] = []
    for _first, group, lacking in sorted(differing, key=lambda item: item[0]):
        diff.flags += group.flags
        diff.keywords += group.keywords
        diff.dates += group.dates
        diff.duplicated += group.duplicated
        missing += lacking
    extras = [r for _first, copies in sorted(extra, key=lambda item: item[0]) for r in copies]
    missing, extras = _pair_altered(diff, missing, extras)
    skipped = set(skipped_uids)
    diff.skipped += [r.label for r in missing if r.uid is not None and r.uid in skipped]
    diff.missing += [r.label for r in missing if r.uid is None or r.uid not in skipped]
    diff.extra += [r.label for r in extras]
    return diff


_Group = tuple[str, int, list[MessageRecord]]


def _merged(a: Iterator[_Group], b: Iterator[_Group]
            ) -> Iterator[tuple[list[MessageRecord], int, list[MessageRecord], int]]:
    """Both sides' digest groups side by side: (A's copies, A's first position, B's copies,
    B's first position), an empty list where a side lacks the digest."""
    group_a, group_b = next(a, None), next(b, None)
    while group_a is not None or group_b is not None:
        if group_b is None or (group_a is not None and group_a[0] < group_b[0]):
            assert group_a is not None
            yield group_a[2], group_a[1], [], 0
            group_a = next(a, None)
        elif group_a is None or group_b[0] < group_a[0]:
            yield [], 0, group_b[2], group_b[1]
            group_b = next(b, None)
        else:
            yield group_a[2], group_a[1], group_b[2], group_b[1]
            group_a, group_b = next(a, None), next(b, None)


def _compare_copies(diff: FolderDiff, copies_a: list[MessageRecord],
                    copies_b: list[MessageRecord], tolerance: float) -> list[MessageRecord]:
    """Pair the copies of one message: exact matches first, then in order; report the rest.
    Returns A's copies that B lacks."""
    unmatched_b = list(copies_b)
    unmatched_a = []
    for record in copies_a:
        match = next((r for r in unmatched_b if _same_state(record, r, tolerance)), None)
        if match is None:
            unmatched_a.append(record)
        else:
            unmatched_b.remove(match)
    for ra, rb in zip(unmatched_a, unmatched_b, strict=False):
        if ra.flags != rb.flags:
            diff.flags.append((ra.label, ra.flags, rb.flags))
        if ra.keywords != rb.keywords:
            diff.keywords.append((ra.label, ra.keywords, rb.keywords))
        if not _same_date(ra.internaldate, rb.internaldate, tolerance):
            diff.dates.append((ra.label, ra.internaldate, rb.internaldate))
    diff.duplicated += [r.label for r in unmatched_b[len(unmatched_a):]]
    return unmatched_a[len(unmatched_b):]


def _pair_altered(diff: FolderDiff, missing: list[MessageRecord], extra: list[MessageRecord]
                  ) -> tuple[list[MessageRecord], list[MessageRecord]]:
    """A missing and an extra message sharing a Message-ID that neither side repeats are
    one altered message."""
    def unique(records: list[MessageRecord]) -> dict[str, MessageRecord]:
        count: dict[str, int] = defaultdict(int)
        for r in records:
            if r.message_id:
                count[r.message_id] += 1
        return {r.message_id: r for r in records if r.message_id and count[r.message_id] == 1}

    in_a, in_b = unique(missing), unique(extra)
    pairs = [(in_a[m], in_b[m]) for m in in_a if m in in_b]
    paired_a = {id(ra) for ra, _ in pairs}
    paired_b = {id(rb) for _, rb in pairs}
    diff.altered += [(ra.label, rb.label) for ra, rb in pairs]
    return ([r for r in missing if id(r) not in paired_a],
            [r for r in extra if id(r) not in paired_b])


def _same_state(a: MessageRecord, b: MessageRecord, tolerance: float) -> bool:
    return (a.flags == b.flags and a.keywords == b.keywords
            and _same_date(a.internaldate, b.internaldate, tolerance))


def _same_date(a: datetime | None, b: datetime | None, tolerance: float) -> bool:
    if a is None or b is None:
        return a is b
    return abs((a - b).total_seconds()) <= tolerance
