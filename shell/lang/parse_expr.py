"""Expression-mode parsing: operators by PowerShell precedence, primaries and postfixes.

Precedence, loosest first (PowerShell language spec, chapter 7):
``-and -or -xor`` < ``-band -bor -bxor`` < comparison (``-eq`` ... ``-replace -split -join
-is -as``) < ``+ -`` < ``* / %`` < ``-f`` < ``..`` < binary ``,`` < unary (``-not ! - +
-split -join , [cast]``) < postfix (``.member`` ``::member`` ``[index]`` ``(args)``).
So ``1,2 -eq 2`` compares the array ``1,2`` and ``-not $a -eq $b`` negates ``$a`` only.

``ExpressionParser`` sits between ``parse_literals.LiteralParser`` (hashtables, script blocks,
expandable strings) and ``parse_keywords.KeywordParser`` in the parser's class chain.
"""

from __future__ import annotations

import re

from shell.lang import ast
from shell.lang.errors import ParseError
from shell.lang.lexer import ARG
from shell.lang.parse_base import split_variable
from shell.lang.parse_literals import LiteralParser
from shell.lang.tokens import Kind, Token

_LOGICAL = ("and", "or", "xor")
_BITWISE = ("band", "bor", "bxor")
_COMPARISON = {
    "eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "match", "notmatch", "contains",
    "notcontains", "in", "notin", "replace", "split", "join", "is", "isnot", "as", "shl", "shr",
}
_COMPARISON |= {p + o for o in list(_COMPARISON) for p in ("c", "i")}
_UNARY = ("not", "!", "bnot", "split", "join", "-", "+", "++", "--")
_MEMBER_NAME = re.compile(r"[A-Za-z_][\w]*")


class ExpressionParser(LiteralParser):
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
