# ruff: noqa: E501  (the scripts below keep the reference examples on one line each)
"""Step 3, end to end: ``.imsh`` scripts run by the real ``imsh`` console script against a real
Dovecot (plain port with STARTTLS, implicit TLS port with a self-signed CA).

* the whole flow: endpoint, batch from a CSV file, start, stop, status queries, statistics to
  CSV with Export-Csv, remove;
* each CSV defect: the documented error naming the row, exit status 1, and not one row of the
  state database changed;
* the IMAP examples of reference/ms-cmdlets.md (hosts and paths replaced by local ones) run;
  the examples of other migration kinds fail with "not supported by imsh".

Whether a runner (Step 4) syncs the users meanwhile does not matter here: the assertions hold
for a batch that stays Queued as well as for one that synchronizes.
"""

from __future__ import annotations

import csv
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.servers import ImapServer

pytestmark = pytest.mark.servers

BATCH_STATUSES = {"Created", "Starting", "Syncing", "Synced", "SyncedWithErrors", "Stopping",
                  "Stopped", "IncrementalSyncing", "Failed"}


@dataclass
class Imsh:
    state: Path
    work: Path
    server: ImapServer

    def run(self, name: str, script: str) -> subprocess.CompletedProcess[str]:
        path = self.work / f"{name}.imsh"
        path.write_text(script, encoding="utf-8")
        command = shutil.which("imsh")
        argv = [command] if command else [sys.executable, "-m", "shell.main"]
        env = {**os.environ, "SSL_CERT_FILE": str(self.server.cafile), "IMSH_HOME": ""}
        return subprocess.run([*argv, "--state", str(self.state), str(path)], cwd=self.work,
                              env=env, capture_output=True, text=True, timeout=120,
                              check=False)

    def csv_file(self, name: str, text: str) -> Path:
        path = self.work / name
        path.write_text(text, encoding="utf-8")
        return path


@pytest.fixture
def imsh(tmp_path: Path, dovecot_tls: ImapServer) -> Imsh:
    work = tmp_path / "work"
    work.mkdir()
    return Imsh(tmp_path / "state", work, dovecot_tls)


def snapshot(state: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(state / "state.db") as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


def test_the_whole_flow_runs_from_a_script(imsh: Imsh) -> None:
    server = imsh.server
    assert server.admin_user and server.admin_password
    ann, bob = server.fresh_user(), server.fresh_user()
    users = imsh.csv_file("users.csv", (
        "EmailAddress,UserName,Password\n"
        f"{ann}@contoso.com,{ann},{server.password}\n"
        f"{bob}@contoso.com,{bob}*{server.admin_user},{server.admin_password}\n"))
    stats = imsh.work / "stats.csv"
    result = imsh.run("flow", f"""
$ErrorActionPreference = 'Stop'
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {server.port} -Security Tls
New-MigrationBatch -Name Batch1 -SourceEndpoint Source -CSVData ([System.IO.File]::ReadAllBytes("{users}")) -ExcludeFolders "Deleted Items","Junk Email"
Write-Output "created: $((Get-MigrationBatch Batch1).Status)"
Start-MigrationBatch -Identity Batch1
Write-Output "started: $((Get-MigrationBatch -Identity Batch1).Status)"
Get-MigrationUser -BatchId Batch1 | Format-Table Identity,Status
Stop-MigrationBatch -Identity Batch1 -Confirm:$false
Write-Output "stopped: $((Wait-MigrationBatch -Identity Batch1 -Status Stopped -TimeoutSeconds 60).Status)"
Write-Output "stopped users: $((Get-MigrationStatistics).StoppedCount)"
Get-MigrationUser -BatchId Batch1 | Get-MigrationUserStatistics | Export-Csv -Path "{stats}" -NoTypeInformation
Remove-MigrationBatch -Identity Batch1 -Confirm:$false
Write-Output "batches left: $(@(Get-MigrationBatch).Count)"
Remove-MigrationEndpoint -Identity Source -Confirm:$false
Get-MigrationEndpoint | Format-Table Identity
""")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "" or "Waiting for migration batch" in result.stderr
    out = result.stdout
    assert "created: Created" in out
    started = out.split("started: ")[1].split()[0]
    assert started in BATCH_STATUSES - {"Created", "Stopped", "Stopping"}
    assert f"{ann}@contoso.com" in out and f"{bob}@contoso.com" in out
    assert "stopped: Stopped" in out and "stopped users: 2" in out
    assert "batches left: 0" in out
    assert "LocalMaildir" in out.split("batches left: 0")[1]
    rows = list(csv.DictReader(stats.read_text(encoding="utf-8-sig").splitlines()))
    assert sorted(row["Identity"] for row in rows) == [f"{ann}@contoso.com", f"{bob}@contoso.com"]
    assert {row["Status"] for row in rows} <= {"Stopped", "IncrementalStopped"}
    assert {row["BatchId"] for row in rows} == {"Batch1"}
    assert all(int(row["SyncedItemCount"]) >= 0 and row["Password"] == "********"
               for row in rows)
    assert server.password not in stats.read_text() and server.admin_password not in out


CSV_DEFECTS = [
    ("empty.csv", "", "Upload file can't be empty"),
    ("missing.csv", "EmailAddress,Password\na@contoso.com,pw\n",
     'Column "UserName" is missing from the CSV file. The import process can\'t continue '
     "because this column is required. Please edit the CSV file and re-submit it."),
    ("columns.csv", "EmailAddress,UserName,Password\na@contoso.com,a,pw\nb@contoso.com,b\n",
     "Row 2 has the wrong number of columns. Expected number: 3. Actual number: 2. Please edit "
     "this row and re-submit the file."),
    ("duplicate.csv", "EmailAddress,UserName,Password\na@contoso.com,a,pw\nA@Contoso.com,b,pw\n",
     'Row 2 repeats the EmailAddress "A@Contoso.com" of row 1.'),
    ("malformed.csv", "EmailAddress,UserName,Password\na@contoso.com,a,pw\nb-at-contoso,b,pw\n",
     'Row 2 has an invalid EmailAddress "b-at-contoso".'),
    ("taken.csv", "EmailAddress,UserName,Password\nnew@contoso.com,n,pw\nkeep@contoso.com,k,pw\n",
     'Row 2: the user "keep@contoso.com" is already in the migration batch "Keep".'),
    ("toomany.csv", "EmailAddress,UserName,Password\n" + "u@contoso.com,u,p\n" * 50_001,
     "The CSV file contains more than 50,000 rows. Please divide the file into two or more "
     "files and submit them separately."),
]


def test_each_csv_defect_names_the_row_and_changes_nothing(imsh: Imsh) -> None:
    keep = imsh.csv_file("keep.csv", "EmailAddress,UserName,Password\nkeep@contoso.com,k,pw\n")
    setup = imsh.run("setup", f"""
$ErrorActionPreference = 'Stop'
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {imsh.server.port}
New-MigrationBatch -Name Keep -SourceEndpoint Source -CSVData ([System.IO.File]::ReadAllBytes("{keep}"))
""")
    assert setup.returncode == 0, setup.stderr
    before = snapshot(imsh.state)
    lines = []
    for number, (name, text, _) in enumerate(CSV_DEFECTS):
        path = imsh.csv_file(name, text)
        lines.append(f'New-MigrationBatch -Name Bad{number} -SourceEndpoint Source -CSVData '
                     f'([System.IO.File]::ReadAllBytes("{path}"))')
    result = imsh.run("defects", "\n".join(lines) + "\n")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines()
              if line.startswith("New-MigrationBatch : ")]
    assert len(errors) == len(CSV_DEFECTS), result.stderr
    flat = " ".join(result.stderr.split())
    for _, _, message in CSV_DEFECTS:
        assert message in flat
    assert "Traceback" not in result.stderr
    assert snapshot(imsh.state) == before


def test_the_reference_imap_examples_run_with_local_hosts(imsh: Imsh) -> None:
    server = imsh.server
    user = server.fresh_user()
    data = imsh.csv_file("IMAPmigration_1.csv",
                         f"EmailAddress,UserName,Password\n{user}@contoso.edu,{user},pw\n")
    result = imsh.run("examples", f"""
$ErrorActionPreference = 'Stop'
Test-MigrationServerAvailability -Imap -RemoteServer 127.0.0.1 -Port {server.port}
Test-MigrationServerAvailability -IMAP -RemoteServer 127.0.0.1 -Port {server.tls_port} -Security Ssl
New-MigrationEndpoint -IMAP -Name IMAPEndpoint -RemoteServer 127.0.0.1 -Port {server.tls_port} -Security Ssl
New-MigrationEndpoint -IMAP -Name IMAP_TLS_Endpoint -RemoteServer 127.0.0.1 -Port {server.port} -Security Tls -MaxConcurrentMigrations 50 -MaxConcurrentIncrementalSyncs 10
New-MigrationEndpoint -IMAP -Name IMAPEndpoint1 -RemoteServer 127.0.0.1 -Port {server.port}
Get-MigrationEndpoint IMAPEndpoint | Format-List EndpointType,RemoteServer,Port,Security,Max*
Get-MigrationEndpoint -Identity IMAP_TLS_Endpoint
Test-MigrationServerAvailability -Endpoint IMAPEndpoint
foreach ($e in (Get-MigrationEndpoint).Identity) {{ Test-MigrationServerAvailability -Endpoint $e }}
Set-MigrationEndpoint -Identity IMAP_TLS_Endpoint -MaxConcurrentMigrations 10 -MaxConcurrentIncrementalSyncs 5
New-MigrationBatch -Name IMAPbatch1 -CSVData ([System.IO.File]::ReadAllBytes("{data}")) -SourceEndpoint IMAPEndpoint1 -ExcludeFolders "Deleted Items","Junk Email"
Get-MigrationBatch -Identity IMAPBatch1 | Format-List
Get-MigrationBatch -Identity IMAPBatch1 | Format-List Status
Get-MigrationBatch IMAPBatch1
Start-MigrationBatch -Identity IMAPbatch1
Get-MigrationBatch -Status Syncing
Get-MigrationBatch -Endpoint IMAPEndpoint1
Get-MigrationUser -Identity {user}@contoso.edu
Get-MigrationUser -EmailAddress {user}@contoso.edu | Get-MigrationUserStatistics
Get-MigrationUserStatistics -Identity {user}@contoso.edu -IncludeReport | Format-List Status,Error,Report
Get-MigrationUserStatistics -Identity {user}@contoso.edu | Format-List SkippedItemCount,SkippedItems
Get-MigrationUserStatistics -Identity {user}@contoso.edu -IncludeSkippedItems | Select-Object -ExpandProperty SkippedItems | Format-List DateReceived, Subject
Get-MigrationUser -BatchId IMAPbatch1 | Get-MigrationUserStatistics
Get-MigrationUser | Get-MigrationUserStatistics
Get-MigrationStatistics
Get-MigrationConfig
Set-MigrationConfig -MaxNumberOfBatches 50
Stop-MigrationBatch -Identity IMAPbatch1 -Confirm:$false
$null = Wait-MigrationBatch -Identity IMAPbatch1 -Status Stopped -TimeoutSeconds 60
$batch = Get-MigrationBatch IMAPbatch1
$batch | Remove-MigrationBatch -Confirm:$false
Remove-MigrationEndpoint -Identity IMAPEndpoint1 -Confirm:$false
Write-Output "examples done"
""")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "examples done" in out
    assert "EndpointType                  : IMAP" in out
    assert "MaxConcurrentMigrations       : 20" in out
    assert "Success" in out and "Warning" in out  # TLS verified; plaintext warns


NON_IMAP_EXAMPLES = [
    "New-MigrationEndpoint -ExchangeRemoteMove -Name OnboardingME01 -RemoteServer "
    "Server01.contoso.com -Credentials $cred",
    "New-MigrationEndpoint -ExchangeOutlookAnywhere -Name CutoverExchangeEndpoint01 "
    "-Autodiscover -EmailAddress administrator@contoso.com -Credentials $cred",
    "New-MigrationEndpoint -PublicFolder -Name PFEndpoint -RemoteServer pf.contoso.com "
    "-Credentials $cred",
    "Set-MigrationEndpoint -Identity CutoverExchangeEndpoint01 -MaxConcurrentIncrementalSyncs "
    "50 -NspiServer Server01.contoso.com",
    "Test-MigrationServerAvailability -ExchangeRemoteMove -RemoteServer Server01.contoso.com "
    "-Credentials $cred",
    "New-MigrationBatch -Local -Name LocalMove1 -CSVData $data -TargetDatabases MBXDB2",
    "Complete-MigrationBatch -Identity LocalMove1 -NotificationEmails "
    "admin@contoso.com,lucio@contoso.com",
    "Set-MigrationBatch -Identity MigrationBatch01 -AutoRetryCount 5 -AllowIncrementalSyncs $true",
    "Start-MigrationBatch -Identity SEM1 -Validate",
]


def test_the_other_migration_kinds_fail_as_not_supported(imsh: Imsh) -> None:
    script = "\n".join([
        "$cred = New-Object System.Management.Automation.PSCredential('admin', "
        "(ConvertTo-SecureString 'pw' -AsPlainText -Force))",
        "$data = [byte[]]@(65)",
        *NON_IMAP_EXAMPLES,
    ]) + "\n"
    result = imsh.run("non_imap", script)
    assert result.returncode == 1
    refusals = [line for line in result.stderr.splitlines() if "is not supported by imsh" in line]
    assert len(refusals) == len(NON_IMAP_EXAMPLES), result.stderr
    assert "Traceback" not in result.stderr
