"""Statement-level parsing: statement lists, keywords, pipelines, commands, redirections.

Entry points: ``parse(text, source_name) -> ast.StatementList`` (raises ``ParseError``),
``needs_more(text) -> bool`` (the host's continuation check: an open quote, brace or paren,
a trailing ``|``, binary operator or backtick), and ``tokenize(text)`` (the tokens the
parser consumed, in order, each scanned in the mode PowerShell would use).

A pipeline element starting with a letter (or ``?``, ``%``, ``&``, ``.\\``) is a command, and
its arguments are scanned in argument mode; anything else is an expression.  Keyword
statements are parsed by ``parse_keywords``, expressions by ``parse_expr``.
"""

from __future__ import annotations

import re

from shell.lang import ast
from shell.lang.errors import ParseError
from shell.lang.lexer import ARG
from shell.lang.parse_base import split_variable
from shell.lang.parse_keywords import CLOSERS, KeywordParser
from shell.lang.tokens import Kind, Source, Token

_COMMAND_START = re.compile(r"[A-Za-z_?%\\~]|\.[\\/]|\.\.[\\/]")


class Parser(KeywordParser):
    """Parses one source text into a statement list."""

    def parse_script(self) -> ast.StatementList:
        """A whole script: optional ``[CmdletBinding()]`` and ``param(...)``, then its
        statements (or ``begin``/``process``/``end`` blocks, kept on ``script_block``)."""
        block = self.block_contents(None, None)
        body = block.body
        body.params = block.params
        body.attributes = block.attributes
        if block.begin is not None or block.process is not None:
            # a script with named blocks runs them in order (no pipeline input to a script)
            params, block.params, block.attributes = block.params, [], []
            call = ast.Command(name=block, elements=[], call_operator=True, extent=block.extent)
            body = ast.StatementList(
                statements=[ast.Pipeline(elements=[call], extent=block.extent)],
                params=params, attributes=body.attributes, extent=block.extent)
        return body

    # -- statement lists -------------------------------------------------------------------

    def statement_list(self, closer: Kind | None, open_token: Token | None = None
                       ) -> ast.StatementList:
        start = self.lx.pos
        statements: list[ast.Statement] = []
        close_char = {Kind.RBRACE: "}", Kind.RPAREN: ")"}.get(closer) if closer else None
        while True:
            self._skip_separators()
            ch = self.char()
            if ch == "":
                if closer is None:
                    break
                raise self._missing_closer(closer, open_token)
            if ch == close_char:
                self.next()
                break
            if (ch in (")", "}") and closer is None) or (ch in (")", "}") and ch != close_char):
                raise self.unexpected(self.next(ARG))
            statements.append(self.statement())
            ch = self.char()
            if ch not in ("", "\n", ";") and ch != close_char:
                raise self.unexpected(self.peek(ARG))
        return ast.StatementList(statements=statements, extent=self.extent(start))

    def _missing_closer(self, closer: Kind, open_token: Token | None) -> ParseError:
        at = open_token.start if open_token else self.lx.pos
        if closer is Kind.RBRACE:
            return self.error("Missing closing '}' in statement block or type definition.",
                              "MissingEndCurlyBrace", at, self.lx.pos, incomplete=True)
        return self.error("Missing closing ')' in subexpression.",
                          "MissingEndParenthesisInSubexpression", at, self.lx.pos,
                          incomplete=True)

    def _skip_separators(self) -> None:
        while True:
            self.lx.skip_newlines()
            if self.char() == ";":
                self.take(Kind.SEMI)
            else:
                return

    # -- statements --------------------------------------------------------------------------

    def statement(self) -> ast.Statement:
        self.lx.skip_space()
        keyword_statement = self.keyword_statement()
        if keyword_statement is not None:
            return keyword_statement
        assignment = self._try_assignment()
        if assignment is not None:
            return assignment
        return self.pipeline()

    def _try_assignment(self) -> ast.Statement | None:
        if self.char() not in ("$", "["):
            return None
        saved, saved_tokens = self.lx.pos, len(self.tokens)
        try:
            target = self.unary()
            token = self.peek() if not self.at_end_of_expression() else None
        except ParseError:
            token = None
            target = None
        if token is None or token.kind is not Kind.ASSIGN or target is None:
            self.lx.pos = saved
            del self.tokens[saved_tokens:]
            return None
        self.next()
        if not isinstance(target, ast.Variable | ast.Member | ast.Index | ast.Cast):
            raise self.error("The assignment expression is not valid. The input to an assignment "
                             "operator must be an object that is able to accept assignments, "
                             "such as a variable or a property.", "InvalidLeftHandSide",
                             target.extent.start, target.extent.end)
        self.lx.skip_newlines()
        if self.char() in CLOSERS:
            raise self.error(f"You must provide a value expression following the '{token.text}' "
                             "operator.", "ExpectedValueExpression", token.end,
                             incomplete=self.char() == "")
        value = self.statement()
        return ast.Assignment(target=target, op=token.value, value=value,
                              extent=target.extent.to(value.extent))

    def _reject_assignment(self, target: ast.Expr) -> None:
        try:
            token = self.peek()
        except ParseError:
            return
        if token.kind is Kind.ASSIGN:
            raise self.error("The assignment expression is not valid. The input to an assignment "
                             "operator must be an object that is able to accept assignments, "
                             "such as a variable or a property.", "InvalidLeftHandSide",
                             target.extent.start, target.extent.end)

    # -- pipelines ---------------------------------------------------------------------------

    def pipeline(self) -> ast.Pipeline:
        start = self.lx.pos
        elements: list[ast.Command | ast.Expr] = [self._pipeline_element(first=True)]
        redirections: list[ast.Redirection] = []
        if isinstance(elements[0], ast.Expr) and self.char() in ("=", "+", "-", "*", "/", "%"):
            self._reject_assignment(elements[0])
        while True:
            ch, nxt = self.char(), self.lx.char(1)
            if ch == ">" or (ch in "123456*" and nxt == ">"):
                redirections.append(self._redirection())
                continue
            if ch != "|":
                break
            pipe = self.next()
            self.lx.skip_newlines()
            if self.char() in CLOSERS:
                raise self.error("An empty pipe element is not allowed.", "EmptyPipeElement",
                                 pipe.start, pipe.end, incomplete=self.char() == "")
            elements.append(self._pipeline_element(first=False))
        return ast.Pipeline(elements=elements, redirections=redirections,
                            extent=self.extent(start))

    def _pipeline_element(self, *, first: bool) -> ast.Command | ast.Expr:
        lx = self.lx
        lx.skip_space()
        start = lx.pos
        if lx.char() == "&":
            self.next(ARG)
            name = self.postfix(self.primary())
            return self._command(name, start, call_operator=True)
        if lx.char() == "." and lx.char(1) in (" ", "\t"):
            self.next(ARG)  # dot-sourcing runs like the call operator here
            quoted = self.char() and self.char() in "'\"$({"
            name = self.postfix(self.primary()) if quoted else self._word()
            return self._command(name, start, call_operator=True)
        if _COMMAND_START.match(lx.text, start) and not lx.text.startswith("--", start):
            return self._command(self._word(), start, call_operator=False)
        if not first:
            expr = self.expression()
            raise self.error("Expressions are only allowed as the first element of a pipeline.",
                             "ExpressionsMustBeFirstInPipeline", expr.extent.start,
                             expr.extent.end)
        return self.expression()

    def _word(self) -> ast.Expr:
        token = self.next(ARG)
        if token.kind is Kind.GENERIC and isinstance(token.value, str):
            return ast.Constant(value=token.value, bareword=True, extent=token.extent)
        if token.kind is Kind.GENERIC:
            return self.expandable(token.value, token.extent)
        raise self.unexpected(token)

    def _redirection(self) -> ast.Redirection:
        token = self.next(ARG)
        text: str = token.value
        stream = text[0] if text[0] in "123456*" else "1"
        if text.endswith("&1") or text.endswith("&2"):
            return ast.Redirection(stream=stream, merge=True, extent=token.extent)
        if self.char() in CLOSERS:
            raise self.error("Missing file specification after redirection operator.",
                             "MissingFileSpecification", token.end)
        target = self._argument_element()
        return ast.Redirection(stream=stream, append=text.endswith(">>"), target=target,
                               extent=token.extent.to(target.extent))

    # -- commands ----------------------------------------------------------------------------

    def _command(self, name: ast.Expr, start: int, *, call_operator: bool) -> ast.Command:
        elements: list[ast.CommandParameter | ast.CommandArgument] = []
        lx = self.lx
        while True:
            ch = self.char()
            if ch in CLOSERS or ch == ">" or (ch in "123456*" and lx.char(1) == ">"):
                break
            if ch in "-–—―":
                saved = lx.pos
                token = self.next(ARG)
                if token.kind is Kind.PARAMETER:
                    elements.append(self._parameter(token))
                    continue
                if token.kind is Kind.STOP_PARSING:
                    elements.extend(self._stop_parsing())
                    break
                lx.pos = saved
                self.tokens.pop()
            if ch == "@" and re.match(r"\w", lx.char(1)):
                token = self.next(ARG)
                scope, var = split_variable(token.value)
                value: ast.Expr = ast.Variable(name=var, scope=scope, splat=True,
                                               extent=token.extent)
            else:
                value = self.argument_value()
            elements.append(ast.CommandArgument(value=value, extent=value.extent))
        return ast.Command(name=name, elements=elements, call_operator=call_operator,
                           extent=self.extent(start))

    def _parameter(self, token: Token) -> ast.CommandParameter:
        colon = token.text.endswith(":")
        value = None
        if colon:
            if self.char() in CLOSERS:
                raise self.error(f"Missing an argument for parameter '{token.value}'.",
                                 "MissingArgument", token.start, token.end)
            value = self.argument_value()
        end = value.extent if value is not None else token.extent
        return ast.CommandParameter(name=token.value, value=value, colon=colon,
                                    extent=token.extent.to(end))

    def _stop_parsing(self) -> list[ast.CommandParameter | ast.CommandArgument]:
        lx, out = self.lx, []
        line_end = lx.text.find("\n", lx.pos)
        line_end = len(lx.text) if line_end < 0 else line_end
        for match in re.finditer(r"\S+", lx.text[lx.pos : line_end]):
            extent = self.extent(lx.pos + match.start(), lx.pos + match.end())
            value = ast.Constant(value=match.group(0), bareword=True, extent=extent)
            out.append(ast.CommandArgument(value=value, extent=extent))
        lx.pos = line_end
        return out  # type: ignore[return-value]

    def argument_value(self) -> ast.Expr:
        """One argument: an element, or elements joined by commas into an array."""
        first = self._argument_element()
        if self.char() != ",":
            return first
        items = [first]
        while self.char() == ",":
            comma = self.next(ARG)
            self.lx.skip_newlines()
            if self.char() in CLOSERS:
                raise self.error("Missing argument in parameter list.", "MissingArgument",
                                 comma.end, incomplete=self.char() == "")
            items.append(self._argument_element())
        return ast.ArrayLiteral(items=items, extent=first.extent.to(items[-1].extent))

    def _argument_element(self) -> ast.Expr:
        lx = self.lx
        ch = self.char()
        if (ch and ch in "$({'\"‘’“”") or (ch == "@" and lx.char(1) and lx.char(1) in "({'\""):
            saved, self.comma_ok = self.comma_ok, False
            try:
                expr = self.postfix(self.primary())
            finally:
                self.comma_ok = saved
            return expr
        token = self.next(ARG)
        if token.kind is Kind.NUMBER:
            return ast.Constant(value=token.value, bareword=True, extent=token.extent)
        if token.kind is Kind.GENERIC:
            if isinstance(token.value, str):
                return ast.Constant(value=token.value, bareword=True, extent=token.extent)
            return self.expandable(token.value, token.extent)
        raise self.unexpected(token)


def parse(text: str, source_name: str = "<stdin>") -> ast.StatementList:
    """Parse a whole chunk of program text; raises ``ParseError``."""
    return Parser(Source(text, source_name)).parse_script()


def parse_source(source: Source) -> ast.StatementList:
    return Parser(source).parse_script()


def needs_more(text: str) -> bool:
    """True when ``text`` is an unfinished statement that more lines could complete."""
    if text.rstrip(" \t\r\n").endswith("`") and not text.rstrip(" \t\r\n").endswith("``"):
        return True
    try:
        parse(text)
    except ParseError as err:
        return err.incomplete
    except Exception:  # a parser defect: let the session report it instead of looping
        return False
    return False


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text`` in the order the parser consumed them (for tests and tools)."""
    parser = Parser(Source(text))
    parser.parse_script()
    return [t for t in parser.tokens if t.kind is not Kind.EOF]
