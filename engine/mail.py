"""The mail vocabulary: the words source, planner, store and targets share for folders, flags,
fingerprints and listings. Pure: no I/O, no protocol (the IMAP spelling of a FETCH item lives
in engine/imap/; the store's columns in engine/store/).

**Flags.** IMAP system flags (``\\Seen`` ...) are case-insensitive, so they are folded to their
RFC 9051 spelling; keywords (``$Forwarded``, ``$Label1``, custom words) are kept as the source
spells them. ``\\Recent`` is session state the server sets itself: it is never synced.
:func:`normalize_flags` is the one normaliser; everything else here is built on it. A target
stores only the five system flags it knows (:func:`storable_flags`); an unknown backslash flag
(``\\Junk`` from some servers) is not a keyword either and is not stored.

**Fingerprint.** A message's :class:`Fingerprint` identifies it without its UID: Message-ID,
RFC822.SIZE, INTERNALDATE and a hash of a few header fields (:data:`FINGERPRINT_HEADERS`). It
re-matches messages after a UIDVALIDITY change and finds a copy on the target after a crash
(adoption, engine/sync/adoption.py). Source and targets compute it with the same function
(:func:`fingerprint_of`) from the same header fields, so the two sides agree byte for byte. The
store keeps :attr:`Fingerprint.key`; :func:`fingerprint_from_key` reads it back.

**Listings.** :class:`SourceFolder` is one LISTed folder, :class:`ExaminedStatus` what EXAMINE
said about it, :class:`ListedMessage` one message of its listing.

**Message states.** :class:`MessageState` (pending, copied, skipped, deleted) and a deletion's
:class:`Hold` are the store's row types (engine/store/sync_state.py) and the planner's known
messages alike; the store reads its columns into them.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from engine.folders import FolderPath

# --- flags ---------------------------------------------------------------------------------------

SYSTEM_FLAGS = ("\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft")
_CANONICAL = {flag.lower(): flag for flag in SYSTEM_FLAGS}
_IGNORED = frozenset({"\\recent"})

Flags = frozenset[str]


def normalize_flag(flag: str) -> str:
    """One flag in its canonical spelling (system flags folded, keywords untouched)."""
    flag = flag.strip()
    if flag.startswith("\\"):
        return _CANONICAL.get(flag.lower(), flag)
    return flag


def normalize_flags(flags: Iterable[str | bytes]) -> Flags:
    """The comparable set of ``flags``: canonical spellings, without ``\\Recent`` or blanks."""
    result: set[str] = set()
    for raw in flags:
        text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else raw
        flag = normalize_flag(text)
        if flag and flag.lower() not in _IGNORED:
            result.add(flag)
    return frozenset(result)


def split_flags(flags: Iterable[str | bytes]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(system flags, keywords) of ``flags``, each normalized and sorted."""
    if isinstance(flags, tuple):  # a FETCH answer's FLAGS: few distinct sets in a folder
        return _split_tuple(flags)
    return _split(flags)


@functools.lru_cache(maxsize=4096)
def _split_tuple(flags: tuple[str | bytes, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return _split(flags)


def _split(flags: Iterable[str | bytes]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    names = normalize_flags(flags)
    system = sorted(f for f in names if f.startswith("\\"))
    keywords = sorted(f for f in names if not f.startswith("\\"))
    return tuple(system), tuple(keywords)


def storable_flags(flags: Iterable[str | bytes]) -> tuple[str, ...]:
    """The system flags a target can store: the known ones, canonical case, sorted."""
    return tuple(sorted(f for f in normalize_flags(flags) if f in SYSTEM_FLAGS))


def flags_text(flags: Iterable[str]) -> str:
    """The store's spelling of a flag set: normalized, sorted, space-separated."""
    return " ".join(sorted(normalize_flags(flags)))


def parse_flags(text: str | None) -> Flags:
    """The flag set :func:`flags_text` wrote."""
    return normalize_flags((text or "").split())


# --- fingerprint ---------------------------------------------------------------------------------

FINGERPRINT_HEADERS = ("MESSAGE-ID", "DATE", "FROM", "SUBJECT")
_FOLD = re.compile(rb"\r?\n[ \t]+")
_SPACE = re.compile(rb"[ \t]+")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


class MessageState(StrEnum):
    """The state of a known message row (the store's ``state`` column; the store's rows and the
    planner's known messages both carry it)."""

    PENDING = "pending"  # intent written before the append; may or may not be on the target
    COPIED = "copied"  # the target holds it at target_ref
    SKIPPED = "skipped"  # deliberately not copied (too large, bad item)
    DELETED = "deleted"  # tombstone: removed from the target after it vanished from the source


class Hold(StrEnum):
    """A copied row whose deletion the deletion guard held (engine/sync/guard.py): ``held``
    until the administrator approves it (``Set-MigrationUser -ApproveDeletions``), then
    ``approved``, which lets the next pass delete the copy whatever the guard says."""

    HELD = "held"
    APPROVED = "approved"


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """Identity of a message independent of its UID."""

    message_id: str | None
    size: int
    internaldate: datetime
    header_hash: str

    @property
    def key(self) -> str:
        """One string for the store: ``message-id|size|unix time|header hash``."""
        return (f"{self.message_id or ''}|{self.size}|{int(self.internaldate.timestamp())}|"
                f"{self.header_hash}")


def header_hash(header_block: bytes) -> str:
    """Hash of the :data:`FINGERPRINT_HEADERS` fields found in a header block (or whole message).

    Unfolded, whitespace-collapsed, field names case-folded, fields sorted; 32 hex digits.
    """
    head = header_block.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    wanted = {h.encode() for h in FINGERPRINT_HEADERS}
    fields: list[bytes] = []
    for line in _FOLD.sub(b" ", head).splitlines():
        name, colon, value = line.partition(b":")
        if colon and name.strip().upper() in wanted:
            fields.append(name.strip().lower() + b":" + _SPACE.sub(b" ", value.strip()))
    return hashlib.sha256(b"\n".join(sorted(fields))).hexdigest()[:32]


def message_id(header_block: bytes) -> str | None:
    """The first ``<...>`` of the Message-ID field, if any."""
    head = _FOLD.sub(b" ", header_block.split(b"\r\n\r\n", 1)[0])
    for line in head.splitlines():
        name, colon, value = line.partition(b":")
        if colon and name.strip().upper() == b"MESSAGE-ID":
            found = _MESSAGE_ID.search(value.decode("utf-8", "replace"))
            return found.group(0) if found else None
    return None


def fingerprint_of(header_block: bytes, size: int, internaldate: datetime) -> Fingerprint:
    """The fingerprint of a message from its headers (or whole text), size and INTERNALDATE."""
    return Fingerprint(message_id(header_block), size, internaldate.astimezone(UTC),
                       header_hash(header_block))


def fingerprint_from_key(key: str) -> Fingerprint | None:
    """The fingerprint a key was made from; None for a key of another shape."""
    parts = key.rsplit("|", 3)
    if len(parts) != 4 or not parts[1].isdigit() or not parts[2].lstrip("-").isdigit():
        return None
    message_id, size, stamp, hashed = parts
    when = datetime.fromtimestamp(int(stamp), UTC)
    return Fingerprint(message_id or None, int(size), when, hashed)


# --- listings ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceFolder:
    """One LISTed folder: its raw wire name and what the engine makes of it."""

    name: str
    path: FolderPath
    separator: str | None
    flags: tuple[str, ...]
    role: str | None
    selectable: bool


@dataclass(frozen=True, slots=True)
class ExaminedStatus:
    """The state of a folder when it was examined (EXAMINE's UIDVALIDITY, UIDNEXT, EXISTS,
    HIGHESTMODSEQ). The planner's cheaper view of it is :class:`engine.sync.model.FolderStatus`."""

    uidvalidity: int
    uidnext: int
    exists: int
    highestmodseq: int | None


@dataclass(frozen=True, slots=True)
class ListedMessage:
    """One message of a listing. ``fingerprint`` is None when headers were not fetched."""

    uid: int
    flags: tuple[str, ...]
    keywords: tuple[str, ...]
    size: int
    internaldate: datetime
    fingerprint: Fingerprint | None
