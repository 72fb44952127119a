"""Reproducible synthetic mailboxes for tests and benchmarks, and their loaders.

This module owns the *test corpus*: ``generate(seed, count, profile)`` describes a mailbox
(folders, then messages streamed folder by folder) whose every byte, date and flag is a pure
function of ``(seed, count, profile, max_size)``. It never reads the clock and never uses an
unseeded random source, so two runs give identical bytes. ``load_imap`` APPENDs a corpus into a
real IMAP mailbox (MULTIAPPEND or pipelined LITERAL+ APPENDs, the target folder SELECTed first);
``load_maildir`` writes the same corpus as a Maildir++ tree.

The corpus always contains (given ``count >= MIN_FULL_COUNT``): nested folders, non-ASCII
folder names, an empty folder, the four special-use folders, sizes from ~1 KB to several MB,
base64 attachments, multipart/alternative, 8-bit bodies, raw UTF-8 headers, messages without
Message-ID, several messages sharing one Message-ID with different bodies, two byte-identical
messages in one folder, every system flag but \\Deleted, keywords, and INTERNALDATEs in many
time zones. The first ``MIN_FULL_COUNT`` messages are a fixed showcase of these features; the
rest are drawn from the profile's distribution.

It is independent of ``engine/`` on purpose: tests use it to check the engine.

Messages use CRLF line endings and contain no bare CR or LF and no NUL, so a store that keeps
LF endings on disk (Dovecot's Maildir) serves back exactly these bytes over IMAP.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import itertools
import math
import os
import quopri
import random
import socket
import ssl
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from imapclient import IMAPClient, imap_utf7
from imapclient.datetime_util import datetime_to_INTERNALDATE
from imapclient.exceptions import IMAPClientError

PROFILES = ("default", "bench")
KB = 1024
MB = 1024 * 1024
DEFAULT_MAX_SIZE = {"default": 4 * MB, "bench": 16 * MB}

#: The logical path of the inbox. Every other folder is a path below the personal namespace.
INBOX: tuple[str, ...] = ("INBOX",)


class CorpusError(Exception):
    """A corpus could not be generated or loaded (bad arguments, server refused, I/O)."""


@dataclass(frozen=True)
class FolderSpec:
    """One folder: its logical path (name parts, no separator, no prefix) and role."""

    path: tuple[str, ...]
    special_use: str | None = None

    @property
    def display(self) -> str:
        return "/".join(self.path)


@dataclass(frozen=True)
class MessageSpec:
    """One message as it must exist in its folder after loading."""

    folder: tuple[str, ...]
    raw: bytes
    flags: tuple[str, ...]
    internaldate: datetime


# --- the corpus layout --------------------------------------------------------------------

FOLDERS: tuple[FolderSpec, ...] = (
    FolderSpec(INBOX),
    FolderSpec(("Sent",), "\\Sent"),
    FolderSpec(("Drafts",), "\\Drafts"),
    FolderSpec(("Trash",), "\\Trash"),
    FolderSpec(("Junk",), "\\Junk"),
    FolderSpec(("Archive",)),
    FolderSpec(("Archive", "2019")),
    FolderSpec(("Archive", "2020")),
    FolderSpec(("Projects",)),
    FolderSpec(("Projects", "Alpha")),
    FolderSpec(("Projects", "Alpha", "Specs")),
    FolderSpec(("Entwürfe",)),
    FolderSpec(("Réunions",)),
    FolderSpec(("Notes & Ideas",)),
    FolderSpec(("日本語",)),
    FolderSpec(("日本語", "メモ")),
    FolderSpec(("Empty",)),
)

# Relative weights of folders for the non-showcase messages ("Empty" stays empty).
_FOLDER_WEIGHTS: dict[tuple[str, ...], int] = {
    INBOX: 40, ("Sent",): 12, ("Drafts",): 2, ("Trash",): 5, ("Junk",): 4, ("Archive",): 3,
    ("Archive", "2019"): 10, ("Archive", "2020"): 10, ("Projects",): 1,
    ("Projects", "Alpha"): 2, ("Projects", "Alpha", "Specs"): 5, ("Entwürfe",): 2,
    ("Réunions",): 2, ("Notes & Ideas",): 1, ("日本語",): 1, ("日本語", "メモ"): 1,
}

# Offsets in minutes: every INTERNALDATE and Date header uses one of these.
_TZ_MINUTES = (0, 60, 120, -300, -480, 540, 330, -210, 765, -600)

_EPOCH = datetime(2012, 1, 1, tzinfo=UTC)
_SPAN_SECONDS = 13 * 365 * 24 * 3600

KINDS = ("plain", "qp", "alternative", "attachment", "eightbit", "header8bit",
         "no_mid", "header_only")


@dataclass(frozen=True)
class _Slot:
    """The plan of one message: everything but its bytes (cheap to hold for 10,000)."""

    index: int
    folder: tuple[str, ...]
    kind: str
    size: int
    flags: tuple[str, ...] | None = None  # None: drawn from the message's own random source
    mid_of: int | None = None  # reuse that message's Message-ID (different body)
    copy_of: int | None = None  # byte-identical copy of that message


# The showcase: (folder, kind, size, flags, extra). extra: ("mid", k) shares the Message-ID of
# showcase message k; ("copy", k) is a byte-identical copy of showcase message k.
_SHOWCASE: tuple[tuple[tuple[str, ...], str, int, tuple[str, ...], tuple[str, int] | None], ...] = (
    (INBOX, "plain", 1 * KB, ("\\Seen",), None),
    (INBOX, "attachment", 3 * MB, ("\\Seen", "\\Flagged"), None),
    (INBOX, "alternative", 12 * KB, (), None),
    (INBOX, "eightbit", 8 * KB, ("\\Seen", "\\Answered"), None),
    (INBOX, "header8bit", 6 * KB, ("\\Seen", "$label1"), None),
    (INBOX, "no_mid", 5 * KB, ("\\Seen",), None),
    (INBOX, "plain", 7 * KB, ("\\Seen",), None),
    (("Archive", "2019"), "plain", 9 * KB, (), ("mid", 6)),
    (INBOX, "alternative", 15 * KB, ("\\Flagged",), ("mid", 6)),
    (INBOX, "plain", 1 * KB, ("\\Seen",), ("copy", 0)),
    (INBOX, "header_only", 0, (), None),
    (INBOX, "qp", 10 * KB, ("\\Seen", "\\Answered", "$Forwarded", "Important"), None),
    (("Sent",), "plain", 6 * KB, ("\\Seen",), None),
    (("Sent",), "attachment", 80 * KB, ("\\Seen", "$Forwarded"), None),
    (("Drafts",), "plain", 3 * KB, ("\\Draft", "\\Seen"), None),
    (("Drafts",), "alternative", 9 * KB, ("\\Draft",), None),
    (("Trash",), "plain", 4 * KB, ("\\Seen",), None),
    (("Junk",), "plain", 5 * KB, ("\\Seen", "$Junk"), None),
    (("Junk",), "alternative", 11 * KB, ("$Junk",), None),
    (("Archive",), "plain", 5 * KB, ("\\Seen",), None),
    (("Archive", "2019"), "attachment", 40 * KB, ("\\Seen",), None),
    (("Archive", "2020"), "alternative", 20 * KB, ("\\Seen", "$NotJunk"), None),
    (("Projects",), "plain", 6 * KB, ("\\Seen",), None),
    (("Projects", "Alpha"), "qp", 7 * KB, (), None),
    (("Projects", "Alpha", "Specs"), "attachment", 300 * KB,
     ("\\Seen", "\\Flagged", "Important"), None),
    (("Entwürfe",), "eightbit", 6 * KB, ("\\Draft",), None),
    (("Réunions",), "header8bit", 9 * KB, ("\\Seen", "$MDNSent"), None),
    (("Notes & Ideas",), "plain", 5 * KB, (), None),
    (("日本語",), "eightbit", 14 * KB, ("\\Seen",), None),
    (("日本語", "メモ"), "header8bit", 5 * KB, (), None),
)

#: With at least this many messages, every feature listed in the module docstring is present.
MIN_FULL_COUNT = len(_SHOWCASE)


def generate(seed: int, count: int, profile: str = "default", *,
             max_size: int | None = None) -> Corpus:
    """Describe the corpus for these parameters (cheap: no message bytes are built here)."""
    if profile not in PROFILES:
        raise CorpusError(f"unknown profile {profile!r} (choose from {', '.join(PROFILES)})")
    if count < 0:
        raise CorpusError("count must be >= 0")
    limit = DEFAULT_MAX_SIZE[profile] if max_size is None else max_size
    if limit < 4 * KB:
        raise CorpusError("max_size must be at least 4096 bytes")
    slots = _plan(seed, count, profile, limit)
    return Corpus(seed=seed, count=count, profile=profile, max_size=limit,
                  folders=list(FOLDERS), _slots=slots)


@dataclass(frozen=True)
class Corpus:
    """A planned mailbox. Iterating yields MessageSpecs grouped by folder, built lazily."""

    seed: int
    count: int
    profile: str
    max_size: int
    folders: list[FolderSpec]
    _slots: tuple[_Slot, ...] = field(repr=False)

    def __iter__(self) -> Iterator[MessageSpec]:
        return self.messages()

    def __len__(self) -> int:
        return self.count

    def messages(self) -> Iterator[MessageSpec]:
        """Yield every message, folder by folder in ``folders`` order, one at a time."""
        texts = _TextPool(self.seed)
        by_index = {s.index: s for s in self._slots}
        for folder in self.folders:
            for slot in self._slots:
                if slot.folder == folder.path:
                    yield _build(self.seed, slot, by_index, texts)

    def folder_counts(self) -> dict[tuple[str, ...], int]:
        """How many messages each folder will hold."""
        counts = {f.path: 0 for f in self.folders}
        for slot in self._slots:
            counts[slot.folder] += 1
        return counts


# --- planning ----------------------------------------------------------------------------

def _plan(seed: int, count: int, profile: str, max_size: int) -> tuple[_Slot, ...]:
    rng = random.Random(f"imsh-corpus-plan:{seed}:{profile}")
    slots: list[_Slot] = []
    for index in range(count):
        if index < len(_SHOWCASE):
            slots.append(_showcase_slot(index, max_size))
        else:
            slots.append(_random_slot(rng, index, profile, max_size))
    return tuple(slots)


def _showcase_slot(index: int, max_size: int) -> _Slot:
    folder, kind, size, flags, extra = _SHOWCASE[index]
    size = min(size, max_size)
    if extra and extra[0] == "mid":
        return _Slot(index, folder, kind, size, flags, mid_of=extra[1])
    if extra and extra[0] == "copy":
        return _Slot(index, folder, kind, size, flags, copy_of=extra[1])
    return _Slot(index, folder, kind, size, flags)


def _random_slot(rng: random.Random, index: int, profile: str, max_size: int) -> _Slot:
    folders = list(_FOLDER_WEIGHTS)
    folder = rng.choices(folders, weights=[_FOLDER_WEIGHTS[f] for f in folders])[0]
    size = min(_draw_size(rng, profile), max_size)
    kind = _draw_kind(rng, profile, size)
    mid_of = copy_of = None
    if kind == "dup_mid":
        kind, mid_of = "plain", rng.randrange(index)
    elif kind == "copy":
        kind, copy_of = "plain", rng.randrange(index)
    return _Slot(index, folder, kind, size, mid_of=mid_of, copy_of=copy_of)


def _draw_size(rng: random.Random, profile: str) -> int:
    if profile == "bench":
        # Log-normal with median 30 KB and mean ~100 KB, as measured on real mailboxes.
        return max(KB, int(rng.lognormvariate(math.log(30 * KB), 1.55)))
    band = rng.random()
    low, high = ((5 * KB, 50 * KB) if band < 0.85 else (KB, 5 * KB) if band < 0.92
                 else (50 * KB, 500 * KB) if band < 0.99 else (500 * KB, 3 * MB))
    return int(math.exp(rng.uniform(math.log(low), math.log(high))))


_KIND_WEIGHTS = {
    "default": {"plain": 30, "qp": 6, "alternative": 25, "attachment": 22, "eightbit": 8,
                "header8bit": 3, "no_mid": 2, "header_only": 0.5, "dup_mid": 2, "copy": 0.5},
    "bench": {"plain": 35, "qp": 5, "alternative": 25, "attachment": 29, "eightbit": 2,
              "header8bit": 1, "no_mid": 1, "header_only": 0.2, "dup_mid": 1, "copy": 0.2},
}


def _draw_kind(rng: random.Random, profile: str, size: int) -> str:
    weights = _KIND_WEIGHTS[profile]
    kind = rng.choices(list(weights), weights=list(weights.values()))[0]
    if size > 200 * KB and kind in ("plain", "qp", "alternative", "eightbit"):
        return "attachment"  # big mail is big because of what is attached
    return kind


# --- building message bytes --------------------------------------------------------------

_ASCII_TEXT = (
    "migration mailbox folder server report budget meeting quarterly review draft schedule "
    "project alpha specification release customer invoice travel agenda minutes summary "
    "network storage backup archive policy update question answer please thanks regards "
    "tomorrow yesterday deadline estimate design module protocol message attachment signed "
    "contract proposal feedback support ticket incident change request approval lunch"
)
_UTF8_TEXT = (
    "Grüße Übersicht Entwürfe Besprechung Straße Äpfel für Öffnungszeiten réunion "
    "déjà élève façade naïve café crème 日本語 会議 資料 予定 確認 メモ よろしく Привет "
    "отчёт κόσμος Ελλάδα"
)
_ASCII_WORDS = tuple(_ASCII_TEXT.split())
_UTF8_WORDS = tuple(_UTF8_TEXT.split())
_NAMES = (("Alice Martin", "alice@example.org"), ("Bob Chen", "bob@example.net"),
          ("Carol Díaz", "carol@example.com"), ("Dieter Müller", "dieter@example.de"),
          ("Émilie Laurent", "emilie@example.fr"), ("山田 太郎", "taro@example.jp"),
          ("Eve Novak", "eve@example.org"), ("Frank O'Neil", "frank@example.net"))


class _TextPool:
    """Paragraphs drawn once per corpus, so bodies are cheap to assemble by the megabyte."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"imsh-corpus-text:{seed}")
        self.ascii = [self._paragraph(rng, _ASCII_WORDS) for _ in range(64)]
        self.utf8 = [self._paragraph(rng, _ASCII_WORDS + _UTF8_WORDS * 3) for _ in range(32)]

    @staticmethod
    def _paragraph(rng: random.Random, words: Sequence[str]) -> str:
        text = " ".join(rng.choice(words) for _ in range(rng.randint(40, 140)))
        return text[0].upper() + text[1:] + "."

    def body(self, rng: random.Random, size: int, utf8: bool) -> str:
        pool = self.utf8 if utf8 else self.ascii
        parts: list[str] = []
        total = 0
        while total < size:
            para = rng.choice(pool)
            room = size - total
            if len(para.encode()) + 4 > room:  # cut the last paragraph to stay within size
                para = para.encode()[: max(room - 8, 16)].decode("utf-8", "ignore")
                para = para.rsplit(" ", 1)[0] if " " in para else para
            para = _wrap(para)
            parts.append(para)
            total += len(para.encode()) + 4
        return "\r\n\r\n".join(parts) + "\r\n"


def _wrap(text: str, width: int = 72) -> str:
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\r\n".join(lines)


def _build(seed: int, slot: _Slot, by_index: dict[int, _Slot], texts: _TextPool) -> MessageSpec:
    rng = random.Random(f"imsh-corpus-msg:{seed}:{slot.index}")
    internaldate = _draw_internaldate(rng)
    flags = slot.flags if slot.flags is not None else _draw_flags(rng, slot.folder)
    source = slot
    while source.copy_of is not None and source.copy_of in by_index:
        source = by_index[source.copy_of]
    return MessageSpec(slot.folder, _build_raw(seed, source, texts), tuple(flags), internaldate)


def _draw_internaldate(rng: random.Random) -> datetime:
    instant = _EPOCH + timedelta(seconds=rng.randrange(_SPAN_SECONDS))
    tz = timezone(timedelta(minutes=rng.choice(_TZ_MINUTES)))
    return instant.astimezone(tz)


def _draw_flags(rng: random.Random, folder: tuple[str, ...]) -> tuple[str, ...]:
    flags: list[str] = []
    if folder == ("Drafts",) or folder == ("Entwürfe",):
        flags.append("\\Draft")
    for flag, chance in (("\\Seen", 0.8), ("\\Answered", 0.15), ("\\Flagged", 0.08),
                         ("$Forwarded", 0.05), ("$label1", 0.03), ("Important", 0.03),
                         ("$MDNSent", 0.02)):
        if rng.random() < chance:
            flags.append(flag)
    if folder == ("Junk",) and rng.random() < 0.6:
        flags.append("$Junk")
    return tuple(flags)


def _message_id(seed: int, index: int) -> str:
    token = random.Random(f"imsh-corpus-mid:{seed}:{index}").getrandbits(64)
    return f"<{token:016x}.{index}@corpus.imsh.example>"


def _build_raw(seed: int, slot: _Slot, texts: _TextPool) -> bytes:
    rng = random.Random(f"imsh-corpus-raw:{seed}:{slot.index}")
    sender, recipient = rng.sample(_NAMES, 2)
    sent = _draw_internaldate(rng) - timedelta(seconds=rng.randint(5, 3600))
    header8 = slot.kind == "header8bit"
    subject = _subject(rng, slot, header8)
    lines = [
        f"Return-Path: <{sender[1]}>",
        f"Received: from mx{rng.randint(1, 9)}.example.org by imap.example.net"
        f" with ESMTPS id {rng.getrandbits(48):012x}; {format_datetime(sent)}",
        f"Date: {format_datetime(sent)}",
        f"From: {_address(sender, header8)}",
        f"To: {_address(recipient, header8)}",
        f"Subject: {subject}",
    ]
    if slot.kind != "no_mid":
        mid_index = slot.mid_of if slot.mid_of is not None else slot.index
        lines.append(f"Message-ID: {_message_id(seed, mid_index)}")
    lines.append("MIME-Version: 1.0")
    head, body = _body(rng, slot, texts, seed)
    return ("\r\n".join(lines + head) + "\r\n\r\n").encode() + body


def _subject(rng: random.Random, slot: _Slot, header8: bool) -> str:
    words = " ".join(rng.choice(_ASCII_WORDS) for _ in range(rng.randint(2, 6)))
    if header8:
        return f"Réunion über {words} — 会議 #{slot.index}"  # raw UTF-8 bytes in a header
    if slot.kind == "qp":
        encoded = base64.b64encode(f"Grüße: {words}".encode()).decode()
        return f"=?UTF-8?B?{encoded}?= #{slot.index}"
    return f"{words.capitalize()} #{slot.index}"


def _address(person: tuple[str, str], header8: bool) -> str:
    name, addr = person
    if header8 or name.isascii():
        return f'"{name}" <{addr}>'
    return f"=?UTF-8?B?{base64.b64encode(name.encode()).decode()}?= <{addr}>"


def _body(rng: random.Random, slot: _Slot, texts: _TextPool,
          seed: int) -> tuple[list[str], bytes]:
    """Return (content headers, body bytes) for the slot's kind and target size."""
    size = max(slot.size - 1024, 64)  # room left for the header block
    kind = slot.kind
    if kind == "header_only":
        return ["Content-Type: text/plain; charset=us-ascii"], b""
    if kind in ("eightbit", "header8bit"):
        return (["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"],
                texts.body(rng, size, utf8=True).encode())
    if kind == "qp":
        text = texts.body(rng, size, utf8=True).encode()
        encoded = quopri.encodestring(text.replace(b"\r\n", b"\n")).replace(b"\n", b"\r\n")
        if len(encoded) > size:  # non-ASCII triples in QP: keep whole lines up to the size
            encoded = encoded[: encoded.rfind(b"\r\n", 0, size) + 2]
        return (["Content-Type: text/plain; charset=utf-8",
                 "Content-Transfer-Encoding: quoted-printable"], encoded)
    if kind == "alternative":
        return _alternative(rng, size, texts, _boundary(seed, slot, 1))
    if kind == "attachment":
        return _attachment(rng, size, texts, seed, slot)
    return (["Content-Type: text/plain; charset=us-ascii", "Content-Transfer-Encoding: 7bit"],
            texts.body(rng, size, utf8=False).encode())


def _boundary(seed: int, slot: _Slot, level: int) -> str:
    return f"=_imsh_{seed}_{slot.index}_{level}"


def _alternative(rng: random.Random, size: int, texts: _TextPool,
                 boundary: str) -> tuple[list[str], bytes]:
    plain = texts.body(rng, size * 9 // 20, utf8=False)  # the HTML copy is ~10% larger
    html = "<html><body>\r\n" + "".join(
        f"<p>{para}</p>\r\n" for para in plain.split("\r\n\r\n")) + "</body></html>\r\n"
    body = (
        "This is a multi-part message in MIME format.\r\n"
        f"--{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n{plain}"
        f"--{boundary}\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n{html}"
        f"--{boundary}--\r\n"
    )
    return [f'Content-Type: multipart/alternative; boundary="{boundary}"'], body.encode()


def _attachment(rng: random.Random, size: int, texts: _TextPool, seed: int,
                slot: _Slot) -> tuple[list[str], bytes]:
    boundary = _boundary(seed, slot, 0)
    text = texts.body(rng, min(size // 8, 4 * KB), utf8=False)
    # base64 in 76-character lines turns 57 bytes into 78
    payload = rng.randbytes(max((size - len(text) - 400) * 57 // 78, 16))
    encoded = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    name, ctype = rng.choice((("report.pdf", "application/pdf"), ("photo.jpg", "image/jpeg"),
                              ("data.bin", "application/octet-stream"),
                              ("archive.zip", "application/zip")))
    head = (
        "This is a multi-part message in MIME format.\r\n"
        f"--{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n{text}"
        f"--{boundary}\r\nContent-Type: {ctype}; name=\"{name}\"\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: attachment; filename=\"{name}\"\r\n\r\n"
    ).encode()
    tail = f"--{boundary}--\r\n".encode()
    return [f'Content-Type: multipart/mixed; boundary="{boundary}"'], head + encoded + tail


# --- loading into IMAP -------------------------------------------------------------------

@dataclass(frozen=True)
class ImapParams:
    """How to reach and log in to an IMAP mailbox."""

    host: str
    port: int
    user: str
    password: str
    tls: bool = False
    cafile: str | None = None
    timeout: float = 60.0


@dataclass
class LoadStats:
    """What a loader did."""

    messages: int = 0
    bytes: int = 0
    seconds: float = 0.0
    folders: dict[tuple[str, ...], str] = field(default_factory=dict)  # logical -> server name


@dataclass(frozen=True)
class ServerLayout:
    """Where a user's personal folders live on a server: ``prefix`` + parts joined by ``sep``."""

    prefix: str
    sep: str

    def server_name(self, path: tuple[str, ...]) -> str:
        if path == INBOX:
            return "INBOX"
        for part in path:
            if self.sep in part:
                raise CorpusError(f"folder part {part!r} contains the server's separator "
                                  f"{self.sep!r}")
        return self.prefix + self.sep.join(path)


def connect(params: ImapParams) -> IMAPClient:
    """Open and log in an IMAPClient; raise CorpusError on any failure."""
    try:
        context = ssl.create_default_context(cafile=params.cafile) if params.tls else None
        client = IMAPClient(params.host, params.port, ssl=params.tls, ssl_context=context,
                            timeout=params.timeout)
        client.login(params.user, params.password)
    except (IMAPClientError, OSError) as exc:
        raise CorpusError(f"cannot log in to {params.host}:{params.port} as "
                          f"{params.user}: {exc}") from exc
    return client


def set_nodelay(client: IMAPClient) -> None:
    """Disable Nagle: imaplib sends a literal and its closing CRLF in separate writes, and
    against servers without LITERAL+ (Courier) each APPEND otherwise waits ~40 ms for a
    delayed ACK."""
    with contextlib.suppress(OSError, AttributeError):
        client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def discover_layout(client: IMAPClient) -> ServerLayout:
    """Learn the personal namespace prefix and hierarchy separator (NAMESPACE, else LIST)."""
    if client.has_capability("NAMESPACE"):
        personal = client.namespace().personal
        if personal:
            prefix, sep = personal[0]
            return ServerLayout(prefix or "", sep or "/")
    listing = client.list_folders("", "")
    sep = listing[0][1].decode() if listing and listing[0][1] else "/"
    return ServerLayout("", sep)


def load_imap(target: IMAPClient | ImapParams, corpus: Corpus, *,
              batch_count: int = 100, batch_bytes: int = 8 * MB) -> LoadStats:
    """Create the corpus folders and APPEND every message; return what was loaded.

    Folders are all created first on this one connection (see DESIGN.md: Dovecot can crash
    when CREATE and APPEND interleave across sessions), then each folder is SELECTed and
    filled in batches: MULTIAPPEND when offered, else pipelined LITERAL+ APPENDs, else one
    APPEND at a time.
    """
    client = connect(target) if isinstance(target, ImapParams) else target
    set_nodelay(client)
    started = time.monotonic()
    try:
        layout = discover_layout(client)
        stats = LoadStats(folders={f.path: layout.server_name(f.path) for f in corpus.folders})
        _create_folders(client, corpus.folders, stats.folders)
        for path, group in itertools.groupby(corpus.messages(), key=lambda m: m.folder):
            name = stats.folders[path]
            client.select_folder(name)
            for batch in _batches(group, batch_count, batch_bytes):
                _append_batch(client, name, batch)
                stats.messages += len(batch)
                stats.bytes += sum(len(m.raw) for m in batch)
    except IMAPClientError as exc:
        raise CorpusError(f"loading the corpus failed: {exc}") from exc
    finally:
        if isinstance(target, ImapParams):
            _logout(client)
    stats.seconds = time.monotonic() - started
    return stats


def _logout(client: IMAPClient) -> None:
    with contextlib.suppress(IMAPClientError, OSError):  # it is going away either way
        client.logout()


def _create_folders(client: IMAPClient, folders: Sequence[FolderSpec],
                    names: dict[tuple[str, ...], str]) -> None:
    existing = {name.upper() if name.upper() == "INBOX" else name
                for _flags, _sep, name in client.list_folders()}
    special_ok = client.has_capability("CREATE-SPECIAL-USE")
    for folder in folders:
        name = names[folder.path]
        if name in existing or name.upper() == "INBOX":
            continue
        if folder.special_use and special_ok and _create_special(client, name, folder):
            continue
        client.create_folder(name)


def _create_special(client: IMAPClient, name: str, folder: FolderSpec) -> bool:
    """CREATE with a USE attribute (RFC 6154); False when the server refuses it."""
    # imapclient has no CREATE ... (USE ...) call; its raw command sends literals correctly.
    quoted = client._normalise_folder(name)
    typ, _data = client._raw_command(
        b"CREATE", [quoted, f"(USE ({folder.special_use}))".encode()], uid=False)
    return bool(typ == "OK")


def _batches(messages: Iterable[MessageSpec], count: int,
             size: int) -> Iterator[list[MessageSpec]]:
    batch: list[MessageSpec] = []
    total = 0
    for message in messages:
        if batch and (len(batch) >= count or total + len(message.raw) > size):
            yield batch
            batch, total = [], 0
        batch.append(message)
        total += len(message.raw)
    if batch:
        yield batch


def _append_batch(client: IMAPClient, name: str, batch: list[MessageSpec]) -> None:
    if client.has_capability("MULTIAPPEND"):
        typ, data = client.multiappend(
            name, [{"msg": m.raw, "flags": m.flags, "date": m.internaldate} for m in batch])
        if typ != "OK":
            raise CorpusError(f"MULTIAPPEND into {name!r} failed: {data!r}")
    elif client.has_capability("LITERAL+"):
        _pipelined_append(client, name, batch)
    else:
        for m in batch:
            client.append(name, m.raw, m.flags, m.internaldate)


def _pipelined_append(client: IMAPClient, name: str, batch: list[MessageSpec]) -> None:
    """Send every APPEND of the batch before reading any answer (non-synchronising literals).

    Uses imaplib's tag bookkeeping: a tagged answer that arrives for another pending tag is
    kept until asked for. Answers are tiny, so the batch cannot fill the socket buffers.
    """
    imap: Any = client._imap
    folder = client._normalise_folder(name)
    tags = []
    for m in batch:
        tag = imap._new_tag()
        flags = " ".join(m.flags).encode()
        date = datetime_to_INTERNALDATE(m.internaldate).encode()
        imap.send(b"%s APPEND %s (%s) \"%s\" {%d+}\r\n" % (tag, folder, flags, date, len(m.raw))
                  + m.raw + b"\r\n")
        tags.append(tag)
    for tag in tags:
        typ, data = imap._command_complete("APPEND", tag)
        if typ != "OK":
            raise CorpusError(f"APPEND into {name!r} failed: {data!r}")


# --- writing a Maildir++ tree ------------------------------------------------------------

_MAILDIR_FLAGS = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S",
                  "\\Deleted": "T"}


def maildir_folder_dir(root: Path, path: tuple[str, ...]) -> Path:
    """The directory of a logical folder in a Maildir++ tree (names in modified UTF-7)."""
    if path == INBOX:
        return root
    for part in path:
        if "." in part or "/" in part:
            raise CorpusError(f"folder part {part!r} cannot be stored in Maildir++")
    return root / ("." + ".".join(imap_utf7.encode(p).decode("ascii") for p in path))


def load_maildir(path: str | os.PathLike[str], corpus: Corpus) -> LoadStats:
    """Write the corpus as a Maildir++ tree rooted at ``path`` (INBOX is the root itself).

    Keywords follow Dovecot: lowercase letters in the info suffix, mapped by a
    ``dovecot-keywords`` file in each folder directory. INTERNALDATE is the file mtime.
    """
    root = Path(path)
    started = time.monotonic()
    stats = LoadStats()
    for folder in corpus.folders:
        folder_dir = maildir_folder_dir(root, folder.path)
        for sub in ("cur", "new", "tmp"):
            (folder_dir / sub).mkdir(parents=True, exist_ok=True)
        if folder.path != INBOX:
            (folder_dir / "maildirfolder").touch()
        stats.folders[folder.path] = str(folder_dir)
    for folder_path, group in itertools.groupby(corpus.messages(), key=lambda m: m.folder):
        keywords: dict[str, str] = {}
        folder_dir = maildir_folder_dir(root, folder_path)
        for message in group:
            _write_maildir_message(folder_dir, message, keywords, stats.messages, corpus.seed)
            stats.messages += 1
            stats.bytes += len(message.raw)
        if keywords:
            lines = "".join(f"{ord(letter) - ord('a')} {kw}\n" for kw, letter in keywords.items())
            (folder_dir / "dovecot-keywords").write_text(lines, encoding="utf-8")
    stats.seconds = time.monotonic() - started
    return stats


def _write_maildir_message(folder_dir: Path, message: MessageSpec, keywords: dict[str, str],
                           serial: int, seed: int) -> None:
    letters = []
    for flag in message.flags:
        if flag in _MAILDIR_FLAGS:
            letters.append(_MAILDIR_FLAGS[flag])
        else:
            if flag not in keywords:
                if len(keywords) >= 26:
                    raise CorpusError("more than 26 keywords in one Maildir folder")
                keywords[flag] = chr(ord("a") + len(keywords))
            letters.append(keywords[flag])
    stamp = int(message.internaldate.timestamp())
    size = len(message.raw)
    name = f"{stamp}.M{serial}P{seed}.imsh,S={size},W={size}:2,{''.join(sorted(letters))}"
    target = folder_dir / "cur" / name
    target.write_bytes(message.raw)
    os.utime(target, (stamp, stamp))


# --- command line ------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.corpus",
        description="Load a reproducible synthetic mailbox into an IMAP server or a Maildir.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--tls", action="store_true", help="implicit TLS (imaps)")
    parser.add_argument("--cafile", help="CA certificate to verify the server with")
    parser.add_argument("--maildir", help="write a Maildir++ tree here instead of IMAP")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--profile", choices=PROFILES, default="default")
    parser.add_argument("--max-size", type=int, help="cap on one message's size in bytes")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        corpus = generate(args.seed, args.count, args.profile, max_size=args.max_size)
        if args.maildir:
            stats = load_maildir(args.maildir, corpus)
        else:
            if args.port is None or args.user is None or args.password is None:
                parser.error("--port, --user and --password are required (or --maildir)")
            params = ImapParams(args.host, args.port, args.user, args.password,
                                tls=args.tls, cafile=args.cafile)
            stats = load_imap(params, corpus)
    except CorpusError as exc:
        print(f"corpus: error: {exc}", file=sys.stderr)
        return 2
    print(f"loaded {stats.messages} messages, {stats.bytes / MB:.1f} MiB, "
          f"{len(stats.folders)} folders in {stats.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
