"""-ExcludeFolders parsing and matching (engine.excludes)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import ValidationError
from engine.excludes import (
    DEFAULT_EXCLUDED_FOLDERS,
    ExcludeCandidate,
    FolderPattern,
    WellKnownFolder,
    filter_folders,
    is_excluded,
    parse_exclude_folders,
    well_known_paths,
)

MAILBOX = [
    ExcludeCandidate(("INBOX",)),
    ExcludeCandidate(("INBOX", "Receipts")),
    ExcludeCandidate(("Sent",), frozenset({"\\Sent"})),
    ExcludeCandidate(("Sent", "2019")),
    ExcludeCandidate(("Deleted Items",), frozenset({"\\Trash"})),
    ExcludeCandidate(("Deleted Items", "Old")),
    ExcludeCandidate(("Junk Email",), frozenset({"\\Junk"})),
    ExcludeCandidate(("MyProjects",)),
    ExcludeCandidate(("MyProjects", "FY2010")),
    ExcludeCandidate(("MyProjects", "FY2010", "Q1")),
    ExcludeCandidate(("#Notes#",)),
    ExcludeCandidate(("[Gmail]",), frozenset({"\\Noselect"})),
    ExcludeCandidate(("[Gmail]", "All Mail"), frozenset({"\\All"})),
]


def kept(*values: str, separator: str = "/") -> list[str]:
    folders = filter_folders(MAILBOX, parse_exclude_folders(values), separator=separator)
    return ["/".join(folder.path) for folder in folders]


def removed(*values: str) -> set[str]:
    everything = {"/".join(folder.path) for folder in MAILBOX}
    return everything - set(kept(*values))


def test_no_default_exclusions() -> None:
    assert DEFAULT_EXCLUDED_FOLDERS == ()
    assert removed() == set()


def test_the_documented_example() -> None:
    # REF New-MigrationBatch Example 7: -ExcludeFolders "Deleted Items","Junk Email"
    assert removed("Deleted Items", "Junk Email") == {"Deleted Items", "Junk Email"}


def test_names_ignore_case() -> None:
    assert removed("deleted items", "myprojects/fy2010") == {"Deleted Items", "MyProjects/FY2010"}


def test_subtree_syntax() -> None:
    assert removed("MyProjects/*") == {"MyProjects", "MyProjects/FY2010", "MyProjects/FY2010/Q1"}
    assert removed("MyProjects/FY2010/*") == {"MyProjects/FY2010", "MyProjects/FY2010/Q1"}
    assert removed("[Gmail]/*") == {"[Gmail]", "[Gmail]/All Mail"}


def test_a_plain_name_is_only_that_folder() -> None:
    assert removed("MyProjects") == {"MyProjects"}


def test_well_known_folders_by_special_use() -> None:
    assert removed("#SentItems#") == {"Sent"}
    assert removed("#sentitems#/*") == {"Sent", "Sent/2019"}
    assert removed("#DeletedItems#", "#JunkEmail#") == {"Deleted Items", "Junk Email"}
    assert removed("#AllItems#") == {"[Gmail]/All Mail"}
    assert removed("#Inbox#/*") == {"INBOX", "INBOX/Receipts"}


def test_well_known_folders_without_imap_counterpart_match_nothing() -> None:
    assert removed("#Calendar#", "#Contacts#", "#Drafts#") == set()


def test_root_subtree_is_everything() -> None:
    assert kept("#Root#/*") == []
    assert removed("#Root#") == set()


def test_escaped_hash_names_a_personal_folder() -> None:
    assert removed("\\#Notes\\#") == {"#Notes#"}
    assert removed("#Notes#") == set()  # the well-known Notes folder: none on IMAP


def test_server_separator_in_patterns() -> None:
    assert is_excluded(("Archive", "2019"), parse_exclude_folders(["Archive.2019"]), separator=".")
    assert not is_excluded(("Archive", "2019"), parse_exclude_folders(["Archive.2019"]))
    assert is_excluded(("Archive.2019",), parse_exclude_folders(["Archive.2019"]))


def test_surrounding_slashes_and_blanks_are_ignored() -> None:
    assert removed(" /MyProjects/ ") == {"MyProjects"}


def test_parsed_patterns() -> None:
    assert parse_exclude_folders(["#Inbox#/*", "A/B", "\\#X\\#"]) == (
        FolderPattern("#Inbox#/*", "", WellKnownFolder.Inbox, True),
        FolderPattern("A/B", "A/B", None, False),
        FolderPattern("\\#X\\#", "#X#", None, False),
    )


@pytest.mark.parametrize("value", ["Old*", "*Mail", "A/*/B", "100%", "Junk?*"])
def test_wildcards_are_refused(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_exclude_folders([value])
    assert caught.value.message == (
        f'The folder name "{value}" isn\'t valid: wildcard characters can\'t be used in folder '
        'names. Use "Name/*" to exclude a folder and the folders below it.'
    )


@pytest.mark.parametrize("value", ["", "   ", "/", "*", "/*"])
def test_empty_names_are_refused(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_exclude_folders([value])
    assert caught.value.message == f'The folder name "{value}" isn\'t valid: it names no folder.'


def test_unknown_well_known_name() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_exclude_folders(["#Spam#"])
    assert caught.value.message == (
        'The folder name "#Spam#" isn\'t valid: "Spam" isn\'t a well-known folder. Well-known '
        "folders are: Root, Inbox, SentItems, Outbox, DeletedItems, Calendar, Contacts, Drafts, "
        "Journal, Tasks, Notes, AllItems, JunkEmail, Archive. Write \\#Spam\\# for a folder "
        "with that name."
    )


def test_well_known_paths_first_marked_folder_wins() -> None:
    paths = well_known_paths(
        [
            ExcludeCandidate(("Sent",), frozenset({"\\SENT"})),
            ExcludeCandidate(("Sent2",), frozenset({"\\Sent"})),
        ]
    )
    assert paths[WellKnownFolder.SentItems] == ("Sent",)
    assert paths[WellKnownFolder.Root] == ()


_name = st.text(
    alphabet=st.characters(exclude_characters="/*%#\\", exclude_categories=["Cs"]),
    min_size=1,
    max_size=8,
).filter(lambda s: s.strip() == s and s != "")
_path = st.lists(_name, min_size=1, max_size=4).map(tuple)


@given(_path, _path)
def test_subtree_pattern_matches_exactly_the_descendants(
    top: tuple[str, ...], below: tuple[str, ...]
) -> None:
    patterns = parse_exclude_folders(["/".join(top) + "/*"])
    assert is_excluded(top, patterns)
    assert is_excluded(top + below, patterns)
    assert not is_excluded(("elsewhere\u2603", *top), patterns)
    if len(top) > 1:
        assert not is_excluded(top[:-1], patterns)
