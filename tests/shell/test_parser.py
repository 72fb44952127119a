"""The parser: trees (as S-expressions), PowerShell's parse error messages, completeness."""

from __future__ import annotations

from pathlib import Path

import pytest

from shell.lang.ast import dump
from shell.lang.errors import ParseError
from shell.lang.parser import needs_more, parse

EXAMPLES = Path(__file__).parent / "data" / "ms_examples.txt"


def tree(text: str) -> str:
    return dump(parse(text))


@pytest.mark.parametrize(("text", "expected"), [
    ("1+2*3", "{(+ 1 (* 2 3))}"),
    ("1,2 -eq 2", "{(eq (ArrayLiteral [1 2]) 2)}"),
    ("-not $a -eq $b", "{(eq (not $a) $b)}"),
    ("$a -gt 1 -and $b -like 'x*'", "{(and (gt $a 1) (like $b 'x*'))}"),
    ("1..5", "{(.. 1 5)}"),
    ("'{0}' -f $a, $b", "{(f '{0}' (ArrayLiteral [$a $b]))}"),
    ("[int]$x + 1", "{(+ (Cast 'int' $x) 1)}"),
    ("[ordered]@{a=1}", "{(HashLiteral [('a' 1)] True)}"),
    ("$a[-1]", "{(Index $a -1)}"),
    ("$a.b.c(1,2)[0]", "{(Index (MethodCall (Member $a 'b' False) 'c' [1 2] False) 0)}"),
    ("[datetime]::Now.AddDays(-1)",
     "{(MethodCall (Member (TypeLiteral 'datetime') 'Now' True) 'AddDays' [-1] False)}"),
    ("$x = 1", "{(Assignment $x '=' 1)}"),
    ("$h.Count += 2", "{(Assignment (Member $h 'Count' False) '+=' 2)}"),
    ("$i++", "{(p++ $i)}"),
    (",1", "{(, 1)}"),
    ('"a $(1+2) b"', "{(ExpandableString ['a ' (SubExpr {(+ 1 2)} False) ' b'])}"),
    ("@(1)", "{(SubExpr {1} True)}"),
    ("$env:HOME", "{$env:HOME}"),
])
def test_expressions(text: str, expected: str) -> None:
    assert tree(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Get-Foo -Name x -Port 993 a,b",
     "{(cmd 'Get-Foo' -Name 'x' -Port 993 (ArrayLiteral ['a' 'b']))}"),
    ("Get-X -Confirm:$false -wi", "{(cmd 'Get-X' -Confirm:$false -wi)}"),
    ("gci | ? { $_.x -gt 1 } | % Name",
     "{(Pipeline [(cmd 'gci') (cmd '?' (ScriptBlockExpr {(gt (Member $_ 'x' False) 1)} []))"
     " (cmd '%' 'Name')] [])}"),
    ("New-MigrationBatch @params", "{(cmd 'New-MigrationBatch' $params)}"),
    ("Write-Output (2+2) 2+2", "{(cmd 'Write-Output' (ParenExpr (+ 2 2)) '2+2')}"),
    ("& $sb 1", "{(cmd $sb 1)}"),
    ("Get-Date > out.txt",
     "{(Pipeline [(cmd 'Get-Date')] [(Redirection '1' False 'out.txt' False)])}"),
    ("x 2>&1", "{(Pipeline [(cmd 'x')] [(Redirection '2' False None True)])}"),
    ("a `\n -b", "{(cmd 'a' -b)}"),
    ("a |\n b", "{(Pipeline [(cmd 'a') (cmd 'b')] [])}"),
    ("a; b", "{(cmd 'a'); (cmd 'b')}"),
])
def test_commands(text: str, expected: str) -> None:
    assert tree(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("if ($a) { 1 } elseif ($b) {2} else {3}", "{(If [($a {1}) ($b {2})] {3})}"),
    ("foreach ($u in $users) { $u.Name }", "{(Foreach $u $users {(Member $u 'Name' False)})}"),
    ("try { throw 'x' } catch { $_ } finally { 2 }",
     "{(Try {(Flow 'throw' 'x')} [(CatchClause [] {$_})] {2})}"),
    ("while ($i -lt 3) { $i++ }", "{(While (lt $i 3) {(p++ $i)} False False)}"),
    ("exit 3", "{(Flow 'exit' 3)}"),
    ("$h = @{\n a = 1\n b = 'x' }",
     "{(Assignment $h '=' (HashLiteral [('a' 1) ('b' 'x')] False))}"),
])
def test_statements(text: str, expected: str) -> None:
    assert tree(text) == expected


@pytest.mark.parametrize(("text", "message", "error_id"), [
    ("echo 'abc", "The string is missing the terminator: '.", "TerminatorExpectedAtEndOfString"),
    ("if ($a) { 1", "Missing closing '}' in statement block or type definition.",
     "MissingEndCurlyBrace"),
    ("(1 + 2", "Missing closing ')' in expression.", "MissingEndParenthesisInExpression"),
    ("1 2", "Unexpected token '2' in expression or statement.", "UnexpectedToken"),
    ("a | | b", "An empty pipe element is not allowed.", "EmptyPipeElement"),
    ("1 +", "You must provide a value expression following the '+' operator.",
     "ExpectedValueExpression"),
    ("a | 1", "Expressions are only allowed as the first element of a pipeline.",
     "ExpressionsMustBeFirstInPipeline"),
    ("try { 1 }", "The Try statement is missing its Catch or Finally block.",
     "MissingCatchOrFinally"),
    ("@{ a 1 }", "Missing '=' operator after key in hash literal.",
     "MissingEqualsInHashLiteral"),
    ("$a[]", "Array index expression is missing or not valid.", "MissingArrayIndexExpression"),
    ("a }", "Unexpected token '}' in expression or statement.", "UnexpectedToken"),
    ("1 = 2", "The assignment expression is not valid. The input to an assignment operator must "
     "be an object that is able to accept assignments, such as a variable or a property.",
     "InvalidLeftHandSide"),
])
def test_parse_errors(text: str, message: str, error_id: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    assert (info.value.message, info.value.error_id) == (message, error_id)


def test_parse_error_points_at_the_offending_token() -> None:
    with pytest.raises(ParseError) as info:
        parse("Get-X a\n$x = 1 2")
    extent = info.value.extent
    assert extent is not None
    assert (extent.line, extent.col, extent.text) == (2, 8, "2")


@pytest.mark.parametrize(("text", "more"), [
    ("Get-Foo |", True), ('"abc', True), ("{", True), ("if ($a) {", True), ("1 +", True),
    ("Get-Foo `\n", True), ("@{ a = 1", True), ("foreach ($x in $y)", True),
    ("Get-Foo", False), ("1 2", False), ("a }", False), ("", False), ("# only a comment", False),
])
def test_needs_more(text: str, more: bool) -> None:
    assert needs_more(text) is more


def example_lines() -> list[str]:
    return [line for line in EXAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_example_file_holds_the_documented_commands() -> None:
    lines = example_lines()
    assert len(lines) >= 60
    assert any("[System.IO.File]::ReadAllBytes" in line for line in lines)


@pytest.mark.parametrize("line", example_lines())
def test_every_ms_example_parses(line: str) -> None:
    statements = parse(line).statements
    assert statements, line


def test_stray_quote_doc_artifact_is_a_missing_terminator() -> None:
    # PS-IMAP prints `Get-MigrationBatch IMAPBatch1"` with a stray quote (a doc artifact).
    with pytest.raises(ParseError) as info:
        parse('Get-MigrationBatch IMAPBatch1"')
    assert info.value.message == 'The string is missing the terminator: ".'
    assert needs_more('Get-MigrationBatch IMAPBatch1"')
