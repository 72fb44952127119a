"""The mode-aware tokenizer.

PowerShell tokenizes the same characters differently depending on where they stand: after a
command name, ``imap.contoso.com`` and ``2+2`` are bareword strings (argument mode); in an
expression, ``2+2`` is arithmetic (expression mode).  The parser knows which mode applies, so
the lexer is a cursor the parser drives: ``next(mode)`` scans one token at the current position.
Whitespace, backtick line continuations and comments (``#`` and ``<# #>``) are skipped;
newlines are tokens because they end statements.

Strings and barewords are scanned by ``strings.StringScanner`` (a mixin of the lexer);
numbers by ``numbers.parse_number``.
"""

from __future__ import annotations

import re

from shell.lang.errors import ParseError
from shell.lang.numbers import parse_number
from shell.lang.strings import ARG_END, QUOTE_DOUBLE, QUOTE_SINGLE, StringScanner
from shell.lang.tokens import Extent, Kind, Source, Token

EXPR = "expr"
ARG = "arg"

# Operators written -name, without the c/i case prefix.
_DASH_OPERATORS = {
    "eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "match", "notmatch",
    "contains", "notcontains", "in", "notin", "replace", "split", "join", "is", "isnot",
    "as", "f", "and", "or", "xor", "not", "band", "bor", "bxor", "bnot", "shl", "shr",
}
_CASE_OPERATORS = {"eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "match", "notmatch",
                   "contains", "notcontains", "in", "notin", "replace", "split"}
OPERATOR_NAMES = _DASH_OPERATORS | {p + o for o in _CASE_OPERATORS for p in ("c", "i")}

_DASHES = "-–—―"
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TYPE = re.compile(r"\[\s*([A-Za-z_][\w.`+]*(?:\[\s*\])?)\s*\]")
_SCOPED = re.compile(r"(global|script|local|private|env|variable|using):", re.IGNORECASE)
_PARAM = re.compile(r"[A-Za-z_?][\w\-]*")


class Lexer(StringScanner):
    """A cursor over ``source`` scanning one token at a time in a given mode."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.text = source.text
        self.pos = 0

    # -- helpers -------------------------------------------------------------------------

    def extent(self, start: int, end: int) -> Extent:
        return Extent(self.source, start, end)

    def error(self, message: str, error_id: str, start: int, end: int | None = None,
              *, incomplete: bool = False) -> ParseError:
        err = ParseError(message, error_id, self.extent(start, end if end is not None else start))
        err.incomplete = incomplete
        return err

    def char(self, offset: int = 0) -> str:
        i = self.pos + offset
        return self.text[i] if i < len(self.text) else ""

    def at_whitespace(self) -> bool:
        """True when the cursor stands on whitespace (tokens are not adjacent)."""
        return self.char() in (" ", "\t", "\r", "\n", "`", "")

    def skip_space(self) -> None:
        """Skip blanks, comments and backtick-newline continuations (not newlines)."""
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch in " \t\r\f\v\u00a0":
                self.pos += 1
            elif ch == "`" and text[self.pos + 1 : self.pos + 2] in ("\n", "\r"):
                self.pos += 2
                if text[self.pos - 1] == "\r" and text[self.pos : self.pos + 1] == "\n":
                    self.pos += 1
            elif ch == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            elif ch == "<" and text[self.pos + 1 : self.pos + 2] == "#":
                end = text.find("#>", self.pos + 2)
                if end < 0:
                    raise self.error("Missing the closing '#>' of a block comment.",
                                     "MissingEndOfBlockComment", self.pos, incomplete=True)
                self.pos = end + 2
            else:
                return

    def skip_newlines(self) -> None:
        while True:
            self.skip_space()
            if self.char() == "\n":
                self.pos += 1
            else:
                return

    def make(self, kind: Kind, start: int, value: object = None) -> Token:
        text = self.text[start : self.pos]
        return Token(kind, text, text if value is None else value, self.extent(start, self.pos))

    # -- entry point -----------------------------------------------------------------------

    def next(self, mode: str) -> Token:
        """Scan and consume the next token in ``mode`` (``EXPR`` or ``ARG``)."""
        self.skip_space()
        start = self.pos
        if start >= len(self.text):
            return self.make(Kind.EOF, start, "")
        ch = self.text[start]
        simple = self._simple(ch, start)
        if simple is not None:
            return simple
        if ch in QUOTE_SINGLE:
            return self.verbatim_string(start)
        if ch in QUOTE_DOUBLE:
            return self.expandable_string(start)
        if ch == "$":
            return self._dollar(start)
        if ch == "@":
            return self._at(start, mode)
        if mode == ARG:
            return self._argument(start)
        return self._expression(start)

    def peek(self, mode: str) -> Token:
        saved = self.pos
        try:
            return self.next(mode)
        finally:
            self.pos = saved

    def _simple(self, ch: str, start: int) -> Token | None:
        kinds = {"\n": Kind.NEWLINE, ";": Kind.SEMI, "(": Kind.LPAREN, ")": Kind.RPAREN,
                 "{": Kind.LBRACE, "}": Kind.RBRACE, ",": Kind.COMMA}
        if ch in kinds:
            self.pos += 1
            return self.make(kinds[ch], start)
        if ch == "|":
            if self.char(1) == "|":
                raise self.error("The token '||' is not a valid statement separator in this "
                                 "version.", "InvalidEndOfLine", start, start + 2)
            self.pos += 1
            return self.make(Kind.PIPE, start)
        if ch == "&":
            if self.char(1) == "&":
                raise self.error("The token '&&' is not a valid statement separator in this "
                                 "version.", "InvalidEndOfLine", start, start + 2)
            self.pos += 1
            return self.make(Kind.AMP, start)
        if ch == ">" or (ch in "123456*" and self.char(1) == ">"):
            return self._redirect(start)
        if ch == "<":
            raise self.error("The '<' operator is reserved for future use.",
                             "RedirectionNotSupported", start, start + 1)
        return None

    def _redirect(self, start: int) -> Token:
        match = re.compile(r"([1-6*]?)>(>|&[12])?").match(self.text, start)
        assert match is not None
        self.pos = match.end()
        return self.make(Kind.REDIRECT, start, match.group(0))

    # -- strings -----------------------------------------------------------------------------

    def _here_string(self, start: int) -> Token:
        quote = self.text[start + 1]
        nl = start + 2
        while nl < len(self.text) and self.text[nl] in " \t\r":
            nl += 1
        if nl >= len(self.text) or self.text[nl] != "\n":
            raise self.error("No characters are allowed after a here-string header but before "
                             "the end of the line.", "UnexpectedCharactersAfterHereStringHeader",
                             start, nl, incomplete=nl >= len(self.text))
        closing = re.compile(r"\r?\n" + ("'@" if quote in QUOTE_SINGLE else '"@'))
        match = closing.search(self.text, nl)
        if match is None:
            term = "'@" if quote in QUOTE_SINGLE else '"@'
            raise self.error(f"The string is missing the terminator: {term}.",
                             "TerminatorExpectedAtEndOfString", start, len(self.text),
                             incomplete=True)
        body_start, body_end = nl + 1, match.start()
        self.pos = match.end()
        if quote in QUOTE_SINGLE:
            return self.make(Kind.STRING, start, self.text[body_start:body_end])
        sub = Lexer(Source(self.text[:body_end], self.source.name))
        sub.source = self.source
        parts, _ = sub.scan_expandable(body_start, "", start)
        return self.make(Kind.XSTRING, start, parts)

    # -- $ and @ -----------------------------------------------------------------------------

    def _dollar(self, start: int) -> Token:
        text = self.text
        nxt = text[start + 1 : start + 2]
        if nxt == "(":
            self.pos = start + 2
            return self.make(Kind.SUBEXPR, start)
        if nxt == "{":
            close = text.find("}", start + 2)
            if close < 0:
                raise self.error("Missing closing '}' in variable reference.",
                                 "MissingEndCurlyBrace", start, len(text), incomplete=True)
            self.pos = close + 1
            return self.make(Kind.VARIABLE, start, text[start + 2 : close])
        if nxt in ("?", "$", "^", "_") and (
                nxt != "_" or not re.match(r"\w", text[start + 2 : start + 3])):
            self.pos = start + 2
            return self.make(Kind.VARIABLE, start, nxt)
        scoped = _SCOPED.match(text, start + 1)
        name_at = scoped.end() if scoped else start + 1
        match = re.compile(r"\w+").match(text, name_at)
        if not match:
            self.pos = start + 1
            raise self.error("Variable reference is not valid. '$' was not followed by a valid "
                             "variable name character. Consider using ${} to delimit the name.",
                             "InvalidVariableReference", start, start + 1)
        self.pos = match.end()
        return self.make(Kind.VARIABLE, start, text[start + 1 : self.pos])

    def _at(self, start: int, mode: str) -> Token:
        nxt = self.char(1)
        if nxt == "(":
            self.pos = start + 2
            return self.make(Kind.ARRAYEXPR, start)
        if nxt == "{":
            self.pos = start + 2
            return self.make(Kind.HASH, start)
        if nxt and (nxt in QUOTE_SINGLE or nxt in QUOTE_DOUBLE):
            return self._here_string(start)
        match = re.compile(r"\w+").match(self.text, start + 1)
        if match:
            self.pos = match.end()
            return self.make(Kind.SPLAT, start, match.group(0))
        if mode == ARG:
            return self._argument(start)
        self.pos = start + 1
        raise self.error("Unrecognized token in source text.", "UnrecognizedToken",
                         start, start + 1)

    # -- argument mode ---------------------------------------------------------------------

    def _argument(self, start: int) -> Token:
        ch = self.text[start]
        if ch in _DASHES:
            token = self._parameter(start)
            if token is not None:
                return token
        return self.bareword(start)

    def _parameter(self, start: int) -> Token | None:
        text = self.text
        if text.startswith("--%", start):
            self.pos = start + 3
            return self.make(Kind.STOP_PARSING, start)
        match = _PARAM.match(text, start + 1)
        if not match:
            return None
        end = match.end()
        colon = text[end : end + 1] == ":"
        after = text[end + 1 if colon else end : (end + 2 if colon else end + 1)]
        if not colon and after and after not in ARG_END and after not in "`":
            return None
        self.pos = end + 1 if colon else end
        return self.make(Kind.PARAMETER, start, match.group(0))

    # -- expression mode -------------------------------------------------------------------

    def _expression(self, start: int) -> Token:
        text, ch = self.text, self.text[start]
        two = text[start : start + 2]
        if ch.isdigit() or (ch == "." and text[start + 1 : start + 2].isdigit()):
            return self._number(start)
        if ch in _DASHES:
            return self._dash(start)
        if two in ("+=", "*=", "/=", "%="):
            self.pos = start + 2
            return self.make(Kind.ASSIGN, start, two)
        if two in ("++",):
            self.pos = start + 2
            return self.make(Kind.OPERATOR, start, two)
        if ch == "=":
            if two == "==":
                raise self.error("The '==' operator is not valid here; use -eq to compare.",
                                 "InvalidEqualsOperator", start, start + 2)
            self.pos = start + 1
            return self.make(Kind.ASSIGN, start, "=")
        if ch in "+*/%!":
            self.pos = start + 1
            return self.make(Kind.OPERATOR, start, ch)
        if two == "..":
            self.pos = start + 2
            return self.make(Kind.DOTDOT, start)
        if two == "::":
            self.pos = start + 2
            return self.make(Kind.DCOLON, start)
        if ch == ".":
            self.pos = start + 1
            return self.make(Kind.DOT, start)
        if ch == "[":
            match = _TYPE.match(text, start)
            if match:
                self.pos = match.end()
                return self.make(Kind.TYPE, start, match.group(1).replace(" ", ""))
            self.pos = start + 1
            return self.make(Kind.LBRACKET, start)
        if ch == "]":
            self.pos = start + 1
            return self.make(Kind.RBRACKET, start)
        match = _IDENT.match(text, start)
        if match:
            self.pos = match.end()
            return self.make(Kind.IDENT, start, match.group(0))
        return self.bareword(start)

    def _number(self, start: int) -> Token:
        match = re.compile(r"[\w.]+").match(self.text, start)
        assert match is not None
        word = match.group(0)
        # "1..5": the range operator, not a decimal point.
        dots = word.find("..")
        if dots >= 0:
            word = word[:dots]
        value = parse_number(word)
        if value is None and word.endswith("."):
            word = word[:-1]
            value = parse_number(word)
        if value is None:
            self.pos = start + len(word)
            raise self.error(f"Unexpected token '{word}' in expression or statement.",
                             "UnexpectedToken", start, self.pos)
        self.pos = start + len(word)
        return self.make(Kind.NUMBER, start, value)

    def _dash(self, start: int) -> Token:
        text = self.text
        nxt = text[start + 1 : start + 2]
        if nxt == "=":
            self.pos = start + 2
            return self.make(Kind.ASSIGN, start, "-=")
        if nxt and nxt in _DASHES:
            self.pos = start + 2
            return self.make(Kind.OPERATOR, start, "--")
        match = re.compile(r"[A-Za-z]+").match(text, start + 1)
        if match:
            name = match.group(0).lower()
            self.pos = match.end()
            if name in OPERATOR_NAMES:
                return self.make(Kind.OPERATOR, start, name)
            param = _PARAM.match(text, start + 1)
            assert param is not None
            self.pos = param.end() + (1 if text[param.end() : param.end() + 1] == ":" else 0)
            return self.make(Kind.PARAMETER, start, param.group(0))
        self.pos = start + 1
        return self.make(Kind.OPERATOR, start, "-")
