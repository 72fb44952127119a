"""The migration cmdlets through the real session: binding, records, errors, masking, help."""

from __future__ import annotations

import csv
import json

import pytest

from cmdlets.base import Cmdlet
from cmdlets.catalog import MIGRATION_CMDLETS
from tests.cmdlets.conftest import Shell


@pytest.fixture
def batch(shell: Shell) -> Shell:
    shell.ok("New-MigrationEndpoint -IMAP -Name Src -RemoteServer 127.0.0.1 -Port 9 "
             "-SkipVerification")
    shell.ok(f'New-MigrationBatch -Name B1 -SourceEndpoint Src -CSVData '
             f'([System.IO.File]::ReadAllBytes("{shell.tmp / "users.csv"}"))')
    return shell


def test_a_fresh_state_lists_the_default_target(shell: Shell) -> None:
    out = shell.ok("Get-MigrationEndpoint")
    assert out.split("\n")[1].split() == ["Identity", "EndpointType", "RemoteServer", "Port",
                                          "Security"]
    assert "LocalMaildir Maildir" in out


def test_new_batch_shows_the_batch_table(shell: Shell) -> None:
    shell.ok("New-MigrationEndpoint -IMAP -Name Src -RemoteServer 127.0.0.1 -Port 9 "
             "-SkipVerification")
    out = shell.ok(f'New-MigrationBatch -Name B1 -SourceEndpoint Src -CSVData '
                   f'(Get-Content "{shell.tmp / "users.csv"}" -AsByteStream)')
    lines = [line.split() for line in out.strip().splitlines()]
    assert lines[0] == ["Identity", "Status", "Type", "TotalCount"]
    assert lines[2] == ["B1", "Created", "IMAP", "2"]


def test_passwords_never_appear_and_are_masked_in_format_list(batch: Shell) -> None:
    listed = batch.ok("Get-MigrationUser ann@contoso.com | Format-List *")
    assert "Password               : ********" in listed
    outputs = [
        listed,
        batch.ok("Get-MigrationUser | ConvertTo-Json"),
        batch.ok("Get-MigrationUser | Get-MigrationUserStatistics | ConvertTo-Csv"),
        batch.ok("Get-MigrationBatch | Format-List *"),
    ]
    assert all("Secr3tPw" not in text and "Adm1nPw" not in text for text in outputs)


def test_statistics_from_the_pipeline_export_to_csv(batch: Shell) -> None:
    path = batch.tmp / "stats.csv"
    batch.ok(f'Get-MigrationUser -BatchId B1 | Get-MigrationUserStatistics | '
             f'Export-Csv -Path "{path}" -NoTypeInformation')
    rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert [row["Identity"] for row in rows] == ["ann@contoso.com", "bob@contoso.com"]
    assert {row["Status"] for row in rows} == {"Queued"}
    assert {row["SyncedItemCount"] for row in rows} == {"0"}
    assert "BytesTransferred" in rows[0] and rows[0]["Password"] == "********"


def test_life_cycle_with_status_queries(batch: Shell) -> None:
    batch.ok("Start-MigrationBatch -Identity B1")
    assert batch.ok("(Get-MigrationBatch B1).Status").strip() == "Starting"
    assert batch.ok("(Get-MigrationUser -Status Queued).Count").strip() == "2"
    batch.ok("Stop-MigrationBatch B1 -Confirm:$false")
    assert batch.ok("(Get-MigrationBatch -Identity B1).Status").strip() == "Stopped"
    assert batch.ok("(Get-MigrationStatistics).StoppedCount").strip() == "2"
    batch.ok("Get-MigrationBatch B1 | Remove-MigrationBatch -Confirm:$false")
    assert batch.ok("Get-MigrationBatch") == ""
    _, err = batch.run("Get-MigrationBatch B1")
    assert "The migration batch 'B1' couldn't be found." in err


def test_whatif_changes_nothing(batch: Shell) -> None:
    out = batch.ok("Remove-MigrationBatch -Identity B1 -WhatIf")
    assert 'What if: Performing the operation "Remove migration batch" on target "B1".' in out
    _, err = batch.run("Remove-MigrationBatch -Identity B1")  # no one to confirm it
    assert "needs confirmation" in err
    assert batch.ok("(Get-MigrationBatch B1).Identity").strip() == "B1"


def test_a_csv_defect_is_reported_with_its_row_and_creates_nothing(shell: Shell) -> None:
    shell.ok("New-MigrationEndpoint -IMAP -Name Src -RemoteServer 127.0.0.1 -Port 9 "
             "-SkipVerification")
    bad = shell.tmp / "bad.csv"
    bad.write_text("EmailAddress,UserName,Password\na@contoso.com,a,p\nb@contoso.com,b\n")
    _, err = shell.run(f'New-MigrationBatch -Name Bad -SourceEndpoint Src -CSVData '
                       f'([System.IO.File]::ReadAllBytes("{bad}"))')
    assert err.startswith("New-MigrationBatch : Row 2 has the wrong number of columns. "
                          "Expected number: 3. Actual number: 2.")
    assert "Traceback" not in err
    assert shell.ok("Get-MigrationBatch") == ""


@pytest.mark.parametrize(
    "line",
    [
        "New-MigrationEndpoint -ExchangeRemoteMove -Name X -RemoteServer x.contoso.com",
        "New-MigrationEndpoint -PSTImport -Name P",
        "New-MigrationBatch -Name X -CSVData ([byte[]]@(1)) -ContentFilterLanguage da-DK",
        "Complete-MigrationBatch -Identity B1 -CompletePublicFolderMigrationWithDataLoss",
        "Get-MigrationBatch -DomainController dc01.contoso.com",
    ],
)
def test_exchange_features_imsh_lacks_fail_as_not_supported(shell: Shell, line: str) -> None:
    _, err = shell.run(line)
    assert "is not supported by imsh" in err


def test_availability_of_the_default_maildir(shell: Shell) -> None:
    out = shell.ok("Test-MigrationServerAvailability -Endpoint LocalMaildir")
    assert "Result" in out and "Success" in out


def test_wait_refuses_a_batch_that_was_never_started(batch: Shell) -> None:
    _, err = batch.run("Wait-MigrationBatch -Identity B1 -TimeoutSeconds 1")
    assert "hasn't been started" in err


def test_get_help_comes_from_the_declarations(shell: Shell) -> None:
    out = shell.ok("Get-Help New-MigrationBatch")
    assert "Creates an IMAP migration batch from CSV data." in out


def test_every_cmdlet_has_help_and_destructive_ones_confirm() -> None:
    for cls in MIGRATION_CMDLETS:
        assert cls.synopsis and cls.description and cls.examples, cls.name
    high = {cls.name for cls in MIGRATION_CMDLETS if cls.confirm_impact == "High"}
    assert high == {"Remove-MigrationEndpoint", "Remove-MigrationBatch", "Remove-MigrationUser",
                    "Stop-MigrationBatch", "Stop-MigrationUser", "Complete-MigrationBatch"}
    assert all(_cls(name).supports_should_process for name in high)


def _cls(name: str) -> type[Cmdlet]:
    return next(cls for cls in MIGRATION_CMDLETS if cls.name == name)


def test_json_of_an_endpoint_masks_a_stored_password(shell: Shell) -> None:
    shell.ok("$c = New-Object System.Management.Automation.PSCredential('admin', "
             "(ConvertTo-SecureString 'T0pSecret' -AsPlainText -Force))")
    shell.ok("New-MigrationEndpoint -IMAP -Name Tgt -RemoteServer 127.0.0.1 -Port 9 "
             "-Credentials $c -SkipVerification")
    text = shell.ok("Get-MigrationEndpoint Tgt | ConvertTo-Json")
    assert "T0pSecret" not in text
    assert json.loads(text)["Password"] == "********"
