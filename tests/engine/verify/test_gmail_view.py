"""The comparer's Gmail mode on literal mailboxes (engine/verify/gmail.py): the source as the
label policy says the target holds it, then the one comparer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from engine.sync.gmail_labels import EVERY_LABEL, ONE_COPY, LabelFolder
from engine.verify.compare import compare
from engine.verify.gmail import GmailView
from engine.verify.hashing import message_digest
from engine.verify.model import FolderInfo, MessageRecord, make_record

WHEN = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def record(subject: str, uid: int, flagged: bool = False) -> MessageRecord:
    raw = f"Message-ID: <{subject}@x>\r\nSubject: {subject}\r\n\r\n{subject}\r\n".encode()
    flags = ("\\Flagged",) if flagged else ()
    return make_record(message_digest(raw), raw, flags, WHEN, uid=uid, size=len(raw))


class Literal:
    """A mailbox of literal folders: name -> (flags, records)."""

    def __init__(self, folders: dict[str, tuple[tuple[str, ...], list[MessageRecord]]]
                 ) -> None:
        self.content = folders
        self.description = "literal"
        self.reads = 0

    def folders(self) -> list[FolderInfo]:
        return [FolderInfo(tuple(name.split("/")), name) for name in self.content]

    def messages(self, folder: FolderInfo) -> Iterator[MessageRecord]:
        self.reads += 1
        yield from self.content[folder.native][1]

    def close(self) -> None:
        pass

    def shape(self) -> list[LabelFolder]:
        return [LabelFolder(n, tuple(n.split("/")), f) for n, (f, _) in self.content.items()]


def gmail() -> Literal:  # tests/support/gmail.py's EXAMPLE
    return Literal({
        "INBOX": ((), [record("a", 1, True)]),
        "Work": ((), [record("a", 1, True), record("b", 2)]),
        "Work/ProjectX": ((), [record("b", 1)]),
        "[Gmail]/Sent Mail": (("\\Sent",), [record("c", 1)]),
        "[Gmail]/Starred": (("\\Flagged",), [record("a", 1, True)]),
        "[Gmail]/Important": (("\\Important",), [record("a", 1, True), record("c", 2)]),
        "[Gmail]/Trash": (("\\Trash",), [record("e", 1)]),
        "[Gmail]/All Mail": (("\\All",), [record("a", 1, True), record("b", 2),
                                           record("c", 3), record("d", 4)]),
    })


def target(**folders: list[MessageRecord]) -> Literal:
    return Literal({name.replace("_", "/"): ((), items) for name, items in folders.items()})


MAPPING = {("[Gmail]", "Sent Mail"): ("Sent",), ("[Gmail]", "Trash"): ("Trash",),
           ("[Gmail]", "All Mail"): ("Archive",)}


def test_one_copy_expects_each_message_once_and_no_view_folders() -> None:
    source = gmail()
    view = GmailView(source, source.shape(), ONE_COPY)
    assert ("[Gmail]", "Starred") not in {f.path for f in view.folders()}
    good = target(INBOX=[record("a", 9, True)], Work=[], Work_ProjectX=[record("b", 9)],
                  Sent=[record("c", 9)], Trash=[record("e", 9)], Archive=[record("d", 9)])
    report = compare(view, good, folder_map=MAPPING)
    assert report.identical, report.format()
    assert report.messages_compared == 5
    assert source.reads == 6  # every non-view folder read once, though compared after
    doubled = target(INBOX=[record("a", 9, True)], Work=[record("a", 9, True)],
                     Work_ProjectX=[record("b", 9)], Sent=[record("c", 9)],
                     Trash=[record("e", 9)], Archive=[record("d", 9)])
    assert not compare(GmailView(gmail(), gmail().shape(), ONE_COPY), doubled,
                       folder_map=MAPPING).identical


def test_every_label_expects_a_copy_per_label_and_recorded_copies_where_they_are() -> None:
    source = gmail()
    every = target(INBOX=[record("a", 9, True)], Work=[record("a", 9, True), record("b", 9)],
                   Work_ProjectX=[record("b", 9)], Sent=[record("c", 9)],
                   Trash=[record("e", 9)], Archive=[record("d", 9)])
    assert compare(GmailView(source, source.shape(), EVERY_LABEL), every,
                   folder_map=MAPPING).identical
    # OneCopy after EveryLabel copied b from both its folders (recorded): expected in both
    kept = GmailView(gmail(), gmail().shape(), ONE_COPY,
                     {"Work": frozenset({2}), "Work/ProjectX": frozenset({1})})
    with_b = target(INBOX=[record("a", 9, True)], Work=[record("b", 9)],
                    Work_ProjectX=[record("b", 9)], Sent=[record("c", 9)],
                    Trash=[record("e", 9)], Archive=[record("d", 9)])
    assert compare(kept, with_b, folder_map=MAPPING).identical
