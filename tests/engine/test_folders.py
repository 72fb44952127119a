"""Folder-name mapping: modified UTF-7, paths, special-use redirection (pure, no servers)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import ValidationError
from engine.folders import (
    INBOX,
    SourceFolderName,
    TargetNaming,
    decode_mutf7,
    encode_mutf7,
    map_folders,
    role_from_flags,
    source_path,
    target_raw_name,
    with_parents,
)

RFC_EXAMPLES = [
    ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
    ("Entwürfe & Ideen", "Entw&APw-rfe &- Ideen"),
    ("Projekte/Kunde Ä", "Projekte/Kunde &AMQ-"),
    ("&", "&-"),
    ("plain", "plain"),
    ("😀", "&2D3eAA-"),
]


@pytest.mark.parametrize(("text", "wire"), RFC_EXAMPLES)
def test_mutf7_known_values(text: str, wire: str) -> None:
    assert encode_mutf7(text) == wire
    assert decode_mutf7(wire) == text


@given(st.text())
def test_mutf7_round_trip(text: str) -> None:
    wire = encode_mutf7(text)
    assert all(0x20 <= ord(c) <= 0x7E for c in wire)
    assert decode_mutf7(wire, strict=True) == text


@given(st.text())
def test_mutf7_encoding_is_canonical(text: str) -> None:
    wire = encode_mutf7(text)
    assert encode_mutf7(decode_mutf7(wire)) == wire


@pytest.mark.parametrize("bad", ["&Jjo", "&Jj@-", "Grün", "&AGE"])
def test_malformed_mutf7(bad: str) -> None:
    assert decode_mutf7(bad) == bad
    with pytest.raises(ValidationError):
        decode_mutf7(bad, strict=True)


def test_source_path_strips_personal_prefix_and_normalises_inbox() -> None:
    assert source_path("INBOX", ".", "INBOX.") == INBOX
    assert source_path("inbox", "/") == INBOX
    assert source_path("INBOX.Sent", ".", "INBOX.") == ("Sent",)
    assert source_path("INBOX.Gr&APw-n.Sub", ".", "INBOX.") == ("Grün", "Sub")
    assert source_path("Inbox/Sub", "/") == ("INBOX", "Sub")
    assert source_path("Archive/2019", "/") == ("Archive", "2019")
    assert source_path("Flat", None) == ("Flat",)


def test_target_raw_name_encodes_prefixes_and_escapes_separator() -> None:
    dot = TargetNaming(separator=".", prefix="INBOX.")
    slash = TargetNaming(separator="/")
    assert target_raw_name(INBOX, dot) == "INBOX"
    assert target_raw_name(("Projekte", "Kunde Ä"), dot) == "INBOX.Projekte.Kunde &AMQ-"
    assert target_raw_name(("v1.2",), dot) == "INBOX.v1_2"
    assert target_raw_name(("a/b",), slash) == "a_b"
    assert target_raw_name(("inbox", "Sub"), slash) == "INBOX/Sub"
    assert target_raw_name(("x",), TargetNaming(separator=".", forbidden="/")) == "x"
    with pytest.raises(ValidationError):
        target_raw_name((), slash)


def test_with_parents_orders_parents_first() -> None:
    assert with_parents([("A", "B", "C"), ("A", "D"), ("Z",)]) == [
        ("A",), ("Z",), ("A", "B"), ("A", "D"), ("A", "B", "C")]


def test_role_from_flags() -> None:
    assert role_from_flags(["\\HasNoChildren", "\\Sent"]) == "Sent"
    assert role_from_flags(["\\Junk"]) == "Junk"
    assert role_from_flags(["\\HasChildren"]) is None


def test_special_use_redirects_to_targets_well_known_folders() -> None:
    naming = TargetNaming(separator="/", special={"Sent": ("Sent Items",)})
    mapping = map_folders(
        [
            SourceFolderName(INBOX),
            SourceFolderName(("Sent Messages",), "Sent"),
            SourceFolderName(("Sent Messages", "2019"), None),
            SourceFolderName(("Papierkorb",), "Trash"),
            SourceFolderName(("Trash",), None),  # a plain folder: Papierkorb announced Trash
            SourceFolderName(("Projekte",), None),
        ],
        naming,
    )
    assert mapping == {
        INBOX: INBOX,
        ("Sent Messages",): ("Sent Items",),
        ("Sent Messages", "2019"): ("Sent Items", "2019"),
        ("Papierkorb",): ("Trash",),
        ("Trash",): ("Trash",),
        ("Projekte",): ("Projekte",),
    }


def test_roles_are_guessed_from_names_without_special_use() -> None:
    naming = TargetNaming(separator=".", prefix="INBOX.")
    mapping = map_folders(
        [SourceFolderName(("Sent Items",)), SourceFolderName(("Spam",)),
         SourceFolderName(("Sent",)), SourceFolderName(("Work", "Sent"))],
        naming,
    )
    assert mapping[("Sent",)] == ("Sent",)
    assert mapping[("Sent Items",)] == ("Sent Items",)  # Sent was taken first (sorted)
    assert mapping[("Spam",)] == ("Junk",)
    assert mapping[("Work", "Sent")] == ("Work", "Sent")
    assert map_folders([SourceFolderName(("Spam",))], naming, guess=False) == {("Spam",): ("Spam",)}
