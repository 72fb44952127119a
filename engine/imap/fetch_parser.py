"""Reading FETCH answers fast: the common shapes by regular expression, anything else by imapclient.

Why: a py-spy of a 20,000-message copy into an empty folder (Dovecot to Dovecot, 2026-12-03)
spent 13.4 s of the runner's 52 s of busy thread time in imapclient's response lexer. It reads the
answers one character at a time in Python, and every listing, body fetch and proof goes through it.

What this module owns:

- :func:`parse_atoms` returns what ``imapclient.response_parser.gen_parsed_response`` yields for
  imaplib's FETCH data, as a list. The *fast path* splits each line with one compiled regular
  expression and builds the nested tuples with a stack. It takes only what it can read exactly
  as imapclient does:
  - spaces between tokens; parentheses;
  - quoted strings without a backslash, in printable ASCII;
  - atoms in printable ASCII, with ``[...]`` sections as in ``BODY[HEADER.FIELDS (MESSAGE-ID)]``;
  - a ``{n}`` literal marker that ends its line and whose literal is exactly n bytes.

  Anything else goes, as a whole answer, to imapclient, so its answers and its errors stay
  exactly what they were: a tab, a control or 8-bit byte, a backslash in a quoted string, an
  unclosed parenthesis, a stray ``)``, a marker that does not fit its literal, or an atom
  directly followed by a quote. ``tests/engine/imap/test_fetch_parser.py`` compares both
  readers on literal answers and on thousands of random ones.
- :func:`parse_internaldate` does the same for ``INTERNALDATE``, shaped as in RFC 3501
  (``"03-Dec-2026 10:00:00 +0100"``). It returns the aware datetime that imapclient's
  ``parse_to_datetime(normalise=False)`` returns, with the same ``FixedOffset`` zone. ``-0000``
  ("no zone known": imapclient returns a naive datetime) and any other shape go to imapclient.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from imapclient.datetime_util import parse_to_datetime
from imapclient.fixed_offset import FixedOffset
from imapclient.response_parser import gen_parsed_response

# An atom: printable ASCII but SP ( ) % " [ ; a [...] section may hold anything printable but ].
# Atomic groups (no backtracking), and an atom may not be followed by " or [: imapclient raises
# on the first, and the second is an unclosed section. Either way the match stops short, the
# scan sees a gap and the whole answer goes to imapclient.
_TOKEN = re.compile(
    rb' *(?>(\()|(\))|"([\x20\x21\x23-\x5b\x5d-\x7e]*)"'
    rb'|((?>[\x21\x23\x24\x26\x27\x2a-\x5a\x5c-\x7e]|\[[\x20-\x5c\x5e-\x7e]*\])+)(?![\"\[]))')
_LITERAL = re.compile(rb"\{([0-9]+)\}")
_OPEN, _CLOSE, _QUOTED, _ATOM = 1, 2, 3, 4


class _Unusual(Exception):
    """The fast path cannot read this answer exactly as imapclient would."""


def parse_atoms(data: Sequence[Any]) -> list[Any]:
    """The parsed items of imaplib's FETCH ``data`` (lines, and (line, literal) pairs)."""
    try:
        return _fast(data)
    except _Unusual:
        return list(gen_parsed_response(list(data)))


def _fast(data: Sequence[Any]) -> list[Any]:
    top: list[Any] = []
    stack: list[list[Any]] = [top]
    current = top
    for chunk in data:
        if isinstance(chunk, tuple) and len(chunk) == 2:
            text, literal = chunk
        else:
            text, literal = chunk, None
        if not isinstance(text, bytes) or (literal is not None and not isinstance(literal, bytes)):
            raise _Unusual
        position = 0
        marker_at = -1
        for match in _TOKEN.finditer(text):
            if match.start() != position:
                raise _Unusual
            position = match.end()
            kind = match.lastindex
            if kind == _OPEN:
                current = []
                stack.append(current)
            elif kind == _CLOSE:
                if len(stack) == 1:
                    raise _Unusual  # imapclient reads a stray ")" as an atom
                done = tuple(stack.pop())
                current = stack[-1]
                current.append(done)
            elif kind == _QUOTED:
                current.append(match.group(_QUOTED))
            else:
                word = match.group(_ATOM)
                if word[0] == 0x7B:  # "{": a literal marker
                    found = _LITERAL.fullmatch(word)
                    if literal is None or found is None or len(literal) != int(found.group(1)):
                        raise _Unusual
                    marker_at = position
                    current.append(literal)
                elif word == b"NIL":
                    current.append(None)
                elif word.isdigit() and (word[0] != 0x30 or len(word) == 1):
                    current.append(int(word))
                else:
                    current.append(word)
        if position != len(text) and text[position:].strip(b" "):
            raise _Unusual
        if literal is not None and marker_at != position:
            raise _Unusual  # the marker must end the line that carries the literal
    if len(stack) != 1:
        raise _Unusual  # unclosed: imapclient names the error
    return top


_MONTHS = {name: number for number, name in enumerate(
    (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
     b"Dec"), start=1)}
_DATE = re.compile(rb" ?([0-9]{1,2})-([A-Z][a-z]{2})-([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2})"
                   rb" ([+-])([0-9]{2})([0-9]{2})")
_ZONES: dict[int, FixedOffset] = {}


def parse_internaldate(value: bytes) -> datetime:
    """An INTERNALDATE as imapclient's ``parse_to_datetime(value, normalise=False)`` reads it."""
    found = _DATE.fullmatch(value)
    month = _MONTHS.get(found.group(2)) if found else None
    if found is None or month is None:
        return parse_to_datetime(value, normalise=False)
    sign, hours, minutes = found.group(7, 8, 9)
    offset = int(hours) * 60 + int(minutes)
    if offset == 0 and sign == b"-":
        return parse_to_datetime(value, normalise=False)  # -0000: imapclient gives no zone
    if sign == b"-":
        offset = -offset
    zone = _ZONES.get(offset)
    if zone is None:
        zone = _ZONES.setdefault(offset, FixedOffset(float(offset)))
    try:
        return datetime(int(found.group(3)), month, int(found.group(1)), int(found.group(4)),
                        int(found.group(5)), int(found.group(6)), tzinfo=zone)
    except ValueError:
        return parse_to_datetime(value, normalise=False)  # e.g. 31-Feb: imapclient's error
