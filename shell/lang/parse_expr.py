"""Expression-mode parsing: operators by PowerShell precedence, primaries and postfixes.

Precedence, loosest first (PowerShell language spec, chapter 7):
``-and -or -xor`` < ``-band -bor -bxor`` < comparison (``-eq`` ... ``-replace -split -join
-is -as``) < ``+ -`` < ``* / %`` < ``-f`` < ``..`` < binary ``,`` < unary (``-not ! - +
-split -join , [cast]``) < postfix (``.member`` ``::member`` ``[index]`` ``(args)``).
So ``1,2 -eq 2`` compares the array ``1,2`` and ``-not $a -eq $b`` negates ``$a`` only.

``ExpressionParser`` is the base of ``parser.Parser``; the statement-level hooks it needs
(``statement_list``, ``statement``) are implemented there.
"""

from __future__ import annotations

import re

from shell.lang import ast
from shell.lang.errors import ParseError
from shell.lang.lexer import ARG, EXPR, Lexer
from shell.lang.numbers import parse_number
from shell.lang.strings import SubPart, VarPart
from shell.lang.tokens import Extent, Kind, Source, Token

_LOGICAL = ("and", "or", "xor")
_BITWISE = ("band", "bor", "bxor")
_COMPARISON = {
    "eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "match", "notmatch", "contains",
    "notcontains", "in", "notin", "replace", "split", "join", "is", "isnot", "as", "shl", "shr",
}
_COMPARISON |= {p + o for o in list(_COMPARISON) for p in ("c", "i")}
_UNARY = ("not", "!", "bnot", "split", "join", "-", "+", "++", "--")
_SCOPES = ("global", "script", "local", "private", "env", "variable", "using")
_MEMBER_NAME = re.compile(r"[A-Za-z_][\w]*")


def split_variable(name: str) -> tuple[str, str]:
    """``global:x`` -> ("global", "x"); ``x`` -> ("", "x")."""
    scope, sep, rest = name.partition(":")
    if sep and scope.lower() in _SCOPES and rest:
        return scope.lower(), rest
    return "", name


class ExpressionParser:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.lx = Lexer(source)
        self.tokens: list[Token] = []
        self.comma_ok = True

    # -- statement hooks (parser.Parser) --------------------------------------------------

    def statement_list(self, closer: Kind | None, open_token: Token | None = None
                       ) -> ast.StatementList:
        raise NotImplementedError

    def statement(self) -> ast.Statement:
        raise NotImplementedError

    # -- token helpers ---------------------------------------------------------------------

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

    # -- binary levels ---------------------------------------------------------------------

    def expression(self) -> ast.Expr:
        return self._binary_level(0)

    _LEVELS: tuple[tuple[str, ...] | frozenset[str], ...] = (
        _LOGICAL, _BITWISE, frozenset(_COMPARISON), ("+", "-"), ("*", "/", "%"), ("f",),
    )

    def _binary_level(self, level: int) -> ast.Expr:
        if level == len(self._LEVELS):
            return self.range_expr()
        left = self._binary_level(level + 1)
        ops = self._LEVELS[level]
        while True:
            token = self._peek_operator()
            if token is None or token.value not in ops:
                return left
            self.next()
            right = self._operand_after(token, level + 1)
            left = ast.Binary(op=token.value, left=left, right=right,
                              extent=left.extent.to(right.extent))

    def _peek_operator(self) -> Token | None:
        if self.at_end_of_expression():
            return None
        try:
            token = self.peek()
        except ParseError:
            return None
        return token if token.kind is Kind.OPERATOR else None

    def _operand_after(self, op: Token, level: int) -> ast.Expr:
        self.lx.skip_newlines()
        if self.char() in ("", ")", "}", "]", ";", "|"):
            raise self.error(
                f"You must provide a value expression following the '{op.text}' operator.",
                "ExpectedValueExpression", op.end, incomplete=self.char() == "")
        return self._binary_level(level) if level < len(self._LEVELS) else self.range_expr()

    def range_expr(self) -> ast.Expr:
        left = self.array_literal()
        while not self.at_end_of_expression() and self.peek().kind is Kind.DOTDOT:
            op = self.next()
            self.lx.skip_newlines()
            if self.char() in ("", ")", "}", "]", ";", "|"):
                raise self.error("You must provide a value expression following the '..' "
                                 "operator.", "ExpectedValueExpression", op.end,
                                 incomplete=self.char() == "")
            right = self.array_literal()
            left = ast.Binary(op="..", left=left, right=right,
                              extent=left.extent.to(right.extent))
        return left

    def array_literal(self) -> ast.Expr:
        first = self.unary()
        if not self.comma_ok or self.char() != ",":
            return first
        items = [first]
        while self.char() == ",":
            comma = self.next()
            self.lx.skip_newlines()
            if self.char() in ("", ")", "}", "]", ";", "|"):
                raise self.error("Missing expression after ','.", "MissingExpressionAfterToken",
                                 comma.end, incomplete=self.char() == "")
            items.append(self.unary())
        return ast.ArrayLiteral(items=items, extent=first.extent.to(items[-1].extent))

    # -- unary and postfix -------------------------------------------------------------------

    def unary(self) -> ast.Expr:
        start = self.lx.pos
        if self.char() == "":
            raise self.error("Unexpected end of input.", "UnexpectedEndOfInput", start,
                             incomplete=True)
        token = self.peek()
        if token.kind is Kind.COMMA:
            self.next()
            operand = self.unary()
            return ast.Unary(op=",", operand=operand, extent=token.extent.to(operand.extent))
        if token.kind is Kind.OPERATOR and token.value in _UNARY:
            self.next()
            if self.at_end_of_expression():
                raise self.error(f"Missing expression after unary operator '{token.text}'.",
                                 "MissingExpressionAfterOperator", token.end,
                                 incomplete=self.char() == "")
            operand = self.unary()
            op = "not" if token.value == "!" else token.value
            if op == "-" and isinstance(operand, ast.Constant) and isinstance(
                    operand.value, int | float) and not isinstance(operand.value, bool):
                return ast.Constant(value=-operand.value, extent=token.extent.to(operand.extent))
            return ast.Unary(op=op, operand=operand, extent=token.extent.to(operand.extent))
        if token.kind is Kind.TYPE:
            return self._type_expression()
        return self.postfix(self.primary())

    def _type_expression(self) -> ast.Expr:
        token = self.next()
        literal = ast.TypeLiteral(name=token.value, extent=token.extent)
        if self.lx.char() == ":" and self.lx.char(1) == ":":
            return self.postfix(literal)
        if self.at_end_of_expression() or (self.lx.at_whitespace() and self._next_is_operator()):
            return literal
        nxt = self.peek()
        if nxt.kind in (Kind.COMMA, Kind.DOTDOT, Kind.ASSIGN, Kind.RPAREN, Kind.REDIRECT):
            return literal
        operand = self.unary()
        if token.value.lower() == "ordered" and isinstance(operand, ast.HashLiteral):
            operand.ordered = True
            return operand
        return ast.Cast(type_name=token.value, operand=operand,
                        extent=token.extent.to(operand.extent))

    def _next_is_operator(self) -> bool:
        try:
            token = self.peek()
        except ParseError:
            return False
        return token.kind is Kind.OPERATOR and token.value not in _UNARY

    def postfix(self, expr: ast.Expr) -> ast.Expr:
        """Member access, static members, indexes and method calls glued to ``expr``."""
        lx = self.lx
        while True:
            ch, nxt = lx.char(), lx.char(1)
            if ch == "." and nxt != ".":
                self.take(Kind.DOT)
                expr = self._member(expr, static=False)
            elif ch == ":" and nxt == ":":
                self.take(Kind.DCOLON, 2)
                expr = self._member(expr, static=True)
            elif ch == "[" and not isinstance(expr, ast.TypeLiteral):
                expr = self._index(expr)
            elif ch and ch in "+-" and nxt == ch and isinstance(expr, ast.Variable | ast.Member
                                                           | ast.Index):
                self.take(Kind.OPERATOR, 2, ch * 2)
                expr = ast.Unary(op="p" + ch * 2, operand=expr, extent=self.extent(
                    expr.extent.start))
            else:
                return expr

    def _member(self, target: ast.Expr, *, static: bool) -> ast.Expr:
        lx, start = self.lx, self.lx.pos
        match = _MEMBER_NAME.match(lx.text, start)
        name: ast.Expr
        if match:
            self.take(Kind.IDENT, match.end() - start, match.group(0))
            name = ast.Constant(value=match.group(0), extent=self.extent(start))
        elif lx.char() and lx.char() in "'\"$(":
            name = self.primary()
        else:
            raise self.error("Missing property name after reference operator.",
                             "MissingPropertyName", start, incomplete=lx.char() == "")
        if lx.char() == "(":
            args = self._call_arguments()
            return ast.MethodCall(target=target, name=name, args=args, static=static,
                                  extent=self.extent(target.extent.start))
        return ast.Member(target=target, name=name, static=static,
                          extent=self.extent(target.extent.start))

    def _call_arguments(self) -> list[ast.Expr]:
        open_at = self.lx.pos
        self.take(Kind.LPAREN)
        args: list[ast.Expr] = []
        saved, self.comma_ok = self.comma_ok, False
        try:
            self.lx.skip_newlines()
            if self.char() == ")":
                self.take(Kind.RPAREN)
                return args
            while True:
                self.lx.skip_newlines()
                if self.char() in (")", ","):
                    raise self.error("Missing argument in parameter list.", "MissingArgument",
                                     self.lx.pos)
                args.append(self.expression())
                self.lx.skip_newlines()
                ch = self.char()
                if ch == ",":
                    self.take(Kind.COMMA)
                elif ch == ")":
                    self.take(Kind.RPAREN)
                    return args
                else:
                    raise self.error("Missing ')' in method call.",
                                     "MissingEndParenthesisInMethodCall", open_at, self.lx.pos,
                                     incomplete=ch == "")
        finally:
            self.comma_ok = saved

    def _index(self, target: ast.Expr) -> ast.Expr:
        open_at = self.lx.pos
        self.take(Kind.LBRACKET)
        self.lx.skip_newlines()
        if self.char() == "]":
            raise self.error("Array index expression is missing or not valid.",
                             "MissingArrayIndexExpression", open_at, self.lx.pos + 1)
        saved, self.comma_ok = self.comma_ok, True
        try:
            index = self.expression()
        finally:
            self.comma_ok = saved
        self.lx.skip_newlines()
        if self.char() != "]":
            raise self.error("Missing ']' after array index expression.",
                             "MissingEndSquareBracket", open_at, self.lx.pos,
                             incomplete=self.char() == "")
        self.take(Kind.RBRACKET)
        return ast.Index(target=target, index=index, extent=self.extent(target.extent.start))

    # -- primaries ---------------------------------------------------------------------------

    def primary(self) -> ast.Expr:
        token = self.next()
        kind = token.kind
        if kind in (Kind.NUMBER, Kind.STRING):
            return ast.Constant(value=token.value, extent=token.extent)
        if kind is Kind.XSTRING:
            return self.expandable(token.value, token.extent)
        if kind is Kind.VARIABLE:
            scope, name = split_variable(token.value)
            return ast.Variable(name=name, scope=scope, extent=token.extent)
        if kind in (Kind.SUBEXPR, Kind.ARRAYEXPR):
            body = self.grouped(lambda: self.statement_list(Kind.RPAREN, token))
            return ast.SubExpr(body=body, array=kind is Kind.ARRAYEXPR,
                               extent=self.extent(token.start))
        if kind is Kind.LPAREN:
            return self._paren(token)
        if kind is Kind.HASH:
            return self.hash_literal(token)
        if kind is Kind.LBRACE:
            return self.script_block(token)
        if kind is Kind.TYPE:
            return ast.TypeLiteral(name=token.value, extent=token.extent)
        raise self.unexpected(token)

    def grouped(self, parse):
        """Run ``parse`` with commas allowed again (inside ( ), $( ), { })."""
        saved, self.comma_ok = self.comma_ok, True
        try:
            return parse()
        finally:
            self.comma_ok = saved

    def _paren(self, open_token: Token) -> ast.Expr:
        def inner() -> ast.Statement:
            self.lx.skip_newlines()
            if self.char() == ")":
                raise self.error("An expression was expected after '('.",
                                 "ExpectedExpression", open_token.end)
            stmt = self.statement()
            self.lx.skip_newlines()
            if self.char() != ")":
                ch = self.char()
                if ch == "":
                    raise self.error("Missing closing ')' in expression.",
                                     "MissingEndParenthesisInExpression", open_token.start,
                                     self.lx.pos, incomplete=True)
                raise self.unexpected(self.peek(ARG))
            self.take(Kind.RPAREN)
            return stmt

        statement = self.grouped(inner)
        return ast.ParenExpr(statement=statement, extent=self.extent(open_token.start))

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

    def expandable(self, parts: list, extent: Extent) -> ast.Expr:
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
