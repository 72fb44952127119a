"""Fingerprints: what makes two messages the same, and what keeps different ones apart."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.sync.fingerprint import fingerprint, normalize_message_id, parse_header_fields

WHEN = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
HEADER = (
    b"Message-ID: <abc@example.org>\r\n"
    b"Date: Fri, 1 Mar 2024 12:00:00 +0000\r\n"
    b"From: Alice <alice@example.org>\r\n"
    b"Subject: Quarterly\r\n report\r\n"
    b"\r\n"
)


def test_same_message_same_fingerprint() -> None:
    assert fingerprint(HEADER, 1234, WHEN) == fingerprint(HEADER, 1234, WHEN)
    assert len(fingerprint(HEADER, 1234, WHEN)) == 32


def test_internaldate_is_compared_as_an_instant() -> None:
    elsewhere = WHEN.astimezone(timezone(timedelta(hours=-5)))
    assert fingerprint(HEADER, 1234, elsewhere) == fingerprint(HEADER, 1234, WHEN)


def test_folding_line_endings_and_field_order_do_not_matter() -> None:
    other = (
        b"subject:   Quarterly report\n"
        b"FROM: Alice <alice@example.org>\n"
        b"date: Fri, 1 Mar 2024 12:00:00 +0000\n"
        b"message-id:\n <abc@example.org>\n"
    )
    assert fingerprint(other, 1234, WHEN) == fingerprint(HEADER, 1234, WHEN)


def test_body_and_other_headers_are_ignored() -> None:
    whole = HEADER.replace(b"\r\n\r\n", b"\r\nReceived: by mx\r\n\r\nbody text\r\n")
    assert fingerprint(whole, 1234, WHEN) == fingerprint(HEADER, 1234, WHEN)


@pytest.mark.parametrize(
    ("header", "size", "when"),
    [
        (HEADER, 1235, WHEN),
        (HEADER, 1234, WHEN + timedelta(seconds=1)),
        (HEADER.replace(b"Quarterly", b"Monthly"), 1234, WHEN),
        (HEADER.replace(b"Alice", b"Mallory"), 1234, WHEN),
        (HEADER.replace(b"12:00:00 +0000", b"12:00:01 +0000"), 1234, WHEN),
    ],
)
def test_duplicate_message_id_with_other_content_differs(
    header: bytes, size: int, when: datetime
) -> None:
    assert fingerprint(header, size, when) != fingerprint(HEADER, 1234, WHEN)


def test_missing_message_id_still_identifies_by_the_rest() -> None:
    draft = HEADER.replace(b"Message-ID: <abc@example.org>\r\n", b"")
    assert fingerprint(draft, 1234, WHEN) == fingerprint(draft, 1234, WHEN)
    assert fingerprint(draft, 1234, WHEN) != fingerprint(HEADER, 1234, WHEN)
    assert fingerprint(draft, 1234, WHEN) != fingerprint(draft, 99, WHEN)
    assert fingerprint(b"", 10, WHEN) != fingerprint(b"", 11, WHEN)


def test_identical_copies_count_as_a_multiset() -> None:
    prints = Counter(fingerprint(HEADER, 1234, WHEN) for _ in range(3))
    assert list(prints.values()) == [3]


def test_naive_internaldate_and_negative_size_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        fingerprint(HEADER, 1, datetime(2024, 3, 1))
    with pytest.raises(ValueError, match="negative"):
        fingerprint(HEADER, -1, WHEN)


def test_normalize_message_id() -> None:
    assert normalize_message_id(b" <a.b@c> ") == b"a.b@c"
    assert normalize_message_id(b"(comment) <a@b>") == b"a@b"
    assert normalize_message_id(b"no-brackets@x ") == b"no-brackets@x"
    assert normalize_message_id(b"") == b""


def test_parse_header_fields_keeps_repeats_in_order_and_skips_garbage() -> None:
    fields = parse_header_fields(b"From junk line\r\nX-A: 1\r\nx-a:  2\r\n\tmore\r\n")
    assert fields == {"x-a": [b"1", b"2 more"]}


@given(st.binary(max_size=200), st.integers(0, 10**9), st.integers(0, 2**31))
def test_any_header_bytes_give_a_stable_fingerprint_that_tracks_size_and_date(
    header: bytes, size: int, seconds: int
) -> None:
    when = datetime.fromtimestamp(seconds, UTC)
    assert fingerprint(header, size, when) == fingerprint(header, size, when)
    assert fingerprint(header, size, when) != fingerprint(header, size + 1, when)
    assert fingerprint(header, size, when) != fingerprint(header, size, when + timedelta(seconds=1))
