"""Which console lines stay out of the history file (shell/history.py), literal inputs."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from shell.history import is_sensitive, prepare_history_file


@pytest.mark.parametrize("line", [
    "$p = ConvertTo-SecureString 'pw' -AsPlainText -Force",
    "$p = convertto-securestring 'pw' -a -f",
    "$c = Get-Credential admin",
    "New-MigrationEndpoint -EWS -Name E -ClientSecret $s",
    "$env:IMSH_TOKEN = 'abc'",
    "$h = @{ apikey = 'x' }",
    "Set-Content pw.txt -Value 'x' # PASSWORD file",
    '$h=@{String="Hunter2";AsPlain=$true}',
    "$h = @{ String = 'Hunter2'; asplaintext = $true; Force = $true }",
    "$e = New-MigrationEndpoint -IMAP -Name S -RemoteServer h -Password $p",
    "$u = 'postgresql://u@h/db?Password=S3cr3t'",
])
def test_secret_bearing_lines_are_recognised(line: str) -> None:
    assert is_sensitive(line)


@pytest.mark.parametrize("line", [
    "Get-MigrationBatch | Format-List",
    "$c = New-Object System.Management.Automation.PSCredential('admin', $p)",
    "New-MigrationEndpoint -IMAP -Name Src -RemoteServer imap.contoso.com -Credentials $c",
    "Remove-MigrationBatch -Identity B1 -Confirm:$false",
    "$h = @{ Identity = 'B1'; Status = 'Syncing' }",
    "Get-MigrationUser | Where-Object Status -eq 'Failed'",
])
def test_ordinary_lines_are_kept(line: str) -> None:
    assert not is_sensitive(line)


def test_history_file_is_created_and_kept_private(tmp_path: Path) -> None:
    new = prepare_history_file(tmp_path / "history")
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    new.chmod(0o644)
    new.write_bytes(b"kept")
    prepare_history_file(new)
    assert stat.S_IMODE(new.stat().st_mode) == 0o600 and new.read_bytes() == b"kept"
