"""String scanning for the lexer: quoted strings, here-strings and barewords.

``'verbatim'`` (``''`` is one quote) gives plain text.  ``"expandable"`` strings, the
bodies of ``@"..."@`` here-strings and argument-mode barewords (``a$b``) give a list of
parts: literal ``str`` pieces (escapes applied), ``VarPart`` for ``$name``/``${name}`` and
``SubPart`` for the offsets of a ``$( )`` subexpression, which the parser parses later on
the same source.
Curly "smart" quotes count as plain quotes, as in PowerShell.

``StringScanner`` is a mixin of ``lexer.Lexer``: it reads and moves the lexer's cursor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shell.lang.numbers import parse_number
from shell.lang.tokens import Kind, Source, Token

if TYPE_CHECKING:
    from shell.lang.errors import ParseError

QUOTE_SINGLE = "'‘’‚‛"
QUOTE_DOUBLE = '"“”„'
ARG_END = set(" \t\r\n;|&(){},")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "a": "\a", "b": "\b", "f": "\f",
            "v": "\v", "e": "\x1b"}
_VAR_NAME = re.compile(r"(?:(?:global|script|local|private|env|variable|using):)?\w+",
                       re.IGNORECASE)


@dataclass(frozen=True)
class VarPart:
    """``$name`` inside an expandable string or bareword."""

    name: str
    start: int
    end: int


@dataclass(frozen=True)
class SubPart:
    """``$( ... )`` inside an expandable string: offsets of the inner statements."""

    start: int
    end: int


StringPart = str | VarPart | SubPart


class _Parts:
    """The parts of one expandable text: runs of characters, then variables/subexpressions."""

    def __init__(self) -> None:
        self.parts: list[StringPart] = []
        self._chars: list[str] = []

    def char(self, text: str) -> None:
        self._chars.append(text)

    def part(self, part: StringPart) -> None:
        self._flush()
        self.parts.append(part)

    def done(self) -> list[StringPart]:
        self._flush()
        return self.parts

    def _flush(self) -> None:
        if self._chars:
            self.parts.append("".join(self._chars))
            self._chars = []


class StringScanner:
    if TYPE_CHECKING:  # provided by lexer.Lexer
        source: Source
        text: str
        pos: int

        def error(self, message: str, error_id: str, start: int, end: int | None = None,
                  *, incomplete: bool = False) -> ParseError: ...

        def make(self, kind: Kind, start: int, value: object = None) -> Token: ...

    def verbatim_string(self, start: int) -> Token:
        text, i, out = self.text, start + 1, []
        while True:
            if i >= len(text):
                raise self.error("The string is missing the terminator: '.",
                                 "TerminatorExpectedAtEndOfString", start, len(text),
                                 incomplete=True)
            ch = text[i]
            if ch in QUOTE_SINGLE:
                if i + 1 < len(text) and text[i + 1] in QUOTE_SINGLE:
                    out.append("'")
                    i += 2
                    continue
                break
            out.append(ch)
            i += 1
        self.pos = i + 1
        return self.make(Kind.STRING, start, "".join(out))

    def expandable_string(self, start: int) -> Token:
        parts, end = self.scan_expandable(start + 1, QUOTE_DOUBLE, start)
        self.pos = end
        return self.make(Kind.XSTRING, start, parts)

    def scan_expandable(self, i: int, terminators: str, start: int) -> tuple[list[StringPart], int]:
        """Scan expandable text from ``i`` up to an unescaped terminator; return parts and end.

        With ``terminators`` empty, scan to the end of the text (here-string bodies).
        """
        text = self.text
        parts = _Parts()
        while True:
            if i >= len(text):
                if not terminators:
                    break
                raise self.error('The string is missing the terminator: ".',
                                 "TerminatorExpectedAtEndOfString", start, len(text),
                                 incomplete=True)
            ch = text[i]
            if ch in terminators and terminators:
                if i + 1 < len(text) and text[i + 1] in QUOTE_DOUBLE:
                    parts.char('"')
                    i += 2
                    continue
                i += 1
                break
            if ch == "`" and i + 1 < len(text):
                nxt = text[i + 1]
                parts.char(_ESCAPES.get(nxt, nxt))
                i += 2
                continue
            if ch == "$":
                after = self._take_dollar(i, parts)
                if after is not None:
                    i = after
                    continue
            parts.char(ch)
            i += 1
        return parts.done(), i

    def bareword(self, start: int) -> Token:
        """A generic token: characters up to whitespace or a metacharacter."""
        text, i = self.text, start
        parts = _Parts()
        while i < len(text):
            ch = text[i]
            if ch in ARG_END or (ch in QUOTE_SINGLE + QUOTE_DOUBLE and i > start):
                break
            if ch == ">" or (ch in "123456*" and text[i + 1 : i + 2] == ">" and i == start):
                break
            if ch == "`":
                if i + 1 >= len(text) or text[i + 1] == "\n":
                    break
                parts.char(text[i + 1])
                i += 2
                continue
            if ch == "$" and i + 1 < len(text):
                after = self._take_dollar(i, parts)
                if after is not None:
                    i = after
                    continue
            parts.char(ch)
            i += 1
        self.pos = max(i, start + 1)
        found = parts.done()
        word = self.text[start : self.pos]
        if all(isinstance(p, str) for p in found):
            plain = "".join(p for p in found if isinstance(p, str))
            number = parse_number(plain) if plain == word else None
            if number is not None:
                return self.make(Kind.NUMBER, start, number)
            return self.make(Kind.GENERIC, start, plain)
        return self.make(Kind.GENERIC, start, found)

    def _take_dollar(self, i: int, parts: _Parts) -> int | None:
        """Add the variable or subexpression at ``$`` offset ``i``; its end, or None if none."""
        part, end = self._string_dollar(i)
        if part is None:
            return None
        parts.part(part)
        return end

    def _string_dollar(self, i: int) -> tuple[StringPart | None, int]:
        text = self.text
        nxt = text[i + 1 : i + 2]
        if nxt == "(":
            end = self.matching_paren(i + 1)
            return SubPart(i + 2, end), end + 1
        if nxt == "{":
            close = text.find("}", i + 2)
            if close < 0:
                raise self.error("Missing closing '}' in variable reference.",
                                 "MissingEndCurlyBrace", i, len(text), incomplete=True)
            return VarPart(text[i + 2 : close], i, close + 1), close + 1
        if nxt in ("?", "$", "^"):
            return VarPart(nxt, i, i + 2), i + 2
        match = _VAR_NAME.match(text, i + 1)
        if match:
            return VarPart(match.group(0), i, match.end()), match.end()
        return None, i

    def matching_paren(self, open_at: int) -> int:
        """Offset of the ``)`` closing the ``(`` at ``open_at``, skipping nested strings."""
        text, depth, i = self.text, 0, open_at
        while i < len(text):
            ch = text[i]
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    return i
            elif ch in QUOTE_SINGLE:
                saved = self.pos
                self.pos = i
                self.verbatim_string(i)
                i, self.pos = self.pos - 1, saved
            elif ch in QUOTE_DOUBLE:
                _, end = self.scan_expandable(i + 1, QUOTE_DOUBLE, i)
                i = end - 1
            elif ch == "`":
                i += 1
            elif ch == "#" and (i == 0 or text[i - 1] in " \t\n("):
                nl = text.find("\n", i)
                i = len(text) if nl < 0 else nl - 1
            i += 1
        raise self.error("Missing closing ')' in subexpression.",
                         "MissingEndParenthesisInSubexpression",
                         open_at, len(text), incomplete=True)
