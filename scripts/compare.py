"""The referee: compare two mailboxes (IMAP or Maildir++) folder by folder.

This module owns the definition of "the migration was faithful". It is deliberately
independent of ``engine/`` (and of ``scripts.corpus``): it checks their work, so it must not
share their code or their bugs.

What is compared
  * Folders as logical paths: names decoded from modified UTF-7, the personal namespace
    prefix (``INBOX.`` on Cyrus and Courier) stripped, split on the hierarchy separator.
    ``\\Noselect``/``\\NonExistent`` LIST entries are not folders. ``INBOX`` is one folder
    whatever its case.
  * Messages as a multiset per folder. Identity is the SHA-256 of the full message with line
    endings in CRLF form: IMAP bodies are taken as the server sends them (always CRLF), a
    Maildir file's bare LFs are read as CRLF (Dovecot stores LF on disk).
  * System flags case-insensitively, ``\\Recent`` ignored; keywords exactly (case kept).
  * INTERNALDATE as an instant (servers on Maildir keep no time zone), with a tolerance.

Maildir++ reading (the assumption shared with imsh's Maildir target): INBOX is the root, a
folder ``A/B`` is the directory ``.A.B`` (parts in modified UTF-7); flags come from the
``:2,`` info suffix (D=\\Draft F=\\Flagged R=\\Answered S=\\Seen T=\\Deleted; P, "passed",
has no IMAP flag and is ignored, as Dovecot does); keywords are the lowercase letters of the
suffix, mapped through the folder's ``dovecot-keywords`` file (``0 $Forwarded`` lines), as
Dovecot does; INTERNALDATE is the file's mtime. Keywords Dovecot keeps only in its index
(past 26 per folder) are not visible here.

Reading never changes a mailbox: IMAP folders are EXAMINEd and bodies fetched with
``BODY.PEEK[]``, in chunks of at most 200 messages and 32 MiB.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import re
import socket
import ssl
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import decode_header, make_header
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from imapclient import IMAPClient, imap_utf7
from imapclient.exceptions import IMAPClientError

FolderPath = tuple[str, ...]

SYSTEM_FLAGS = {f.lower(): f for f in ("\\Seen", "\\Answered", "\\Flagged", "\\Draft",
                                       "\\Deleted")}
ROLES = ("\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive")
# Folder names that imply a role when a store has no SPECIAL-USE attributes (Maildir).
_ROLE_NAMES = {
    "\\Sent": ("sent", "sent items", "sent messages", "sent mail", "gesendet"),
    "\\Drafts": ("drafts", "draft", "entwürfe"),
    "\\Trash": ("trash", "deleted items", "deleted messages", "papierkorb"),
    "\\Junk": ("junk", "spam", "junk e-mail", "junk email"),
    "\\Archive": ("archive", "archives"),
}
FETCH_MAX_COUNT = 200
FETCH_MAX_BYTES = 32 * 1024 * 1024


class CompareError(Exception):
    """A mailbox could not be read (bad spec, connection or login failure, missing path)."""


@dataclass(frozen=True)
class FolderInfo:
    """A folder as a source lists it."""

    path: FolderPath
    native: str  # server name or directory, for reading it back
    special_use: str | None = None


@dataclass(frozen=True)
class MessageRecord:
    """What is compared about one message."""

    digest: str
    flags: frozenset[str]
    keywords: frozenset[str]
    internaldate: datetime | None
    label: str


class MailboxSource(Protocol):
    """A readable mailbox: its folders, and each folder's messages."""

    description: str

    def folders(self) -> list[FolderInfo]: ...

    def messages(self, folder: FolderInfo) -> Iterator[MessageRecord]: ...

    def close(self) -> None: ...


# --- message identity and labels ----------------------------------------------------------

def canonical_bytes(raw: bytes) -> bytes:
    """The message with every bare LF turned into CRLF (what IMAP would show)."""
    if raw.count(b"\n") == raw.count(b"\r\n"):
        return raw  # the common case, and much cheaper than rewriting megabytes
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def message_digest(raw: bytes) -> str:
    return hashlib.sha256(canonical_bytes(raw)).hexdigest()


def _label(raw: bytes, digest: str) -> str:
    """A short human name for a message: Message-ID, Subject and the digest's head."""
    mid = _header(raw, b"message-id") or "(no Message-ID)"
    subject = _header(raw, b"subject")
    with contextlib.suppress(ValueError, LookupError):
        subject = str(make_header(decode_header(subject)))
    return f"{mid} {' '.join(subject.split())[:60]!r} sha256:{digest[:12]}"


def _header(raw: bytes, name: bytes) -> str:
    """The first header ``name`` (lowercase) unfolded, raw 8-bit read as UTF-8; else ""."""
    end = raw.find(b"\r\n\r\n")
    head = raw[: end if end >= 0 else len(raw)]
    match = re.search(rb"(?im)^" + re.escape(name) + rb":(.*(?:\r\n[ \t].*)*)", head)
    if not match:
        return ""
    return match.group(1).replace(b"\r\n", b"").decode("utf-8", "replace").strip()


def _split_flags(flags: Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
    system, keywords = set(), set()
    for flag in flags:
        if flag.startswith("\\"):
            if flag.lower() != "\\recent":
                system.add(SYSTEM_FLAGS.get(flag.lower(), flag))
        else:
            keywords.add(flag)
    return frozenset(system), frozenset(keywords)


def _record(raw: bytes, flags: Iterable[str], internaldate: datetime | None) -> MessageRecord:
    """Describe a message whose bytes are already CRLF-canonical."""
    digest = hashlib.sha256(raw).hexdigest()
    system, keywords = _split_flags(flags)
    return MessageRecord(digest, system, keywords, internaldate, _label(raw, digest))


# --- IMAP --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImapSpec:
    """How to reach an IMAP mailbox (from ``imap[s]://user:pw@host:port?...``)."""

    host: str
    port: int
    user: str
    password: str
    tls: bool = False
    starttls: bool = False
    cafile: str | None = None
    login: str | None = None  # LOGIN as this name instead (e.g. ``user1*admin``)
    authzid: str | None = None  # AUTHENTICATE PLAIN as ``user`` acting for ``authzid``

    def describe(self) -> str:
        scheme = "imaps" if self.tls else "imap"
        who = self.authzid or self.user
        return f"{scheme}://{who}@{self.host}:{self.port}"


class ImapSource:
    """Reads a mailbox over IMAP without changing it."""

    def __init__(self, spec: ImapSpec, timeout: float = 60.0) -> None:
        self.spec = spec
        self.description = spec.describe()
        self._client = self._connect(spec, timeout)
        self._client.normalise_times = False  # keep each INTERNALDATE's own offset
        self._prefix, self._sep, self._foreign = self._namespaces()

    @staticmethod
    def _connect(spec: ImapSpec, timeout: float) -> IMAPClient:
        try:
            context = ssl.create_default_context(cafile=spec.cafile)
            client = IMAPClient(spec.host, spec.port, ssl=spec.tls,
                                ssl_context=context if spec.tls else None, timeout=timeout)
            # Without TCP_NODELAY some servers' (Courier's) split answers wait ~40 ms each
            # for a delayed ACK.
            with contextlib.suppress(OSError, AttributeError):
                client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if spec.starttls:
                client.starttls(context)
            if spec.authzid:
                client.plain_login(spec.user, spec.password, spec.authzid)
            else:
                client.login(spec.login or spec.user, spec.password)
        except (IMAPClientError, OSError) as exc:
            raise CompareError(f"{spec.describe()}: cannot connect or log in: {exc}") from exc
        return client

    def _namespaces(self) -> tuple[str, str, tuple[str, ...]]:
        """(personal prefix, separator, prefixes of other users' and shared namespaces)."""
        client = self._client
        if client.has_capability("NAMESPACE"):
            personal, other, shared = client.namespace()
            foreign = tuple(p for ns in (other or (), shared or ()) for p, _sep in ns if p)
            if personal:
                prefix, sep = personal[0]
                return prefix or "", sep or "/", foreign
            return "", "/", foreign
        listing = client.list_folders("", "")
        sep = listing[0][1] if listing and listing[0][1] else b"/"
        return "", sep.decode() if isinstance(sep, bytes) else sep, ()

    def folders(self) -> list[FolderInfo]:
        result = []
        for flags, _sep, name in self._client.list_folders():
            attrs = {f.decode().lower() if isinstance(f, bytes) else f.lower() for f in flags}
            if attrs & {"\\noselect", "\\nonexistent"}:
                continue
            path = self._logical(name)
            if path is not None:
                role = next((r for r in ROLES if r.lower() in attrs), None)
                result.append(FolderInfo(path, name, role))
        return sorted(result, key=lambda f: f.path)

    def _logical(self, name: str) -> FolderPath | None:
        if name.upper() == "INBOX":
            return ("INBOX",)
        if self._prefix:
            if not name.startswith(self._prefix):
                return None  # outside the personal namespace
            name = name[len(self._prefix):]
        elif any(name.startswith(p) for p in self._foreign):
            return None
        parts = tuple(name.split(self._sep))
        if parts[0].upper() == "INBOX":
            parts = ("INBOX", *parts[1:])
        return parts

    def messages(self, folder: FolderInfo) -> Iterator[MessageRecord]:
        client = self._client
        try:
            status = client.select_folder(folder.native, readonly=True)
            if not status.get(b"EXISTS"):
                return
            uids = sorted(client.search(["ALL"]))
            sizes: dict[int, int] = {}
            for start in range(0, len(uids), 1000):
                answer = client.fetch(uids[start:start + 1000], ["RFC822.SIZE"])
                sizes.update((uid, int(data[b"RFC822.SIZE"])) for uid, data in answer.items())
            for chunk in _fetch_chunks(uids, sizes):
                answer = client.fetch(chunk, ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"])
                for uid in chunk:
                    data = answer[uid]
                    flags = [f.decode() if isinstance(f, bytes) else f for f in data[b"FLAGS"]]
                    yield _record(data[b"BODY[]"], flags, data[b"INTERNALDATE"])
        except IMAPClientError as exc:
            raise CompareError(f"{self.description}: reading {folder.native!r}: {exc}") from exc

    def close(self) -> None:
        with contextlib.suppress(IMAPClientError, OSError):
            self._client.logout()


def _fetch_chunks(uids: list[int], sizes: dict[int, int]) -> Iterator[list[int]]:
    chunk: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if chunk and (len(chunk) >= FETCH_MAX_COUNT or total + size > FETCH_MAX_BYTES):
            yield chunk
            chunk, total = [], 0
        chunk.append(uid)
        total += size
    if chunk:
        yield chunk


# --- Maildir++ -----------------------------------------------------------------------------

_MAILDIR_FLAGS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen",
                  "T": "\\Deleted"}


class MaildirSource:
    """Reads a Maildir++ tree (see the module docstring for the layout assumed)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.description = f"maildir:{self.root}"
        if not self.root.is_dir():
            raise CompareError(f"{self.description}: no such directory")

    def folders(self) -> list[FolderInfo]:
        result = []
        if _is_maildir(self.root):
            result.append(FolderInfo(("INBOX",), str(self.root)))
        for entry in sorted(self.root.iterdir()):
            name = entry.name
            if name.startswith(".") and name not in (".", "..") and _is_maildir(entry):
                parts = tuple(_decode_mutf7(p) for p in name[1:].split("."))
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
                    raw = entry.read_bytes()
                    mtime = entry.stat().st_mtime
                except OSError as exc:
                    raise CompareError(f"{self.description}: {exc}") from exc
                flags = _maildir_flags(entry.name, keywords) if sub == "cur" else []
                yield _record(canonical_bytes(raw), flags, datetime.fromtimestamp(mtime, UTC))

    def close(self) -> None:
        pass


def _is_maildir(path: Path) -> bool:
    return path.is_dir() and ((path / "cur").is_dir() or (path / "new").is_dir())


def _decode_mutf7(part: str) -> str:
    try:
        return str(imap_utf7.decode(part.encode("ascii")))
    except (UnicodeError, ValueError):
        return part  # not modified UTF-7 (raw UTF-8 directory names): take it as it is


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


# --- specs -------------------------------------------------------------------------------

def parse_spec(spec: str) -> ImapSpec | Path:
    """Parse ``imap[s]://user:pw@host[:port][?cafile=F&login=L&authzid=Z&starttls=1]`` or
    ``maildir:PATH``."""
    if spec.startswith("maildir:"):
        path = spec[len("maildir:"):]
        path = path[2:] if path.startswith("//") else path
        if not path:
            raise CompareError(f"{spec!r}: no Maildir path")
        return Path(path)
    url = urlsplit(spec)
    if url.scheme not in ("imap", "imaps"):
        raise CompareError(f"{spec!r}: expected imap://, imaps:// or maildir:")
    try:
        port = url.port
    except ValueError as exc:
        raise CompareError(f"{spec!r}: bad port") from exc
    if not url.hostname or url.username is None or url.password is None:
        raise CompareError(f"{spec!r}: expected imap://user:password@host:port")
    query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
    unknown = set(query) - {"cafile", "login", "authzid", "starttls"}
    if unknown:
        raise CompareError(f"{spec!r}: unknown option(s) {', '.join(sorted(unknown))}")
    tls = url.scheme == "imaps"
    return ImapSpec(url.hostname, port or (993 if tls else 143), unquote(url.username),
                    unquote(url.password), tls=tls,
                    starttls=query.get("starttls", "") in ("1", "yes", "true"),
                    cafile=query.get("cafile") or None, login=query.get("login") or None,
                    authzid=query.get("authzid") or None)


def open_source(spec: str) -> MailboxSource:
    """Open the mailbox a SPEC names; raise CompareError when it cannot be read."""
    parsed = parse_spec(spec)
    if isinstance(parsed, Path):
        return MaildirSource(parsed)
    return ImapSource(parsed)


# --- the comparison ----------------------------------------------------------------------

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

    @property
    def differences(self) -> int:
        return (len(self.missing) + len(self.extra) + len(self.duplicated) + len(self.flags)
                + len(self.keywords) + len(self.dates))

    @property
    def identical(self) -> bool:
        return self.differences == 0


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

    def folder(self, path: FolderPath | str) -> FolderDiff:
        """The diff of one folder (``"Archive/2019"`` or ``("Archive", "2019")``)."""
        wanted = _as_path(path)
        for diff in self.folders:
            if diff.path == wanted:
                return diff
        raise KeyError(path)

    def format(self) -> str:
        lines = [f"A: {self.a}", f"B: {self.b}"]
        lines += [f"folder missing in B: {_show(p)}" for p in self.folders_missing]
        lines += [f"folder extra in B: {_show(p)}" for p in self.folders_extra]
        for diff in self.folders:
            if not diff.identical:
                lines += _format_folder(diff)
        messages = sum(f.count_a for f in self.folders)
        verdict = ("IDENTICAL" if self.identical
                   else f"DIFFERENT ({self.differences} differences)")
        lines.append(f"{verdict}: {len(self.folders)} folders, {messages} messages compared")
        return "\n".join(lines)


def _format_folder(diff: FolderDiff) -> list[str]:
    lines = [f"{_show(diff.path)}: {diff.count_a} messages in A, {diff.count_b} in B"]
    lines += [f"  missing in B: {m}" for m in diff.missing]
    lines += [f"  extra in B: {m}" for m in diff.extra]
    lines += [f"  duplicated in B: {m}" for m in diff.duplicated]
    lines += [f"  flags differ: {m}: A {_flags(a)} B {_flags(b)}" for m, a, b in diff.flags]
    lines += [f"  keywords differ: {m}: A {_flags(a)} B {_flags(b)}"
              for m, a, b in diff.keywords]
    lines += [f"  INTERNALDATE differs: {m}: A {a} B {b}" for m, a, b in diff.dates]
    return lines


def _flags(flags: frozenset[str]) -> str:
    return "(" + " ".join(sorted(flags)) + ")"


def _show(path: FolderPath) -> str:
    return "/".join(path)


def _as_path(path: FolderPath | str) -> FolderPath:
    return tuple(path.split("/")) if isinstance(path, str) else tuple(path)


def compare(a: MailboxSource, b: MailboxSource, *,
            ignore_folders: Iterable[FolderPath | str] = (), date_tolerance: float = 0.0,
            by_special_use: bool = False) -> Report:
    """Compare B against A. Folders are matched by logical path (or by role first, when
    ``by_special_use``); each folder pair is compared as a multiset of messages."""
    ignored = {_as_path(p) for p in ignore_folders}
    folders_a = _keyed(a.folders(), ignored, by_special_use)
    folders_b = _keyed(b.folders(), ignored, by_special_use)
    report = Report(a.description, b.description)
    report.folders_missing = sorted(k for k in folders_a if k not in folders_b)
    report.folders_extra = sorted(k for k in folders_b if k not in folders_a)
    for key in sorted(k for k in folders_a if k in folders_b):
        diff = compare_folder(a.messages(folders_a[key]), b.messages(folders_b[key]),
                              date_tolerance)
        diff.path = key
        report.folders.append(diff)
    return report


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
        return next((r for r, names in _ROLE_NAMES.items() if name in names), None)
    return None


def compare_folder(a: Iterable[MessageRecord], b: Iterable[MessageRecord],
                   date_tolerance: float = 0.0) -> FolderDiff:
    """Compare two folders' messages as multisets keyed by digest."""
    by_digest_a: dict[str, list[MessageRecord]] = defaultdict(list)
    by_digest_b: dict[str, list[MessageRecord]] = defaultdict(list)
    for record in a:
        by_digest_a[record.digest].append(record)
    for record in b:
        by_digest_b[record.digest].append(record)
    diff = FolderDiff(path=(), count_a=sum(map(len, by_digest_a.values())),
                      count_b=sum(map(len, by_digest_b.values())))
    for digest, copies_b in by_digest_b.items():
        if digest not in by_digest_a:
            diff.extra += [r.label for r in copies_b]
    for digest, copies_a in by_digest_a.items():
        _compare_copies(diff, copies_a, by_digest_b.get(digest, []), date_tolerance)
    return diff


def _compare_copies(diff: FolderDiff, copies_a: list[MessageRecord],
                    copies_b: list[MessageRecord], tolerance: float) -> None:
    """Pair the copies of one message: exact matches first, then in order; report the rest."""
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
    surplus_a = unmatched_a[len(unmatched_b):]
    surplus_b = unmatched_b[len(unmatched_a):]
    diff.missing += [r.label for r in surplus_a]
    diff.duplicated += [r.label for r in surplus_b]


def _same_state(a: MessageRecord, b: MessageRecord, tolerance: float) -> bool:
    return (a.flags == b.flags and a.keywords == b.keywords
            and _same_date(a.internaldate, b.internaldate, tolerance))


def _same_date(a: datetime | None, b: datetime | None, tolerance: float) -> bool:
    if a is None or b is None:
        return a is b
    return abs((a - b).total_seconds()) <= tolerance


# --- command line ------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.compare",
        description="Compare two mailboxes folder by folder (exit 0 identical, 1 different, "
                    "2 error). SPEC: imap://user:pw@host:port[?login=L&authzid=Z&starttls=1], "
                    "imaps://...[?cafile=F], or maildir:PATH (Maildir++).")
    parser.add_argument("a", metavar="SPEC_A", help="the reference mailbox (e.g. the source)")
    parser.add_argument("b", metavar="SPEC_B", help="the mailbox checked against it")
    parser.add_argument("--date-tolerance", type=float, default=0.0, metavar="SECONDS",
                        help="allowed INTERNALDATE difference (default 0)")
    parser.add_argument("--ignore-folder", action="append", default=[], metavar="PATH",
                        help="logical folder path to skip, parts joined by '/' (repeatable)")
    parser.add_argument("--by-special-use", action="store_true",
                        help="match Sent/Drafts/Trash/Junk/Archive folders by role, not name")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)  # exits 2 on usage errors
    sources: list[MailboxSource] = []
    try:
        sources.append(open_source(args.a))
        sources.append(open_source(args.b))
        report = compare(sources[0], sources[1], ignore_folders=args.ignore_folder,
                         date_tolerance=args.date_tolerance,
                         by_special_use=args.by_special_use)
    except CompareError as exc:
        print(f"compare: error: {exc}", file=sys.stderr)
        return 2
    finally:
        for source in sources:
            source.close()
    print(report.format())
    return 0 if report.identical else 1


if __name__ == "__main__":
    sys.exit(main())
