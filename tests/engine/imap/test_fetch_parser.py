"""The fast FETCH reader (engine/imap/fetch_parser.py) against imapclient's, on literal answers
as Dovecot, Cyrus and Courier send them and on random ones: the same items, the same errors,
and the fast path really taken for the common shapes."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

import pytest
from imapclient.datetime_util import parse_to_datetime
from imapclient.response_parser import gen_parsed_response

from engine.imap import fetch_parser
from engine.imap.commands import parse_fetch
from engine.imap.fetch_parser import parse_atoms, parse_internaldate

LISTING = [
    b'1 (UID 7 FLAGS (\\Seen $Forwarded) RFC822.SIZE 3412'
    b' INTERNALDATE "03-Dec-2026 10:00:00 +0100")',
    b'2 (UID 9 FLAGS () RFC822.SIZE 0 INTERNALDATE " 3-Dec-2026 10:00:00 -0530")',
    b'3 (FLAGS (\\Recent) UID 11 MODSEQ (12345678901234))',
]
BODIES = [
    (b"1 (UID 7 BODY[] {12}", b"Subject: a\r\n"),
    b" FLAGS (\\Seen))",
    (b"2 (UID 9 BODY[HEADER.FIELDS (MESSAGE-ID DATE)] {0}", b""),
    (b" BODY[]<0> {3}", b"abc"),
    b")",
]


def imapclient_reads(data: list[Any]) -> tuple[str, Any]:
    try:
        return "ok", list(gen_parsed_response(list(data)))
    except Exception as exc:
        return type(exc).__name__, str(exc)


def fast_reads(data: list[Any]) -> tuple[str, Any]:
    try:
        return "ok", parse_atoms(data)
    except Exception as exc:
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize("data", [LISTING, BODIES, [LISTING[0], *BODIES]],
                         ids=["listing", "bodies", "both"])
def test_common_answers_take_the_fast_path_and_read_as_imapclient_reads_them(data):
    assert fetch_parser._fast(data) == list(gen_parsed_response(list(data)))


def test_parse_fetch_keys_rows_by_uid_with_dates_and_literals():
    rows = dict(parse_fetch([LISTING[0], *BODIES]))
    assert rows[7][b"FLAGS"] == (b"\\Seen",)  # the later FLAGS item wins, as before
    assert rows[7][b"BODY[]"] == b"Subject: a\r\n"
    assert rows[9][b"BODY[]<0>"] == b"abc"
    assert rows[9][b"BODY[HEADER.FIELDS (MESSAGE-ID DATE)]"] == b""
    listing = dict(parse_fetch(LISTING))
    assert listing[7][b"RFC822.SIZE"] == 3412
    assert listing[7][b"INTERNALDATE"] == parse_to_datetime(b"03-Dec-2026 10:00:00 +0100",
                                                            normalise=False)
    assert listing[11][b"MODSEQ"] == (12345678901234,)


@pytest.mark.parametrize("data", [
    [b'1 (UID 7 FLAGS (\\Seen)'],                       # unclosed
    [b'1 (UID 7))'],                                      # a stray ")"
    [b'1 (UID 7 X-NAME "a\\"b")'],                       # an escaped quote
    [b'1 (UID 7 X "caf\xc3\xa9")'],                       # 8-bit
    [b'1 (UID\t7)'],                                      # a tab
    [b'1 (UID 7 X abc"d")'],                              # an atom followed by a quote
    [(b"1 (UID 7 BODY[] {5}", b"abc"), b")"],            # a literal shorter than its marker
    [(b"1 (UID 7 BODY[] {3} X", b"abc"), b")"],          # a marker not ending its line
    [b"1 (UID 7 BODY[] {3})"],                            # a marker without a literal
    [b"1 (UID 7 X BODY[HEADER"],                          # an unclosed section
    [b"1 (UID 007 X %)"],                                 # a leading zero, a "%"
    [None],
    [],
])
def test_unusual_answers_read_and_fail_exactly_as_imapclient_does(data):
    assert fast_reads(data) == imapclient_reads(data)


_PIECES = [b"(", b")", b" ", b"  ", b"UID", b"7", b"0", b"012", b"NIL", b"nil", b"\\Seen",
           b'"x y"', b'""', b'"a\\"b"', b'"a\\\\b"', b"BODY[]", b"BODY[HEADER.FIELDS (A B)]",
           b"BODY[]<0.10>", b"[", b"]", b"{", b"}", b"{3}", b"%", b"*", b'"', b"\t", b"\x01",
           b"\xff", b"a", b"$Label", b"-1"]


_WELL_FORMED = [b"UID", b"7", b"0", b"NIL", b"\\Seen", b'"x y"', b'""', b"BODY[]",
                b"BODY[HEADER.FIELDS (A B)]", b"$Label", b"-1", b"RFC822.SIZE"]


def well_formed(rng: random.Random, depth: int = 0) -> bytes:
    """A parenthesised list of valid tokens, sometimes with one odd piece in it."""
    items = []
    for _ in range(rng.randint(0, 5)):
        if depth < 3 and rng.random() < 0.2:
            items.append(well_formed(rng, depth + 1))
        else:
            items.append(rng.choice(_PIECES if rng.random() < 0.03 else _WELL_FORMED))
    return b"(" + b" ".join(items) + b")"


def random_answer(rng: random.Random) -> list[Any]:
    data: list[Any] = []
    shaped = rng.random() < 0.5
    for _ in range(rng.randint(1, 4)):
        if shaped:
            text = b"%d %s" % (rng.randint(1, 9), well_formed(rng))
        else:
            text = b"".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 12)))
        if rng.random() < 0.4:
            size = rng.randint(0, 4)
            marker = b"{%d}" % (size if rng.random() < 0.8 else size + 1)
            data.append((text + (b" " if rng.random() < 0.7 else b"") + marker,
                         bytes(rng.randint(0, 255) for _ in range(size))))
        else:
            data.append(text)
    return data


def test_random_answers_read_exactly_as_imapclient_reads_them():
    rng = random.Random(20261203)
    fast_taken = 0
    for _ in range(20_000):
        data = random_answer(rng)
        assert fast_reads(data) == imapclient_reads(data), data
        try:
            fetch_parser._fast(data)
            fast_taken += 1
        except fetch_parser._Unusual:
            pass
    assert fast_taken > 6_000  # the comparison covered the fast path, not only the fallback


@pytest.mark.parametrize("value", [
    b"03-Dec-2026 10:00:00 +0100", b" 3-Dec-2026 23:59:59 -0530", b"29-Feb-2024 00:00:00 +0000",
    b"01-Jan-1970 00:00:00 +1400", b"03-Dec-2026 10:00:00 -0000",
])
def test_internaldates_read_as_imapclient_reads_them(value):
    mine, theirs = parse_internaldate(value), parse_to_datetime(value, normalise=False)
    assert (mine, mine.utcoffset(), mine.tzname()) == (theirs, theirs.utcoffset(),
                                                         theirs.tzname())
    assert isinstance(mine, datetime)


@pytest.mark.parametrize("value", [b"31-Feb-2026 10:00:00 +0100", b"03-Foo-2026 10:00:00 +0100",
                                   b"garbage"])
def test_bad_internaldates_fail_as_imapclient_fails(value):
    with pytest.raises(ValueError) as theirs:
        parse_to_datetime(value, normalise=False)
    with pytest.raises(ValueError) as mine:
        parse_internaldate(value)
    assert str(mine.value) == str(theirs.value)
