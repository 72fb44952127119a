"""The tokenizer: argument mode vs expression mode, strings, numbers, comments, positions."""

from __future__ import annotations

import pytest

from shell.lang.errors import ParseError
from shell.lang.lexer import ARG, EXPR, Lexer
from shell.lang.numbers import parse_number
from shell.lang.parser import tokenize
from shell.lang.strings import SubPart, VarPart
from shell.lang.tokens import Kind, Source


def scan(text: str, mode: str) -> list[tuple[str, object]]:
    lexer = Lexer(Source(text))
    out: list[tuple[str, object]] = []
    while True:
        token = lexer.next(mode)
        if token.kind is Kind.EOF:
            return out
        out.append((token.kind.name, token.value))


def kinds(text: str) -> list[tuple[str, object]]:
    return [(t.kind.name, t.value) for t in tokenize(text)]


def test_argument_mode_barewords_are_strings_and_numbers_stay_numbers() -> None:
    assert scan("imap.contoso.com 993 2+2 -Port 1KB", ARG) == [
        ("GENERIC", "imap.contoso.com"), ("NUMBER", 993), ("GENERIC", "2+2"),
        ("PARAMETER", "Port"), ("NUMBER", 1024)]


def test_expression_mode_same_text_is_arithmetic() -> None:
    assert scan("2+2 -eq 4", EXPR) == [("NUMBER", 2), ("OPERATOR", "+"), ("NUMBER", 2),
                                      ("OPERATOR", "eq"), ("NUMBER", 4)]


def test_command_line_tokens_in_parser_order() -> None:
    assert kinds("Get-Foo -Name:$x.y a$b 2>&1") == [
        ("GENERIC", "Get-Foo"), ("PARAMETER", "Name"), ("VARIABLE", "x"), ("DOT", "."),
        ("IDENT", "y"), ("GENERIC", ["a", VarPart("b", 20, 22)]), ("REDIRECT", "2>&1")]


def test_parameter_with_colon_keeps_colon_in_text() -> None:
    token = Lexer(Source("-Confirm:$false")).next(ARG)
    assert (token.kind, token.value, token.text) == (Kind.PARAMETER, "Confirm", "-Confirm:")


def test_verbatim_string_doubles_quote_and_keeps_dollar() -> None:
    assert scan("'don''t $x `n'", EXPR) == [("STRING", "don't $x `n")]


def test_expandable_string_parts_and_escapes() -> None:
    assert scan('"a `"q`" $name`t$($x) ${odd name}"', EXPR) == [
        ("XSTRING", ['a "q" ', VarPart("name", 9, 14), "\t", SubPart(18, 20),
                     " ", VarPart("odd name", 22, 33)])]


def test_variable_scopes_and_specials() -> None:
    assert scan("$global:x $env:HOME $_ $? ${a b}", EXPR) == [
        ("VARIABLE", "global:x"), ("VARIABLE", "env:HOME"), ("VARIABLE", "_"),
        ("VARIABLE", "?"), ("VARIABLE", "a b")]


def test_here_strings() -> None:
    text = "@'\nline $x\n'@ @\"\nv=$v\n\"@"
    assert scan(text, EXPR) == [("STRING", "line $x"), ("XSTRING", ["v=", VarPart("v", 19, 21)])]


def test_comments_and_backtick_continuation_are_skipped() -> None:
    assert scan("a <# block\n comment #> b `\n c # tail", ARG) == [
        ("GENERIC", "a"), ("GENERIC", "b"), ("GENERIC", "c")]


def test_newline_and_semicolon_are_tokens() -> None:
    assert scan("a;b\nc", ARG) == [("GENERIC", "a"), ("SEMI", ";"), ("GENERIC", "b"),
                                   ("NEWLINE", "\n"), ("GENERIC", "c")]


def test_case_prefixed_operators() -> None:
    assert scan("-ceq -ilike -notmatch -f -and", EXPR) == [
        ("OPERATOR", "ceq"), ("OPERATOR", "ilike"), ("OPERATOR", "notmatch"),
        ("OPERATOR", "f"), ("OPERATOR", "and")]


def test_type_literal_and_range() -> None:
    assert scan("[System.IO.File] 1..5 [string[]]", EXPR) == [
        ("TYPE", "System.IO.File"), ("NUMBER", 1), ("DOTDOT", ".."), ("NUMBER", 5),
        ("TYPE", "string[]")]


def test_splat_hash_and_array_openers() -> None:
    assert scan("@params @{ @(", ARG) == [("SPLAT", "params"), ("HASH", "@{"),
                                         ("ARRAYEXPR", "@(")]


@pytest.mark.parametrize(("text", "value"), [
    ("42", 42), ("0x1F", 31), ("1.5", 1.5), ("2kb", 2048), ("1.5MB", 1572864), ("10L", 10),
    ("1e3", 1000.0), ("abc", None), ("1.2.3", None),
])
def test_number_literals(text: str, value: object) -> None:
    assert parse_number(text) == value


def test_positions_are_line_and_column() -> None:
    lexer = Lexer(Source("a\n  bb"))
    lexer.next(ARG)
    lexer.next(ARG)
    token = lexer.next(ARG)
    assert (token.extent.line, token.extent.col, token.text) == (2, 3, "bb")


@pytest.mark.parametrize(("text", "message"), [
    ("'abc", "The string is missing the terminator: '."),
    ('"abc', 'The string is missing the terminator: ".'),
    ("<# never", "Missing the closing '#>' of a block comment."),
    ("a < b", "The '<' operator is reserved for future use."),
])
def test_lexical_errors(text: str, message: str) -> None:
    with pytest.raises(ParseError) as info:
        scan(text, ARG)
    assert info.value.message == message
