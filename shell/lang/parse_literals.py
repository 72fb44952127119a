"""Literal constructs of expressions: ``@{ }`` hashtables, ``{ }`` script blocks with their
``param( )`` block, and expandable strings (the lexer's parts turned into AST nodes, with
each ``$( )`` parsed as statements on the same source).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from shell.lang import ast
from shell.lang.errors import ParseError
from shell.lang.lexer import ARG
from shell.lang.numbers import parse_number
from shell.lang.parse_base import ParserBase, split_variable
from shell.lang.strings import StringPart, SubPart, VarPart
from shell.lang.tokens import Extent, Kind, Token

_PARAM = re.compile(r"param\s*\(", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"\[\s*([A-Za-z_][\w.]*(?:\[\])?)\s*([(\]])")
_NAMED_ARG = re.compile(r"([A-Za-z_]\w*)(?=\s*(?:[=,)\n]|$))")
_NAMED_BLOCK = re.compile(r"(begin|process|end|dynamicparam)(?=\s*\{)", re.IGNORECASE)


class LiteralParser(ParserBase):
    if TYPE_CHECKING:  # provided by parse_expr.ExpressionParser
        def expression(self) -> ast.Expr: ...

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
        return self.block_contents(Kind.RBRACE, open_token)

    def block_contents(self, closer: Kind | None, open_token: Token | None
                       ) -> ast.ScriptBlockExpr:
        """A script block's or a script's inside: ``[CmdletBinding()]``, ``param( )``, then
        statements or the named blocks ``begin``/``process``/``end``; consumes the closer."""
        start = open_token.start if open_token is not None else self.lx.pos
        self.lx.skip_newlines()
        attributes = self._leading_attributes()
        params: list[ast.ParamDecl] = []
        match = _PARAM.match(self.lx.text, self.lx.pos)
        if match:
            self.take(Kind.IDENT, match.end() - 1 - self.lx.pos, "param")
            params = self._param_block()
        blocks = self._named_blocks(closer, open_token)
        if blocks is None:
            body = self.grouped(lambda: self.statement_list(closer, open_token))
            return ast.ScriptBlockExpr(body=body, params=params, attributes=attributes,
                                       extent=self.extent(start))
        end = blocks.get("end") or ast.StatementList(statements=[], extent=self.extent(start))
        return ast.ScriptBlockExpr(body=end, params=params, attributes=attributes,
                                   begin=blocks.get("begin"), process=blocks.get("process"),
                                   extent=self.extent(start))

    def _leading_attributes(self) -> list[ast.Attribute]:
        """``[CmdletBinding()]`` and friends, kept only when a ``param( )`` block follows."""
        if self.char() != "[":
            return []
        saved, saved_tokens = self.lx.pos, len(self.tokens)
        attributes: list[ast.Attribute] = []
        try:
            while self.char() == "[":
                found = self._attribute()
                if not isinstance(found, ast.Attribute):
                    raise ParseError("not an attribute", "NotAnAttribute", None)
                attributes.append(found)
                self.lx.skip_newlines()
        except ParseError as err:
            if err.incomplete:
                raise
            attributes = []
        if attributes and _PARAM.match(self.lx.text, self.lx.pos):
            return attributes
        if attributes and self.char() == "":  # [CmdletBinding()] typed, param( ) to come
            raise self.error("Missing param block after the attributes.", "MissingParamBlock",
                             self.lx.pos, incomplete=True)
        self.lx.pos = saved
        del self.tokens[saved_tokens:]
        return []

    def _attribute(self) -> ast.Attribute | str:
        """One ``[Name(args)]`` attribute, or a type constraint ``[int]`` (returned as text)."""
        start = self.lx.pos
        match = _ATTRIBUTE.match(self.lx.text, start)
        if match is None:
            raise self.error("Missing type name after '['.", "MissingTypename", start + 1,
                             incomplete=self.lx.text[start + 1:].strip() == "")
        name = match.group(1)
        if match.group(2) == "]":
            self.take(Kind.TYPE, match.end() - start, name)
            return name
        self.take(Kind.TYPE, match.end() - start, name)
        args: list[ast.Expr] = []
        named: list[tuple[str, ast.Expr | None]] = []
        saved, self.comma_ok = self.comma_ok, False
        try:
            while True:
                self.lx.skip_newlines()
                ch = self.char()
                if ch == ")":
                    self.take(Kind.RPAREN)
                    break
                if ch == "":
                    raise self.error("Missing ')' in attribute argument list.",
                                     "MissingEndParenthesisInExpression", start, incomplete=True)
                if ch == ",":
                    self.take(Kind.COMMA)
                    continue
                word = _NAMED_ARG.match(self.lx.text, self.lx.pos)
                if word is not None:
                    self.take(Kind.IDENT, len(word.group(1)), word.group(1))
                    value: ast.Expr | None = None
                    if self.char() == "=":
                        self.take(Kind.ASSIGN, 1, "=")
                        self.lx.skip_newlines()
                        value = self.expression()
                    named.append((word.group(1), value))
                else:
                    args.append(self.expression())
        finally:
            self.comma_ok = saved
        if self.char() != "]":
            raise self.error("Missing closing ']' in attribute.", "EndSquareBracketExpected",
                             self.lx.pos, incomplete=self.char() == "")
        self.take(Kind.RBRACKET)
        return ast.Attribute(name=name, args=args, named=named, extent=self.extent(start))

    def _param_block(self) -> list[ast.ParamDecl]:
        open_at = self.lx.pos
        self.take(Kind.LPAREN)
        params: list[ast.ParamDecl] = []
        seen: set[str] = set()  # variable names are case-insensitive
        while True:
            self.lx.skip_newlines()
            ch = self.char()
            if ch == ")":
                self.take(Kind.RPAREN)
                return params
            if ch == ",":
                self.take(Kind.COMMA)
                continue
            if ch == "":
                raise self.error("Missing ')' in function parameter list.",
                                 "MissingEndParenthesisInFunctionParameterList", open_at,
                                 incomplete=True)
            params.append(self._parameter_declaration(seen))

    def _parameter_declaration(self, seen: set[str] | None = None) -> ast.ParamDecl:
        start = self.lx.pos
        attributes: list[ast.Attribute] = []
        type_name: str | None = None
        while self.char() == "[":
            found = self._attribute()
            if isinstance(found, str):
                type_name = found
            else:
                attributes.append(found)
            self.lx.skip_newlines()
        token = self.next()
        if token.kind is not Kind.VARIABLE:
            if token.kind is Kind.EOF:
                raise self.error("Missing ')' in function parameter list.",
                                 "MissingEndParenthesisInFunctionParameterList", start,
                                 incomplete=True)
            raise self.error("Missing variable name in parameter declaration.",
                             "InvalidFunctionParameter", token.start, token.end)
        if seen is not None:
            key = split_variable(token.value)[1].lower()
            if key in seen:
                raise self.error(f"Duplicate parameter {token.text} in parameter list.",
                                 "DuplicateFormalParameter", token.start, token.end)
            seen.add(key)
        default: ast.Expr | None = None
        if self.char() == "=":
            self.take(Kind.ASSIGN, 1, "=")
            self.lx.skip_newlines()
            if self.char() in ("", ",", ")"):
                raise self.error("Parameter declarations are a comma-separated list of variable "
                                 "names with optional initializer expressions.",
                                 "ExpectedValueExpression", self.lx.pos,
                                 incomplete=self.char() == "")
            saved, self.comma_ok = self.comma_ok, False
            try:
                default = self.expression()
            finally:
                self.comma_ok = saved
        return ast.ParamDecl(name=split_variable(token.value)[1], type_name=type_name,
                             default=default, attributes=attributes, extent=self.extent(start))

    def _named_blocks(self, closer: Kind | None, open_token: Token | None
                      ) -> dict[str, ast.StatementList] | None:
        """``begin { } process { } end { }``; None when the body is plain statements."""
        self._skip_separators_raw()
        if not _NAMED_BLOCK.match(self.lx.text, self.lx.pos):
            return None
        blocks: dict[str, ast.StatementList] = {}
        close_char = "}" if closer is Kind.RBRACE else ""
        while True:
            self._skip_separators_raw()
            ch = self.char()
            if ch == close_char:
                if ch:
                    self.take(Kind.RBRACE)
                return blocks
            if ch == "" and closer is not None:
                raise self.error("Missing closing '}' in statement block or type definition.",
                                 "MissingEndCurlyBrace", open_token.start if open_token else 0,
                                 self.lx.pos, incomplete=True)
            match = _NAMED_BLOCK.match(self.lx.text, self.lx.pos)
            if match is None:
                raise self.unexpected(self.next(ARG))
            word = match.group(1).lower()
            if word == "dynamicparam":
                raise self.error("dynamicparam blocks are not supported by imsh.",
                                 "DynamicParamNotSupported", match.start(), match.end(1))
            self.take(Kind.IDENT, len(match.group(1)), word)
            self.lx.skip_newlines()
            brace = self.next()
            blocks[word] = self.grouped(lambda brace=brace: self.statement_list(  # type: ignore[misc]
                Kind.RBRACE, brace))

    def _skip_separators_raw(self) -> None:
        while True:
            self.lx.skip_newlines()
            if self.char() != ";":
                return
            self.take(Kind.SEMI)

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
