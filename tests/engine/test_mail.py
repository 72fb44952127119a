"""The mail vocabulary (engine.mail): one flag normaliser, one fingerprint; literal inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from engine.mail import (
    fingerprint_from_key,
    fingerprint_of,
    flags_text,
    normalize_flags,
    parse_flags,
    split_flags,
    storable_flags,
)

WHEN = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
HEADERS = (b"Message-ID: <a@example.org>\r\nSubject: Quarterly\r\n report\r\n"
           b"From: Ann <ann@example.org>\r\nX-Other: ignored\r\n\r\nbody")


def test_a_server_shouting_seen_still_syncs_as_seen() -> None:
    assert normalize_flags([b"\\SEEN", "\\answered ", "$Forwarded", "\\Recent", ""]) == {
        "\\Seen", "\\Answered", "$Forwarded"}


def test_listing_and_target_split_flags_the_same_way() -> None:
    assert split_flags([b"\\Flagged", "\\seen", "$Label1", "Custom", "\\Recent"]) == (
        ("\\Flagged", "\\Seen"), ("$Label1", "Custom"))


def test_a_fetch_answers_flags_split_the_same_way_every_time_they_come() -> None:
    # FETCH answers hand FLAGS over as a tuple, and those splits are remembered
    answer = (b"\\Flagged", b"\\seen", b"$Label1", b"\\Recent")
    first, again = split_flags(answer), split_flags(answer)
    assert first == again == split_flags(list(answer)) == (("\\Flagged", "\\Seen"), ("$Label1",))
    assert split_flags((b"\\Seen",)) == (("\\Seen",), ())


def test_a_target_stores_only_the_system_flags_it_knows() -> None:
    assert storable_flags(["\\Junk", "\\DRAFT", "\\Seen", "$Junk"]) == ("\\Draft", "\\Seen")


def test_the_stored_flag_text_reads_back_as_the_same_set() -> None:
    text = flags_text(["\\seen", "$Forwarded", "\\Flagged"])
    assert text == "$Forwarded \\Flagged \\Seen"
    assert parse_flags(text) == {"$Forwarded", "\\Flagged", "\\Seen"}


def test_the_fingerprint_ignores_folding_and_the_zone_of_internaldate() -> None:
    refolded = HEADERS.replace(b"Quarterly\r\n report", b"Quarterly report")
    in_paris = WHEN.astimezone(timezone(timedelta(hours=1)))
    one, other = fingerprint_of(HEADERS, 120, WHEN), fingerprint_of(refolded, 120, in_paris)
    assert one == other
    assert one.message_id == "<a@example.org>"
    assert fingerprint_of(HEADERS.replace(b"Quarterly", b"Annual"), 120, WHEN) != one


def test_a_stored_fingerprint_key_rebuilds_the_fingerprint() -> None:
    fingerprint = fingerprint_of(HEADERS, 120, WHEN)
    assert fingerprint_from_key(fingerprint.key) == fingerprint
    assert fingerprint_from_key("not a key") is None
