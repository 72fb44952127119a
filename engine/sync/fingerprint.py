"""Message fingerprints: the identity the planner matches messages by when UIDs cannot be used
(a UIDVALIDITY change, a move between folders, a renamed folder).

A fingerprint is a SHA-256 digest over four parts, each length-prefixed so no two different part
lists encode the same bytes:

1. the normalized Message-ID (empty when the message has none);
2. RFC822.SIZE;
3. the INTERNALDATE instant (UTC seconds, so the server's time zone does not matter);
4. the Date, From and Subject headers, unfolded with runs of blanks collapsed.

So two different messages that share a Message-ID (mailing-list copies, broken clients) differ
as soon as their size, arrival time or those headers differ, and a message without Message-ID
(a draft) is still identified by the rest. Identical copies get identical fingerprints; callers
count them as a multiset. Header bytes are hashed as they are (no charset decoding), which is
stable because a fingerprint is only ever compared with fingerprints from the same server.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

FINGERPRINT_VERSION = "1"
# The header fields to fetch: BODY.PEEK[HEADER.FIELDS (MESSAGE-ID DATE FROM SUBJECT)].
FINGERPRINT_HEADERS = ("Message-ID", "Date", "From", "Subject")
_HASHED_HEADERS = ("date", "from", "subject")

_FOLD = re.compile(rb"\r?\n(?=[ \t])")
_BLANKS = re.compile(rb"[ \t\r\n]+")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:(.*)$", re.DOTALL)
_ANGLE_ID = re.compile(rb"<([^<>]*)>")


def fingerprint(header: bytes, size: int, internaldate: datetime) -> str:
    """The fingerprint of one message, from its header bytes (whole header or just the
    FINGERPRINT_HEADERS fields; a body after the blank line is ignored)."""
    if size < 0:
        raise ValueError(f"message size must not be negative, got {size}")
    if internaldate.tzinfo is None or internaldate.utcoffset() is None:
        raise ValueError("INTERNALDATE must be timezone-aware (pass normalise_times=False)")
    fields = parse_header_fields(header)
    parts = [
        normalize_message_id(b" ".join(fields.get("message-id", []))),
        str(size).encode(),
        str(int(internaldate.timestamp())).encode(),
        *(b"\n".join(fields.get(name, [])) for name in _HASHED_HEADERS),
    ]
    digest = hashlib.sha256(FINGERPRINT_VERSION.encode())
    for part in parts:
        digest.update(b"%d:" % len(part))
        digest.update(part)
    return digest.hexdigest()[:32]


def parse_header_fields(header: bytes) -> dict[str, list[bytes]]:
    """Header fields by lowercased name, each value unfolded and blank-collapsed, in order."""
    block = _HEADER_END.split(header, maxsplit=1)[0]
    fields: dict[str, list[bytes]] = {}
    for line in _FOLD.sub(b"", block).splitlines():
        match = _FIELD.match(line)
        if match is None:
            continue  # not a header line (mbox From_ line, garbage): ignore
        name = match.group(1).decode("ascii").lower()
        value = _BLANKS.sub(b" ", match.group(2)).strip()
        fields.setdefault(name, []).append(value)
    return fields


def normalize_message_id(value: bytes) -> bytes:
    """The Message-ID without angle brackets, comments or blanks; ``b""`` when there is none."""
    match = _ANGLE_ID.search(value)
    inner = match.group(1) if match else value
    return _BLANKS.sub(b"", inner)
