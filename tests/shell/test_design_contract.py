"""DESIGN §3, item by item, through the real session (every cmdlet registered, a real state).

One small case per language feature and general-purpose cmdlet the contract lists; each
asserts the exact output PowerShell gives for the same line.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.shell.real_session import RealShell, real_shell


@pytest.fixture
def sh(tmp_path: Path) -> Iterator[RealShell]:
    workdir = tmp_path / "work"
    workdir.mkdir()
    shell = real_shell(tmp_path / "state", workdir)
    yield shell
    shell.session.close()


# (feature, line, what PowerShell prints)
LANGUAGE = [
    ("named parameter", "Write-Output -InputObject a", "a\n"),
    ("positional parameters", "Write-Output a b", "a\nb\n"),
    ("switch parameter", "Write-Output -NoEnumerate (1, 2) | Measure-Object | % Count", "1\n"),
    ("-Param:value", "Get-Date -Date:'2026-01-02' -Format:yyyy", "2026\n"),
    ("switch:$false", "(Write-Output -NoEnumerate:$false (1, 2) | Measure-Object).Count", "2\n"),
    ("parameter prefix", "Get-Date -Dat 2026-03-04 -F 'MM/dd'", "03/04\n"),
    ("literal string", "$x = 5; 'no $x here'", "no $x here\n"),
    ("expandable string", "$x = 5; \"x is $x, next $($x + 1)\"", "x is 5, next 6\n"),
    ("doubled quotes", "'it''s'; \"say \"\"hi\"\"\"", "it's\nsay \"hi\"\n"),
    ("backtick escapes", "\"a`tb`$x`\"\"", "a\tb$x\"\n"),
    ("backtick continuation", "Write-Output `\n  continued", "continued\n"),
    ("variables", "$Name = 'b1'; $name.ToUpper()", "B1\n"),
    ("$_", "1, 2 | ForEach-Object { $_ * 10 }", "10\n20\n"),
    ("$PSItem", "1, 2 | ForEach-Object { $PSItem + 1 }", "2\n3\n"),
    ("member access", "'abc'.Length; (Get-Date -Date 2026-05-06).Month", "3\n5\n"),
    ("member enumeration", "(@{N = 'a'}, @{N = 'b'}).N", "a\nb\n"),
    ("method call", "'a,b'.Split(',')[1]", "b\n"),
    ("comma array", "$a = 'x', 'y'; $a.Count; $a[-1]", "2\ny\n"),
    ("@() array", "@().Count; @(1).Count; @(1, 2)[0]", "0\n1\n1\n"),
    ("hashtable", "$h = @{Name = 'b1'; Count = 3}; $h.name; $h['Count']; $h.Keys.Count",
     "b1\n3\n2\n"),
    ("script block", "$sb = { param($n) $n * 2 }; & $sb 21; $sb.Invoke(4)", "42\n8\n"),
    ("parentheses", "(1 + 2) * 3", "9\n"),
    ("subexpression", "$(1; 2).Count; \"$(1..3)\"", "2\n1 2 3\n"),
    ("comparison", "1 -eq '1.0'; 'B' -eq 'b'; 'B' -ceq 'b'; 2 -gt 10; 'b2' -like 'B*'",
     "True\nTrue\nFalse\nFalse\nTrue\n"),
    ("collection filter", "1, 2, 3, 2 -eq 2; 1, 5, 9 -gt 4", "2\n2\n5\n9\n"),
    ("logical", "$true -and -not $false; $false -or !$true; 1 -xor 1", "True\nFalse\nFalse\n"),
    ("-match sets $Matches", "'b17' -match '(\\d+)'; $Matches[1]", "True\n17\n"),
    ("semicolons and newlines", "1; 2\n3", "1\n2\n3\n"),
    ("# comment", "1 # not run: 2\n3", "1\n3\n"),
    ("<# #> comment", "1 <# a\nblock #> + 1", "2\n"),
    ("pipeline of objects", "@{A = 1}, @{A = 2} | ForEach-Object { $_.A } | Measure-Object -Sum "
     "| ForEach-Object Sum", "3\n"),
    ("% alias", "1..3 | % { $_ }", "1\n2\n3\n"),
    ("Where-Object", "1..6 | Where-Object { $_ % 2 -eq 0 }", "2\n4\n6\n"),
    ("? alias, simplified", "'a', 'bb', 'ccc' | ? Length -ge 2", "bb\nccc\n"),
    ("foreach statement", "foreach ($i in 1..3) { \"n$i\" }", "n1\nn2\nn3\n"),
    ("if/elseif/else", "foreach ($i in 1..3) { if ($i -eq 1) { 'one' } elseif ($i -eq 2) "
     "{ 'two' } else { 'many' } }", "one\ntwo\nmany\n"),
    ("Write-Output", "Write-Output 'done'", "done\n"),
    ("Write-Host", "Write-Host 'Batch' 3 'started' -Separator '-'", "Batch-3-started\n"),
    ("Out-Null", "1..3 | Out-Null; Get-Date | Out-Null", ""),
    ("Out-Host", "$x = 'shown' | Out-Host; $null -eq $x", "shown\nTrue\n"),
    ("Get-Date -Format", "Get-Date -Date '2026-11-25 08:05:09' -Format 'yyyy-MM-dd HH:mm:ss'",
     "2026-11-25 08:05:09\n"),
]


@pytest.mark.parametrize(("line", "expected"), [(line, out) for _, line, out in LANGUAGE],
                         ids=[feature for feature, _, _ in LANGUAGE])
def test_language_feature(sh: RealShell, line: str, expected: str) -> None:
    assert sh.run(line) == expected


def test_select_sort_group_measure(sh: RealShell) -> None:
    rows = ("$rows = @([pscustomobject]@{Id = 'c'; N = 3}, [pscustomobject]@{Id = 'a'; N = 1}, "
            "[pscustomobject]@{Id = 'b'; N = 3})")
    sh.run(rows)
    assert sh.lines("$rows | Sort-Object N, Id -Descending | % Id") == ["c", "b", "a"]
    assert sh.lines("$rows | Sort-Object Id | Select-Object -First 2 -ExpandProperty Id") == \
        ["a", "b"]
    assert sh.run("$rows | Select-Object Id -Last 1") == "\nId\n--\nb\n\n"
    assert sh.run("$rows | Group-Object N | Sort-Object Name") == (
        "\nCount Name Group\n----- ---- -----\n"
        "    1 1    {@{Id=a; N=1}}\n"
        "    2 3    {@{Id=c; N=3}, @{Id=b; N=3}}\n\n")
    assert sh.run("$rows | Measure-Object N -Sum -Maximum") == (
        "\nCount             : 3\nAverage           :\nSum               : 7\n"
        "Maximum           : 3\nMinimum           :\nStandardDeviation :\n"
        "Property          : N\n\n")  # imsh trims the space PowerShell leaves after ':'


def test_format_table_and_list_with_aliases(sh: RealShell) -> None:
    sh.run("$r = [pscustomobject]@{Identity = 'b1'; Status = 'Synced'; TotalCount = 12}")
    table = "\nIdentity TotalCount\n-------- ----------\nb1               12\n\n"
    assert sh.run("$r | Format-Table Identity, TotalCount") == table
    assert sh.run("$r | ft Identity, Total*") == table
    listing = "\nIdentity : b1\nStatus   : Synced\n\n"
    assert sh.run("$r | Format-List Identity, Status") == listing
    assert sh.run("$r | fl Identity, Sta*") == listing


def test_csv_round_trip(sh: RealShell) -> None:
    sh.run("[pscustomobject]@{Name = 'b1'; Note = 'say \"hi\"'; Gone = $null} | "
           "Export-Csv out.csv")
    assert (sh.workdir / "out.csv").read_bytes() == \
        b'"Name","Note","Gone"\n"b1","say ""hi""",\n'
    assert sh.run("$row = Import-Csv out.csv; $row.Note; $row.Gone -eq ''") == \
        'say "hi"\nTrue\n'
    assert sh.lines("[pscustomobject]@{A = 1; B = 'x,y'} | ConvertTo-Csv") == \
        ['"A","B"', '"1","x,y"']


def test_convertto_json(sh: RealShell) -> None:
    text = sh.run("[pscustomobject]@{Name = 'b1'; Count = 2; Tags = @('a', 'b'); None = $null}"
                  " | ConvertTo-Json")
    assert text == ('{\n  "Name": "b1",\n  "Count": 2,\n  "Tags": [\n    "a",\n    "b"\n  ],\n'
                    '  "None": null\n}\n')
    assert json.loads(text)["Tags"] == ["a", "b"]
    assert sh.run("@{A = 1} | ConvertTo-Json -Compress") == '{"A":1}\n'


def test_files_out_file_set_content_get_content(sh: RealShell) -> None:
    sh.run("'a', 'b' | Out-File o.txt; Set-Content s.txt 'x', 'y'")
    assert (sh.workdir / "o.txt").read_bytes() == b"a\nb\n"
    assert (sh.workdir / "s.txt").read_bytes() == b"x\ny\n"
    assert sh.run("Get-Content s.txt; (Get-Content o.txt).Count") == "x\ny\n2\n"
    assert sh.run("Get-Content s.txt -Raw") == "x\ny\n\n"


def test_static_file_methods(sh: RealShell) -> None:
    (sh.workdir / "users.csv").write_bytes(b"EmailAddress,UserName,Password\nu@x.com,u,p\n")
    assert sh.run("$b = [System.IO.File]::ReadAllBytes('users.csv'); $b.GetType().FullName; "
                  "$b.Length; $b[0]") == "System.Byte[]\n43\n69\n"
    assert sh.run("[System.IO.File]::ReadAllText('users.csv')") == \
        "EmailAddress,UserName,Password\nu@x.com,u,p\n\n"


def test_get_date(sh: RealShell) -> None:
    before = dt.datetime.now().replace(microsecond=0)
    now = dt.datetime.strptime(sh.run("Get-Date -Format 'yyyy-MM-dd HH:mm:ss'").strip(),
                               "%Y-%m-%d %H:%M:%S")
    assert before <= now <= dt.datetime.now()
    assert sh.run("(Get-Date).GetType().FullName") == "System.DateTime\n"


def test_get_help_and_get_command(sh: RealShell) -> None:
    help_text = sh.run("Get-Help Out-Null")
    assert "NAME\n    Out-Null\n" in help_text and "SYNOPSIS\n    Discards the output." in help_text
    assert "-InputObject" in sh.run("Get-Help Export-Csv -Detailed")
    assert sh.lines("Get-Command *-MigrationEndpoint | % Name") == [
        "Get-MigrationEndpoint", "New-MigrationEndpoint", "Remove-MigrationEndpoint",
        "Set-MigrationEndpoint"]
    assert sh.run("(Get-Command ft).Name; (Get-Command where).Definition") == \
        "ft\nWhere-Object\n"


def test_get_credential_without_a_terminal_is_a_clear_error(sh: RealShell) -> None:
    out, err, result = sh.run_failing("$c = Get-Credential admin; 'goes on'")
    assert out == "goes on\n" and result.had_errors
    assert err.startswith("Get-Credential : Get-Credential needs a terminal")
    assert "New-Object System.Management.Automation.PSCredential" in err


def test_pscredential_from_a_secure_string(sh: RealShell) -> None:
    sh.run("$pw = ConvertTo-SecureString 's3cret' -AsPlainText -Force; "
           "$c = New-Object System.Management.Automation.PSCredential('admin', $pw)")
    assert sh.run("$c.UserName; $c.Password.GetType().Name") == "admin\nSecureString\n"
    # PowerShell shows the password as System.Security.SecureString; imsh masks it.
    assert sh.run("$c") == "\nUserName Password\n-------- --------\nadmin    ********\n\n"
    assert sh.run("$c.GetNetworkCredential().Password") == "s3cret\n"


def test_whatif_changes_nothing(sh: RealShell) -> None:
    assert sh.run("New-MigrationEndpoint -Maildir -Name M2 -Path md -WhatIf") == \
        'What if: Performing the operation "Create migration endpoint" on target "M2".\n'
    assert sh.lines("Get-MigrationEndpoint | % Identity") == ["LocalMaildir"]
    assert sh.run("'x' | Out-File w.txt -WhatIf").startswith("What if:")
    assert not (sh.workdir / "w.txt").exists()


def test_confirm_false_skips_the_prompt(sh: RealShell) -> None:
    sh.run("New-MigrationEndpoint -Maildir -Name M2 -Path md | Out-Null")
    assert sh.run("Remove-MigrationEndpoint M2 -Confirm:$false") == ""
    assert sh.lines("Get-MigrationEndpoint | % Identity") == ["LocalMaildir"]


def test_confirm_asks_and_reads_the_answer(tmp_path: Path) -> None:
    sh = real_shell(tmp_path / "state", tmp_path, stdin="n\ny\n")
    sh.run("New-MigrationEndpoint -Maildir -Name M2 -Path md | Out-Null")
    prompt = ('\nConfirm\nAre you sure you want to perform this action?\n'
              'Performing the operation "Remove migration endpoint" on target "M2".\n'
              '[Y] Yes  [A] Yes to All  [N] No  [L] No to All  [S] Suspend  [?] Help '
              '(default is "Y"): ')
    assert sh.run("Remove-MigrationEndpoint M2 -Confirm") == prompt  # answered n
    assert sh.lines("Get-MigrationEndpoint | % Identity") == ["LocalMaildir", "M2"]
    assert sh.run("Remove-MigrationEndpoint M2 -Confirm") == prompt  # answered y
    assert sh.lines("Get-MigrationEndpoint | % Identity") == ["LocalMaildir"]
    sh.session.close()


def test_error_action(sh: RealShell) -> None:
    out, err, _ = sh.run_failing("Get-MigrationBatch nope -ErrorAction SilentlyContinue; "
                                 "\"went on: $?\"; $Error.Count")
    assert (out, err) == ("went on: False\n1\n", "")
    out, err, result = sh.run_failing("Get-MigrationBatch nope -ea Stop; 'never'")
    assert out == "" and not result.ok
    assert err.startswith("Get-MigrationBatch : The migration batch 'nope' couldn't be found.")
    assert sh.run("try { Get-MigrationBatch nope -ErrorAction Stop } catch { 'caught' }") == \
        "caught\n"


def test_unsupported_exchange_switch_parses_and_says_so(sh: RealShell) -> None:
    out, err, result = sh.run_failing(
        "New-MigrationEndpoint -ExchangeRemoteMove -Name X -RemoteServer x.contoso.com")
    assert result.had_errors and out == ""
    assert "not supported by imsh" in err and "ParserError" not in err
