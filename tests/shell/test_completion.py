"""Tab completion of variables, members after '.', file paths and function names (issue 15),
on the real session (the console's Completer gets the text before the cursor)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shell.completion import Completer
from tests.shell.real_session import RealShell, real_shell


@pytest.fixture(scope="module")
def sh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealShell]:
    root = tmp_path_factory.mktemp("completion")
    work = root / "work"
    (work / "scripts").mkdir(parents=True)
    (work / "scripts" / "wave5.imsh").write_text("'w'\n", encoding="utf-8")
    (work / "users.csv").write_text("x\n", encoding="utf-8")
    (work / ".hidden").write_text("x\n", encoding="utf-8")
    shell = real_shell(root / "state", work)
    shell.run("$BatchName = 'Wave5'; $BatchList = 1, 2; "
              "$Row = [pscustomobject]@{EmailAddress='a@contoso.com'; Status='Synced'; "
              "Inner=[pscustomobject]@{Depth=1}}; $Rows = @($Row); "
              "function Start-Wave { param($Batch) }")
    yield shell
    shell.session.close()


def complete(sh: RealShell, line: str) -> list[str]:
    word = line.split(" ")[-1]
    return Completer(sh.session).candidates(word, line, len(line) - len(word), len(line))


@pytest.mark.parametrize(("line", "expected"), [
    ("$Batch", ["$BatchList", "$BatchName"]),
    ("Write-Output $batchn", ["$BatchName"]),
    ("$ErrorActionP", ["$ErrorActionPreference"]),
    ("@Batch", ["@BatchList", "@BatchName"]),
    ("$Row.Sta", ["$Row.Status"]),
    ("$Row.", ["$Row.EmailAddress", "$Row.Inner", "$Row.Status", "$Row.Equals(",
               "$Row.GetHashCode(", "$Row.GetType(", "$Row.ToString("]),
    ("$Row.Inner.D", ["$Row.Inner.Depth"]),
    ("$BatchName.Len", ["$BatchName.Length"]),
    ("$BatchName.ToU", ["$BatchName.ToUpper(", "$BatchName.ToUpperInvariant("]),
    ("$_.Sta", []),
    ("$Rows | Where-Object { $_.Sta", ["$_.Status"]),
    ("$Rows | % { $PSItem.Email", ["$PSItem.EmailAddress"]),
    ("Get-MigrationUser | ? { $_.Sta", []),
    ("$Missing.X", []),
    ("Import-Csv us", ["users.csv"]),
    ("Import-Csv -Path ./scr", ["./scripts/"]),
    ("./scripts/w", ["./scripts/wave5.imsh"]),
    ("Get-Content scripts/", ["scripts/wave5.imsh"]),
    ("Get-Content .h", [".hidden"]),
    ("Start-W", ["Start-Wave"]),
])
def test_tab_completion(sh: RealShell, line: str, expected: list[str]) -> None:
    assert complete(sh, line) == expected


def test_member_completion_runs_no_code(sh: RealShell) -> None:
    sh.run("$calls = 0; function Get-Thing { $script:calls++ }")
    complete(sh, "$calls.ToS")
    complete(sh, "(Get-Thing).")
    assert sh.run("$calls") == "0\n"
