"""UID sets on the wire: compressed into ranges and split under a safe command length.

Pure functions, no I/O. Every UID command the engine sends for many messages (UID FETCH,
UID SEARCH, UID STORE, UID EXPUNGE) takes its set from :func:`uid_sets`, so no command line
grows with the number of messages: servers refuse long lines (Dovecot answers
``BAD Too long argument`` above its 64 KB ``imap_max_line_length``; RFC 7162 §4 asks clients
to stay under 8192 octets). UIDs are first compressed into ranges (``1:5,7,9:12``), so a
dense folder of any size is one short set; a sparse one is split into several sets, each at
most :data:`MAX_SET_CHARS` characters, sent as consecutive commands.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

MAX_COMMAND_OCTETS = 8192
MAX_SET_CHARS = MAX_COMMAND_OCTETS - 512  # room for the tag, the verb and its items

UidRange = tuple[int, int]


def uid_ranges(uids: Iterable[int]) -> list[UidRange]:
    """Sorted, de-duplicated runs of consecutive UIDs: ``[1, 2, 3, 7]`` -> ``[(1, 3), (7, 7)]``."""
    ordered = sorted(set(uids))
    ranges: list[UidRange] = []
    for uid in ordered:
        if ranges and uid == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], uid)
        else:
            ranges.append((uid, uid))
    return ranges


def range_text(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}:{high}"


def uid_set(uids: Iterable[int]) -> str:
    """One compact set for a few UIDs (``1:3,7,9:10``); callers with many use :func:`uid_sets`."""
    return ",".join(range_text(low, high) for low, high in uid_ranges(uids))


def uid_sets(uids: Iterable[int], max_chars: int = MAX_SET_CHARS) -> Iterator[str]:
    """Compact sets covering ``uids``, in UID order, each at most ``max_chars`` characters
    (a single range is never split: its text is at most 21 characters)."""
    parts: list[str] = []
    length = 0
    for low, high in uid_ranges(uids):
        text = range_text(low, high)
        extra = len(text) + (1 if parts else 0)
        if parts and length + extra > max_chars:
            yield ",".join(parts)
            parts, length = [], 0
            extra = len(text)
        parts.append(text)
        length += extra
    if parts:
        yield ",".join(parts)


def split_evenly(uids: Iterable[int], size: int) -> Iterator[list[int]]:
    """UIDs in order, ``size`` at a time (windows of a listing)."""
    ordered = sorted(set(uids))
    for start in range(0, len(ordered), size):
        yield ordered[start:start + size]
