"""Fill a source mailbox fast: write the corpus as Maildir files into Dovecot A's mail directory.

APPENDing 100,000 messages over IMAP would take longer than most of the runs it prepares, so
the bench writes the seeded corpus (scripts/corpus.py) straight into the user's Maildir
(``LAYOUT=fs``: a folder is a directory, names in modified UTF-7, INBOX the root; keywords in
the folder's ``dovecot-keywords``; INTERNALDATE the file's mtime), owned as Dovecot's mail
user, and then checks over IMAP that every folder holds the expected number of messages. That
STATUS also makes Dovecot index the new files, so no tool's first run pays for it.
"""

from __future__ import annotations

import itertools
import os
import pwd
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from imapclient import IMAPClient, imap_utf7

from scripts import corpus
from tests.support.servers import ImapServer

SMALL_MAX_SIZE = 4096  # "small messages": the default profile capped at 4 KB (~3.4 KB each)
_SYSTEM_FLAGS = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S"}


class FillError(RuntimeError):
    """The source mailbox does not hold what was written."""


@dataclass(frozen=True)
class Plan:
    """What one source mailbox holds: corpora (seed, count) written one after the other."""

    user: str
    parts: tuple[tuple[int, int], ...]  # (seed, count) of each corpus
    profile: str = "bench"
    one_folder: bool = False  # every message in INBOX
    max_size: int | None = None

    @property
    def count(self) -> int:
        return sum(count for _seed, count in self.parts)

    def messages(self) -> Iterator[corpus.MessageSpec]:
        for seed, count in self.parts:
            generated = corpus.generate(seed, count, profile=self.profile,
                                        max_size=self.max_size)
            for message in generated.messages():
                yield replace(message, folder=corpus.INBOX) if self.one_folder else message

    def folders(self) -> list[tuple[str, ...]]:
        if self.one_folder:
            return [corpus.INBOX]
        return [folder.path for folder in corpus.FOLDERS]


@dataclass(frozen=True)
class Filled:
    user: str
    count: int
    bytes: int
    seconds: float


def fill(server: ImapServer, plan: Plan) -> Filled:
    """Write ``plan`` into ``server``'s mailbox of ``plan.user`` (which must be empty)."""
    began = time.monotonic()
    root = server.dir / "mail" / plan.user / "Maildir"
    counts: dict[tuple[str, ...], int] = {path: 0 for path in plan.folders()}
    for path in counts:
        for sub in ("cur", "new", "tmp"):
            (_folder_dir(root, path) / sub).mkdir(parents=True, exist_ok=True)
    total_bytes = 0
    serial = itertools.count()
    for path, group in itertools.groupby(plan.messages(), key=lambda m: m.folder):
        written, size = _write_folder(_folder_dir(root, path), group, serial)
        counts[path] += written
        total_bytes += size
    _chown_tree(server.dir / "mail" / plan.user)
    _check(server, plan.user, counts)
    return Filled(plan.user, sum(counts.values()), total_bytes, time.monotonic() - began)


def _folder_dir(root: Path, path: tuple[str, ...]) -> Path:
    if path == corpus.INBOX:
        return root
    return root.joinpath(*(imap_utf7.encode(part).decode("ascii") for part in path))


def _write_folder(folder: Path, messages: Iterable[corpus.MessageSpec],
                  serial: Iterator[int]) -> tuple[int, int]:
    keywords_file = folder / "dovecot-keywords"
    keywords: dict[str, str] = {}
    if keywords_file.exists():
        for line in keywords_file.read_text(encoding="utf-8").splitlines():
            number, _, name = line.partition(" ")
            keywords[name] = chr(ord("a") + int(number))
    written = size = 0
    for message in messages:
        letters = []
        for flag in message.flags:
            if flag in _SYSTEM_FLAGS:
                letters.append(_SYSTEM_FLAGS[flag])
            else:
                if flag not in keywords:
                    if len(keywords) >= 26:
                        raise FillError(f"more than 26 keywords in {folder}")
                    keywords[flag] = chr(ord("a") + len(keywords))
                letters.append(keywords[flag])
        stamp = int(message.internaldate.timestamp())
        length = len(message.raw)
        # Dovecot stores LF line ends in Maildir and serves CRLF; ,S= is the size on disk,
        # ,W= the size over IMAP (the corpus has no bare CR or LF, see scripts/corpus.py)
        data = message.raw.replace(b"\r\n", b"\n")
        name = (f"{stamp}.M{next(serial)}P{os.getpid()}.bench,S={len(data)},W={length}:2,"
                f"{''.join(sorted(letters))}")
        target = folder / "cur" / name
        target.write_bytes(data)
        os.utime(target, (stamp, stamp))
        written += 1
        size += length
    if keywords:
        keywords_file.write_text(
            "".join(f"{ord(letter) - ord('a')} {name}\n" for name, letter in keywords.items()),
            encoding="utf-8")
    return written, size


def _chown_tree(top: Path) -> None:
    """As root, Dovecot reads mail as ``nobody`` (scripts/servers/dovecot-test-server.sh)."""
    if os.getuid() != 0:
        return
    owner = pwd.getpwnam("nobody")
    for directory, _subdirs, files in os.walk(top):
        os.chown(directory, owner.pw_uid, owner.pw_gid)
        for name in files:
            os.chown(os.path.join(directory, name), owner.pw_uid, owner.pw_gid)


def _check(server: ImapServer, user: str, counts: dict[tuple[str, ...], int]) -> None:
    client = IMAPClient(server.host, server.port, ssl=False, timeout=600)
    try:
        client.login(user, server.password)
        for path, expected in counts.items():
            name = "INBOX" if path == corpus.INBOX else server.folder(*path)
            found = client.folder_status(name, [b"MESSAGES"])[b"MESSAGES"]
            if found != expected:
                raise FillError(f"{user} {name}: {found} messages on the server, "
                                f"{expected} written")
    finally:
        client.logout()
