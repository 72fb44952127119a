"""Test-MigrationUser and Test-MigrationBatch on real migrations: a real Dovecot source, synced
by the real executor into a Maildir target and into a real Dovecot target; then differences are
planted on the target and the proof must name each one by folder and message."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.runner.jobs import OutcomeKind
from engine.verify.readers import MaildirReader
from scripts.corpus import MIN_FULL_COUNT, ImapParams, generate, load_imap
from shell.wiring import build_session
from tests.integration.syncenv import SyncEnv
from tests.support.servers import ImapServer

pytestmark = pytest.mark.servers

CORPUS = generate(43, MIN_FULL_COUNT)  # 30 messages in 17 folders, one of 3 MB


@pytest.fixture(scope="module")
def source(dovecot: ImapServer) -> tuple[ImapServer, str]:
    user = dovecot.fresh_user()
    load_imap(ImapParams(dovecot.host, dovecot.port, user, dovecot.password), CORPUS)
    return dovecot, user


@pytest.fixture
def envs() -> Iterator[list[SyncEnv]]:
    made: list[SyncEnv] = []
    yield made
    for env in made:
        env.cleanup()


def synced(envs: list[SyncEnv], source: tuple[ImapServer, str], target: ImapServer | None = None,
           **options: object) -> SyncEnv:
    server, user = source
    env = SyncEnv(server, user, target, target.fresh_user() if target else None)
    envs.append(env)
    outcome = env.run(**options)
    assert outcome.kind is OutcomeKind.ok, outcome.message
    return env


def imsh(env: SyncEnv, line: str) -> subprocess.CompletedProcess[str]:
    """One line through the real console script, on the env's state directory."""
    command = shutil.which("imsh")
    argv = [command] if command else [sys.executable, "-m", "shell.main"]
    return subprocess.run([*argv, "--state", str(env.paths.root), "-c", line],
                          env={**os.environ, "IMSH_HOME": ""}, capture_output=True, text=True,
                          timeout=120, check=False)


def prove(env: SyncEnv, line: str) -> list[object]:
    """Run a line in an in-process session and return its output objects."""
    out, err = io.StringIO(), io.StringIO()
    session = build_session(str(env.paths.root), interactive=False, stdout=out, stderr=err)
    try:
        session.run(f"$proofOutput = @({line})")
        assert err.getvalue() == "", err.getvalue()
        return list(session.variables.get("proofOutput"))
    finally:
        session.close()


def folder_dirs(box: Path) -> dict[str, Path]:
    return {"/".join(f.path): Path(f.native) for f in MaildirReader(box).folders()}


def first_file(directory: Path) -> Path:
    return next(p for sub in ("cur", "new") for p in sorted((directory / sub).iterdir()))


def message_id(path: Path) -> str:
    for line in path.read_bytes().split(b"\n"):
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip().decode()
    raise AssertionError(f"no Message-ID in {path}")


def test_a_faithful_migration_proves_perfect(source: tuple[ImapServer, str],
                                             envs: list[SyncEnv]) -> None:
    env = synced(envs, source)
    done = imsh(env, f"Test-MigrationUser -Identity {env.address} | Format-List; "
                     f"(Test-MigrationUser {env.address}).Folders | Format-Table; "
                     f"Get-MigrationUser {env.address} | Format-List DataConsistencyScore")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Result               : Identical" in out, out
    assert "DataConsistencyScore : Perfect" in out
    assert f"SourceItemCount      : {len(CORPUS)}" in out
    assert f"TargetItemCount      : {len(CORPUS)}" in out
    assert "Archive/2019" in out and "日本語/メモ" in out  # the per-folder table
    assert out.count("Identical") >= 17


def test_each_planted_difference_is_named_by_folder_and_message(
        source: tuple[ImapServer, str], envs: list[SyncEnv]) -> None:
    env = synced(envs, source)
    box = env.maildir_root / env.address.lower()
    dirs = folder_dirs(box)

    removed = first_file(dirs["Projects"])
    removed_id = message_id(removed)
    removed.unlink()

    altered = first_file(dirs["Réunions"])
    altered_id = message_id(altered)
    stat = altered.stat()
    data = bytearray(altered.read_bytes())
    data[-3] = ord("X") if data[-3] != ord("X") else ord("Y")  # one byte of the body
    altered.write_bytes(bytes(data))
    os.utime(altered, (stat.st_atime, stat.st_mtime))

    flagged = next(p for p in sorted((dirs["INBOX"] / "cur").iterdir())
                   if p.name.endswith(":2,S"))
    flagged_id = message_id(flagged)
    flagged.rename(flagged.with_name(flagged.name[: -len("S")] + "FS"))  # now \\Flagged

    dated = first_file(dirs["Notes & Ideas"])
    dated_id = message_id(dated)
    os.utime(dated, (dated.stat().st_atime, dated.stat().st_mtime + 3600))

    shutil.rmtree(dirs["Archive/2020"])
    (dirs["Junk"] / "new" / "1700000000.planted.host").write_bytes(
        b"Message-ID: <planted@example.org>\r\nSubject: planted\r\n\r\nhello\r\n")

    [proof] = prove(env, f"Test-MigrationUser -Identity {env.address} -Detailed")
    assert proof.get("Result") == "Different"  # type: ignore[attr-defined]
    found = {(d.get("Kind"), d.get("Folder"), d.get("Message") or "")
             for d in proof.get("Differences")}  # type: ignore[attr-defined]
    kinds = {(kind, folder) for kind, folder, _m in found}
    assert kinds == {("Missing", "Projects"), ("Altered", "Réunions"), ("Flags", "INBOX"),
                     ("Dates", "Notes & Ideas"), ("FolderMissing", "Archive/2020"),
                     ("Extra", "Junk")}, found
    named = {kind: message for kind, _folder, message in found}
    assert removed_id in named["Missing"] and altered_id in named["Altered"]
    assert flagged_id in named["Flags"] and dated_id in named["Dates"]
    assert "<planted@example.org>" in named["Extra"]
    # 3 of 30 lost (removed, altered, the missing folder's one message): over 5 % is Poor
    assert proof.get("MissingItemCount") == 3  # type: ignore[attr-defined]
    assert proof.get("DataConsistencyScore") == "Poor"  # type: ignore[attr-defined]
    [user] = prove(env, f"Get-MigrationUser {env.address}")
    assert user.get("DataConsistencyScore") == "Poor"  # type: ignore[attr-defined]
    [stats] = prove(env, f"Get-MigrationUserStatistics {env.address} -IncludeReport")
    assert any("Proof: the target differs" in line
               for line in stats.get("Report"))  # type: ignore[attr-defined]


def test_a_skipped_item_is_counted_as_skipped_and_lowers_the_score(
        source: tuple[ImapServer, str], envs: list[SyncEnv]) -> None:
    env = synced(envs, source, max_message_size=1024 * 1024)  # the 3 MB message is skipped
    [proof] = prove(env, f"Test-MigrationUser -Identity {env.address} -Detailed")
    assert proof.get("Result") == "Identical"  # type: ignore[attr-defined]
    assert proof.get("MissingItemCount") == 0  # type: ignore[attr-defined]
    assert proof.get("SkippedItemCount") == 1  # type: ignore[attr-defined]
    [skipped] = proof.get("Differences")  # type: ignore[attr-defined]
    assert skipped.get("Kind") == "Skipped"
    # 1 of 30 lost: at most max(1, 1 %) is Good (docs/proof.md)
    assert proof.get("DataConsistencyScore") == "Good"  # type: ignore[attr-defined]
    [batch] = prove(env, "Get-MigrationBatch B1")
    assert batch.get("DataConsistencyScore") == "Good"  # type: ignore[attr-defined]


def test_an_imap_target_is_proven_and_its_differences_found(
        source: tuple[ImapServer, str], dovecot_target: ImapServer,
        envs: list[SyncEnv]) -> None:
    env = synced(envs, source, dovecot_target)
    [perfect] = prove(env, "Test-MigrationBatch -Identity B1")
    assert perfect.get("Result") == "Identical", perfect  # type: ignore[attr-defined]
    assert perfect.get("DataConsistencyScore") == "Perfect"  # type: ignore[attr-defined]

    assert env.target_user is not None
    client = dovecot_target.login(env.target_user)
    try:
        client.select_folder("INBOX")
        uids = sorted(client.search(["ALL"]))
        client.add_flags(uids[0], [b"$Planted"])
        client.delete_messages(uids[1])
        client.expunge()
    finally:
        client.logout()
    rows = prove(env, "Get-MigrationUser -BatchId B1 | Test-MigrationUser -FolderTable")
    inbox = next(r for r in rows if r.get("Folder") == "INBOX")  # type: ignore[attr-defined]
    assert inbox.get("Result") == "Different"  # type: ignore[attr-defined]
    assert inbox.get("Missing") == 1 and inbox.get("Changed") == 1  # type: ignore[attr-defined]
    others = [r for r in rows if r.get("Folder") != "INBOX"]  # type: ignore[attr-defined]
    assert others and all(r.get("Result") == "Identical" for r in others)  # type: ignore


FOLDED = (b"Message-ID:\r\n <folded.id@example.org>\r\nSubject: a subject\r\n that is folded\r\n"
          b"From: a@example.org\r\nDate: Mon, 1 Jun 2026 10:00:00 +0000\r\n\r\nbody text\r\n")


def test_an_altered_message_whose_message_id_is_folded_is_named_as_altered(
        dovecot: ImapServer, envs: list[SyncEnv]) -> None:
    """Folded headers are common (long Message-IDs, encoded subjects): the proof must unfold
    them. It read a folded Message-ID as none, so a changed copy showed as one missing and one
    extra message labelled "(no Message-ID)" instead of one altered message."""
    user = dovecot.fresh_user()
    with dovecot.login(user) as client:
        client.append("INBOX", FOLDED)
        client.append("INBOX", b"Message-ID: <plain@example.org>\r\nSubject: plain\r\n\r\nx\r\n")
    env = synced(envs, (dovecot, user))
    inbox = folder_dirs(env.maildir_root / env.address.lower())["INBOX"]
    [copy] = [p for sub in ("cur", "new") for p in (inbox / sub).iterdir()
              if b"folded.id" in p.read_bytes()]
    stat = copy.stat()
    copy.write_bytes(copy.read_bytes().replace(b"body text", b"body TEXT"))
    os.utime(copy, (stat.st_atime, stat.st_mtime))

    done = imsh(env, f"(Test-MigrationUser -Identity {env.address} -Detailed).Differences"
                     " | Format-List Kind,Folder,Message")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Altered" in out and "<folded.id@example.org>" in out, out
    assert "a subject that is folded" in out, out
    assert "Missing" not in out and "Extra" not in out, out
