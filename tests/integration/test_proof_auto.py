# ruff: noqa: E501  (the admin script below keeps each cmdlet on one line)
"""The automatic proofs: the real ``imsh`` runs a batch to Synced and then to Completed (its
detached runner syncs with the real executor); the runner proves the user before each of those
passes is recorded, so the report and DataConsistencyScore hold the proof as soon as the batch
shows the status; Set-MigrationConfig -AutomaticProofs $false turns it off."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.corpus import ImapParams, generate, load_imap
from tests.support.servers import ImapServer

pytestmark = pytest.mark.servers


def run_script(state: Path, work: Path, script: str) -> subprocess.CompletedProcess[str]:
    path = work / "flow.imsh"
    path.write_text(script, encoding="utf-8")
    command = shutil.which("imsh")
    argv = [command] if command else [sys.executable, "-m", "shell.main"]
    return subprocess.run([*argv, "--state", str(state), str(path)], cwd=work,
                          env={**os.environ, "IMSH_HOME": ""}, capture_output=True, text=True,
                          timeout=180, check=False)


def test_the_initial_sync_ends_with_a_proof_in_the_report(tmp_path: Path,
                                                          dovecot: ImapServer) -> None:
    users = [dovecot.fresh_user(), dovecot.fresh_user()]
    corpus = generate(71, 12, max_size=16 * 1024)
    load_imap(ImapParams(dovecot.host, dovecot.port, users[0], dovecot.password), corpus)
    load_imap(ImapParams(dovecot.host, dovecot.port, users[1], dovecot.password), corpus)
    csv = tmp_path / "users.csv"
    csv.write_text("EmailAddress,UserName,Password\n" + "".join(
        f"{u}@contoso.com,{u},{dovecot.password}\n" for u in users), encoding="utf-8")
    state = tmp_path / "state"
    first, second = (f"{u}@contoso.com" for u in users)
    result = run_script(state, tmp_path, f"""
$ErrorActionPreference = 'Stop'
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
Set-MigrationConfig -AutomaticProofs $false
New-MigrationBatch -Name Off -SourceEndpoint Source -CSVData ([System.IO.File]::ReadAllBytes("{csv}")) | Out-Null
Remove-MigrationUser -Identity {second} -Confirm:$false
Start-MigrationBatch -Identity Off
Wait-MigrationBatch -Identity Off -Status Synced -TimeoutSeconds 120 | Out-Null
$off = @((Get-MigrationUserStatistics -Identity {first} -IncludeReport).Report | Where-Object {{ $_ -like '*Proof:*' }}).Count
Write-Output "proofs when off: $off"
Set-MigrationConfig -AutomaticProofs $true
Write-Output "setting: $((Get-MigrationConfig).AutomaticProofs)"
$csv2 = "EmailAddress,UserName,Password`n{second},{users[1]},{dovecot.password}`n"
New-MigrationBatch -Name On -SourceEndpoint Source -CSVData ([System.Text.Encoding]::UTF8.GetBytes($csv2)) | Out-Null
Start-MigrationBatch -Identity On
Wait-MigrationBatch -Identity On -Status Synced -TimeoutSeconds 120 | Out-Null
Get-MigrationUserStatistics -Identity {second} -IncludeReport | Format-List DataConsistencyScore,Report
Get-MigrationBatch On | Format-List Identity,DataConsistencyScore
Complete-MigrationBatch -Identity On -Confirm:$false
Wait-MigrationBatch -Identity On -Status Completed -TimeoutSeconds 120 | Out-Null
$proofs = @((Get-MigrationUserStatistics -Identity {second} -IncludeReport).Report | Where-Object {{ $_ -like '*Proof: the target holds exactly*' }}).Count
Write-Output "proofs after completion: $proofs"
""")
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert "proofs when off: 0" in out, out
    assert "setting: True" in out
    assert (f"[info] Proof: the target holds exactly the source's {len(corpus)} messages"
            in out), out
    assert out.count("DataConsistencyScore : Perfect") == 2
    assert "proofs after completion: 2" in out  # the initial sync's and the final pass's
