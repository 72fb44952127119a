"""A Gmail-shaped mailbox (tests/support/gmail.py: label folders, [Gmail]/ views, the same
message in several labels) migrated by the real ``imsh`` console script into a Dovecot target,
under each -GmailLabelPolicy (engine/sync/gmail_labels.py, docs/gmail.md)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from scripts.compare import main as compare_main
from tests.integration.test_incremental_flow import ADDRESS, Flow, counters
from tests.support.gmail import (
    EXAMPLE,
    GmailMessage,
    fill_gmail,
    labels_by_message_id,
    subjects_by_folder,
)
from tests.support.gmail_proxy import GmailExtension
from tests.support.imap_proxy import ImapProxy
from tests.support.servers import ImapServer, start_dovecot

pytestmark = [pytest.mark.servers, pytest.mark.slow]

# tests/support/gmail.py's EXAMPLE under OneCopy: each message once, starred a still \\Flagged
ONE_COPY_LAYOUT = {
    "INBOX": [("a", True)],
    "Work/ProjectX": [("b", False)],
    "Sent": [("c", False)],
    "Trash": [("e", False)],
    "Archive": [("d", False)],
}


@pytest.fixture(scope="module")
def gmail() -> Iterator[ImapServer]:
    server = start_dovecot(nusers=2, special_use="gmail")
    yield server
    server.stop()


def migrate(tmp_path: Path, gmail: ImapServer, target: ImapServer, policy: str,
            port: int | None = None, messages: Sequence[GmailMessage] = EXAMPLE, *,
            extension: GmailExtension | None = None) -> tuple[Flow, str]:
    """Fill a fresh Gmail-shaped user, migrate it with ``policy`` (through ``port``: a proxy
    whose ``extension`` then answers X-GM-LABELS for this user), wait until Synced."""
    work = tmp_path / "work"
    work.mkdir()
    flow = Flow(tmp_path / "state", work, gmail, gmail.fresh_user(), target,
                target.fresh_user())
    fill_gmail(gmail, flow.source_user, messages)
    if extension is not None:
        user = flow.source_user
        extension.labels = lambda: labels_by_message_id(gmail, user)
    (work / "users.csv").write_text(
        "EmailAddress,UserName,Password,TargetUserName,TargetPassword\n"
        f"{ADDRESS},{flow.source_user},{gmail.password},{flow.target_user},{target.password}\n",
        encoding="utf-8")
    out = flow.imsh("migrate", f"""
New-MigrationEndpoint -IMAP -Name Gmail -RemoteServer 127.0.0.1 -Port {port or gmail.port} -Security None | Out-Null
New-MigrationEndpoint -IMAP -Name Target -RemoteServer 127.0.0.1 -Port {target.port} -Security None | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Gmail -TargetEndpoint Target -CSVData ([System.IO.File]::ReadAllBytes("users.csv")) {policy} -AutoStart | Out-Null
Write-Output "batch: $((Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 90).Status)"
Get-MigrationUserStatistics {ADDRESS} | Format-List SyncedItemCount,TotalItemsInSourceMailboxCount,PercentageComplete
""")  # noqa: E501
    assert "batch: Synced" in out, out
    flow.wait_for_no_runner()
    return flow, out


def proof(flow: Flow, items: int) -> None:
    """Test-MigrationUser (the comparer's Gmail mode, engine/verify/gmail.py) finds the
    target as the batch's policy says, with ``items`` messages on each side."""
    out = flow.imsh("proof", f"Test-MigrationUser -Identity {ADDRESS} | Format-List\n")
    assert "Result               : Identical" in out, out
    assert f"SourceItemCount      : {items}" in out, out
    assert f"TargetItemCount      : {items}" in out, out


def spec(server: ImapServer, user: str, port: int | None = None) -> str:
    return f"imap://{user}:{server.password}@127.0.0.1:{port or server.port}"


def test_gmail_one_copy_puts_each_message_once_and_counts_it_once(
    tmp_path: Path, gmail: ImapServer, dovecot_target: ImapServer
) -> None:
    flow, out = migrate(tmp_path, gmail, dovecot_target, "")  # OneCopy is the default
    assert subjects_by_folder(dovecot_target, flow.target_user) == ONE_COPY_LAYOUT
    assert "SyncedItemCount                : 5" in out
    assert "TotalItemsInSourceMailboxCount : 5" in out
    assert "PercentageComplete             : 100" in out
    proof(flow, 5)
    before = counters(dovecot_target, flow.target_user)
    flow.sync_now()  # a second pass copies nothing, deletes nothing
    assert counters(dovecot_target, flow.target_user) == before
    # the referee on the command line: the same answer for OneCopy, a difference for the other
    a, b = spec(gmail, flow.source_user), spec(dovecot_target, flow.target_user)
    assert compare_main([a, b, "--gmail-policy", "OneCopy"]) == 0
    assert compare_main([a, b, "--gmail-policy", "EveryLabel"]) == 1  # Work lacks a and b
    assert compare_main([a, b]) == 1  # folder by folder, a Gmail mailbox never matches


def test_gmail_proof_names_a_duplicate_the_one_copy_policy_does_not_allow(
    tmp_path: Path, gmail: ImapServer, dovecot_target: ImapServer
) -> None:
    flow, _ = migrate(tmp_path, gmail, dovecot_target, "")
    client = dovecot_target.login(flow.target_user)
    try:  # someone copies a into Work on the target: OneCopy says it belongs in INBOX only
        client.select_folder("INBOX", readonly=True)
        client.copy(client.search(["ALL"]), "Work")
    finally:
        client.logout()
    out = flow.imsh("proof", f"Test-MigrationUser -Identity {ADDRESS} -Detailed | "
                             "Format-List Result\n")
    assert "Result : Different" in out, out


def test_gmail_every_label_gives_a_copy_per_label_but_no_view_folders(
    tmp_path: Path, gmail: ImapServer, dovecot_target: ImapServer
) -> None:
    flow, out = migrate(tmp_path, gmail, dovecot_target, "-GmailLabelPolicy EveryLabel")
    assert subjects_by_folder(dovecot_target, flow.target_user) == {
        "INBOX": [("a", True)],
        "Work": [("a", True), ("b", False)],
        "Work/ProjectX": [("b", False)],
        "Sent": [("c", False)],
        "Trash": [("e", False)],
        "Archive": [("d", False)],
    }
    assert "SyncedItemCount                : 7" in out
    proof(flow, 7)


def test_gmail_with_x_gm_ext_1_reads_labels_from_all_mail_and_only_the_folders_it_needs(
    tmp_path: Path, gmail: ImapServer, dovecot_target: ImapServer
) -> None:
    with ImapProxy(gmail.host, gmail.port) as proxy:
        extension = proxy.add(GmailExtension())
        flow, out = migrate(tmp_path, gmail, dovecot_target, "-GmailLabelPolicy OneCopy",
                            port=proxy.port, extension=extension)
    assert extension.label_hits == 4  # a, b, c, d: All Mail's labels, one FETCH
    # then X-GM-MSGID only where the placement needs UIDs: Trash (e, not in All Mail) and
    # Work (a and b have more specific homes); INBOX, Work/ProjectX, Sent are not read
    assert extension.hits == 4 + 1 + 2
    assert subjects_by_folder(dovecot_target, flow.target_user) == ONE_COPY_LAYOUT
    assert "SyncedItemCount                : 5" in out
    proof(flow, 5)


def test_gmail_labels_changed_after_the_first_pass_follow_one_copy(
    tmp_path: Path, gmail: ImapServer, dovecot_target: ImapServer
) -> None:
    flow, _ = migrate(tmp_path, gmail, dovecot_target, "")
    client = gmail.login(flow.source_user)
    try:  # b gets the INBOX label; a is archived (loses INBOX, keeps Work)
        client.select_folder("Work/ProjectX", readonly=True)
        client.copy(client.search(["ALL"]), "INBOX")
        client.select_folder("INBOX")
        client.delete_messages(client.search(["SUBJECT", "a"]))
        client.expunge()
    finally:
        client.logout()
    flow.sync_now()
    assert subjects_by_folder(dovecot_target, flow.target_user) == {
        **{k: v for k, v in ONE_COPY_LAYOUT.items() if k != "INBOX"},
        "Work": [("a", True)],
    }
    proof(flow, 5)  # b stays where it was copied: the proof knows the recorded homes


def test_gmail_a_label_named_archive_in_another_case_does_not_share_a_folder_with_all_mail(
    tmp_path: Path, gmail: ImapServer, dovecot_target: ImapServer
) -> None:
    # the label "archive" and the unlabeled mail both map to Archive (any case: Exchange
    # spells names case-insensitively); the label keeps it, All Mail goes to "Archive (2)"
    labelled = GmailMessage("f", ("archive",), day=6)
    flow, out = migrate(tmp_path, gmail, dovecot_target, "", messages=(*EXAMPLE, labelled))
    assert subjects_by_folder(dovecot_target, flow.target_user) == {
        **{k: v for k, v in ONE_COPY_LAYOUT.items() if k != "Archive"},
        "Archive": [("f", False)], "Archive (2)": [("d", False)]}
    assert "SyncedItemCount                : 6" in out
    proof(flow, 6)
