"""The parser's cursor: tokens from the lexer, positions, errors, and the statement hooks.

``ParserBase`` is the root of the parser classes (``parse_literals.LiteralParser`` ->
``parse_expr.ExpressionParser`` -> ``parse_keywords.KeywordParser`` -> ``parser.Parser``);
``statement_list`` and ``statement`` are implemented by ``parser.Parser``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from shell.lang import ast
from shell.lang.errors import ParseError
from shell.lang.lexer import EXPR, Lexer
from shell.lang.tokens import Extent, Kind, Source, Token

_SCOPES = ("global", "script", "local", "private", "env", "variable", "using")

T = TypeVar("T")


def split_variable(name: str) -> tuple[str, str]:
    """``global:x`` -> ("global", "x"); ``x`` -> ("", "x")."""
    scope, sep, rest = name.partition(":")
    if sep and scope.lower() in _SCOPES and rest:
        return scope.lower(), rest
    return "", name


class ParserBase:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.lx = Lexer(source)
        self.tokens: list[Token] = []
        self.comma_ok = True

    def statement_list(self, closer: Kind | None, open_token: Token | None = None
                       ) -> ast.StatementList:
        raise NotImplementedError

    def statement(self) -> ast.Statement:
        raise NotImplementedError

    def next(self, mode: str = EXPR) -> Token:
        token = self.lx.next(mode)
        self.tokens.append(token)
        return token

    def peek(self, mode: str = EXPR) -> Token:
        return self.lx.peek(mode)

    def take(self, kind: Kind, length: int = 1, value: object = None) -> Token:
        """Consume ``length`` raw characters at the cursor as one token of ``kind``."""
        start = self.lx.pos
        self.lx.pos += length
        token = self.lx.make(kind, start, value)
        self.tokens.append(token)
        return token

    def char(self, offset: int = 0) -> str:
        """The raw character at the cursor after skipping blanks and comments."""
        self.lx.skip_space()
        return self.lx.char(offset)

    def extent(self, start: int, end: int | None = None) -> Extent:
        return Extent(self.source, start, self.lx.pos if end is None else end)

    def error(self, message: str, error_id: str, start: int, end: int | None = None,
              *, incomplete: bool = False) -> ParseError:
        return self.lx.error(message, error_id, start, end, incomplete=incomplete)

    def unexpected(self, token: Token) -> ParseError:
        if token.kind is Kind.EOF:
            return self.error("Unexpected end of input.", "UnexpectedEndOfInput", token.start,
                              incomplete=True)
        return self.error(f"Unexpected token '{token.text}' in expression or statement.",
                          "UnexpectedToken", token.start, token.end)

    def at_end_of_expression(self) -> bool:
        return self.char() in ("", "\n", ";", ")", "}", "]", "|")

    def grouped(self, parse: Callable[[], T]) -> T:
        """Run ``parse`` with commas allowed again (inside ( ), $( ), { })."""
        saved, self.comma_ok = self.comma_ok, True
        try:
            return parse()
        finally:
            self.comma_ok = saved
