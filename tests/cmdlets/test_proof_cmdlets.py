"""Test-MigrationUser/-Batch when a mailbox cannot be read: a clear error (never a traceback),
the batch's other users still proven, the failure in the report, and the score unchanged."""

from __future__ import annotations

from tests.cmdlets.conftest import Shell


def test_an_unreachable_source_fails_the_proof_and_leaves_the_score(shell: Shell) -> None:
    shell.ok("New-MigrationEndpoint -IMAP -Name Src -RemoteServer 127.0.0.1 -Port 9 "
             "-SkipVerification")
    shell.ok(f'New-MigrationBatch -Name B1 -SourceEndpoint Src -CSVData '
             f'([System.IO.File]::ReadAllBytes("{shell.tmp / "users.csv"}"))')
    _, err = shell.run("Test-MigrationUser -Identity ann@contoso.com")
    assert err.startswith("Test-MigrationUser : The connection to the server '127.0.0.1' "
                          "could not be completed"), err
    assert "Traceback" not in err
    out = shell.ok("Test-MigrationBatch B1 | Format-Table Identity,Result,DataConsistencyScore")
    rows = [line.split() for line in out.splitlines() if "@contoso.com" in line]
    assert rows == [["ann@contoso.com", "Failed", "Perfect"],
                    ["bob@contoso.com", "Failed", "Perfect"]], out
    assert shell.ok("(Get-MigrationUser ann@contoso.com).DataConsistencyScore").strip() == (
        "Perfect")
    report = shell.ok("(Get-MigrationUserStatistics ann@contoso.com -IncludeReport).Report")
    assert "[error] The proof of the migration could not finish" in report
