"""``$null``, ``''`` and undefined variables never reach a cmdlet as "no identity".

The incident: a scheduled script declared ``param($Batch)``, was started without the argument,
and ran ``Remove-MigrationBatch -Identity $Batch -Confirm:$false``; imsh took the null as "no
-Identity" and removed the only batch there was, the production one. PowerShell refuses such
an argument before the cmdlet runs ("Cannot bind argument to parameter 'Identity' because it is
null."), and so must imsh, for every cmdlet; the destructive batch cmdlets also no longer act
on "the only batch" when -Identity is left out.

Every test runs the real ``imsh`` console script, on batches whose source endpoint is a real
Dovecot server (verified when it was created), and reads the outcome back from the store.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversity.binding_support import new_admin, with_batches
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers]

NULL = "Cannot bind argument to parameter 'Identity' because it is null."
EMPTY = "Cannot bind argument to parameter 'Identity' because it is an empty string."
MISSING = "Cannot process command because of one or more missing mandatory parameters: Identity."


def test_script_with_a_missing_argument_keeps_the_synced_production_batch(
    tmp_path: Path, dovecot: ImapServer
) -> None:
    admin = new_admin(tmp_path)
    user = dovecot.fresh_user()
    client = dovecot.login(user)
    try:
        for n in range(3):
            client.append("INBOX", f"Subject: m{n}\r\nMessage-ID: <m{n}@x>\r\n\r\nbody\r\n"
                          .encode())
    finally:
        client.logout()
    (admin.work / "users.csv").write_text(
        f"EmailAddress,UserName,Password\nann@contoso.com,{user},{dovecot.password}\n",
        encoding="utf-8")
    setup = admin.script("migrate", f"""$ErrorActionPreference = 'Stop'
New-MigrationEndpoint -IMAP -Name Source -RemoteServer {dovecot.host} -Port {dovecot.port} -Security None | Out-Null
New-MigrationBatch -Name Production -SourceEndpoint Source -CSVData ([System.IO.File]::ReadAllBytes('users.csv')) -AutoStart | Out-Null
Write-Output "initial: $((Wait-MigrationBatch -Identity Production -Status Synced -TimeoutSeconds 90).Status)"
""")  # noqa: E501
    assert "initial: Synced" in setup.stdout, setup.text

    # The cleanup script of the incident, started without its argument.
    result = admin.script("cleanup", """param($Batch)
Remove-MigrationBatch -Identity $Batch -Confirm:$false
Write-Output "after: $(@(Get-MigrationBatch).Count) batch(es)"
""")

    assert NULL in result.stderr, result.text
    assert "ParameterArgumentValidationErrorNullNotAllowed,Remove-MigrationBatch" in result.stderr
    assert "after: 1 batch(es)" in result.stdout, result.text
    assert result.returncode != 0
    assert admin.batches() == {"Production": "Active"}  # the stored phase: still migrating
    assert admin.users() == ["ann@contoso.com"]
    # (the suite's runners do not wait for the next pass, so Get-MigrationBatch would warn
    # that it has none: docs/service.md)
    assert admin.ok("(Get-MigrationBatch -Identity Production -WarningAction SilentlyContinue)"
                    ".Status").strip() == "Synced"


def test_script_passing_an_undefined_variable_removes_nothing(
    tmp_path: Path, dovecot: ImapServer
) -> None:
    admin = with_batches(tmp_path, dovecot, "Production")
    result = admin.script("typo", "Remove-MigrationBatch -Identity $Batchname -Confirm:$false\n")
    assert NULL in result.stderr, result.text
    assert result.returncode != 0
    assert list(admin.batches()) == ["Production"]


@pytest.mark.parametrize("line", [
    "Remove-MigrationBatch -Identity '' -Confirm:$false",
    'Remove-MigrationBatch -Identity "$NotSet" -Confirm:$false',
    "Remove-MigrationBatch -Identity:'' -Confirm:$false",
])
def test_empty_identity_removes_nothing(tmp_path: Path, dovecot: ImapServer, line: str) -> None:
    admin = with_batches(tmp_path, dovecot, "Production")
    result = admin.line(line)
    assert EMPTY in result.stderr, result.text
    assert "ParameterArgumentValidationErrorEmptyStringNotAllowed" in result.stderr
    assert result.returncode != 0
    assert list(admin.batches()) == ["Production"]


def test_positional_null_removes_nothing(tmp_path: Path, dovecot: ImapServer) -> None:
    admin = with_batches(tmp_path, dovecot, "Production")
    result = admin.line("Remove-MigrationBatch $null -Confirm:$false")
    assert NULL in result.stderr, result.text
    assert list(admin.batches()) == ["Production"]


def test_null_in_the_pipeline_removes_nothing(tmp_path: Path, dovecot: ImapServer) -> None:
    admin = with_batches(tmp_path, dovecot, "Production")
    # two names a script never filled in, piped in as the list of batches to clean up
    result = admin.line("$old = $Retired1, $Retired2; $old | Remove-MigrationBatch -Confirm:$false")
    assert NULL in result.stderr, result.text
    assert list(admin.batches()) == ["Production"]


@pytest.mark.parametrize("verb", ["Remove", "Stop", "Complete", "Start"])
def test_batch_cmdlet_without_identity_acts_on_no_batch(
    tmp_path: Path, dovecot: ImapServer, verb: str
) -> None:
    admin = with_batches(tmp_path, dovecot, "Production")
    result = admin.line(f"{verb}-MigrationBatch -Confirm:$false")
    assert MISSING in result.stderr, result.text
    assert result.returncode != 0
    assert admin.batches() == {"Production": "Created"}


@pytest.mark.parametrize("verb", ["Remove", "Stop", "Complete", "Start", "Set"])
def test_batch_cmdlet_with_null_identity_acts_on_no_batch(
    tmp_path: Path, dovecot: ImapServer, verb: str
) -> None:
    admin = with_batches(tmp_path, dovecot, "Production")
    result = admin.line(f"{verb}-MigrationBatch -Identity $null -Confirm:$false")
    assert NULL in result.stderr, result.text
    assert f"NullNotAllowed,{verb}-MigrationBatch" in result.stderr
    assert admin.batches() == {"Production": "Created"}


@pytest.mark.parametrize("verb", ["Remove", "Stop", "Start", "Set"])
def test_user_cmdlet_with_null_identity_acts_on_no_user(
    tmp_path: Path, dovecot: ImapServer, verb: str
) -> None:
    admin = with_batches(tmp_path, dovecot, "Production", users_per_batch=1)
    result = admin.line(f"{verb}-MigrationUser -Identity $null -Confirm:$false")
    assert NULL in result.stderr, result.text
    assert admin.users() == ["production0@contoso.com"]


def test_endpoint_removal_with_null_identity_keeps_the_endpoint(
    tmp_path: Path, dovecot: ImapServer
) -> None:
    admin = with_batches(tmp_path, dovecot)
    result = admin.line("Remove-MigrationEndpoint -Identity $null -Confirm:$false")
    assert NULL in result.stderr, result.text
    assert admin.endpoints() == ["LocalMaildir", "Source"]


def test_undefined_user_filter_does_not_remove_every_user(
    tmp_path: Path, dovecot: ImapServer
) -> None:
    # Exchange's Get-MigrationUser returns *every* user for a $null Identity; piped into a
    # removal that empties the batch. imsh refuses the null instead.
    admin = with_batches(tmp_path, dovecot, "Production", users_per_batch=3)
    result = admin.line("Get-MigrationUser -Identity $Leaver | Remove-MigrationUser "
                        "-Confirm:$false")
    assert NULL in result.stderr, result.text
    assert len(admin.users()) == 3


def test_one_of_two_batches_stays_when_the_other_is_named(
    tmp_path: Path, dovecot: ImapServer
) -> None:
    admin = with_batches(tmp_path, dovecot, "Pilot", "Production")
    admin.ok("Remove-MigrationBatch -Identity Pilot -Confirm:$false")
    assert list(admin.batches()) == ["Production"]


def test_notification_emails_can_still_be_cleared_with_null(
    tmp_path: Path, dovecot: ImapServer
) -> None:
    # The declared exception: Set-MigrationBatch -NotificationEmails $null clears the list,
    # as setting a multi-valued property to $null does in Exchange.
    admin = with_batches(tmp_path, dovecot, "Production")
    admin.ok("Set-MigrationBatch -Identity Production -NotificationEmails ops@contoso.com")
    admin.ok("Set-MigrationBatch -Identity Production -NotificationEmails $null")
    out = admin.ok("(Get-MigrationBatch -Identity Production).NotificationEmails.Count")
    assert out.strip() == "0"


@pytest.mark.parametrize("line", [
    "Remove-MigrationUser -Confirm:$false",
    "Stop-MigrationUser -Confirm:$false",
    "Start-MigrationUser",
    "Set-MigrationUser -SyncNow",
    "Set-MigrationBatch -SyncNow",
    "Remove-MigrationEndpoint -Confirm:$false",
    "Set-MigrationEndpoint -MaxConcurrentMigrations 5",
])
def test_other_state_changing_cmdlet_without_identity_changes_nothing(
    tmp_path: Path, dovecot: ImapServer, line: str
) -> None:
    admin = with_batches(tmp_path, dovecot, "Production", users_per_batch=1)
    result = admin.script("no-identity", line + "\n")
    assert MISSING in result.stderr, result.text
    assert result.returncode != 0
    assert admin.batches() == {"Production": "Created"}
    assert admin.users() == ["production0@contoso.com"]
    assert admin.endpoints() == ["LocalMaildir", "Source"]
