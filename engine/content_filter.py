"""``-ContentFilter`` of New-MigrationBatch: Exchange's OPATH filter, the part IMAP can honour.

Exchange: "The ContentFilter parameter uses OPATH filter syntax to filter the messages by
Received time. Only content that matches the ContentFilter parameter is moved", with the
examples ``"Received -gt '8/23/2020'"``, ``"Received -le '2019/01/01'"`` and
``"Received -gt '8/23/2015' -and Received -lt '8/23/2020'"``.

Design decisions:

* **A small pure AST.** :func:`parse_content_filter` turns the text into :class:`Comparison`,
  :class:`And`, :class:`Or` and :class:`Not` nodes (``-and`` binds tighter than ``-or``,
  parentheses group, ``-not`` negates); :func:`matches` evaluates a node for one message.
  Operators: ``-eq -ne -gt -ge -lt -le``.
* **Only Received applies to IMAP.** It is the message's IMAP INTERNALDATE, the date the
  server received it. Any other property (Subject, Sender, Size ...) is refused with a clear
  error instead of being ignored: a filter that silently matched everything would migrate
  mail the administrator meant to leave behind, and one that matched nothing would lose it.
* **Dates** take Exchange's forms (``8/23/2020``, ``2019/01/01``, ``2020-01-01``, with a time
  or not); without a zone they are UTC, as Exchange Online reads dates. A date without a time
  is its midnight, and the comparison is with that instant, as a .NET DateTime compares
  (``Received -gt '8/23/2020'`` includes mail of 8/23 after midnight).
* **Never lose mail by accident.** A message whose received date the server did not give is
  copied. The executor drops only messages it has never recorded: a message copied in an
  earlier pass is never treated as gone because of the filter (engine/sync/executor.py), and
  filtered-out messages are neither copied nor counted as missing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from engine.errors import ValidationError
from engine.schedule_times import to_utc

PROPERTIES = ("Received",)
_OPERATORS = ("eq", "ne", "gt", "ge", "lt", "le")


@dataclass(frozen=True)
class Comparison:
    property: str  # "Received"
    operator: str  # eq ne gt ge lt le
    value: datetime  # UTC


@dataclass(frozen=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


Node = Comparison | And | Or | Not

_TOKEN = re.compile(r"""\s*(?:(?P<paren>[()])|'(?P<sq>[^']*)'|"(?P<dq>[^"]*)"|"""
                    r"""(?P<op>-[A-Za-z]+)|(?P<word>[^\s()'"]+))""")


def parse_content_filter(text: str) -> Node:
    """Parse ``text``; raises :class:`ValidationError` with Exchange-style words."""
    tokens = _tokens(text)
    parser = _Parser(text, tokens)
    node = parser.expression()
    if parser.position != len(tokens):
        raise _invalid(text, f"unexpected '{tokens[parser.position][1]}'")
    return node


def matches(node: Node, received: datetime | None) -> bool:
    """Whether a message received at ``received`` is migrated (None: unknown, migrated)."""
    if received is None:
        return True
    when = received if received.tzinfo is not None else received.replace(tzinfo=UTC)
    return _evaluate(node, when)


def _evaluate(node: Node, when: datetime) -> bool:
    if isinstance(node, And):
        return _evaluate(node.left, when) and _evaluate(node.right, when)
    if isinstance(node, Or):
        return _evaluate(node.left, when) or _evaluate(node.right, when)
    if isinstance(node, Not):
        return not _evaluate(node.operand, when)
    value = node.value
    compare: dict[str, Callable[[], bool]] = {
        "eq": lambda: when == value, "ne": lambda: when != value,
        "gt": lambda: when > value, "ge": lambda: when >= value,
        "lt": lambda: when < value, "le": lambda: when <= value,
    }
    return compare[node.operator]()


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    stripped = text.rstrip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None or match.end() == position:
            raise _invalid(text, f"unexpected '{stripped[position:].strip()[:20]}'")
        kind = match.lastgroup or ""
        value = match.group(kind)
        found.append(("value" if kind in ("sq", "dq") else kind, value))
        position = match.end()
    return found


class _Parser:
    def __init__(self, text: str, tokens: list[tuple[str, str]]) -> None:
        self.text = text
        self.tokens = tokens
        self.position = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise _invalid(self.text, "it ends too early")
        self.position += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "op" and token[1].casefold() == f"-{word}":
            self.position += 1
            return True
        return False

    def expression(self) -> Node:
        node = self.conjunction()
        while self.keyword("or"):
            node = Or(node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.unary()
        while self.keyword("and"):
            node = And(node, self.unary())
        return node

    def unary(self) -> Node:
        if self.keyword("not"):
            return Not(self.unary())
        token = self.peek()
        if token == ("paren", "("):
            self.position += 1
            node = self.expression()
            if self.peek() != ("paren", ")"):
                raise _invalid(self.text, "a ')' is missing")
            self.position += 1
            return node
        return self.comparison()

    def comparison(self) -> Comparison:
        kind, name = self.take()
        if kind != "word":
            raise _invalid(self.text, f"a property name is expected, not '{name}'")
        prop = next((p for p in PROPERTIES if p.casefold() == name.casefold()), None)
        if prop is None:
            raise ValidationError(
                f'The property "{name}" can\'t be used in -ContentFilter "{self.text}": an IMAP '
                "migration filters messages by Received only (the date the source server "
                "received each message).", error_id="ContentFilterPropertyNotSupported")
        kind, operator = self.take()
        folded = operator.casefold().lstrip("-")
        if kind != "op" or folded not in _OPERATORS:
            raise _invalid(self.text, f"'{operator}' isn't a comparison operator; use "
                           + ", ".join(f"-{o}" for o in _OPERATORS))
        kind, value = self.take()
        if kind not in ("value", "word"):
            raise _invalid(self.text, f"a date is expected after -{folded}")
        return Comparison(prop, folded, _date(self.text, value))


def _date(text: str, value: str) -> datetime:
    try:
        return to_utc(value, None, "ContentFilter")
    except ValidationError:
        raise _invalid(text, f"'{value}' isn't a date such as '8/23/2020' or "
                       "'2019/01/01'") from None


def _invalid(text: str, why: str) -> ValidationError:
    return ValidationError(f'The -ContentFilter "{text}" isn\'t valid: {why}.',
                           error_id="InvalidContentFilter")
