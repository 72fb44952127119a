"""The synthetic corpus: reproducible bytes, every promised feature, a faithful Maildir writer."""

from __future__ import annotations

import email
import hashlib
import inspect
import os
import statistics
from datetime import timedelta
from email.message import Message
from pathlib import Path

import pytest

from scripts.corpus import (
    INBOX,
    KB,
    MB,
    MIN_FULL_COUNT,
    Corpus,
    CorpusError,
    MessageSpec,
    generate,
    load_maildir,
    main,
)


def fingerprint(corpus: Corpus) -> str:
    h = hashlib.sha256()
    for m in corpus:
        h.update(repr((m.folder, m.flags, m.internaldate.isoformat())).encode())
        h.update(m.raw)
    return h.hexdigest()


@pytest.fixture(scope="module")
def messages() -> list[MessageSpec]:
    return list(generate(11, MIN_FULL_COUNT + 120))


def parsed(m: MessageSpec) -> Message:
    return email.message_from_bytes(m.raw)


def header_block(m: MessageSpec) -> bytes:
    return m.raw.split(b"\r\n\r\n", 1)[0]


def test_same_seed_gives_identical_bytes_dates_and_flags() -> None:
    assert fingerprint(generate(7, 80)) == fingerprint(generate(7, 80))
    assert fingerprint(generate(7, 80, "bench")) == fingerprint(generate(7, 80, "bench"))


def test_other_seed_gives_other_bytes() -> None:
    assert fingerprint(generate(7, 80)) != fingerprint(generate(8, 80))


def test_messages_are_streamed_not_held() -> None:
    corpus = generate(1, 50)
    assert inspect.isgenerator(corpus.messages())
    assert len(corpus) == 50 == sum(corpus.folder_counts().values())


def test_messages_come_grouped_by_folder_in_folder_order(messages: list[MessageSpec]) -> None:
    order = [f.path for f in generate(11, 1).folders]
    seen = [m.folder for i, m in enumerate(messages)
            if i == 0 or messages[i - 1].folder != m.folder]
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen, key=order.index)


def test_every_message_uses_crlf_only(messages: list[MessageSpec]) -> None:
    for m in messages:
        assert m.raw.count(b"\n") == m.raw.count(b"\r\n") == m.raw.count(b"\r")
        assert b"\0" not in m.raw


def test_nested_non_ascii_special_use_and_empty_folders(messages: list[MessageSpec]) -> None:
    corpus = generate(11, MIN_FULL_COUNT + 120)
    paths = [f.path for f in corpus.folders]
    counts = corpus.folder_counts()
    assert ("Projects", "Alpha", "Specs") in paths and counts[("Projects", "Alpha", "Specs")]
    for parent in (("Projects",), ("Projects", "Alpha"), ("Archive",)):
        assert parent in paths  # parents are real folders, created before their children
    non_ascii = [p for p in paths if not all(part.isascii() for part in p)]
    assert {("Entwürfe",), ("Réunions",), ("日本語",), ("日本語", "メモ")} <= set(non_ascii)
    assert all(counts[p] > 0 for p in non_ascii)
    roles = {f.special_use: f.path for f in corpus.folders if f.special_use}
    assert set(roles) == {"\\Sent", "\\Drafts", "\\Trash", "\\Junk"}
    assert all(counts[p] > 0 for p in roles.values())
    assert [p for p in paths if counts[p] == 0] == [("Empty",)]
    assert paths[0] == INBOX


def test_sizes_span_one_kilobyte_to_megabytes(messages: list[MessageSpec]) -> None:
    sizes = [len(m.raw) for m in messages if parsed(m).get_payload()]
    assert min(sizes) <= 2 * KB
    assert max(sizes) >= 2 * MB
    typical = [s for s in sizes if 5 * KB <= s <= 50 * KB]
    assert len(typical) / len(sizes) > 0.6


def test_max_size_caps_every_message() -> None:
    for cap in (8 * KB, 64 * KB):
        assert max(len(m.raw) for m in generate(3, 300, "bench", max_size=cap)) <= cap


def test_bench_profile_has_a_long_tail() -> None:
    sizes = [len(m.raw) for m in generate(5, 1500, "bench")]
    median = statistics.median(sizes)
    assert 15 * KB < median < 60 * KB
    assert statistics.mean(sizes) > 1.8 * median
    assert max(sizes) > 1 * MB


def test_attachments_are_base64(messages: list[MessageSpec]) -> None:
    attachments = [part for m in messages for part in parsed(m).walk()
                   if part.get_content_disposition() == "attachment"]
    assert attachments
    assert all(part["Content-Transfer-Encoding"] == "base64" for part in attachments)
    assert all(part.get_payload(decode=True) for part in attachments)


def test_multipart_alternative(messages: list[MessageSpec]) -> None:
    alternatives = [parsed(m) for m in messages if parsed(m).get_content_type()
                    == "multipart/alternative"]
    assert alternatives
    kinds = [p.get_content_type() for p in alternatives[0].walk()][1:]
    assert kinds == ["text/plain", "text/html"]


def test_eight_bit_bodies_and_raw_utf8_headers(messages: list[MessageSpec]) -> None:
    eightbit = [m for m in messages if parsed(m)["Content-Transfer-Encoding"] == "8bit"
                and not m.raw.split(b"\r\n\r\n", 1)[1].isascii()]
    assert eightbit
    raw_headers = [m for m in messages if not header_block(m).isascii()]
    assert raw_headers
    subject = next(line for line in header_block(raw_headers[0]).split(b"\r\n")
                   if line.startswith(b"Subject:"))
    assert "会議" in subject.decode("utf-8")


def test_message_without_message_id(messages: list[MessageSpec]) -> None:
    assert any(b"\r\nMessage-ID:" not in header_block(m) for m in messages)


def test_duplicate_message_ids_with_different_bodies(messages: list[MessageSpec]) -> None:
    bodies: dict[str, set[bytes]] = {}
    for m in messages:
        mid = parsed(m)["Message-ID"]
        if mid:
            bodies.setdefault(mid, set()).add(m.raw)
    assert any(len(raws) >= 2 for raws in bodies.values())


def test_byte_identical_copies_in_one_folder(messages: list[MessageSpec]) -> None:
    keys = [(m.folder, m.raw) for m in messages]
    assert len(set(keys)) < len(keys)


def test_every_flag_and_keyword(messages: list[MessageSpec]) -> None:
    flags = {f for m in messages for f in m.flags}
    assert {"\\Seen", "\\Answered", "\\Flagged", "\\Draft"} <= flags
    assert {"$Forwarded", "$Junk", "$label1", "Important", "$MDNSent", "$NotJunk"} <= flags
    assert any(not m.flags for m in messages)


def test_internaldates_are_past_and_in_varied_time_zones(messages: list[MessageSpec]) -> None:
    offsets = {m.internaldate.utcoffset() for m in messages}
    assert {timedelta(hours=9), timedelta(hours=-5), timedelta(0)} <= offsets
    assert all(m.internaldate.tzinfo is not None for m in messages)
    assert all(2012 <= m.internaldate.year <= 2025 for m in messages)


def test_bad_arguments_raise_corpus_error() -> None:
    with pytest.raises(CorpusError):
        generate(1, 10, "huge")
    with pytest.raises(CorpusError):
        generate(1, -1)
    with pytest.raises(CorpusError):
        generate(1, 10, max_size=100)


def test_load_maildir_writes_maildir_plus_plus(tmp_path: Path) -> None:
    corpus = generate(4, MIN_FULL_COUNT + 10, max_size=64 * KB)
    stats = load_maildir(tmp_path, corpus)
    assert stats.messages == len(corpus)
    assert (tmp_path / "cur").is_dir()
    assert (tmp_path / ".Entw&APw-rfe" / "maildirfolder").exists()
    assert (tmp_path / ".Projects.Alpha.Specs" / "cur").is_dir()
    assert (tmp_path / ".Notes &- Ideas" / "cur").is_dir()
    assert not any((tmp_path / ".Empty" / "cur").iterdir())
    inbox = sorted((tmp_path / "cur").iterdir())
    assert len(inbox) == corpus.folder_counts()[INBOX]
    keywords = (tmp_path / "dovecot-keywords").read_text().splitlines()
    assert "0 $label1" in keywords
    first = next(m for m in corpus if m.folder == INBOX)
    stamp = int(first.internaldate.timestamp())
    written = next(p for p in inbox if p.name.startswith(f"{stamp}."))
    assert written.read_bytes() == first.raw
    assert written.name.endswith(":2,S")
    assert os.stat(written).st_mtime == stamp


def test_cli_writes_a_maildir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--maildir", str(tmp_path / "m"), "--seed", "2", "--count", "40"]) == 0
    assert "loaded 40 messages" in capsys.readouterr().out
    assert (tmp_path / "m" / ".Sent" / "cur").is_dir()


def test_cli_reports_connection_errors_without_traceback(
        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--port", "1", "--user", "u", "--password", "p", "--count", "1"])
    assert code == 2
    assert "corpus: error: cannot log in" in capsys.readouterr().err
