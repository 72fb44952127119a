"""Token kinds and the ``Token`` record the lexer produces.

A token knows its source offsets; line and column are derived from the ``Source`` it came
from, so error displays can point at the exact character PowerShell would.
"""

from __future__ import annotations

import bisect
import enum
from dataclasses import dataclass, field
from typing import Any


class Kind(enum.Enum):
    EOF = "eof"
    NEWLINE = "newline"
    SEMI = ";"
    PIPE = "|"
    AMP = "&"
    LPAREN = "("
    RPAREN = ")"
    LBRACE = "{"
    RBRACE = "}"
    LBRACKET = "["
    RBRACKET = "]"
    SUBEXPR = "$("
    ARRAYEXPR = "@("
    HASH = "@{"
    COMMA = ","
    DOT = "."
    DCOLON = "::"
    DOTDOT = ".."
    NUMBER = "number"
    STRING = "string"  # verbatim: value is the text
    XSTRING = "xstring"  # expandable: value is a list of parts (see strings.StringPart)
    VARIABLE = "variable"
    SPLAT = "splat"
    PARAMETER = "parameter"
    OPERATOR = "operator"
    ASSIGN = "assign"
    GENERIC = "generic"  # bareword; value is str, or parts when it embeds $var
    IDENT = "ident"  # expression-mode identifier (keywords, member names)
    TYPE = "type"  # [Type.Name]
    REDIRECT = "redirect"
    STOP_PARSING = "--%"


class Source:
    """A chunk of program text with its origin name (``<stdin>`` or a file path)."""

    def __init__(self, text: str, name: str = "<stdin>") -> None:
        self.text = text
        self.name = name
        self._line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of ``offset``."""
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1

    def line_text(self, line: int) -> str:
        start = self._line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end]


@dataclass(frozen=True)
class Extent:
    """A span of source text, ``[start, end)``."""

    source: Source = field(compare=False, repr=False)
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.source.text[self.start : self.end]

    @property
    def line(self) -> int:
        return self.source.line_col(self.start)[0]

    @property
    def col(self) -> int:
        return self.source.line_col(self.start)[1]

    def to(self, other: Extent) -> Extent:
        return Extent(self.source, self.start, max(self.end, other.end))


@dataclass(frozen=True)
class Token:
    kind: Kind
    text: str
    value: Any
    extent: Extent = field(compare=False, repr=False)

    @property
    def start(self) -> int:
        return self.extent.start

    @property
    def end(self) -> int:
        return self.extent.end

    def is_op(self, *names: str) -> bool:
        return self.kind is Kind.OPERATOR and self.value in names
