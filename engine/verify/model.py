"""What a proof compares and what it reports.

A mailbox is read as folders (:class:`FolderInfo`, logical paths) and, per folder, messages
(:class:`MessageRecord`: content digest, system flags, keywords, INTERNALDATE, a label that
names the message for an administrator). A comparison (engine/verify/compare.py) yields a
:class:`Report` of one :class:`FolderDiff` per folder both sides hold, plus the folders only one
side holds. :meth:`Report.differences_list` gives every difference as one typed
:class:`Difference` (the rows of ``Test-MigrationUser -Detailed``).

Words: side A is the reference (the source), side B the mailbox checked against it (the
target). *missing* is in A, not in B; *extra* is in B, not in A at all; *duplicated* is more
copies in B than in A; *altered* is a message whose content changed (a missing and an extra
message with the same Message-ID); *flags*, *keywords*, *dates* differ on a message whose
content is identical; *skipped* is a missing message that the migration recorded as skipped
(too large, bad item): accounted for, not lost, and not a difference of the proof (it lowers
the DataConsistencyScore instead, engine/verify/score.py).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.header import decode_header, make_header
from enum import StrEnum
from typing import Protocol

from engine.folders import FolderPath
from engine.mail import split_flags


@dataclass(frozen=True)
class FolderInfo:
    """A folder as a mailbox lists it."""

    path: FolderPath
    native: str  # server name, directory or folder id, for reading it back
    special_use: str | None = None  # "\\Sent", "\\Drafts", ... when announced


@dataclass(frozen=True)
class MessageRecord:
    """What is compared about one message (its bytes are not kept: only their digest)."""

    digest: str
    flags: frozenset[str]
    keywords: frozenset[str]
    internaldate: datetime | None
    label: str
    uid: int | None = None  # the source UID when read over IMAP (skipped items are by UID)
    message_id: str | None = None
    size: int = 0


class MailboxSource(Protocol):
    """A readable mailbox: its folders, and each folder's messages (streamed)."""

    description: str

    def folders(self) -> list[FolderInfo]: ...

    def messages(self, folder: FolderInfo) -> Iterator[MessageRecord]: ...

    def close(self) -> None: ...


class DifferenceKind(StrEnum):
    FolderMissing = "FolderMissing"
    FolderExtra = "FolderExtra"
    Missing = "Missing"
    Extra = "Extra"
    Duplicated = "Duplicated"
    Altered = "Altered"
    Flags = "Flags"
    Keywords = "Keywords"
    Dates = "Dates"
    Skipped = "Skipped"  # accounted for: not counted as a difference


@dataclass(frozen=True)
class Difference:
    """One difference, as Test-MigrationUser -Detailed lists it."""

    kind: DifferenceKind
    folder: str
    message: str | None = None
    source: str | None = None  # what A has (flags, date, label)
    target: str | None = None  # what B has


@dataclass
class FolderDiff:
    """How folder ``path`` of B differs from the same folder of A (labels name messages)."""

    path: FolderPath
    count_a: int = 0
    count_b: int = 0
    missing: list[str] = field(default_factory=list)  # in A, not (or fewer times) in B
    extra: list[str] = field(default_factory=list)  # in B, not at all in A
    duplicated: list[str] = field(default_factory=list)  # more copies in B than in A
    flags: list[tuple[str, frozenset[str], frozenset[str]]] = field(default_factory=list)
    keywords: list[tuple[str, frozenset[str], frozenset[str]]] = field(default_factory=list)
    dates: list[tuple[str, datetime | None, datetime | None]] = field(default_factory=list)
    altered: list[tuple[str, str]] = field(default_factory=list)  # (label in A, label in B)
    skipped: list[str] = field(default_factory=list)  # missing, but recorded as skipped
    bytes_a: int = 0
    bytes_b: int = 0

    @property
    def differences(self) -> int:
        return (len(self.missing) + len(self.extra) + len(self.duplicated) + len(self.flags)
                + len(self.keywords) + len(self.dates) + len(self.altered))

    @property
    def identical(self) -> bool:
        return self.differences == 0

    def entries(self, folder: str | None = None) -> Iterator[Difference]:
        name = folder or show(self.path)
        k = DifferenceKind
        for label in self.missing:
            yield Difference(k.Missing, name, label)
        for label in self.extra:
            yield Difference(k.Extra, name, label)
        for label in self.duplicated:
            yield Difference(k.Duplicated, name, label)
        for label_a, label_b in self.altered:
            yield Difference(k.Altered, name, label_a, label_a, label_b)
        for label, fa, fb in self.flags:
            yield Difference(k.Flags, name, label, flag_text(fa), flag_text(fb))
        for label, fa, fb in self.keywords:
            yield Difference(k.Keywords, name, label, flag_text(fa), flag_text(fb))
        for label, da, db in self.dates:
            yield Difference(k.Dates, name, label, str(da), str(db))
        for label in self.skipped:
            yield Difference(k.Skipped, name, label)


@dataclass
class Report:
    """The result of comparing mailbox A (reference) with mailbox B."""

    a: str
    b: str
    folders_missing: list[FolderPath] = field(default_factory=list)  # in A, not in B
    folders_extra: list[FolderPath] = field(default_factory=list)  # in B, not in A
    folders: list[FolderDiff] = field(default_factory=list)  # every folder in both

    @property
    def differences(self) -> int:
        return (len(self.folders_missing) + len(self.folders_extra)
                + sum(f.differences for f in self.folders))

    @property
    def identical(self) -> bool:
        return self.differences == 0

    @property
    def skipped(self) -> int:
        return sum(len(f.skipped) for f in self.folders)

    @property
    def messages_compared(self) -> int:
        return sum(f.count_a for f in self.folders)

    def folder(self, path: FolderPath | str) -> FolderDiff:
        """The diff of one folder (``"Archive/2019"`` or ``("Archive", "2019")``)."""
        wanted = as_path(path)
        for diff in self.folders:
            if diff.path == wanted:
                return diff
        raise KeyError(path)

    def differences_list(self) -> list[Difference]:
        """Every difference (and every skipped message) as one typed row."""
        rows = [Difference(DifferenceKind.FolderMissing, show(p)) for p in self.folders_missing]
        rows += [Difference(DifferenceKind.FolderExtra, show(p)) for p in self.folders_extra]
        for diff in self.folders:
            rows.extend(diff.entries())
        return rows

    def format(self) -> str:
        lines = [f"A: {self.a}", f"B: {self.b}"]
        lines += [f"folder missing in B: {show(p)}" for p in self.folders_missing]
        lines += [f"folder extra in B: {show(p)}" for p in self.folders_extra]
        for diff in self.folders:
            if not diff.identical or diff.skipped:
                lines += _format_folder(diff)
        verdict = ("IDENTICAL" if self.identical
                   else f"DIFFERENT ({self.differences} differences)")
        skipped = f", {self.skipped} skipped" if self.skipped else ""
        lines.append(f"{verdict}: {len(self.folders)} folders, {self.messages_compared} "
                     f"messages compared{skipped}")
        return "\n".join(lines)


def _format_folder(diff: FolderDiff) -> list[str]:
    lines = [f"{show(diff.path)}: {diff.count_a} messages in A, {diff.count_b} in B"]
    lines += [f"  missing in B: {m}" for m in diff.missing]
    lines += [f"  extra in B: {m}" for m in diff.extra]
    lines += [f"  duplicated in B: {m}" for m in diff.duplicated]
    lines += [f"  altered in B: {a} is now {b}" for a, b in diff.altered]
    lines += [f"  flags differ: {m}: A {flag_text(a)} B {flag_text(b)}"
              for m, a, b in diff.flags]
    lines += [f"  keywords differ: {m}: A {flag_text(a)} B {flag_text(b)}"
              for m, a, b in diff.keywords]
    lines += [f"  INTERNALDATE differs: {m}: A {a} B {b}" for m, a, b in diff.dates]
    lines += [f"  skipped (not copied by design): {m}" for m in diff.skipped]
    return lines


def flag_text(flags: frozenset[str]) -> str:
    return "(" + " ".join(sorted(flags)) + ")"


def show(path: FolderPath) -> str:
    return "/".join(path)


def as_path(path: FolderPath | str) -> FolderPath:
    return tuple(path.split("/")) if isinstance(path, str) else tuple(path)


# --- records -------------------------------------------------------------------------------------

def make_record(digest: str, head: bytes, flags: Iterable[str], internaldate: datetime | None,
                *, uid: int | None = None, size: int = 0) -> MessageRecord:
    """A record from a message's digest and its (canonical) head, which names it."""
    system, keywords = (frozenset(part) for part in split_flags(flags))  # engine/mail.py's
    mid = header(head, b"message-id")
    return MessageRecord(digest, system, keywords, internaldate, _label(head, digest, mid), uid,
                         mid or None, size)


def head_of(raw: bytes, limit: int = 64 * 1024) -> bytes:
    """The header block of a message (at most ``limit`` bytes): what labels are read from."""
    end = raw.find(b"\r\n\r\n", 0, limit)
    return raw[:end + 2] if end >= 0 else raw[:limit]


def label(raw: bytes, digest: str) -> str:
    """A short human name for a message: Message-ID, Subject and the digest's head."""
    return _label(raw, digest, header(raw, b"message-id"))


def _label(raw: bytes, digest: str, mid: str) -> str:
    subject = header(raw, b"subject")
    if "=?" in subject:  # RFC 2047 words; without one, decoding returns the text as it is
        with contextlib.suppress(ValueError, LookupError):
            subject = str(make_header(decode_header(subject)))
    return f"{mid or '(no Message-ID)'} {' '.join(subject.split())[:60]!r} sha256:{digest[:12]}"


_HEADERS: dict[bytes, re.Pattern[bytes]] = {}  # one compiled pattern per header name
_FOLD = re.compile(rb"\r?\n")  # a folded header's line breaks (RFC 5322 §2.2.3)


def header(raw: bytes, name: bytes) -> str:
    """The first header ``name`` (lowercase) unfolded, raw 8-bit read as UTF-8; else ""."""
    pattern = _HEADERS.get(name)
    if pattern is None:
        pattern = _HEADERS.setdefault(name, re.compile(
            rb"(?im)^" + re.escape(name) + rb":([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)"))
    end = raw.find(b"\r\n\r\n")
    match = pattern.search(raw, 0, end if end >= 0 else len(raw))
    if not match:
        return ""
    return _FOLD.sub(b"", match.group(1)).decode("utf-8", "replace").strip()
