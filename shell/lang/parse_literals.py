"""Literal constructs of expressions: ``@{ }`` hashtables, ``{ }`` script blocks with their
``param( )`` block, and expandable strings (the lexer's parts turned into AST nodes, with
each ``$( )`` parsed as statements on the same source).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from shell.lang import ast
from shell.lang.lexer import ARG
from shell.lang.numbers import parse_number
from shell.lang.parse_base import ParserBase, split_variable
from shell.lang.strings import StringPart, SubPart, VarPart
from shell.lang.tokens import Extent, Kind, Token


class LiteralParser(ParserBase):
    if TYPE_CHECKING:  # provided by parse_expr.ExpressionParser
        def primary(self) -> ast.Expr: ...

        def postfix(self, expr: ast.Expr) -> ast.Expr: ...

    def hash_literal(self, open_token: Token) -> ast.HashLiteral:
        entries: list[tuple[ast.Expr, ast.Statement]] = []
        lx = self.lx
        while True:
            while True:
                lx.skip_newlines()
                if self.char() != ";":
                    break
                self.take(Kind.SEMI)
            ch = self.char()
            if ch == "}":
                self.take(Kind.RBRACE)
                return ast.HashLiteral(entries=entries, extent=self.extent(open_token.start))
            if ch == "":
                raise self.error("The hash literal was incomplete.", "IncompleteHashLiteral",
                                 open_token.start, lx.pos, incomplete=True)
            key = self._hash_key()
            if self.char() != "=":
                raise self.error("Missing '=' operator after key in hash literal.",
                                 "MissingEqualsInHashLiteral", lx.pos,
                                 incomplete=self.char() == "")
            self.take(Kind.ASSIGN, 1, "=")
            lx.skip_newlines()
            if self.char() in ("", "}", ";"):
                raise self.error("Missing statement after '=' in hash literal.",
                                 "MissingStatementInHashLiteral", lx.pos,
                                 incomplete=self.char() == "")
            value = self.grouped(self.statement)
            entries.append((key, value))
            if self.char() not in ("\n", ";", "}", ""):
                raise self.unexpected(self.peek(ARG))

    def _hash_key(self) -> ast.Expr:
        lx, start = self.lx, self.lx.pos
        if lx.char() and lx.char() in "'\"$(‘’“”":
            return self.postfix(self.primary())
        match = re.compile(r"[^\s=;}]+").match(lx.text, start)
        assert match is not None
        word = match.group(0)
        self.take(Kind.GENERIC, len(word), word)
        number = parse_number(word)
        return ast.Constant(value=word if number is None else number, extent=self.extent(start))

    def script_block(self, open_token: Token) -> ast.ScriptBlockExpr:
        params: list[ast.Variable] = []
        self.lx.skip_newlines()
        match = re.compile(r"param\s*\(", re.IGNORECASE).match(self.lx.text, self.lx.pos)
        if match:
            self.lx.pos = match.end() - 1
            params = self._param_block()
        body = self.grouped(lambda: self.statement_list(Kind.RBRACE, open_token))
        return ast.ScriptBlockExpr(body=body, params=params, extent=self.extent(open_token.start))

    def _param_block(self) -> list[ast.Variable]:
        open_at = self.lx.pos
        self.lx.pos += 1
        params: list[ast.Variable] = []
        while True:
            self.lx.skip_newlines()
            ch = self.char()
            if ch == ")":
                self.lx.pos += 1
                return params
            if ch == ",":
                self.lx.pos += 1
                continue
            token = self.next()
            if token.kind is Kind.TYPE:
                continue
            if token.kind is not Kind.VARIABLE:
                if token.kind is Kind.EOF:
                    raise self.error("Missing ')' in function parameter list.",
                                     "MissingEndParenthesisInFunctionParameterList", open_at,
                                     incomplete=True)
                raise self.unexpected(token)
            params.append(ast.Variable(name=split_variable(token.value)[1], extent=token.extent))

    def expandable(self, parts: list[StringPart], extent: Extent) -> ast.Expr:
        """Turn lexer string parts into an ``ExpandableString`` (or a constant)."""
        nodes: list[str | ast.Expr] = []
        for part in parts:
            if isinstance(part, str):
                nodes.append(part)
            elif isinstance(part, VarPart):
                scope, name = split_variable(part.name)
                nodes.append(ast.Variable(name=name, scope=scope,
                                          extent=Extent(self.source, part.start, part.end)))
            elif isinstance(part, SubPart):
                nodes.append(self._string_subexpression(part))
        if all(isinstance(n, str) for n in nodes):
            return ast.Constant(value="".join(nodes), extent=extent)  # type: ignore[arg-type]
        return ast.ExpandableString(parts=nodes, extent=extent)

    def _string_subexpression(self, part: SubPart) -> ast.Expr:
        saved = self.lx.pos
        self.lx.pos = part.start
        try:
            open_token = Token(Kind.SUBEXPR, "$(", "$(", Extent(self.source, part.start - 2,
                                                                part.start))
            body = self.grouped(lambda: self.statement_list(Kind.RPAREN, open_token))
        finally:
            self.lx.pos = saved
        return ast.SubExpr(body=body, extent=Extent(self.source, part.start - 2, part.end + 1))
