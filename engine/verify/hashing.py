"""A message's identity: the SHA-256 of its bytes in CRLF form, computed as the bytes stream by.

IMAP bodies arrive CRLF (as the server sends them); a Maildir file may hold bare LFs (Dovecot
stores LF on disk), which are read as CRLF. Rewriting is streaming: a chunk's last byte, when
it is a CR, waits for the next chunk, so a CRLF split between two chunks stays one CRLF. Memory
is one chunk whatever the message size.
"""

from __future__ import annotations

import hashlib
from typing import BinaryIO

CHUNK = 1024 * 1024


def canonical_bytes(raw: bytes) -> bytes:
    """The message with every bare LF turned into CRLF (what IMAP would show)."""
    if raw.count(b"\n") == raw.count(b"\r\n"):
        return raw  # the common case, and much cheaper than rewriting megabytes
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def message_digest(raw: bytes) -> str:
    return hashlib.sha256(canonical_bytes(raw)).hexdigest()


class CanonicalHasher:
    """Feed chunks of a message; :meth:`hexdigest` is :func:`message_digest` of all of them."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self._held_cr = False
        self.size = 0  # canonical bytes hashed so far

    def update(self, chunk: bytes) -> None:
        if not chunk:
            return
        if self._held_cr:
            chunk = b"\r" + chunk
            self._held_cr = False
        if chunk.endswith(b"\r"):
            chunk = chunk[:-1]
            self._held_cr = True
        out = canonical_bytes(chunk)
        self.size += len(out)
        self._sha.update(out)

    def hexdigest(self) -> str:
        if self._held_cr:
            self._sha.update(b"\r")
            self.size += 1
            self._held_cr = False
        return self._sha.hexdigest()


def file_digest(stream: BinaryIO, head_bytes: int = 64 * 1024) -> tuple[str, bytes, int]:
    """(digest, the first ``head_bytes`` canonical bytes for labels, canonical size)."""
    hasher = CanonicalHasher()
    head = b""
    while chunk := stream.read(CHUNK):
        if len(head) < head_bytes:
            head += canonical_bytes(chunk[: head_bytes - len(head)])
        hasher.update(chunk)
    return hasher.hexdigest(), head, hasher.size
