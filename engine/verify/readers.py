"""Reading a mailbox for a proof, without changing it: IMAP (source or target) and Maildir++.

- IMAP goes through the engine's own reader (engine/imap/source.py): folders are EXAMINEd and
  bodies fetched with ``BODY.PEEK[]`` in batches of at most :data:`BODY_BATCH_BYTES` (4 MiB:
  both sides are read at once, engine/verify/compare.py), so a
  proof never sets ``\\Seen`` and may run while a batch is Synced. The listing (UID, FLAGS,
  RFC822.SIZE, INTERNALDATE) is by UID, one window of UIDs at a time (never the whole folder
  in memory); each body is hashed as it arrives and dropped. Each batch first takes its bytes
  from the process's body budget (engine/sync/budget.py), which the copies share: a runner
  proving 20 users at once holds no more bodies than one copying them. IMAP
  bodies are CRLF as the server sends them and are hashed as they are (no rewriting pass).
- Maildir++ (the layout imsh's Maildir target writes and Dovecot reads): INBOX is the root, a
  folder ``A/B`` is the directory ``.A.B`` (parts in modified UTF-7); flags come from the
  ``:2,`` info suffix (D=\\Draft F=\\Flagged R=\\Answered S=\\Seen T=\\Deleted; P has no
  IMAP flag and is ignored, as Dovecot does); keywords are the lowercase letters, mapped
  through the folder's ``dovecot-keywords`` file; INTERNALDATE is the file's mtime. Files are
  hashed in 1 MiB chunks (engine/verify/hashing.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from engine.errors import ErrorCategory, PermanentError
from engine.folders import decode_mutf7
from engine.imap.connection import ImapSession
from engine.imap.source import ImapSource, byte_chunks
from engine.mail import ListedMessage, SourceFolder
from engine.sync.budget import PROCESS_BUDGET, BodyBudget
from engine.verify.hashing import file_digest
from engine.verify.model import FolderInfo, MessageRecord, head_of, make_record

BODY_BATCH_BYTES = 4 * 1024 * 1024  # per side; a proof reads both sides at once
_NO_HEADERS = 2**32  # listing without the fingerprint headers: the proof hashes whole bodies
_MAILDIR_FLAGS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen",
                  "T": "\\Deleted"}


class ImapReader:
    """A mailbox over one logged-in IMAP session (the caller opened it as the sync would)."""

    def __init__(self, session: ImapSession, *, user_root: str | None = None,
                 description: str | None = None,
                 budget: BodyBudget | None = PROCESS_BUDGET) -> None:
        self.session = session
        self.budget = budget  # bodies in flight, shared with the process's copies
        self._source = ImapSource(session, user_root=user_root)
        self.description = description or f"imap://{session.settings.host}"

    def folders(self) -> list[FolderInfo]:
        return sorted((FolderInfo(f.path, f.name, f"\\{f.role}" if f.role else None)
                       for f in self._source.list_folders() if f.selectable),
                      key=lambda f: f.path)

    def listed_folders(self) -> list[SourceFolder]:
        """The folders as LIST shows them, with all their attributes (engine/verify/gmail.py
        needs ``\\All``, ``\\Flagged``, ``\\Important``)."""
        return [f for f in self._source.list_folders() if f.selectable]

    def messages(self, folder: FolderInfo) -> Iterator[MessageRecord]:
        status = self._source.select(folder.native)
        if not status.exists:
            return
        for window in self._source.listing_windows(folder.native, status=status,
                                                   fingerprints_from_uid=_NO_HEADERS):
            yield from self._records(folder, window)

    def _records(self, folder: FolderInfo, window: list[ListedMessage]
                 ) -> Iterator[MessageRecord]:
        """One listing window's records (its bodies read, hashed and dropped)."""
        by_uid = {m.uid: m for m in window}
        sizes = {m.uid: m.size for m in window}
        for chunk in byte_chunks(list(by_uid), sizes, BODY_BATCH_BYTES):
            taken = self.budget.take(sum(sizes[uid] for uid in chunk)) if self.budget else 0
            try:
                yield from self._hashed(folder, by_uid, chunk, sizes)
            finally:
                if self.budget is not None:
                    self.budget.give(taken)

    def _hashed(self, folder: FolderInfo, by_uid: dict[int, ListedMessage], chunk: list[int],
                sizes: dict[int, int]) -> Iterator[MessageRecord]:
        for uid, raw in self._source.fetch_bodies(chunk, BODY_BATCH_BYTES, sizes):
            message = by_uid[uid]
            flags = (*message.flags, *message.keywords)
            if raw is None:  # the server would not hand it out: it cannot be proven copied
                yield make_record(f"unreadable:{folder.native}:{uid}", b"", flags,
                                  message.internaldate, uid=uid, size=message.size)
                continue
            raw = self.transform(raw)
            # IMAP sends messages with CRLF line ends (RFC 3501): hashed as sent, no rewriting
            yield make_record(hashlib.sha256(raw).hexdigest(), head_of(raw), flags,
                              message.internaldate, uid=uid, size=len(raw))

    def count(self, folder: FolderInfo) -> int:
        """How many messages the folder holds (EXAMINE's EXISTS; no body is read)."""
        return self._source.select(folder.native).exists

    def transform(self, raw: bytes) -> bytes:
        """The bytes as compared (the identity here; a benchmark may strip a header)."""
        return raw

    def close(self) -> None:
        self.session.close()


class MaildirReader:
    """Reads a Maildir++ tree (see the module docstring for the layout)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.description = f"maildir:{self.root}"
        if not self.root.is_dir():
            raise PermanentError(f"{self.description}: no such directory",
                                 category=ErrorCategory.ObjectNotFound,
                                 error_id="MailboxNotFound")

    def folders(self) -> list[FolderInfo]:
        result = []
        if _is_maildir(self.root):
            result.append(FolderInfo(("INBOX",), str(self.root)))
        for entry in sorted(self.root.iterdir()):
            name = entry.name
            if name.startswith(".") and name not in (".", "..") and _is_maildir(entry):
                parts = tuple(decode_mutf7(p) for p in name[1:].split("."))
                if parts[0].upper() == "INBOX":
                    parts = ("INBOX", *parts[1:])
                result.append(FolderInfo(parts, str(entry)))
        return sorted(result, key=lambda f: f.path)

    def messages(self, folder: FolderInfo) -> Iterator[MessageRecord]:
        directory = Path(folder.native)
        keywords = _dovecot_keywords(directory)
        for sub in ("new", "cur"):
            for entry in sorted((directory / sub).glob("[!.]*")):
                try:
                    with entry.open("rb") as stream:
                        digest, head, size = file_digest(stream)
                    mtime = entry.stat().st_mtime
                except FileNotFoundError:
                    continue  # moved between new/ and cur/ or expunged while we read
                except OSError as exc:
                    raise PermanentError(f"{self.description}: {exc}",
                                         category=ErrorCategory.ReadError,
                                         error_id="MailboxReadFailed") from exc
                flags = _maildir_flags(entry.name, keywords) if sub == "cur" else []
                yield make_record(digest, head, flags, datetime.fromtimestamp(mtime, UTC),
                                  size=size)

    def close(self) -> None:
        pass


def _is_maildir(path: Path) -> bool:
    return path.is_dir() and ((path / "cur").is_dir() or (path / "new").is_dir())


def _dovecot_keywords(directory: Path) -> dict[str, str]:
    """Letter -> keyword from ``dovecot-keywords`` (``<index> <keyword>`` per line)."""
    mapping: dict[str, str] = {}
    try:
        text = (directory / "dovecot-keywords").read_text(encoding="utf-8")
    except FileNotFoundError:
        return mapping
    for line in text.splitlines():
        number, _, keyword = line.partition(" ")
        if number.isdigit() and int(number) < 26 and keyword:
            mapping[chr(ord("a") + int(number))] = keyword
    return mapping


def _maildir_flags(filename: str, keywords: dict[str, str]) -> list[str]:
    _base, sep, info = filename.rpartition(":2,")
    if not sep:
        return []
    flags = []
    for letter in info:
        if letter in _MAILDIR_FLAGS:
            flags.append(_MAILDIR_FLAGS[letter])
        elif "a" <= letter <= "z":
            # An unmapped letter still differs from "no keyword", so keep it visible.
            flags.append(keywords.get(letter, f"maildir-keyword-{letter}"))
    return flags
