"""Language features mail admins reach for, through the real session: ForEach-Object's
simplified method syntax, New-TimeSpan and [TimeSpan] statics, Get-Date's date parts and the
``switch`` statement, each with PowerShell 7's output."""

from __future__ import annotations

from pathlib import Path

import pytest

from shell.lang.parser import needs_more
from tests.shell.real_session import RealShell, real_shell


@pytest.fixture
def shell(tmp_path: Path) -> RealShell:
    return real_shell(tmp_path / "state", tmp_path)


def test_foreach_member_name_with_arguments(shell: RealShell) -> None:
    assert shell.lines("'a-b' | ForEach-Object -MemberName Split -ArgumentList '-'") == ["a", "b"]
    assert shell.lines("'a-b' | % Split '-'") == ["a", "b"]
    assert shell.lines("'a-b-c' | % Replace '-' '+'") == ["a+b+c"]
    assert shell.lines("'ab' | % Length") == ["2"]


def test_new_timespan_from_parts_and_between_dates(shell: RealShell) -> None:
    assert shell.lines("New-TimeSpan -Hours 6") == ["06:00:00"]
    assert shell.lines("New-TimeSpan -Days 1 -Minutes 30") == ["1.00:30:00"]
    assert shell.lines("New-TimeSpan -Seconds 90 -Milliseconds 5") == ["00:01:30.0050000"]
    assert shell.lines("New-TimeSpan -Hours 1.5") == ["02:00:00"]  # [int] rounds to even
    assert shell.lines("New-TimeSpan '2024-01-01' '2024-01-03 06:00'") == ["2.06:00:00"]
    assert shell.lines("(New-TimeSpan -Start '2024-01-03' -End '2024-01-01').TotalDays") == ["-2"]
    assert shell.lines("(New-TimeSpan -Minutes 90).GetType().FullName") == ["System.TimeSpan"]
    _, err, _ = shell.run_failing("New-TimeSpan -Hours x")
    assert "Cannot convert value \"x\" to type \"System.Int32\"" in err


def test_timespan_static_members(shell: RealShell) -> None:
    assert shell.lines("[TimeSpan]::FromHours(6)") == ["06:00:00"]
    assert shell.lines("[TimeSpan]::FromMinutes(90).ToString()") == ["01:30:00"]
    assert shell.lines("[TimeSpan]::FromSeconds(1.5).TotalMilliseconds") == ["1500"]
    assert shell.lines("[System.TimeSpan]::FromDays(2)") == ["2.00:00:00"]
    assert shell.lines("[TimeSpan]::Zero") == ["00:00:00"]
    assert shell.lines("[TimeSpan]::FromHours(6) -eq (New-TimeSpan -Hours 6)") == ["True"]
    _, err, _ = shell.run_failing("[TimeSpan]::FromHours()")
    assert 'Cannot find an overload for "FromHours" and the argument count: "0".' in err


def test_a_new_timespan_sets_a_batch_sync_interval(shell: RealShell) -> None:
    (shell.workdir / "users.csv").write_text("EmailAddress,UserName,Password\n"
                                             "a@example.com,a,pw\n")
    shell.run("New-MigrationEndpoint -IMAP -Name Src -RemoteServer 127.0.0.1 -Port 9 "
              "-SkipVerification | Out-Null; New-MigrationBatch -Name B -SourceEndpoint Src "
              "-CSVData ([System.IO.File]::ReadAllBytes('users.csv')) | Out-Null")
    shell.run("Set-MigrationBatch B -IncrementalSyncInterval (New-TimeSpan -Hours 6)")
    assert shell.lines("(Get-MigrationBatch B).IncrementalSyncInterval.TotalHours") == ["6"]
    shell.run("Set-MigrationBatch B -IncrementalSyncInterval ([TimeSpan]::FromMinutes(30))")
    assert shell.lines("(Get-MigrationBatch B).IncrementalSyncInterval.TotalMinutes") == ["30"]


def test_get_date_sets_parts_of_the_date(shell: RealShell) -> None:
    assert shell.lines("Get-Date -Year 2020 -Month 1 -Day 2 -Hour 3 -Minute 4 -Second 5 "
                       "-Millisecond 6 -Format 'yyyy-MM-dd HH:mm:ss.fff'") == [
                           "2020-01-02 03:04:05.006"]
    # Month is added, so the day is clamped; Day is added, so it runs into the next month.
    assert shell.lines("Get-Date -Date '2024-01-31' -Month 2 -Format yyyy-MM-dd") == [
        "2024-02-29"]
    assert shell.lines("Get-Date -Date '2023-01-15' -Month 2 -Day 31 -Format yyyy-MM-dd") == [
        "2023-03-03"]
    assert shell.lines("Get-Date -Date '2024-02-29 10:00' -Year 2023 -Format 'yyyy-MM-dd HH:mm'"
                       ) == ["2023-02-28 10:00"]
    assert shell.lines("(Get-Date -Date '2024-03-08').AddDays(-7).ToString('yyyy-MM-dd')") == [
        "2024-03-01"]
    assert shell.lines("(Get-Date -Hour 0 -Minute 0 -Second 0).AddDays(-7) -lt (Get-Date)") == [
        "True"]


def test_get_date_part_out_of_range_is_a_validation_error(shell: RealShell) -> None:
    out, err, _ = shell.run_failing("Get-Date -Month 13")
    assert out == ""
    assert err.splitlines()[0] == (
        "Get-Date : Cannot validate argument on parameter 'Month'. The 13 argument is greater "
        "than the maximum allowed range of 12. Supply an argument that is less than or equal to "
        "12 and then try the command again.")
    _, err, _ = shell.run_failing("Get-Date -Day 0")
    assert "The 0 argument is less than the minimum allowed range of 1." in err


def test_switch_exact_default_and_every_matching_clause(shell: RealShell) -> None:
    assert shell.lines("switch ('b') { 'a' {'A'} b {'B'} default {'D'} }") == ["B"]
    assert shell.lines("switch ('z') { 'a' {'A'} default {'D'} }") == ["D"]
    assert shell.lines("switch ('A') { 'a' {'any case'} }") == ["any case"]
    assert shell.lines("switch ('1') { 1 {'int'} }; switch (1) { '1' {'text'} }") == [
        "int", "text"]
    # every clause that matches runs; a script block condition sees $_
    assert shell.lines("switch (1,2,3) { 2 {'two'} {$_ -gt 1} {\"big $_\"} }") == [
        "two", "big 2", "big 3"]
    assert shell.lines("switch (1) { 'default' {'quoted'} default {'keyword'} }") == [
        "keyword"]
    assert shell.lines("$x = switch (5) { 5 {'five'} }; $x.GetType().Name; $x") == [
        "String", "five"]


def test_switch_wildcard_regex_and_case_sensitive(shell: RealShell) -> None:
    assert shell.lines("switch -Wildcard ('mail.EXAMPLE.com') { '*.example.com' {'ex'} "
                       "'*.org' {'org'} }") == ["ex"]
    assert shell.lines("switch -Regex ('user42') { '^USER(\\d+)$' { $Matches[1] } }") == ["42"]
    script = ('switch -Regex -CaseSensitive ("Sales-EU")\n{\n    "^sales" { "lower" }\n'
              '    "^Sales-(\\w+)$" { "region $($Matches[1])" }\n    Default { "other" }\n}')
    assert shell.lines(script) == ["region EU"]
    assert shell.lines("switch -CaseSensitive ('A') { 'a' {'a'} default {'none'} }") == ["none"]
    assert shell.lines("switch -w ('abc') { 'A*' {'prefix'} }") == ["prefix"]


def test_switch_over_arrays_with_break_and_continue(shell: RealShell) -> None:
    assert shell.lines("switch (1,2,3) { 2 { 'two'; break } default { $_ } }") == ["1", "two"]
    assert shell.lines("switch (1,2,3) { 2 { continue } {$true} { $_ } }") == ["1", "3"]
    assert shell.lines("foreach ($i in 1..3) { switch ($i) { 2 { break } default { $i } } }; "
                       "'after'") == ["1", "3", "after"]
    assert shell.run("switch (@()) { default {'never'} }") == ""
    assert shell.lines("switch ($null) { $null {'null'} }") == ["null"]
    assert shell.lines("$_ = 'kept'; switch (1) { 1 { $_ } }; $_") == ["1", "kept"]
    assert shell.lines("1,2 | % { switch ($_) { 1 {'one'} default { \"n$_\" } } }") == [
        "one", "n2"]


def test_switch_parse_errors(shell: RealShell) -> None:
    out, err, _ = shell.run_failing("switch (1) { 1 }")
    assert out == "" and "Missing statement block in switch statement clause." in err
    _, err, _ = shell.run_failing("switch -bogus (1) { }")
    assert "'-bogus' is not a valid switch option." in err
    _, err, _ = shell.run_failing("switch -File x.txt { }")
    assert "The switch -File option is not supported by imsh." in err


def test_an_unfinished_switch_asks_for_more_lines() -> None:
    assert needs_more("switch (1) {")
    assert needs_more("switch (1) {\n  1 {")
    assert needs_more("switch -Regex ($name)")
    assert not needs_more("switch (1) { 1 {'one'} }")
