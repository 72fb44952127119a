"""Golden output of the real session: the exact bytes PowerShell 7 would print or write.

The Step 2 pipeline (Get-Command | Where-Object | Sort-Object | Select-Object -First 5 Name |
Export-Csv) and the default / Format-Table / Format-List / Export-Csv output of migration
records on a fresh state (LocalMaildir is the default target there), then of an IMAP source
endpoint, a batch and its migration user.  Paths under the state directory and creation
times are the only parts replaced before comparing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.shell.real_session import RealShell, real_shell

PIPELINE = ("Get-Command | Where-Object { $_.Name -like '*-Migration*' } | Sort-Object Name | "
            "Select-Object -First 5 Name | Export-Csv c.csv")

NAMES_CSV = (b'"Name"\n"Complete-MigrationBatch"\n"Get-MigrationBatch"\n"Get-MigrationConfig"\n'
             b'"Get-MigrationEndpoint"\n"Get-MigrationStatistics"\n')

ENDPOINT_TABLE = """
Identity     EndpointType RemoteServer Port Security
--------     ------------ ------------ ---- --------
LocalMaildir Maildir

"""

# Named properties rather than ``*``: the endpoint record may gain properties (new kinds).
ENDPOINT_PROPERTIES = ("Identity, EndpointType, RemoteServer, Port, AcceptUntrustedCertificates, "
                       "MaxConcurrentMigrations, Password, Path, IsDefaultTarget, CreationDateTime")

ENDPOINT_LIST = """
Identity                    : LocalMaildir
EndpointType                : Maildir
RemoteServer                :
Port                        :
AcceptUntrustedCertificates : False
MaxConcurrentMigrations     : 20
Password                    :
Path                        : <STATE>/maildir
IsDefaultTarget             : True
CreationDateTime            : <TIME>

"""

ENDPOINT_CSV = (
    '"Identity","EndpointType","RemoteServer","Port","AcceptUntrustedCertificates",'
    '"MaxConcurrentMigrations","Password","Path","IsDefaultTarget","CreationDateTime"\n'
    '"LocalMaildir","Maildir",,,"False","20",,"<STATE>/maildir","True","<TIME>"\n')

SOURCE_LIST = """
EndpointType                  : IMAP
RemoteServer                  : imap.contoso.com
Port                          : 993
Security                      : Ssl
MaxConcurrentMigrations       : 20
MaxConcurrentIncrementalSyncs : 10

"""

BATCH_TABLE = """
Identity   Status  Type TotalCount
--------   ------  ---- ----------
IMAPBatch1 Created IMAP          2

"""

# Exchange Online's view: BatchId and LastSuccessfulSyncTime under the headers Batch and
# LastSyncTime.
USER_TABLE = """
Identity           Batch      Status LastSyncTime
--------           -----      ------ ------------
davidp@contoso.com IMAPBatch1 Queued
ann@contoso.com    IMAPBatch1 Queued

"""

# A password never leaves imsh in clear: where PowerShell writes the SecureString type name,
# imsh writes the mask the console shows.
USER_CSV = (
    b'"Identity","Status","SyncedItemCount","Password"\n'
    b'"ann@contoso.com","Queued","0","********"\n'
    b'"davidp@contoso.com","Queued","0","********"\n')


@pytest.fixture
def sh(tmp_path: Path) -> Iterator[RealShell]:
    workdir = tmp_path / "work"
    workdir.mkdir()
    shell = real_shell(tmp_path / "state", workdir)
    yield shell
    shell.session.close()


def normalized(sh: RealShell, text: str) -> str:
    text = text.replace(str(sh.state_dir), "<STATE>")
    return re.sub(r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} [AP]M", "<TIME>", text)


def test_migration_cmdlet_names_to_csv_as_powershell_writes_them(sh: RealShell) -> None:
    assert sh.run(PIPELINE) == ""
    assert (sh.workdir / "c.csv").read_bytes() == NAMES_CSV  # UTF-8, no BOM, LF, all quoted
    assert sh.run("Import-Csv c.csv | % Name | Select-Object -Last 1") == \
        "Get-MigrationStatistics\n"


def test_fresh_state_endpoint_default_table_and_format_table(sh: RealShell) -> None:
    assert sh.run("Get-MigrationEndpoint") == ENDPOINT_TABLE
    assert sh.run("Get-MigrationEndpoint | Format-Table") == ENDPOINT_TABLE
    assert sh.run("Get-MigrationEndpoint | ft -AutoSize") == ENDPOINT_TABLE
    assert sh.run("Get-MigrationEndpoint | ft Identity, *Type, Max*") == """
Identity     EndpointType MaxConcurrentMigrations MaxConcurrentIncrementalSyncs
--------     ------------ ----------------------- -----------------------------
LocalMaildir Maildir                           20                            10

"""


def test_fresh_state_endpoint_format_list(sh: RealShell) -> None:
    assert normalized(sh, sh.run(f"Get-MigrationEndpoint LocalMaildir | Format-List "
                                 f"{ENDPOINT_PROPERTIES}")) == ENDPOINT_LIST
    assert sh.run("Get-MigrationEndpoint | fl Identity, IsDefault*") == \
        "\nIdentity        : LocalMaildir\nIsDefaultTarget : True\n\n"


def test_fresh_state_endpoint_export_csv(sh: RealShell) -> None:
    sh.run(f"Get-MigrationEndpoint | Select-Object {ENDPOINT_PROPERTIES} | "
           "Export-Csv endpoints.csv -NoTypeInformation")
    data = (sh.workdir / "endpoints.csv").read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    assert normalized(sh, data.decode("utf-8")) == ENDPOINT_CSV


def test_imap_batch_records(sh: RealShell) -> None:
    (sh.workdir / "users.csv").write_text(
        "EmailAddress,UserName,Password\ndavidp@contoso.com,davidp,pw1\nann@contoso.com,ann,pw2\n")
    sh.run("New-MigrationEndpoint -IMAP -Name IMAPEndpoint -RemoteServer imap.contoso.com "
           "-Port 993 -Security Ssl -SkipVerification | Out-Null")
    assert sh.run("Get-MigrationEndpoint IMAPEndpoint | Format-List EndpointType,RemoteServer,"
                  "Port,Security,Max*") == SOURCE_LIST
    assert sh.run("New-MigrationBatch -Name IMAPBatch1 -SourceEndpoint IMAPEndpoint -CSVData "
                  "([System.IO.File]::ReadAllBytes('users.csv'))") == BATCH_TABLE
    assert sh.run("Get-MigrationBatch") == BATCH_TABLE
    assert sh.run("Get-MigrationUser") == USER_TABLE
    sh.run("Get-MigrationUser | Sort-Object Identity | "
           "Select-Object Identity, Status, SyncedItemCount, Password | Export-Csv users-out.csv")
    assert (sh.workdir / "users-out.csv").read_bytes() == USER_CSV
