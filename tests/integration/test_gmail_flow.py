"""A Gmail-shaped mailbox (tests/support/gmail.py: label folders, [Gmail]/ views, the same
message in several labels) migrated by the real ``imsh`` console script into a Dovecot target,
under each -GmailLabelPolicy (engine/sync/gmail_labels.py, docs/gmail.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_incremental_flow import ADDRESS, Flow, counters
from tests.support.gmail import fill_gmail, subjects_by_folder
from tests.support.servers import ImapServer, start_dovecot

pytestmark = [pytest.mark.servers, pytest.mark.slow]


@pytest.fixture(scope="module")
def gmail() -> Iterator[ImapServer]:
    server = start_dovecot(nusers=2, special_use="gmail")
    yield server
    server.stop()


def migrate(tmp_path: Path, gmail: ImapServer, target: ImapServer, policy: str) -> Flow:
    work = tmp_path / "work"
    work.mkdir()
    flow = Flow(tmp_path / "state", work, gmail, gmail.fresh_user(), target,
                target.fresh_user())
    fill_gmail(gmail, flow.source_user)
    (work / "users.csv").write_text(
        "EmailAddress,UserName,Password,TargetUserName,TargetPassword\n"
        f"{ADDRESS},{flow.source_user},{gmail.password},{flow.target_user},{target.password}\n",
        encoding="utf-8")
    out = flow.imsh("migrate", f"""
New-MigrationEndpoint -IMAP -Name Gmail -RemoteServer 127.0.0.1 -Port {gmail.port} -Security None | Out-Null
New-MigrationEndpoint -IMAP -Name Target -RemoteServer 127.0.0.1 -Port {target.port} -Security None | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Gmail -TargetEndpoint Target -CSVData ([System.IO.File]::ReadAllBytes("users.csv")) {policy} -AutoStart | Out-Null
Write-Output "batch: $((Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 90).Status)"
Get-MigrationUserStatistics {ADDRESS} | Format-List SyncedItemCount,TotalItemsInSourceMailboxCount,PercentageComplete
""")  # noqa: E501
    assert "batch: Synced" in out, out
    flow.wait_for_no_runner()
    flow.out = out  # type: ignore[attr-defined]
    return flow


def test_gmail_one_copy_puts_each_message_once_and_counts_it_once(
    tmp_path: Path, gmail: ImapServer, dovecot_target: ImapServer
) -> None:
    flow = migrate(tmp_path, gmail, dovecot_target, "")  # OneCopy is the default
    assert subjects_by_folder(dovecot_target, flow.target_user) == {
        "INBOX": [("a", True)],
        "Work/ProjectX": [("b", False)],
        "Sent": [("c", False)],
        "Trash": [("e", False)],
        "Archive": [("d", False)],
    }
    out = flow.out  # type: ignore[attr-defined]
    assert "SyncedItemCount                : 5" in out
    assert "TotalItemsInSourceMailboxCount : 5" in out
    assert "PercentageComplete             : 100" in out
    before = counters(dovecot_target, flow.target_user)
    flow.sync_now()  # a second pass copies nothing, deletes nothing
    assert counters(dovecot_target, flow.target_user) == before


def test_gmail_every_label_gives_a_copy_per_label_but_no_view_folders(
    tmp_path: Path, gmail: ImapServer, dovecot_target: ImapServer
) -> None:
    flow = migrate(tmp_path, gmail, dovecot_target, "-GmailLabelPolicy EveryLabel")
    assert subjects_by_folder(dovecot_target, flow.target_user) == {
        "INBOX": [("a", True)],
        "Work": [("a", True), ("b", False)],
        "Work/ProjectX": [("b", False)],
        "Sent": [("c", False)],
        "Trash": [("e", False)],
        "Archive": [("d", False)],
    }
    assert "SyncedItemCount                : 7" in flow.out  # type: ignore[attr-defined]
