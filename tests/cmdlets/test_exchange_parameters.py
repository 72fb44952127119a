"""Exchange's migration parameters admins rely on (issue 15), through the real session:
-Users (retry failed users in a new batch), and the others below.

A failed user is made by writing its status into the real state store (fault injection);
tests/integration/test_exchange_parameters_flow.py makes one fail for real against Dovecot.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.paths import resolve_state_paths
from engine.store import Store
from engine.store.sync_state import FolderRow
from tests.cmdlets.conftest import Shell


def open_store(shell: Shell) -> Store:
    return Store.open(resolve_state_paths(str(shell.tmp / "state")))


@pytest.fixture
def batch(shell: Shell) -> Shell:
    shell.ok("New-MigrationEndpoint -IMAP -Name Src -RemoteServer 127.0.0.1 -Port 9 "
             "-SkipVerification")
    shell.ok(f'New-MigrationBatch -Name B1 -SourceEndpoint Src -CSVData '
             f'([System.IO.File]::ReadAllBytes("{shell.tmp / "users.csv"}"))')
    return shell


def fail_user(shell: Shell, address: str, error: str = "The target mailbox is missing.") -> int:
    with open_store(shell) as store:
        user = store.users.get(address)
        store.users.set_status(user.id, "Failed", "Failed", error)
        return user.id


def test_failed_users_retried_in_a_new_batch_keep_their_progress(batch: Shell) -> None:
    user_id = fail_user(batch, "bob@contoso.com")
    with open_store(batch) as store:
        folder = store.folders.save(user_id, FolderRow(source_name="INBOX"))
    out = batch.ok('$Failed = Get-MigrationUser -Status Failed; '
                   'New-MigrationBatch -Name "Retry Failed Users" -Users $Failed')
    lines = [line.split() for line in out.strip().splitlines()]
    assert lines[2] == ["Retry", "Failed", "Users", "Created", "IMAP", "1"]
    users = batch.ok("Get-MigrationUser | Format-Table Identity,BatchId,Status -HideTableHeaders")
    assert [line.split() for line in users.strip().splitlines()] == [
        ["ann@contoso.com", "B1", "Queued"],
        ["bob@contoso.com", "Retry", "Failed", "Users", "Queued"]]
    with open_store(batch) as store:
        bob = store.users.get("bob@contoso.com")
        assert bob.id == user_id and bob.error is None and bob.next_sync_due_at is None
        assert [f.id for f in store.folders.list(user_id)] == [folder.id]  # its state moved along
        assert store.batches.get("Retry Failed Users").source_endpoint_id == \
            store.batches.get("B1").source_endpoint_id
    batch.ok('Start-MigrationBatch -Identity "Retry Failed Users"')
    with open_store(batch) as store:
        assert store.users.get("bob@contoso.com").next_sync_due_at is not None
        assert store.users.get("ann@contoso.com").next_sync_due_at is None


def test_users_from_the_pipeline_go_into_one_batch(batch: Shell) -> None:
    fail_user(batch, "ann@contoso.com")
    fail_user(batch, "bob@contoso.com")
    out = batch.ok("Get-MigrationUser -Status Failed | New-MigrationBatch -Name Retry")
    assert out.strip().splitlines()[2].split() == ["Retry", "Created", "IMAP", "2"]
    assert batch.ok("(Get-MigrationBatch B1).TotalCount").strip() == "0"


def test_a_user_of_a_batch_never_started_moves(batch: Shell) -> None:
    out = batch.ok("New-MigrationBatch -Name Wave2 -Users ann@contoso.com")
    assert out.strip().splitlines()[2].split() == ["Wave2", "Created", "IMAP", "1"]
    assert batch.ok("(Get-MigrationUser ann@contoso.com).BatchId").strip() == "Wave2"


def test_a_user_queued_for_a_pass_is_not_moved_and_nothing_is_created(batch: Shell) -> None:
    batch.ok("Start-MigrationBatch B1")
    _, err = batch.run("New-MigrationBatch -Name Retry -Users ann@contoso.com")
    assert ('The migration user "ann@contoso.com" can\'t be moved to a new batch because its '
            'status is Queued in batch "B1".') in err
    assert "Traceback" not in err
    assert batch.ok("@(Get-MigrationBatch).Count").strip() == "1"


def test_an_unknown_user_is_refused_with_exchanges_words(batch: Shell) -> None:
    fail_user(batch, "bob@contoso.com")
    _, err = batch.run("New-MigrationBatch -Name Retry -Users bob@contoso.com,nobody@contoso.com")
    assert "The migration user 'nobody@contoso.com' couldn't be found." in err
    assert batch.ok("(Get-MigrationUser bob@contoso.com).BatchId").strip() == "B1"


def test_moved_users_keep_their_target(batch: Shell, tmp_path: Path) -> None:
    fail_user(batch, "bob@contoso.com")
    batch.ok(f"New-MigrationEndpoint -Maildir -Name Other -Path '{tmp_path / 'other'}'")
    _, err = batch.run("New-MigrationBatch -Name Retry -Users bob@contoso.com "
                       "-TargetEndpoint Other")
    assert "must use the same target" in err
    assert batch.ok("@(Get-MigrationBatch).Count").strip() == "1"


# --- -StartAfter, -CompleteAfter, -TimeZone, -SyncAndComplete -------------------------------


def test_times_are_stored_in_utc_and_shown_in_the_batch_time_zone(shell: Shell) -> None:
    shell.ok("New-MigrationEndpoint -IMAP -Name Src -RemoteServer 127.0.0.1 -Port 9 "
             "-SkipVerification")
    shell.ok(f'New-MigrationBatch -Name B1 -SourceEndpoint Src -CSVData '
             f'([System.IO.File]::ReadAllBytes("{shell.tmp / "users.csv"}")) '
             '-StartAfter "01/15/2030 5:00 PM" -CompleteAfter "2030-01-20 08:00:00Z" '
             '-TimeZone "Pacific Standard Time"')
    out = shell.ok("Get-MigrationBatch B1 | Format-List StartAfter,StartAfterUTC,"
                   "CompleteAfter,CompleteAfterUTC,TimeZone")
    assert out.strip().splitlines() == [
        "StartAfter       : 1/15/2030 5:00:00 PM",
        "StartAfterUTC    : 1/16/2030 1:00:00 AM",
        "CompleteAfter    : 1/20/2030 12:00:00 AM",
        "CompleteAfterUTC : 1/20/2030 8:00:00 AM",
        "TimeZone         : Pacific Standard Time"]
    with open_store(shell) as store:
        extra = store.batches.get("B1").extra
    assert extra["start_after"] == "2030-01-16T01:00:00+00:00"

    shell.ok('Set-MigrationBatch B1 -StartAfter $null -TimeZone "Tokyo Standard Time"')
    out = shell.ok("Get-MigrationBatch B1 | Format-List StartAfter,CompleteAfter,TimeZone")
    assert out.strip().splitlines() == [
        "StartAfter    :", "CompleteAfter : 1/20/2030 5:00:00 PM",
        "TimeZone      : Tokyo Standard Time"]


def test_a_batch_without_times_shows_utc_and_nothing_scheduled(batch: Shell) -> None:
    out = batch.ok("Get-MigrationBatch B1 | Format-List StartAfter,CompleteAfterUTC,TimeZone")
    assert out.strip().splitlines() == ["StartAfter       :", "CompleteAfterUTC :",
                                        "TimeZone         : UTC"]


@pytest.mark.parametrize(("line", "words"), [
    ('Set-MigrationBatch B1 -StartAfter "next week"',
     'Cannot convert value "next week" to type "System.DateTime"'),
    ('Set-MigrationBatch B1 -TimeZone "Atlantis Time"',
     'The time zone "Atlantis Time" isn\'t valid'),
])
def test_bad_times_are_refused_and_change_nothing(batch: Shell, line: str, words: str) -> None:
    _, err = batch.run(line)
    assert words in err and "Traceback" not in err
    with open_store(batch) as store:
        assert store.batches.get("B1").extra == {}


def test_sync_and_complete_refuses_a_batch_with_a_failed_user(batch: Shell) -> None:
    batch.ok("Start-MigrationBatch B1")
    with open_store(batch) as store:
        for address, status in (("ann@contoso.com", "Synced"), ("bob@contoso.com", "Failed")):
            user = store.users.get(address)
            store.users.set_status(user.id, status, status)
    assert batch.ok("(Get-MigrationBatch B1).Status").strip() == "SyncedWithErrors"
    _, err = batch.run("Complete-MigrationBatch B1 -SyncAndComplete -Confirm:$false")
    assert ('The migration batch "B1" can\'t be completed with -SyncAndComplete because 1 of '
            "its users failed or stopped: bob@contoso.com (Failed).") in err
    assert batch.ok("(Get-MigrationBatch B1).Status").strip() == "SyncedWithErrors"
    batch.ok("Complete-MigrationBatch B1 -Confirm:$false")  # without the switch it completes
    assert batch.ok("(Get-MigrationBatch B1).Status").strip() == "Completing"


def test_sync_and_complete_completes_an_all_synced_batch(batch: Shell) -> None:
    batch.ok("Start-MigrationBatch B1")
    with open_store(batch) as store:
        for user in store.users.list():
            store.users.set_status(user.id, "Synced", "Synced")
    batch.ok("Complete-MigrationBatch B1 -SyncAndComplete -Confirm:$false")
    assert batch.ok("(Get-MigrationBatch B1).Status").strip() == "Completing"
    with open_store(batch) as store:
        assert all(u.next_sync_due_at is not None for u in store.users.list())  # final pass


# --- Set-MigrationUser limits and StartAfter, Get-MigrationUser -MailboxGuid -----------------


def test_a_users_limits_override_the_batch_and_show_on_the_user(batch: Shell) -> None:
    batch.ok("Set-MigrationUser -Identity ann@contoso.com -LargeItemLimit 15 -BadItemLimit 15")
    batch.ok("Set-MigrationUser -Identity bob@contoso.com -LargeItemLimit Unlimited")
    out = batch.ok("Get-MigrationUser | Format-Table Identity,BadItemLimit,LargeItemLimit "
                   "-HideTableHeaders")
    assert [line.split() for line in out.strip().splitlines()] == [
        ["ann@contoso.com", "15", "15"], ["bob@contoso.com", "Unlimited"]]
    with open_store(batch) as store:
        bob = store.user_settings.get(store.users.get("bob@contoso.com").id)
    assert (bob.bad_item_limit, bob.large_item_limit) == (None, "Unlimited")


def test_a_negative_limit_is_refused_and_nothing_is_stored(batch: Shell) -> None:
    _, err = batch.run("Set-MigrationUser -Identity ann@contoso.com -BadItemLimit -1")
    assert ('The value "-1" of parameter BadItemLimit isn\'t valid. Enter a non-negative '
            "integer or the value Unlimited.") in err
    with open_store(batch) as store:
        assert store.user_settings.get(store.users.get("ann@contoso.com").id).bad_item_limit \
            is None


def test_a_users_start_after_holds_only_that_user(batch: Shell) -> None:
    from datetime import UTC, datetime

    from engine.service.delays import held_by_start_after
    batch.ok('Set-MigrationUser -Identity ann@contoso.com -StartAfter "2030-01-01 09:00:00Z"')
    batch.ok("Start-MigrationBatch B1")
    with open_store(batch) as store:
        users = store.users.list()
        ann = store.users.get("ann@contoso.com").id
        assert held_by_start_after(store, users, datetime(2029, 12, 31, tzinfo=UTC)) == {ann}
        assert held_by_start_after(store, users, datetime(2030, 1, 1, 9, tzinfo=UTC)) == set()
    batch.ok("Set-MigrationUser -Identity ann@contoso.com -StartAfter $null")
    with open_store(batch) as store:
        assert held_by_start_after(store, store.users.list(),
                                   datetime(2029, 12, 31, tzinfo=UTC)) == set()


def test_the_mailbox_guid_is_stable_and_finds_its_user(batch: Shell) -> None:
    guid = batch.ok("(Get-MigrationUser bob@contoso.com).MailboxGuid").strip()
    assert len(guid) == 36 and guid.count("-") == 4
    fail_user(batch, "bob@contoso.com")
    batch.ok("New-MigrationBatch -Name Retry -Users bob@contoso.com")  # moving keeps it
    assert batch.ok("(Get-MigrationUser bob@contoso.com).MailboxGuid").strip() == guid
    out = batch.ok(f"Get-MigrationUser -MailboxGuid {guid.upper()} | "
                   "Format-Table Identity,BatchId -HideTableHeaders")
    assert out.split() == ["bob@contoso.com", "Retry"]
    assert batch.ok("(Get-MigrationUser ann@contoso.com).MailboxGuid").strip() != guid


@pytest.mark.parametrize(("guid", "words"), [
    ("b6a6795c-a010-4f67-aaaa-da372d56fcb9",
     "The migration user with MailboxGuid 'b6a6795c-a010-4f67-aaaa-da372d56fcb9' couldn't be "
     "found."),
    ("not-a-guid", 'Cannot convert value "not-a-guid" to type "System.Guid"'),
])
def test_an_unknown_or_malformed_mailbox_guid_is_refused(batch: Shell, guid: str,
                                                          words: str) -> None:
    _, err = batch.run(f"Get-MigrationUser -MailboxGuid {guid}")
    assert words in err and "Traceback" not in err


# --- -IncludeFolders, -ContentFilter -----------------------------------------------------------


def new_batch(shell: Shell, extra: str) -> tuple[str, str]:
    shell.ok("New-MigrationEndpoint -IMAP -Name Src -RemoteServer 127.0.0.1 -Port 9 "
             "-SkipVerification")
    return shell.run(f'New-MigrationBatch -Name B1 -SourceEndpoint Src -CSVData '
                     f'([System.IO.File]::ReadAllBytes("{shell.tmp / "users.csv"}")) {extra}')


def test_include_folders_and_content_filter_are_kept_with_the_batch(shell: Shell) -> None:
    _, err = new_batch(shell, "-IncludeFolders 'Archive/*','#Inbox#' "
                              "-ContentFilter \"Received -gt '2020-01-01'\"")
    assert err == ""
    out = shell.ok("Get-MigrationBatch B1 | Format-List IncludedFolders,ContentFilter")
    assert out.strip().splitlines() == ["IncludedFolders : {Archive/*, #Inbox#}",
                                        "ContentFilter   : Received -gt '2020-01-01'"]


@pytest.mark.parametrize(("extra", "words"), [
    ("-ContentFilter \"Subject -like 'x'\"", 'The property "Subject" can\'t be used'),
    ("-ContentFilter \"Received -gt 'someday'\"", "'someday' isn't a date"),
    ("-IncludeFolders 'Arch*'", "wildcard characters can't be used"),
])
def test_a_bad_selection_creates_no_batch(shell: Shell, extra: str, words: str) -> None:
    _, err = new_batch(shell, extra)
    assert words in err and "Traceback" not in err
    assert shell.ok("@(Get-MigrationBatch).Count").strip() == "0"


# --- Set-MigrationBatch -AddUsers with a corrected row ----------------------------------------


def resubmit(shell: Shell, csv_text: str) -> tuple[str, str]:
    (shell.tmp / "fixed.csv").write_text(csv_text, encoding="utf-8")
    return shell.run(f'Set-MigrationBatch -Identity B1 -AddUsers -CSVData '
                     f'([System.IO.File]::ReadAllBytes("{shell.tmp / "fixed.csv"}"))')


def test_a_corrected_row_updates_the_user_already_in_the_batch(batch: Shell) -> None:
    user_id = fail_user(batch, "bob@contoso.com", "We had trouble signing in to this account.")
    _, err = resubmit(batch, "EmailAddress,UserName,Password\n"
                             "ann@contoso.com,ann,Secr3tPw\n"  # unchanged
                             "bob@contoso.com,bob*admin,N3wAdm1nPw\n"  # the fixed password
                             "cy@contoso.com,cy,CyPw\n")  # new
    assert err == ""
    with open_store(batch) as store:
        bob = store.users.get("bob@contoso.com")
        ann = store.users.get("ann@contoso.com")
        assert bob.id == user_id and bob.password is not None
        assert bob.password.reveal() == "N3wAdm1nPw" and bob.status == "Failed"  # kept
        assert ann.password is not None and ann.password.reveal() == "Secr3tPw"
        assert [u.email_address for u in store.users.list()] == [
            "ann@contoso.com", "bob@contoso.com", "cy@contoso.com"]


def test_a_changed_row_of_a_user_being_synced_is_refused_and_nothing_changes(
        batch: Shell) -> None:
    with open_store(batch) as store:
        bob = store.users.get("bob@contoso.com")
        store.users.set_status(bob.id, "Syncing", "Active")
    _, err = resubmit(batch, "EmailAddress,UserName,Password\n"
                             "bob@contoso.com,bob*admin,Other\ncy@contoso.com,cy,CyPw\n")
    assert ('The migration user "bob@contoso.com" is being synchronized (status Syncing), so '
            "its changed row 1 can't be applied now.") in err
    with open_store(batch) as store:
        bob = store.users.get("bob@contoso.com")
        assert bob.password is not None and bob.password.reveal() == "Adm1nPw"
        assert store.users.find("cy@contoso.com") is None  # all or nothing


def test_a_users_start_after_is_read_and_shown_in_its_batch_time_zone(shell: Shell) -> None:
    new_batch(shell, '-TimeZone "Tokyo Standard Time"')
    shell.ok('Set-MigrationUser -Identity ann@contoso.com -StartAfter "2030-01-01 09:00"')
    out = shell.ok("Get-MigrationUser ann@contoso.com | Format-List StartAfter,StartAfterUTC")
    assert out.strip().splitlines() == ["StartAfter    : 1/1/2030 9:00:00 AM",
                                        "StartAfterUTC : 1/1/2030 12:00:00 AM"]
