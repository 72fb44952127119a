"""Functions, filters, script blocks and scripts with real parameters (issue 15).

Each case is literal input and PowerShell 7's literal output (for errors: the first line of the
error display, which imsh writes as PowerShell's NormalView "Name : message").  Functions are
bound by the cmdlet binder, so their errors read as a cmdlet's.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.shell.lang_helpers import make_shell

OUTPUT_CASES = [
    # named and positional parameters of a simple function
    ('function F($a,$b){"a=$a b=$b"}; F -a 1 -b 2', "a=1 b=2"),
    ('function F($a,$b){"a=$a b=$b"}; F 1 2', "a=1 b=2"),
    ('function F($a,$b){"a=$a b=$b"}; F -b 2 1', "a=1 b=2"),
    ('function F($a,$b){"a=$a b=$b"}; F -b:7 -a:8', "a=8 b=7"),
    ('function F($a,$b){"a=$a b=$b"}; F 1', "a=1 b="),
    ('function W($Batch){"[$Batch]"}; W -Batch Wave5', "[Wave5]"),
    ('function W($Batch){"[$Batch]"}; W -Bat Wave5', "[Wave5]"),
    # defaults, evaluated in order
    ("function G { param($n = 3) $n * 2 }; G", "6"),
    ("function G { param($n = 3) $n * 2 }; G 5", "10"),
    ('function D($a = 1, $b = $a + 1) { "$a $b" }; D; D 10', "1 2\n10 11"),
    # type constraints
    ('function T([int]$n) { $n + 1 }; T "41"', "42"),
    ("function T([int]$n) { $n.GetType().FullName }; T 7", "System.Int32"),
    ('function T([string]$s) { $s.GetType().Name + ":" + $s }; T 007', "String:007"),
    ('function A([string[]]$names) { $names.Count; $names -join "+" }; A x,y,z', "3\nx+y+z"),
    ("function A([string[]]$names) { $names.Count }; A solo", "1"),
    ('function S([switch]$Force) { "Force=$Force" }; S; S -Force; S -Force:$false',
     "Force=False\nForce=True\nForce=False"),
    ('function S([switch]$Force, $x) { "$x $Force" }; S 1 -Force', "1 True"),
    ("function S([switch]$Force) { $Force.IsPresent }; S -Force; S", "True\nFalse"),
    ('function Cur { "[$_]" }; 1,2 | ForEach-Object { Cur }', "[1]\n[2]"),
    # $args holds what a simple function's parameters do not take
    ('function R { "args=$($args.Count) first=$($args[0])" }; R a b c', "args=3 first=a"),
    ('function R($one) { "one=$one rest=$args" }; R 1 2 3', "one=1 rest=2 3"),
    ('function A { "$args" }; A 1 -x 2', "1 -x 2"),
    # $PSBoundParameters, in binding order
    ('function P { param($a, $b) $PSBoundParameters.Keys -join "," }; P -b 1 -a 2', "b,a"),
    ('function P { param($a, $b) $PSBoundParameters.ContainsKey("b") }; P 1', "False"),
    ("function P { param($a, $b) $PSBoundParameters.Count }; P 1 2", "2"),
    ("function P { param($Batch, $n) $PSBoundParameters }; P -n 2 Wave5",
     "\nKey   Value\n---   -----\nn     2\nBatch Wave5"),
    # begin/process/end, filter, $input, return
    ('function B { begin { "begin" } process { "p:$_" } end { "end" } }; 1,2 | B',
     "begin\np:1\np:2\nend"),
    ('function B { begin { "begin" } process { "p:$_" } end { "end" } }; B', "begin\np:\nend"),
    ("filter Dbl { $_ * 2 }; 1,2,3 | Dbl", "2\n4\n6"),
    ("filter Big { if ($_ -gt 1) { $_ } }; 1,2,3 | Big", "2\n3"),
    ("function E { $input | ForEach-Object { $_ + 100 } }; 1,2 | E", "101\n102"),
    ("function Ret { 1; return 2; 3 }; Ret", "1\n2"),
    ("function Ret { process { if ($_ -eq 2) { return } ; $_ } }; 1,2,3 | Ret", "1\n3"),
    # advanced functions: pipeline binding, positions, aliases, common parameters
    ("function Adv { [CmdletBinding()] param([Parameter(ValueFromPipeline)][int]$n) "
     "process { $n * 10 } }; 1,2 | Adv", "10\n20"),
    ('function Adv { [CmdletBinding()] param([Parameter(ValueFromPipelineByPropertyName)]$Name)'
     ' process { "n=$Name" } }; [pscustomobject]@{Name="u1"},[pscustomobject]@{Name="u2"} | Adv',
     "n=u1\nn=u2"),
    ('function M { param([Parameter(Mandatory)]$Batch) "b=$Batch" }; M x', "b=x"),
    ('function Pos { param([Parameter(Position=1)]$a, [Parameter(Position=0)]$b) "a=$a b=$b" };'
     " Pos 1 2", "a=2 b=1"),
    ("function Al { param([Alias('Id')]$Identity) $Identity }; Al -Id u1", "u1"),
    ("function Vb { [CmdletBinding()] param() $VerbosePreference }; Vb -Verbose", "Continue"),
    # script blocks, recursion, scopes
    ("& { param($a, $b) $a + $b } 2 3", "5"),
    ("& { param([int]$n = 4) $n * $n }", "16"),
    ("function Rec($n) { if ($n -le 1) { 1 } else { $n * (Rec ($n - 1)) } }; Rec 5", "120"),
    ("function Sc { $x = 5 }; $x = 1; Sc; $x", "1"),
    ("1,2 | ForEach-Object { param($k = 5) $_ + $k }", "6\n7"),
    # $PSCmdlet.ShouldProcess honours -WhatIf as a cmdlet does; $MyInvocation
    ('function Remove-Wave { [CmdletBinding(SupportsShouldProcess)] param($Batch) '
     'if ($PSCmdlet.ShouldProcess($Batch, "Remove batch")) { "removed $Batch" } }; '
     "Remove-Wave b1; Remove-Wave b2 -WhatIf",
     'removed b1\nWhat if: Performing the operation "Remove batch" on target "b2".'),
    ("function Who { $MyInvocation.MyCommand.Name }; Who", "Who"),
    ('function Plain { param($a) "$args" }; Plain 1 -WhatIf', "-WhatIf"),
    ("function Set { [CmdletBinding(DefaultParameterSetName='ByName')] param("
     "[Parameter(ParameterSetName='ByName')]$Name, [Parameter(ParameterSetName='ById')]$Id) "
     "$PSCmdlet.ParameterSetName }; Set -Id 1; Set -Name n", "ById\nByName"),
    ("function Multi {\n  [CmdletBinding()]\n  param(\n    [Parameter(Mandatory=$true)]\n"
     "    [string]$Batch,\n    [int]$Count = 2\n  )\n  \"$Batch x $Count\"\n}\n"
     "Multi -Batch Wave5", "Wave5 x 2"),
]

ERROR_CASES = [
    ('function M { param([Parameter(Mandatory)]$Batch) "b=$Batch" }; M',
     "M : Cannot process command because of one or more missing mandatory parameters: Batch."),
    ("function M { param([Parameter(Mandatory)][string]$Batch) $Batch }; M ''",
     "M : Cannot bind argument to parameter 'Batch' because it is an empty string."),
    ("function M { param([Parameter(Mandatory)]$Batch) $Batch }; M $null",
     "M : Cannot bind argument to parameter 'Batch' because it is null."),
    ('function Adv { [CmdletBinding()] param($a) "a=$a" }; Adv -Nope 1',
     "Adv : A parameter cannot be found that matches parameter name 'Nope'."),
    ('function Adv { [CmdletBinding()] param($a) "a=$a" }; Adv 1 2',
     "Adv : A positional parameter cannot be found that accepts argument '2'."),
    ("function T([int]$n) { $n }; T abc",
     "T : Cannot process argument transformation on parameter 'n'. Cannot convert value "
     '"abc" to type "System.Int32". Error: "Input string was not in a correct format."'),
    ("function V { param([ValidateSet('Red','Green')]$c) $c }; V Blue",
     "V : Cannot validate argument on parameter 'c'. The argument \"Blue\" does not belong to "
     'the set "Red,Green" specified by the ValidateSet attribute. Supply an argument that is in '
     "the set and then try the command again."),
    ("function V { param([ValidateRange(1,10)][int]$r) $r }; V 0",
     "V : Cannot validate argument on parameter 'r'. The 0 argument is less than the minimum "
     "allowed range of 1. Supply an argument that is greater than or equal to 1 and then try "
     "the command again."),
    ("function V { param([ValidateRange(1,10)][int]$r) $r }; V 11",
     "V : Cannot validate argument on parameter 'r'. The 11 argument is greater than the "
     "maximum allowed range of 10. Supply an argument that is less than or equal to 10 and "
     "then try the command again."),
    ("function V { param([ValidateNotNullOrEmpty()][string]$s) $s }; V ''",
     "V : Cannot validate argument on parameter 's'. The argument is null or empty. Provide an "
     "argument that is not null or empty, and then try the command again."),
    ("function V { param([ValidatePattern('^\\d+$')]$s) $s }; V abc",
     "V : Cannot validate argument on parameter 's'. The argument \"abc\" does not match the "
     '"^\\d+$" pattern. Supply an argument that matches "^\\d+$" and try the command again.'),
    ('function Pos { [CmdletBinding()] param([Parameter(Position=0)]$a, $b) "$a" }; Pos 1 2',
     "Pos : A positional parameter cannot be found that accepts argument '2'."),
    ('function Sw { [CmdletBinding()] param([switch]$Force, $x) "$x" }; Sw a b',
     "Sw : A positional parameter cannot be found that accepts argument 'b'."),
    ("function Am { param($Name, $Number) }; Am -N 1",
     "Am : Parameter cannot be processed because the parameter name 'N' is ambiguous. "
     "Possible matches include: -Name -Number."),
    ("function Dp([Parameter(Mandatory)][int]$n) { $n }; Dp",
     "Dp : Cannot process command because of one or more missing mandatory parameters: n."),
    ("function Vc { param([ValidateCount(1,2)][string[]]$names) $names }; Vc a,b,c",
     "Vc : Cannot validate argument on parameter 'names'. The parameter requires at least 1 "
     "value(s) and no more than 2 value(s) - 3 value(s) were provided."),
    ("function Vs { param([ValidateScript({$_ -gt 1})]$n) $n }; Vs 5",
     "Vs : The [ValidateScript()] attribute on parameter 'n' is not supported by imsh."),
    ('function F { param([Parameter(Position="x")]$a) }; F 1',
     "F : The attributes of parameter 'a' are not valid: Cannot convert value \"x\" to type "
     '"System.Int32". Error: "Input string was not in a correct format."'),
    ("function G { param([ValidateRange(5)]$n) $n }; G 1",
     "G : The [ValidateRange()] attribute on parameter 'n' needs 2 argument(s)."),
    ('function K { param([int]$n = "abc") $n }; K',
     "K : Cannot process argument transformation on parameter 'n'. Cannot convert value "
     '"abc" to type "System.Int32". Error: "Input string was not in a correct format."'),
    ("function Adv { [CmdletBinding()] param($a) }; Adv -WhatIf",
     "Adv : A parameter cannot be found that matches parameter name 'WhatIf'."),
    ("function Adv { [CmdletBinding()] param($a) process { $a } }; 1 | Adv",
     "Adv : The input object cannot be bound to any parameters for the command either because "
     "the command does not take pipeline input or the input and its properties do not match "
     "any of the parameters that take pipeline input."),
]


@pytest.mark.parametrize(("text", "expected"), OUTPUT_CASES)
def test_function_output_matches_powershell(text: str, expected: str) -> None:
    sh = make_shell()
    out = sh.output(text)
    assert sh.err.getvalue() == ""
    assert out.rstrip("\n") == expected


@pytest.mark.parametrize(("text", "expected"), ERROR_CASES)
def test_function_binding_error_reads_as_powershell(text: str, expected: str) -> None:
    sh = make_shell()
    sh.output(text)
    err = sh.err.getvalue()
    assert err.splitlines()[0] == expected
    assert "Traceback" not in err and "Error(" not in err


def test_missing_mandatory_parameter_is_prompted_for_at_a_terminal() -> None:
    """Interactive imsh asks as PowerShell does; scripts and -c fail (no one to ask)."""
    sh = make_shell(interactive=True, stdin="Wave5\n")
    out = sh.output('function M { param([Parameter(Mandatory)]$Batch) "b=$Batch" }; M')
    assert out == ("\ncmdlet M at command pipeline position 1\n"
                   "Supply values for the following parameters:\nBatch: b=Wave5\n")


@pytest.mark.parametrize("text", [
    "function F { param($n = ) }", "function F { param([int $n) }",
    "function F { param([Parameter(Mandatory]$n) }", "function F($a) { param($b) }",
    "function F { begin { } 1 }", "function F { dynamicparam { } }",
])
def test_malformed_function_declarations_are_parse_errors_not_tracebacks(text: str) -> None:
    sh = make_shell()
    result = sh.run(text)
    err = sh.err.getvalue()
    assert not result.ok and "ParserError" in err
    assert "Traceback" not in err and "internal error" not in err


@pytest.mark.parametrize("text", [
    "function F {\n[CmdletBinding()]", "function F {\n[CmdletBinding()]\nparam(",
    "function F { param([Parameter(Mandatory", "function F { param([Parameter(Mandatory)]",
    "function F { param($a = ", "function F { begin {", "function F { begin { } process {",
])
def test_a_half_typed_declaration_asks_for_more_lines(text: str) -> None:
    from shell.lang.parser import needs_more

    assert needs_more(text)


# -- scripts through the real console script --------------------------------------------------

SCRIPT = """[CmdletBinding()]
param(
    [Parameter(Mandatory)][string]$Batch,
    [ValidateRange(1, 100)][int]$Count = 3,
    [switch]$Force
)
"Batch=$Batch Count=$Count Force=$Force type=$($Count.GetType().Name)"
"""


@pytest.fixture(scope="module")
def script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("script") / "wave.imsh"
    path.write_text(SCRIPT, encoding="utf-8")
    return path


def _imsh(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "IMSH_HOME": str(script.parent / "state")}
    return subprocess.run(["imsh", str(script), *args], capture_output=True, text=True,
                          timeout=60, env=env, cwd=script.parent)


@pytest.mark.parametrize(("args", "expected"), [
    (["-Batch", "Test"], "Batch=Test Count=3 Force=False type=Int32"),
    (["Wave5", "7", "-Force"], "Batch=Wave5 Count=7 Force=True type=Int32"),
    (["-Count:9", "-Bat", "W"], "Batch=W Count=9 Force=False type=Int32"),
])
def test_script_param_block_binds_command_line_arguments(script: Path, args: list[str],
                                                         expected: str) -> None:
    result = _imsh(script, *args)
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, expected, "")


@pytest.mark.parametrize(("args", "first_line"), [
    ([], "wave.imsh : Cannot process command because of one or more missing mandatory "
         "parameters: Batch."),
    (["-Batch", "x", "-Count", "500"],
     "wave.imsh : Cannot validate argument on parameter 'Count'. The 500 argument is greater "
     "than the maximum allowed range of 100. Supply an argument that is less than or equal to "
     "100 and then try the command again."),
    (["-Batch", "x", "-Bogus"],
     "wave.imsh : A parameter cannot be found that matches parameter name 'Bogus'."),
])
def test_script_binding_error_fails_with_status_1(script: Path, args: list[str],
                                                  first_line: str) -> None:
    result = _imsh(script, *args)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines()[0] == first_line
    assert "Traceback" not in result.stderr


def test_functions_through_imsh_c(tmp_path: Path) -> None:
    env = {**os.environ, "IMSH_HOME": str(tmp_path / "state")}
    result = subprocess.run(
        ["imsh", "-c", 'function F($a, $b) { "a=$a b=$b" }; F -a 1 -b 2; '
                       "filter Dbl { $_ * 2 }; 1, 2 | Dbl; "
                       "function M { param([Parameter(Mandatory)]$Batch) }; M"],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert result.stdout == "a=1 b=2\n2\n4\n"
    assert result.stderr.splitlines()[0] == \
        "M : Cannot process command because of one or more missing mandatory parameters: Batch."
    assert result.returncode == 1 and "Traceback" not in result.stderr
