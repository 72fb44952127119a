"""-WhatIf checks first: a cmdlet under -WhatIf fails exactly as it would without it, and a
valid -WhatIf changes nothing in the state (a real session on a real store)."""

from __future__ import annotations

import sqlite3

import pytest

from tests.cmdlets.conftest import Shell


@pytest.fixture
def batch(shell: Shell) -> Shell:
    shell.ok("New-MigrationEndpoint -IMAP -Name Src -RemoteServer 127.0.0.1 -Port 9 "
             "-SkipVerification")
    shell.ok(f'New-MigrationBatch -Name B1 -SourceEndpoint Src -CSVData '
             f'([System.IO.File]::ReadAllBytes("{shell.tmp / "users.csv"}"))')
    return shell


def state(shell: Shell) -> dict[str, list[tuple[object, ...]]]:
    db = sqlite3.connect(shell.tmp / "state" / "state.db")
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                for t in tables}
    finally:
        db.close()


BAD = [
    "Set-MigrationBatch -Identity Nope -NotificationEmails a@contoso.com",
    "Set-MigrationBatch -Identity B1 -NotificationEmails not-an-address",
    "Stop-MigrationBatch -Identity Nope",
    "Complete-MigrationBatch -Identity B1",  # never synced: cannot be completed
    "Remove-MigrationBatch -Identity Nope",
    "Start-MigrationBatch -Identity Nope",
    "Set-MigrationUser -Identity nobody@contoso.com -SyncNow",
    "Set-MigrationUser -Identity ann@contoso.com -SyncNow",  # not Synced yet
    "Start-MigrationUser -Identity nobody@contoso.com",
    "Start-MigrationUser -Identity ann@contoso.com",  # Queued: nothing to start
    "Stop-MigrationBatch -Identity B1",  # Created: nothing to stop
    "Stop-MigrationUser -Identity nobody@contoso.com",
    "Remove-MigrationUser -Identity nobody@contoso.com",
    "New-MigrationEndpoint -IMAP -Name X -RemoteServer 127.0.0.1 -Port 99999 -SkipVerification",
    "Set-MigrationEndpoint -Identity Nope -MaxConcurrentMigrations 5",
    "Remove-MigrationEndpoint -Identity Src",  # in use by B1
    "Set-MigrationConfig -MaxNumberOfBatches 0",
    "Set-MigrationConfig -DefaultTargetEndpoint Nope",
]


@pytest.mark.parametrize("line", BAD)
def test_whatif_fails_as_the_command_would(batch: Shell, line: str) -> None:
    before = state(batch)
    _, plain = batch.run(line + " -Confirm:$false")
    out, whatif = batch.run(line + " -WhatIf")
    first = plain.splitlines()[0]
    assert first and first == whatif.splitlines()[0], (plain, whatif)
    assert "What if:" not in out
    assert state(batch) == before


GOOD = [
    ("Set-MigrationBatch -Identity B1 -NotificationEmails admin@contoso.com",
     "Change migration batch"),
    ("Remove-MigrationBatch -Identity B1", "Remove migration batch"),
    ("Remove-MigrationUser -Identity ann@contoso.com", "Remove migration user"),
    ("New-MigrationEndpoint -IMAP -Name X -RemoteServer 127.0.0.1 -Port 9 -SkipVerification",
     "Create migration endpoint"),
    ("Set-MigrationConfig -MaxNumberOfBatches 5", "Change migration configuration"),
]


@pytest.mark.parametrize(("line", "action"), GOOD)
def test_a_valid_whatif_says_what_it_would_do_and_changes_nothing(
        batch: Shell, line: str, action: str) -> None:
    before = state(batch)
    out = batch.ok(line + " -WhatIf")
    assert f'What if: Performing the operation "{action}"' in out
    assert state(batch) == before
