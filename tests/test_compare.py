"""The comparer on Maildir++ trees: identical copies agree, every planted difference is caught."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scripts.compare import (
    CompareError,
    FolderDiff,
    ImapSpec,
    MaildirSource,
    MessageRecord,
    Report,
    compare,
    compare_folder,
    main,
    parse_spec,
)
from scripts.corpus import KB, MIN_FULL_COUNT, generate, load_maildir
from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pristine") / "Maildir"
    load_maildir(root, generate(21, MIN_FULL_COUNT + 30, max_size=64 * KB))
    return root


@pytest.fixture
def pair(pristine: Path, tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(pristine, a)
    shutil.copytree(pristine, b)
    for copy in (a, b):  # copytree keeps mtimes of files, which is what INTERNALDATE is
        assert_same_mtimes(pristine, copy)
    return a, b


def assert_same_mtimes(src: Path, dst: Path) -> None:
    sample = next((src / "cur").iterdir())
    assert os.stat(dst / "cur" / sample.name).st_mtime == os.stat(sample).st_mtime


def run(a: Path, b: Path, **options: object) -> Report:
    return compare(MaildirSource(a), MaildirSource(b), **options)  # type: ignore[arg-type]


def inbox_file(root: Path, flags: str) -> Path:
    """An INBOX message whose info suffix is exactly ``:2,<flags>``."""
    return next(p for p in sorted((root / "cur").iterdir()) if p.name.endswith(f":2,{flags}"))


def only(report: Report, kind: str) -> FolderDiff:
    """Assert the report differs in INBOX only, and only by ``kind``; return INBOX's diff."""
    assert not report.identical
    assert report.folders_missing == [] and report.folders_extra == []
    inbox = report.folder("INBOX")
    for name in ("missing", "extra", "duplicated", "flags", "keywords", "dates"):
        assert bool(getattr(inbox, name)) == (name == kind), name
    assert [f.path for f in report.folders if not f.identical] == [("INBOX",)]
    return inbox


def test_two_copies_of_one_corpus_are_identical(pair: tuple[Path, Path]) -> None:
    report = run(*pair)
    assert report.identical, report.format()
    assert len(report.folders) == 17
    assert sum(f.count_a for f in report.folders) == MIN_FULL_COUNT + 30
    assert "IDENTICAL" in report.format()


def test_cli_exit_zero_when_identical(pair: tuple[Path, Path]) -> None:
    a, b = pair
    done = subprocess.run([sys.executable, "-m", "scripts.compare", f"maildir:{a}",
                           f"maildir:{b}"], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "IDENTICAL" in done.stdout


def test_missing_message(pair: tuple[Path, Path]) -> None:
    a, b = pair
    (b / "cur" / inbox_file(a, "FS").name).unlink()
    inbox = only(run(a, b), "missing")
    assert len(inbox.missing) == 1 and inbox.count_b == inbox.count_a - 1
    assert main([f"maildir:{a}", f"maildir:{b}"]) == 1


def test_extra_message(pair: tuple[Path, Path]) -> None:
    a, b = pair
    (b / "new" / "1700000000.planted.host").write_bytes(b"Subject: planted\r\n\r\nhello\r\n")
    inbox = only(run(a, b), "extra")
    assert "'planted'" in inbox.extra[0]


def test_duplicated_message(pair: tuple[Path, Path]) -> None:
    a, b = pair
    source = inbox_file(b, "FS")
    shutil.copy2(source, b / "cur" / ("dup-" + source.name))
    inbox = only(run(a, b), "duplicated")
    assert len(inbox.duplicated) == 1


def test_flag_difference(pair: tuple[Path, Path]) -> None:
    a, b = pair
    source = inbox_file(b, "FS")
    source.rename(source.with_name(source.name[: -len("FS")] + "S"))
    inbox = only(run(a, b), "flags")
    _label, flags_a, flags_b = inbox.flags[0]
    assert flags_a == {"\\Flagged", "\\Seen"} and flags_b == {"\\Seen"}


def test_keyword_difference(pair: tuple[Path, Path]) -> None:
    a, b = pair
    text = (b / "dovecot-keywords").read_text()
    (b / "dovecot-keywords").write_text(text.replace("0 $label1", "0 $label2"))
    inbox = only(run(a, b), "keywords")
    assert {"$label1"} <= inbox.keywords[0][1] and {"$label2"} <= inbox.keywords[0][2]


def test_date_difference_and_tolerance(pair: tuple[Path, Path]) -> None:
    a, b = pair
    target = inbox_file(b, "FS")
    mtime = os.stat(target).st_mtime
    os.utime(target, (mtime, mtime + 2))
    inbox = only(run(a, b), "dates")
    assert inbox.dates[0][2] == datetime.fromtimestamp(mtime + 2, UTC)
    assert run(a, b, date_tolerance=2.0).identical
    assert main([f"maildir:{a}", f"maildir:{b}", "--date-tolerance", "2"]) == 0


def test_folder_missing_and_extra(pair: tuple[Path, Path]) -> None:
    a, b = pair
    shutil.rmtree(b / ".Empty")
    for sub in ("cur", "new", "tmp"):
        (b / ".Extra.Sub" / sub).mkdir(parents=True)
    report = run(a, b)
    assert report.folders_missing == [("Empty",)]
    assert report.folders_extra == [("Extra", "Sub")]
    assert all(f.identical for f in report.folders)
    text = report.format()
    assert "folder missing in B: Empty" in text and "folder extra in B: Extra/Sub" in text
    assert run(a, b, ignore_folders=["Empty", ("Extra", "Sub")]).identical


def test_lf_line_endings_on_disk_compare_as_crlf(pair: tuple[Path, Path]) -> None:
    a, b = pair
    for path in (b / "cur").iterdir():
        path_stat = os.stat(path)
        path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n"))
        os.utime(path, (path_stat.st_atime, path_stat.st_mtime))
    assert run(a, b).identical


def test_non_ascii_folders_are_decoded(pristine: Path) -> None:
    paths = {f.path for f in MaildirSource(pristine).folders()}
    assert {("Entwürfe",), ("日本語", "メモ"), ("Notes & Ideas",)} <= paths


def test_by_special_use_matches_renamed_role_folders(pair: tuple[Path, Path]) -> None:
    a, b = pair
    (b / ".Sent").rename(b / ".Sent Items")
    plain = run(a, b)
    assert plain.folders_missing == [("Sent",)] and plain.folders_extra == [("Sent Items",)]
    assert run(a, b, by_special_use=True).identical


def record(flags: frozenset[str], when: int = 0, digest: str = "d") -> MessageRecord:
    return MessageRecord(digest, flags, frozenset(), datetime.fromtimestamp(when, UTC), "m")


def test_multiset_pairs_copies_with_matching_state_first() -> None:
    seen, flagged = frozenset({"\\Seen"}), frozenset({"\\Flagged"})
    assert compare_folder([record(seen), record(flagged)], [record(flagged), record(seen)]
                          ).identical
    diff = compare_folder([record(seen), record(seen)], [record(seen)])
    assert len(diff.missing) == 1 and not diff.flags
    diff = compare_folder([record(seen)], [record(seen), record(seen), record(flagged)])
    assert len(diff.duplicated) == 2 and not diff.extra


def test_spec_parsing() -> None:
    spec = parse_spec("imaps://user1:p%40ss@127.0.0.1:14993?cafile=/tmp/ca.pem&login=user1*admin")
    assert spec == ImapSpec("127.0.0.1", 14993, "user1", "p@ss", tls=True,
                            cafile="/tmp/ca.pem", login="user1*admin")
    assert parse_spec("imap://a:b@localhost").port == 143  # type: ignore[union-attr]
    assert parse_spec("maildir:/x/y") == Path("/x/y")
    for bad in ("pop3://a:b@h", "imap://h:143", "imap://a:b@h:99999", "imap://a:b@h?x=1",
                "maildir:"):
        with pytest.raises(CompareError):
            parse_spec(bad)


def test_cli_exit_two_on_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bogus", f"maildir:{tmp_path}"]) == 2
    assert main([f"maildir:{tmp_path / 'absent'}", f"maildir:{tmp_path}"]) == 2
    assert main([f"imap://u:p@127.0.0.1:{free_port()}", f"maildir:{tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert err.count("compare: error:") == 3 and "Traceback" not in err
    with pytest.raises(SystemExit) as usage:
        main(["only-one"])
    assert usage.value.code == 2
