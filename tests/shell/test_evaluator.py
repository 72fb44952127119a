"""Evaluation: values, variables, scopes, members, statics, pipelines, control flow."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from cmdlets.base import PSObject
from shell.objects import Hashtable
from tests.shell.lang_helpers import GetCounter, Shell, make_shell


@pytest.fixture
def sh() -> Shell:
    return make_shell()


@pytest.mark.parametrize(("expression", "value"), [
    ("1+1", 2),
    ("7 / 2", 3.5),
    ("'ab' * 2", "abab"),
    ("1,2,3", [1, 2, 3]),
    ("@()", []),
    ("@(5)", [5]),
    (",5", [5]),
    ("(1,2,3)[-1]", 3),
    ("(1..10)[2..4]", [3, 4, 5]),
    ("'hello'[1]", "e"),
    ("$null", None),
    ("1,2,3 -gt 1", [2, 3]),
    ("'Synced' -in 'Failed','synced'", True),
    ("-not $true", False),
    ("!(1 -eq 2)", True),
    ("[int]'42' + 1", 43),
    ("[string]42 + 1", "421"),
    ("'5' -as [int]", 5),
    ("'x' -as [int]", None),
    ("42 -is [int]", True),
    ("'a' -is [string]", True),
    ("@(1) -is [array]", True),
    ("'{0}-{1}' -f 'a','b'", "a-b"),
    ("'a,b,c' -split ','", ["a", "b", "c"]),
    ("(1,2,3) -join '+'", "1+2+3"),
    ("'Hello'.ToUpper()", "HELLO"),
    ("'  x '.Trim()", "x"),
    ("'a-b'.Split('-')", ["a", "b"]),
    ("'abc'.Substring(1)", "bc"),
    ("'abc'.Length", 3),
    ("'a.csv'.EndsWith('.csv')", True),
    ("(1,2,3).Count", 3),
    ("$(1; 2)", [1, 2]),
    ("$(1)", 1),
    ("[math]::Round(2.567, 1)", 2.6),
    ("[Math]::Max(3, 9)", 9),
    ("[string]::IsNullOrEmpty('')", True),
    ("[string]::Join(',', @('a','b'))", "a,b"),
    ("[Environment]::NewLine", "\n"),
    ("[System.Text.Encoding]::UTF8.GetString([byte[]](104,105))", "hi"),
    ("([datetime]'2024-01-31').AddDays(1)", dt.datetime(2024, 2, 1)),
    ("([datetime]'2024-01-31').AddMonths(1)", dt.datetime(2024, 2, 29)),
    ("'x' + $null", "x"),
    ("1 -eq 1 -and 2 -gt 3", False),
    ("$true -xor $false", True),
    ("0x10 + 1kb", 1040),
    ("'abc' -replace 'b','X'", "aXc"),
])
def test_expression_values(sh: Shell, expression: str, value: object) -> None:
    assert sh.value(expression) == value


def test_hashtables_are_case_insensitive_and_ordered(sh: Shell) -> None:
    table = sh.value("@{ Name = 'b1'; Count = 2; }")
    assert isinstance(table, Hashtable)
    assert list(table.items()) == [("Name", "b1"), ("Count", 2)]
    sh.run("$t = @{ Name = 'b1'; Count = 2 }")
    assert sh.value("$t.name") == "b1"
    assert sh.value("$t['COUNT']") == 2


def test_pscustomobject_cast(sh: Shell) -> None:
    record = sh.value("[pscustomobject]@{ Identity = 'u1'; Count = 3 }")
    assert isinstance(record, PSObject)
    assert record.properties == {"Identity": "u1", "Count": 3}


def test_variables_assignment_ops_and_interpolation(sh: Shell) -> None:
    sh.run("$n = 5; $n += 2; $n *= 3; $s = 'a'; $s += 'b'; $list = @(); $list += 1; $list += 2")
    assert sh.value("$n") == 21
    assert sh.value('"s=$s n=$($n + 1) list=$list"') == "s=ab n=22 list=1 2"
    assert sh.value("$LIST") == [1, 2]


def test_member_access_enumeration(sh: Shell) -> None:
    sh.run("$b = (Get-Batch a), (Get-Batch b)")
    assert sh.value("$b.Identity") == ["a", "b"]
    assert sh.value("(Get-Batch x).Status") == "Synced"
    assert sh.value("$b[1].TotalCount") == 2


def test_property_assignment(sh: Shell) -> None:
    sh.run("$r = [pscustomobject]@{ A = 1 }; $r.A = 5; $h = @{}; $h.k = 'v'; $h['z'] = 1")
    assert sh.value("$r.A") == 5
    assert sh.value("$h.k + $h.z") == "v1"


def test_scopes(sh: Shell) -> None:
    sh.run("$count = 0; 1..3 | ForEach-Object { $count++ }")
    assert sh.value("$count") == 3  # ForEach-Object runs in the caller's scope
    sh.run("$x = 1; & { $x = 2; $global:y = 3 }")
    assert sh.value("$x") == 1
    assert sh.value("$y") == 3


def test_script_block_param_and_args(sh: Shell) -> None:
    assert sh.value("& { param($a, $b) $a + $b } 2 3") == 5
    assert sh.value("& { $args[1] } x y") == "y"
    sh.run("function Add-Two { param($n) $n + 2 }")
    assert sh.value("Add-Two 5") == 7
    assert sh.value("Add-Two -n 1") == 3


def test_match_sets_matches(sh: Shell) -> None:
    sh.run("$null = 'user@contoso.com' -match '^(?<user>[^@]+)@'")
    assert sh.value("$Matches.user") == "user"
    assert sh.value("$Matches[0]") == "user@"


def test_control_flow(sh: Shell) -> None:
    out = sh.output("foreach ($i in 1..5) { if ($i -eq 2) { continue } elseif ($i -gt 3) "
                    "{ break } else { $i } }")
    assert out == "1\n3\n"
    assert sh.value("$(for ($i = 0; $i -lt 3; $i++) { $i * 10 })") == [0, 10, 20]
    assert sh.value("$(while ($true) { 'once'; break })") == "once"
    assert sh.value("$(do { 'x' } until ($true))") == "x"


def test_cast_binds_looser_than_member_access(sh: Shell) -> None:
    result = sh.run("[datetime]'2024-01-31'.AddDays(1)")
    assert result.had_errors
    assert "[System.String] does not contain a method named 'AddDays'" in sh.err.getvalue()


def test_pipeline_streams_and_filters(sh: Shell) -> None:
    assert sh.value("1..6 | Where-Object { $_ % 2 -eq 0 } | ForEach-Object { $_ * 10 }") == [
        20, 40, 60]
    assert sh.value("'b1' | Get-Batch | ForEach-Object { $_.Identity }") == "b1"
    assert sh.value("Get-Batch q | Get-Batch | % { $PSItem.Identity }") == "q"


def test_select_first_stops_upstream_early(sh: Shell) -> None:
    GetCounter.produced.clear()
    assert sh.value("Get-Counter | Select-First 3") == [1, 2, 3]
    assert len(GetCounter.produced) == 3


def test_splatting(sh: Shell) -> None:
    sh.run("$p = @{ Identity = 'splat1' }; $a = @('pos1')")
    assert sh.value("(Get-Batch @p).Identity") == "splat1"
    assert sh.value("(Get-Batch @a).Identity") == "pos1"


def test_get_prefix_is_tried_for_bare_names(sh: Shell) -> None:
    assert sh.value("(Batch z).Identity") == "z"


def test_read_all_bytes_resolves_against_session_cwd(tmp_path: Path) -> None:
    shell = make_shell()
    shell.session.cwd = tmp_path
    (tmp_path / "users.csv").write_bytes(b"EmailAddress,UserName,Password\n")
    assert shell.value("[System.IO.File]::ReadAllBytes('users.csv')") == (
        b"EmailAddress,UserName,Password\n")
    assert shell.value("[IO.File]::Exists('users.csv')") is True
    shell.run("[System.IO.File]::WriteAllText('out.txt', 'hello')")
    assert (tmp_path / "out.txt").read_text() == "hello"


def test_output_redirection_writes_rendered_text(tmp_path: Path) -> None:
    shell = make_shell()
    shell.session.cwd = tmp_path
    shell.run("'one' > log.txt; 'two' >> log.txt")
    assert (tmp_path / "log.txt").read_text() == "one\ntwo\n"


def test_env_and_automatic_variables(sh: Shell, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMSH_TEST_VAR", "v1")
    assert sh.value("$env:IMSH_TEST_VAR") == "v1"
    assert sh.value("$HOME") == str(Path.home())
    assert sh.value("$PWD.Path") == str(sh.session.cwd)
    assert sh.value("$ErrorActionPreference") == "Continue"


def test_where_object_over_ten_thousand_objects_is_fast(sh: Shell) -> None:
    # CPU time, not wall time: the suite runs in two workers on a shared machine
    started = time.process_time()
    count = sh.value("(1..10000 | Where-Object { $_ % 3 -eq 0 }).Count")
    elapsed = time.process_time() - started
    assert count == 3333
    assert elapsed < 2.0
