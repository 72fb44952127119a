"""The deletion guard through the real ``imsh`` console script and real Dovecot servers.

Issue 10, case 1: a source that *looks* empty made an incremental pass delete every copy on
the target and report success. Each test here is one way that happens on an admin's bad day;
each holds the deletions, tells the admin, and deletes only after an explicit approval (or
finds nothing to delete once the source is fixed). Before the guard, each of them lost the
copies: 120 of 120 (re-pointed endpoint), 120 of 120 (emptied mailbox), all of a folder
turned ``\\Noselect``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_incremental_flow import ADDRESS, Flow, new_flow
from tests.support.servers import ImapServer, start_dovecot

pytestmark = [pytest.mark.servers, pytest.mark.slow]

COUNT = 120  # more than 50 copies, so every rule of the guard can fire


def target_total(flow: Flow) -> int:
    client = flow.target.login(flow.target_user)
    try:
        return sum(client.folder_status(name, [b"MESSAGES"])[b"MESSAGES"]
                   for flags, _sep, name in client.list_folders()
                   if b"\\Noselect" not in flags)
    finally:
        client.logout()


def target_folders(flow: Flow) -> set[str]:
    client = flow.target.login(flow.target_user)
    try:
        return {name for _flags, _sep, name in client.list_folders()}
    finally:
        client.logout()


def empty_source(flow: Flow) -> int:
    """Expunge every message of every source folder (a storage fault, or a wrong restore)."""
    client = flow.source_client()
    removed = 0
    try:
        for flags, _sep, name in client.list_folders():
            if b"\\Noselect" in flags:
                continue
            client.select_folder(name)
            uids = client.search(["ALL"])
            if uids:
                client.delete_messages(uids)
                client.expunge()
                removed += len(uids)
    finally:
        client.logout()
    return removed


def run(flow: Flow, script: str) -> str:
    """Run ``script`` through the real ``imsh``; its standard output and error together."""
    path = flow.work / "look.imsh"
    path.write_text(script, encoding="utf-8")
    command = shutil.which("imsh")
    argv = [command] if command else [sys.executable, "-m", "shell.main"]
    env = {**os.environ, "IMSH_HOME": ""}
    result = subprocess.run([*argv, "--state", str(flow.state), str(path)], cwd=flow.work,
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def statistics(flow: Flow) -> str:
    """What the admin sees: the statistics' properties and the warning Exchange-style."""
    return run(flow, f"""
$u = Get-MigrationUserStatistics -Identity {ADDRESS}
"held=$($u.HeldDeletionCount) unapproved=$($u.HasUnapprovedDeletions) status=$($u.Status)"
"reason=$($u.HeldDeletionReason)"
""")


def held_rows(flow: Flow) -> int:
    with sqlite3.connect(flow.state / "state.db") as db:
        return int(db.execute("SELECT COUNT(*) FROM message_states WHERE hold = 'held' "
                              "AND state = 'copied'").fetchone()[0])


@pytest.fixture
def flow(tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer) -> Flow:
    made = new_flow(tmp_path, dovecot, dovecot_target, corpus_count=COUNT)
    assert made.compare() is None
    assert target_total(made) == COUNT
    return made


@pytest.fixture(scope="module")
def wrong_server() -> Iterator[ImapServer]:
    """Another Dovecot, where every user's mailbox is empty: the endpoint re-pointed wrongly."""
    server = start_dovecot(nusers=60)
    yield server
    server.stop()


def test_source_endpoint_repointed_at_an_empty_server_deletes_nothing(
        flow: Flow, wrong_server: ImapServer) -> None:
    number = int(flow.source_user.removeprefix("user"))
    if number > len(wrong_server.users):
        wrong_server.add_users(number - len(wrong_server.users))
    flow.imsh("repoint", f"Set-MigrationEndpoint -Identity Source -Port {wrong_server.port} "
                         "-SkipVerification\n")
    flow.sync_now()
    assert target_total(flow) == COUNT  # before the guard: 0 (120 of 120 deleted)
    seen = statistics(flow)
    assert f"held={COUNT} unapproved=True" in seen
    assert "WARNING: " in seen and "-ApproveDeletions" in seen
    batch = run(flow, "Get-MigrationBatch -Identity B1 | Format-List Identity,Status,Message\n")
    assert "WARNING: " in batch and "needs attention: 1 user has deletions held" in batch
    assert "Message  : The migration batch" in batch

    # The admin fixes the endpoint: the next pass finds every message again, nothing to delete.
    flow.imsh("fix", f"Set-MigrationEndpoint -Identity Source -Port {flow.source.port} "
                     "-SkipVerification\n")
    flow.sync_now()
    assert target_total(flow) == COUNT
    assert held_rows(flow) == 0
    assert "held=0 unapproved=False" in statistics(flow)
    difference = flow.compare()
    assert difference is None, difference


def test_emptied_source_mailbox_holds_deletions_until_approved(flow: Flow) -> None:
    assert empty_source(flow) == COUNT
    flow.sync_now()
    assert target_total(flow) == COUNT  # before the guard: 0, "completed"
    seen = statistics(flow)
    assert f"held={COUNT}" in seen
    assert "would delete every one of the 120 messages" in seen or "120 of the 120" in seen
    # The user reported IncrementalSynced/Synced as before, not Failed: nothing went wrong.
    assert "status=Failed" not in seen

    # Holding is stable: another pass deletes nothing either.
    flow.sync_now()
    assert target_total(flow) == COUNT

    flow.imsh("approve", f"Set-MigrationUser -Identity {ADDRESS} -ApproveDeletions\n")
    flow.wait_for_no_runner()
    flow.sync_now()
    assert target_total(flow) == 0
    assert "held=0 unapproved=False" in statistics(flow)


def test_approving_held_deletions_deletes_exactly_those(flow: Flow) -> None:
    assert empty_source(flow) == COUNT
    flow.sync_now()
    assert target_total(flow) == COUNT
    # Meanwhile: new mail on the source, and the target's user files a message of their own.
    client = flow.source_client()
    try:
        client.append("INBOX", b"Subject: new\r\nMessage-ID: <after-hold@x>\r\n\r\nnew\r\n")
    finally:
        client.logout()
    target = flow.target.login(flow.target_user)
    try:
        target.append("INBOX", b"Subject: mine\r\nMessage-ID: <users-own@x>\r\n\r\nmine\r\n")
    finally:
        target.logout()
    flow.imsh("approve", f"Set-MigrationUser -Identity {ADDRESS} -ApproveDeletions\n")
    flow.wait_for_no_runner()
    flow.sync_now()
    client = flow.target.login(flow.target_user)
    try:
        client.select_folder("INBOX", readonly=True)
        left = client.fetch(client.search(["ALL"]), ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
    finally:
        client.logout()
    ids = sorted(next(iter(v.values())).strip().decode() for v in
                 ({k: v for k, v in row.items() if k != b"SEQ"} for row in left.values()))
    assert ids == ["Message-ID: <after-hold@x>", "Message-ID: <users-own@x>"]
    assert target_total(flow) == 2


def test_a_few_deletions_by_the_user_still_reach_the_target(flow: Flow) -> None:
    client = flow.source_client()
    try:
        client.select_folder("INBOX")
        uids = sorted(client.search(["ALL"]))[:3]
        client.delete_messages(uids)
        client.expunge()
    finally:
        client.logout()
    flow.sync_now()
    assert target_total(flow) == COUNT - 3
    assert held_rows(flow) == 0
    difference = flow.compare()
    assert difference is None, difference


def test_a_folder_the_server_lists_as_noselect_keeps_its_copies(flow: Flow) -> None:
    """A storage fault: the folder's directory lost its permissions, Dovecot lists the folder
    as \\Noselect (or not at all); its copies and its target folder stay."""
    client = flow.source_client()
    try:
        folders = [(name, client.folder_status(name, [b"MESSAGES"])[b"MESSAGES"])
                   for flags, _sep, name in client.list_folders()
                   if b"\\Noselect" not in flags and name != "INBOX"]
    finally:
        client.logout()
    name, count = max(folders, key=lambda f: f[1])
    assert count > 0
    before = target_folders(flow)
    maildir = _maildir_of(flow.source, flow.source_user, name)
    mode = maildir.stat().st_mode
    os.chmod(maildir, 0)  # Dovecot, listing from the file system, now says \Noselect
    _drop_list_index(flow.source, flow.source_user)
    try:
        flow.sync_now()
    finally:
        os.chmod(maildir, mode)
        _drop_list_index(flow.source, flow.source_user)
    assert target_total(flow) == COUNT  # before the guard: its copies deleted
    assert target_folders(flow) == before
    flow.sync_now()  # the folder is back: nothing to delete, nothing copied twice
    assert target_total(flow) == COUNT
    assert held_rows(flow) == 0
    difference = flow.compare()
    assert difference is None, difference


def _home(server: ImapServer, user: str) -> Path:
    return server.dir / "mail" / user / "Maildir"


def _maildir_of(server: ImapServer, user: str, folder: str) -> Path:
    """The directory of ``folder`` in the throwaway Dovecot's Maildir (LAYOUT=fs)."""
    path = _home(server, user) / folder
    assert path.is_dir(), path
    return path


def _drop_list_index(server: ImapServer, user: str) -> None:
    """Make Dovecot list the folders from the file system again."""
    for index in _home(server, user).glob("dovecot.list.index*"):
        index.unlink()
