"""The one definition of "identical", on literal records: altered, skipped, folder mapping, and
the streamed hash agreeing with the whole-message hash."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from engine.errors import TransientError
from engine.mail import split_flags
from engine.verify.compare import compare, compare_folder
from engine.verify.hashing import CanonicalHasher, canonical_bytes, file_digest, message_digest
from engine.verify.model import DifferenceKind, FolderInfo, MessageRecord, make_record
from engine.verify.spill import Spill

WHEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def message(mid: str, body: str, uid: int | None = None, flags: tuple[str, ...] = ("\\Seen",)
            ) -> MessageRecord:
    raw = f"Message-ID: <{mid}>\r\nSubject: {mid}\r\n\r\n{body}\r\n".encode()
    return make_record(message_digest(raw), raw, flags, WHEN, uid=uid, size=len(raw))


def test_a_crlf_split_between_chunks_hashes_as_the_whole_message() -> None:
    raw = b"Subject: x\n\nline one\r\nline two\nend\r"
    expected = message_digest(raw)
    for cut in range(1, len(raw)):
        hasher = CanonicalHasher()
        hasher.update(raw[:cut])
        hasher.update(raw[cut:])
        assert hasher.hexdigest() == expected, cut
    digest, head, size = file_digest(io.BytesIO(raw))
    assert digest == expected and head.startswith(b"Subject: x\r\n")
    assert size == len(canonical_bytes(raw))


def test_a_message_changed_by_one_byte_is_altered_not_missing_and_extra() -> None:
    diff = compare_folder([message("a@x", "hello"), message("b@x", "same")],
                          [message("a@x", "hellp"), message("b@x", "same")])
    assert len(diff.altered) == 1 and not diff.missing and not diff.extra
    assert "<a@x>" in diff.altered[0][0] and diff.altered[0][0] != diff.altered[0][1]
    assert [e.kind for e in diff.entries()] == [DifferenceKind.Altered]


def test_a_skipped_message_is_counted_as_skipped_not_missing() -> None:
    a = [message("a@x", "big", uid=7), message("b@x", "lost", uid=8)]
    diff = compare_folder(a, [], skipped_uids={7})
    assert len(diff.skipped) == 1 and "<a@x>" in diff.skipped[0]
    assert len(diff.missing) == 1 and "<b@x>" in diff.missing[0]
    assert diff.differences == 1


class Box:
    def __init__(self, folders: dict[tuple[str, ...], list[MessageRecord]]) -> None:
        self.data = folders
        self.description = "box"

    def folders(self) -> list[FolderInfo]:
        return [FolderInfo(p, "/".join(p)) for p in self.data]

    def messages(self, folder: FolderInfo) -> Iterator[MessageRecord]:
        return iter(self.data[folder.path])

    def close(self) -> None:
        pass


def test_folder_map_compares_a_folder_under_its_target_name() -> None:
    source = Box({("INBOX",): [message("a@x", "1")], ("Sent",): [message("s@x", "2")]})
    target = Box({("INBOX",): [message("a@x", "1")], ("Sent Items",): [message("s@x", "2")]})
    plain = compare(source, target)
    assert plain.folders_missing == [("Sent",)] and plain.folders_extra == [("Sent Items",)]
    mapped = compare(source, target, folder_map={("Sent",): ("Sent Items",)})
    assert mapped.identical, mapped.format()
    assert [d.path for d in mapped.folders] == [("INBOX",), ("Sent",)]


def test_a_proof_reads_flags_as_the_sync_stored_them_so_no_false_flag_difference() -> None:
    """One flags splitter (engine/mail.py): a padded, blank or odd-case flag the sync
    normalised is not a keyword the proof would report as differing."""
    flags = [" \\seen", "", "\\RECENT", "$Label1", "\\flagged"]
    record = make_record("d", b"Subject: x\r\n", flags, None)
    assert (record.flags, record.keywords) == (frozenset({"\\Seen", "\\Flagged"}),
                                               frozenset({"$Label1"}))
    system, keywords = split_flags(flags)
    assert (record.flags, record.keywords) == (frozenset(system), frozenset(keywords))


def test_differences_are_reported_in_the_order_the_messages_were_read_not_by_digest() -> None:
    """The comparison holds each side on disk and merges them by digest (memory stays
    constant); what it reports still follows the order of the folder."""
    a = [message(f"m{n}@x", f"body {n}", uid=n) for n in range(40)]
    b = [a[n] for n in range(40) if n % 4] + [message("new1@x", "x"), message("new2@x", "y")]
    b += [a[1], message("m2@x", "body 2", flags=("\\Flagged",))]
    b.remove(a[2])
    diff = compare_folder(a, b)
    assert diff.missing == [a[n].label for n in range(0, 40, 4)]
    assert diff.extra == [b[-4].label, b[-3].label]
    assert diff.duplicated == [a[1].label]
    assert [f[0] for f in diff.flags] == [a[2].label]
    assert (diff.count_a, diff.count_b) == (40, len(b))


def test_a_proof_that_cannot_write_its_temporary_file_fails_with_a_reason() -> None:
    """A full or unwritable temporary directory is the proof's transient fault, named; never
    an internal error that would turn the pass it follows into a failure."""
    spill = Spill()
    spill._db.close()  # what a refused write looks like to the code above it: a SQLite error
    with pytest.raises(TransientError) as raised:
        spill.add_all([message("a@x", "1")])
    assert raised.value.error_id == "ProofSpillFailed"
    assert "temporary" in raised.value.message


def test_a_difference_names_the_message_by_its_decoded_subject_and_message_id() -> None:
    from engine.verify.model import label, make_record

    head = b"Message-ID: <a@b>\r\nSubject: =?utf-8?q?caf=C3=A9?= and more\r\n\r\n"
    record = make_record("ab" * 32, head, [], None)
    assert record.label == label(head, "ab" * 32) == "<a@b> 'café and more' sha256:abababababab"
    assert record.message_id == "<a@b>"
    plain = make_record("cd" * 32, b"Subject: =? not a word\r\n\r\nbody", [], None)
    assert plain.label == "(no Message-ID) '=? not a word' sha256:cdcdcdcdcdcd"


@pytest.mark.parametrize(("head", "name", "value"), [
    (b"Message-ID:\r\n <long.id@example.org>\r\n\r\n", b"message-id", "<long.id@example.org>"),
    (b"Subject: one\r\n two\r\n\tthree\r\nFrom: x\r\n\r\n", b"subject", "one two\tthree"),
    (b"Subject: one\n two\nFrom: x\n\n", b"subject", "one two"),
    (b"X-Subject: no\r\nSubject: yes\r\n\r\n", b"subject", "yes"),
    (b"Subject: head\r\n\r\nSubject: body\r\n", b"subject", "head"),
    (b"Subject:\r\n\r\n continued in the body\r\n", b"subject", ""),
    (b"From: x\r\n\r\nMessage-ID: <in@body>\r\n", b"message-id", ""),
])
def test_a_folded_header_is_read_whole_and_only_from_the_header_block(
        head: bytes, name: bytes, value: str) -> None:
    from engine.verify.model import header

    assert header(head, name) == value
