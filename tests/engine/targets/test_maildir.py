"""The Maildir++ target on a real file system (tmp_path): layout, fidelity, resume, flags."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine.errors import PermanentError, ValidationError
from engine.folders import INBOX
from engine.targets.base import Lookup, OutgoingMessage, TargetMailbox, TargetRef
from engine.targets.maildir import MAX_KEYWORDS, MaildirTarget
from scripts.compare import MaildirSource

RAW = b"From: a@example.org\r\nSubject: hi\r\nMessage-ID: <1@x>\r\n\r\nbody\r\n"
WHEN = datetime(2019, 5, 17, 8, 30, 15, tzinfo=timezone(timedelta(hours=5, minutes=30)))


@pytest.fixture
def target(tmp_path: Path) -> MaildirTarget:
    t = MaildirTarget(tmp_path, fsync=True)
    t.open_user(TargetMailbox("Ann.Beebe@Contoso.edu"))
    return t


def message(n: int, **kw: object) -> OutgoingMessage:
    raw = RAW.replace(b"<1@x>", f"<{n}@x>".encode())
    args: dict = {"raw": raw, "flags": (), "keywords": (), "internaldate": WHEN,
                  "source_key": f"user/INBOX/1/{n}"}
    args.update(kw)
    return OutgoingMessage(**args)


def test_layout_matches_maildirpp(target: MaildirTarget, tmp_path: Path) -> None:
    result = target.ensure_folders([("Archive", "2019"), ("Entwürfe & Ideen",), ("v1.2",)])
    root = tmp_path / "ann.beebe@contoso.edu"
    assert result.created == [("Archive", "2019"), ("Entwürfe & Ideen",), ("v1.2",)]
    for name in (".Archive.2019", ".Entw&APw-rfe &- Ideen", ".v1_2"):
        assert (root / name / "maildirfolder").is_file()
        assert all((root / name / sub).is_dir() for sub in ("cur", "new", "tmp"))
    assert not (root / ".Archive").exists()  # a parent is no folder unless asked for
    assert (root / "cur").is_dir() and not (root / "maildirfolder").exists()
    again = target.ensure_folders([("Archive", "2019")])
    assert again.created == [] and again.existing == [("Archive", "2019")]


def test_append_round_trip_is_faithful(target: MaildirTarget, tmp_path: Path) -> None:
    target.ensure_folders([("Sent",)])
    out = [message(1, flags=("\\Seen", "\\Answered", "\\Recent"), keywords=("$Forwarded", "Work")),
           message(2, flags=("\\Flagged", "\\Draft", "\\Deleted")),
           message(3, raw=b"Subject: x\n\nLF only\n", internaldate=None)]
    refs = target.append_batch(("Sent",), out)
    assert [type(r) for r in refs] == [TargetRef] * 3
    stored = [target.read_message(("Sent",), r) for r in refs if isinstance(r, TargetRef)]
    assert stored[0].raw == out[0].raw
    assert stored[0].flags == ("\\Answered", "\\Seen")
    assert stored[0].keywords == ("$Forwarded", "Work")
    assert stored[0].internaldate == WHEN.astimezone(UTC)
    assert stored[1].flags == ("\\Deleted", "\\Draft", "\\Flagged")
    assert stored[2].raw == b"Subject: x\n\nLF only\n"
    cur = sorted(os.listdir(tmp_path / "ann.beebe@contoso.edu" / ".Sent" / "cur"))
    assert any(name.endswith(":2,RSab") for name in cur)
    assert any(name.endswith(":2,DFT") for name in cur)
    assert os.listdir(tmp_path / "ann.beebe@contoso.edu" / ".Sent" / "tmp") == []
    keywords = (tmp_path / "ann.beebe@contoso.edu" / ".Sent" / "dovecot-keywords").read_text()
    assert keywords == "0 $Forwarded\n1 Work\n"


def test_the_referee_reads_what_we_wrote(target: MaildirTarget, tmp_path: Path) -> None:
    target.ensure_folders([INBOX, ("日本語",)])
    target.append_batch(("日本語",), [message(1, flags=("\\Seen",), keywords=("$Label1",))])
    source = MaildirSource(tmp_path / "ann.beebe@contoso.edu")
    folders = {f.path: f for f in source.folders()}
    assert set(folders) == {INBOX, ("日本語",)}
    [record] = list(source.messages(folders[("日本語",)]))
    assert record.flags == frozenset({"\\Seen"}) and record.keywords == frozenset({"$Label1"})
    assert record.internaldate == WHEN.astimezone(UTC)


def test_find_existing_by_source_key_survives_a_new_process(tmp_path: Path) -> None:
    first = MaildirTarget(tmp_path)
    first.open_user(TargetMailbox("u@example.com"))
    first.ensure_folders([INBOX])
    [ref] = first.append_batch(INBOX, [message(7)])
    assert isinstance(ref, TargetRef)
    resumed = MaildirTarget(tmp_path)  # as after kill -9: no memory of the append
    resumed.open_user(TargetMailbox("u@example.com"))
    found = resumed.find_existing(INBOX, Lookup(source_key="user/INBOX/1/7"))
    assert found == TargetRef(INBOX, ref.item_id)
    assert resumed.find_existing(INBOX, Lookup(source_key="user/INBOX/1/8")) is None
    assert resumed.find_existing(INBOX, Lookup(item_id=ref.item_id)) == found
    assert resumed.find_existing(INBOX, Lookup(item_id="nope")) is None


def test_change_flags_keeps_the_reference_and_delete_removes(target: MaildirTarget) -> None:
    target.ensure_folders([INBOX])
    [ref] = target.append_batch(INBOX, [message(1, flags=("\\Seen",))])
    assert isinstance(ref, TargetRef)
    new = target.change_flags(INBOX, ref, ["\\Flagged", "Work"], ["\\Seen"])
    assert new.item_id == ref.item_id
    stored = target.read_message(INBOX, new)
    assert stored.flags == ("\\Flagged",) and stored.keywords == ("Work",)
    assert stored.internaldate == WHEN.astimezone(UTC)
    target.delete(INBOX, [new, TargetRef(INBOX, "missing")])
    assert target.find_existing(INBOX, Lookup(item_id=ref.item_id)) is None
    with pytest.raises(PermanentError):
        target.change_flags(INBOX, ref, ["\\Seen"], [])


def test_keywords_beyond_26_are_reported_not_lost_silently(target: MaildirTarget) -> None:
    target.ensure_folders([INBOX])
    many = tuple(f"kw{i:02d}" for i in range(MAX_KEYWORDS + 3))
    [ref] = target.append_batch(INBOX, [message(1, keywords=many)])
    assert isinstance(ref, TargetRef)
    assert ref.dropped_keywords == many[MAX_KEYWORDS:]
    assert target.read_message(INBOX, ref).keywords == many[:MAX_KEYWORDS]


def test_unknown_folder_and_bad_address_are_clear_errors(tmp_path: Path) -> None:
    t = MaildirTarget(tmp_path)
    with pytest.raises(ValidationError):
        t.open_user(TargetMailbox("../etc"))
    t.open_user(TargetMailbox("x@example.com"))
    with pytest.raises(PermanentError, match="does not exist"):
        t.append_batch(("Nope",), [message(1)])


def test_directories_are_0700_and_files_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, which would give 0755/0644 by default
    try:
        target = MaildirTarget(tmp_path / "endpoint", fsync=False)
        target.open_user(TargetMailbox("ann@example.org"))
        target.ensure_folders([("Archive", "2019")])
        target.append_batch(("Archive", "2019"), [message(1, keywords=("Work",))])
    finally:
        os.umask(old)
    root = tmp_path / "endpoint"
    dirs = [root, *(p for p in root.rglob("*") if p.is_dir())]
    files = [p for p in root.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"maildirfolder", "dovecot-keywords"}
    assert len(dirs) >= 9  # root, the tree and its cur/new/tmp, .Archive.2019 and its three
    assert {oct(p.stat().st_mode & 0o777) for p in dirs} == {"0o700"}
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {"0o600"}
