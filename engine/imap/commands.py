"""UID commands over any number of messages, as the engine sends them to every IMAP server.

What this module owns:

- **Chunked UID sets.** FETCH, SEARCH, STORE and EXPUNGE take their UIDs through
  :func:`engine.imap.uidsets.uid_sets`: ranges, several commands when needed, none longer
  than about 8 KB (Dovecot refuses lines above 64 KB with ``BAD Too long argument``).
- **FETCH answers read by UID, not by sequence number.** :func:`fetch` keys each FETCH
  response by the UID it carries; a response without a UID is an unsolicited flag update by
  another session (RFC 3501 §7.4.2) and is ignored, as is one for a UID not asked for, so a
  sequence number is never taken for a UID and another message's flags never land on a row.
  Items a response leaves out are simply absent from its row: callers decide what a missing
  ``BODY[]``, ``RFC822.SIZE`` or ``INTERNALDATE`` means (see engine/imap/source.py).
- **Listing UIDs** (:func:`folder_uids`): ``UID SEARCH RETURN (ALL)`` (ESEARCH, RFC 4731) answers
  with ranges; without ESEARCH the UID space is searched in windows whose answers stay under
  imaplib's 1 MB line limit.
- **Searching by a header value** (:func:`search_header`): the value goes as a literal, so
  quotes and backslashes in a Message-ID need no escaping; a value that is not ASCII is not
  searched at all (the caller matches by fingerprint instead): an 8-bit Message-ID is
  usually not valid UTF-8, so no charset would find it, and imapclient's ASCII encoding of
  it raised ``UnicodeEncodeError``.

Errors are imapclient's/imaplib's; callers run these inside :func:`engine.imap.connection.
imap_errors`, which turns them into the engine's transient or permanent errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import ProtocolError

from engine.imap.fetch_parser import parse_atoms, parse_internaldate
from engine.imap.uidsets import uid_sets
from engine.imap.wire import raw_connection, uid_command

SEARCH_WINDOW = 80_000  # UID values per plain UID SEARCH: at most ~880 KB of answer
_ESEARCH_ALL = re.compile(rb"\bALL\s+([0-9:,]+)", re.IGNORECASE)

Row = dict[bytes, Any]


def fetch(client: IMAPClient, uids: Iterable[int], items: Sequence[str]) -> dict[int, Row]:
    """``UID FETCH`` of ``items`` for ``uids`` (any number), keyed by UID."""
    wanted = set(uids)
    rows: dict[int, Row] = {}
    imap = raw_connection(client)
    for message_set in uid_sets(wanted):
        data = uid_command(client, "FETCH", message_set, "(" + " ".join(items) + ")",
                           answer="FETCH")
        for uid, row in parse_fetch(data):
            if uid in wanted:
                rows.setdefault(uid, {}).update(row)
        imap.untagged_responses.pop("EXPUNGE", None)  # UIDs, not numbers, are what we keep
    return rows


def parse_fetch(data: Sequence[Any]) -> list[tuple[int, Row]]:
    """Each FETCH response that carries a UID, as (UID, items); the others are left out."""
    if not data or data == [None]:
        return []
    parsed = iter(parse_atoms(data))
    result: list[tuple[int, Row]] = []
    while True:
        try:
            next(parsed)  # the sequence number: not an identity
        except StopIteration:
            return result
        try:
            items = next(parsed)
        except StopIteration:
            raise ProtocolError("unexpected end of a FETCH response") from None
        if not isinstance(items, tuple) or len(items) % 2:
            raise ProtocolError(f"bad FETCH response: {items!r}")
        row: Row = {}
        for name, value in zip(items[::2], items[1::2], strict=True):
            word = bytes(name).upper()
            if word == b"INTERNALDATE" and isinstance(value, bytes):
                value = parse_internaldate(value)
            row[word] = value
        uid = row.get(b"UID")
        if isinstance(uid, int) or (isinstance(uid, bytes) and uid.isdigit()):
            result.append((int(uid), row))


def header_block(row: Row | None) -> bytes | None:
    """The ``BODY[HEADER.FIELDS (...)]`` (or ``BODY[HEADER]``) item of a FETCH row, if any."""
    for key, value in (row or {}).items():
        if key.upper().startswith(b"BODY[HEADER") and isinstance(value, bytes | bytearray):
            return bytes(value)
    return None


def folder_uids(client: IMAPClient, below: int, *, esearch: bool, first: int = 1) -> list[int]:
    """The UIDs of the selected folder from ``first`` and lower than ``below`` (its UIDNEXT
    when it was examined: later mail belongs to the next pass), ascending."""
    if below <= first:
        return []
    if esearch:
        return [u for u in _esearch_all(client, f"{first}:{below - 1}") if first <= u < below]
    uids: list[int] = []
    for low in range(first, below, SEARCH_WINDOW):
        high = min(low + SEARCH_WINDOW - 1, below - 1)
        uids += client.search(["UID", f"{low}:{high}"])
    return sorted(set(uids))


def _esearch_all(client: IMAPClient, uid_range: str) -> list[int]:
    data = uid_command(client, "SEARCH", "RETURN", "(ALL)", "UID", uid_range, answer="ESEARCH")
    raw_connection(client).untagged_responses.pop("SEARCH", None)
    uids: list[int] = []
    for line in data:
        match = _ESEARCH_ALL.search(line if isinstance(line, bytes) else b"")
        if match:
            uids += _expand(match.group(1).decode())
    return sorted(set(uids))


def search_header(client: IMAPClient, floor: int, name: str, value: str | None) -> list[int]:
    """UIDs at or above ``floor`` whose header ``name`` contains ``value``; every UID at or
    above ``floor`` when ``value`` is None or not ASCII (see the module docstring)."""
    if value is None or not value.isascii():
        return [u for u in client.search(["UID", f"{floor}:*"]) if u >= floor]
    imap: Any = raw_connection(client)
    imap.literal = value.encode("ascii")  # sent as the literal of the HEADER key
    data = uid_command(client, "SEARCH", "UID", f"{floor}:*", "HEADER", name, answer="SEARCH")
    uids = [int(word) for line in data if isinstance(line, bytes)
            for word in line.split() if word.isdigit()]
    return sorted(u for u in set(uids) if u >= floor)


def add_flags(client: IMAPClient, uids: Iterable[int], flags: Sequence[bytes | str]) -> None:
    """``UID STORE +FLAGS.SILENT`` for any number of UIDs."""
    for message_set in uid_sets(uids):
        client.add_flags(message_set, list(flags), silent=True)


def uid_expunge(client: IMAPClient, uids: Iterable[int]) -> None:
    """``UID EXPUNGE`` (UIDPLUS) for any number of UIDs."""
    for message_set in uid_sets(uids):
        client.uid_expunge(message_set)


def _expand(uid_text: str) -> list[int]:
    uids: list[int] = []
    for part in uid_text.split(","):
        low, _, high = part.partition(":")
        a, b = int(low), int(high or low)
        uids.extend(range(min(a, b), max(a, b) + 1))
    return uids
