"""The label policy decided from literal listings (engine/sync/gmail_labels.py)."""

from __future__ import annotations

import pytest

from engine.errors import ValidationError
from engine.sync.gmail_labels import (
    EVERY_LABEL,
    ONE_COPY,
    UNREAD,
    LabelFolder,
    from_labels,
    is_gmail_shaped,
    label_folder,
    label_rank,
    members_by_label,
    needs_reading,
    parse_policy,
    place,
    unread_with_drops,
)


def folder(name: str, flags: tuple[str, ...] = (), *messages: tuple[int, str]) -> LabelFolder:
    return LabelFolder(name, tuple(name.split("/")), flags, tuple(messages))


# a: INBOX + Work + Starred; b: Work/ProjectX + Work; c: Sent only; d: archived (All Mail only);
# e: Trash only (not in All Mail, as on Gmail)
MAILBOX = [
    folder("INBOX", (), (1, "a")),
    folder("Work", (), (1, "a"), (2, "b")),
    folder("Work/ProjectX", (), (1, "b")),
    folder("[Gmail]/Sent Mail", ("\\Sent",), (1, "c"), (2, "a")),
    folder("[Gmail]/Starred", ("\\Flagged",), (1, "a")),
    folder("[Gmail]/Important", ("\\Important",), (1, "a"), (2, "c")),
    folder("[Gmail]/Trash", ("\\Trash",), (1, "e")),
    folder("[Gmail]/All Mail", ("\\All",), (1, "a"), (2, "b"), (3, "c"), (4, "d")),
]


def kept(placement, folders=MAILBOX) -> dict[str, list[int]]:
    return {f.name: [uid for uid, _ in f.messages if placement.keeps(f.name, uid)]
            for f in folders if f.name not in placement.views}


def test_one_copy_puts_each_message_once_in_its_most_specific_label() -> None:
    placement = place(MAILBOX, ONE_COPY)
    assert placement.views == {"[Gmail]/Starred", "[Gmail]/Important"}
    assert placement.all_mail == "[Gmail]/All Mail"
    assert kept(placement) == {
        "INBOX": [1], "Work": [], "Work/ProjectX": [1], "[Gmail]/Sent Mail": [1],
        "[Gmail]/Trash": [1], "[Gmail]/All Mail": [4]}
    copies = sum(len(v) for v in kept(placement).values())
    assert copies == 5  # a, b, c, d, e: each once


def test_every_label_copies_each_label_but_all_mail_only_the_unlabeled() -> None:
    placement = place(MAILBOX, EVERY_LABEL)
    assert kept(placement) == {
        "INBOX": [1], "Work": [1, 2], "Work/ProjectX": [1], "[Gmail]/Sent Mail": [1, 2],
        "[Gmail]/Trash": [1], "[Gmail]/All Mail": [4]}


def test_a_message_the_listing_did_not_show_is_kept_wherever_it_appears() -> None:
    placement = place(MAILBOX, ONE_COPY)
    assert placement.keeps("Work", 99) and placement.keeps("[Gmail]/All Mail", 99)


def test_priority_inbox_then_deeper_user_labels_then_system_then_all_mail() -> None:
    ranked = sorted([f for f in MAILBOX if f.name not in {"[Gmail]/Starred",
                                                          "[Gmail]/Important"}],
                    key=label_rank)
    assert [f.name for f in ranked] == ["INBOX", "Work/ProjectX", "Work",
                                        "[Gmail]/Sent Mail", "[Gmail]/Trash",
                                        "[Gmail]/All Mail"]


def test_gmail_shape_needs_an_all_folder_and_the_extension_or_the_gmail_root() -> None:
    assert is_gmail_shaped(MAILBOX, ())
    plain_all = [folder("INBOX"), LabelFolder("Everything", ("Everything",), ("\\All",))]
    assert not is_gmail_shaped(plain_all, ("IMAP4rev1",))
    assert is_gmail_shaped(plain_all, ("X-GM-EXT-1",))
    assert not is_gmail_shaped([folder("INBOX"), folder("[Gmail]/Sent Mail", ("\\Sent",))], ())


def test_policy_spelling_is_matched_case_insensitively_and_defaults_to_one_copy() -> None:
    assert parse_policy(None) == ONE_COPY
    assert parse_policy("everylabel") == EVERY_LABEL
    with pytest.raises(ValidationError, match="does not belong to the set"):
        parse_policy("AllOfThem")


def test_a_label_added_later_copies_nothing_and_an_archived_message_is_placed_anew() -> None:
    # after a first OneCopy pass: a was copied from INBOX, b from Work/ProjectX; now b got the
    # INBOX label and a lost it (archived, still in Work)
    later = [
        LabelFolder("INBOX", ("INBOX",), (), ((2, "b"),), recorded=frozenset({1})),
        LabelFolder("Work", ("Work",), (), ((1, "a"), (2, "b"))),
        LabelFolder("Work/ProjectX", ("Work", "ProjectX"), (), ((1, "b"),),
                    recorded=frozenset({1})),
        LabelFolder("[Gmail]/All Mail", ("[Gmail]", "All Mail"), ("\\All",),
                    ((1, "a"), (2, "b"))),
    ]
    placement = place(later, ONE_COPY)
    assert kept(placement, later) == {"INBOX": [], "Work": [1], "Work/ProjectX": [1],
                                      "[Gmail]/All Mail": []}


def test_x_gm_labels_name_their_folders_by_special_use_or_by_name() -> None:
    assert label_folder("\\Inbox", MAILBOX) == "INBOX"
    assert label_folder("\\Sent", MAILBOX) == "[Gmail]/Sent Mail"
    assert label_folder("\\Starred", MAILBOX) == "[Gmail]/Starred"
    assert label_folder("Work/ProjectX", MAILBOX) == "Work/ProjectX"
    assert label_folder("Hidden from IMAP", MAILBOX) is None
    assert label_folder("\\Draft", MAILBOX) is None  # no Drafts folder listed here


def test_labels_place_like_listings_and_only_folders_that_lose_a_message_need_reading() -> None:
    labels = {"a": ("\\Inbox", "Work", "\\Starred", "\\Important"),
              "b": ("Work", "Work/ProjectX"), "c": ("\\Sent", "\\Important"), "d": ()}
    members = members_by_label(labels, MAILBOX)
    assert members["Work"] == {"a", "b"} and "[Gmail]/All Mail" not in members
    all_mail = MAILBOX[-1]
    folders = [all_mail if f is all_mail else f if needs_reading(f, False)
               else from_labels(f, members.get(f.name, ())) for f in MAILBOX]
    assert [f.name for f in folders if f.messages and f.messages[0][0] != UNREAD] == [
        "[Gmail]/Trash", "[Gmail]/All Mail"]  # Trash: All Mail's labels never show it
    placement = place(folders, ONE_COPY)
    assert unread_with_drops(placement, folders) == ["Work"]
    assert unread_with_drops(place(folders, EVERY_LABEL), folders) == []
    assert needs_reading(folder("Work"), recorded=True)
