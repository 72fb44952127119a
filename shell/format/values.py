"""Cell text: how one value looks inside a table cell or after ``Name : `` in a list.

This is PowerShell's *display* conversion, which differs from ``to_text`` (the string
conversion of ``"$x"``) in three places, all as PowerShell 7 shows them:

* collections show as ``{a, b}``, cut after ``$FormatEnumerationLimit`` (4) items with ``…``;
* dates use the en-US culture: ``11/25/2026 8:07:00 PM`` (``"$date"`` gives the invariant
  ``11/25/2026 20:07:00``).  Chosen because PowerShell 7 under ``LANG=en_US`` shows this, and
  Exchange's documentation examples are en-US; an ordinary space separates ``PM`` (newer ICU
  builds use U+202F there, which breaks column alignment in plain terminals);
* enums show their name.

Widths are terminal columns: East Asian wide characters count two.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import unicodedata
from collections.abc import Mapping
from typing import Any

from cmdlets.base import PSObject
from shell.objects import Hashtable, is_enumerable, to_text

ENUMERATION_LIMIT = 4
ELLIPSIS = "…"

def is_number(value: Any) -> bool:
    """Numbers are right-aligned in tables (booleans are not numbers here)."""
    return isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool)


def short_date(value: dt.datetime) -> str:
    """en-US general date: ``11/25/2026 8:07:00 PM``."""
    hour = value.hour % 12 or 12
    half = "AM" if value.hour < 12 else "PM"
    clock = f"{hour}:{value.minute:02}:{value.second:02} {half}"
    return f"{value.month}/{value.day}/{value.year} {clock}"


def long_date(value: dt.datetime) -> str:
    """en-US full date as ``Get-Date`` shows it: ``Wednesday, November 25, 2026 8:07:00 PM``."""
    head = f"{value.strftime('%A')}, {value.strftime('%B')} {value.day}, {value.year}"
    return f"{head} {short_date(value).split(' ', 1)[1]}"


def cell_text(value: Any) -> str:
    """The display text of one property value."""
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return value.value if isinstance(value.value, str) else value.name
    if isinstance(value, dt.datetime):
        return short_date(value)
    if isinstance(value, dt.date):
        return short_date(dt.datetime(value.year, value.month, value.day))
    if isinstance(value, Hashtable | PSObject | str | bytes | bytearray):
        return _scalar_text(value)
    if isinstance(value, Mapping):
        return _collection_text([f"[{k}, {to_text(v)}]" for k, v in value.items()])
    if is_enumerable(value):
        return _collection_text(list(value))
    return to_text(value)


def _scalar_text(value: Any) -> str:
    if isinstance(value, Hashtable):
        return _collection_text([f"[{k}, {to_text(v)}]" for k, v in value.items()])
    if isinstance(value, bytes | bytearray):
        return _collection_text(list(value))
    return to_text(value)


def _collection_text(items: list[Any]) -> str:
    shown = [item_text(item) for item in items[:ENUMERATION_LIMIT]]
    more = ELLIPSIS if len(items) > ENUMERATION_LIMIT else ""
    return "{" + ", ".join(shown) + more + "}"


def item_text(value: Any) -> str:
    """How one element of a collection reads inside ``{...}``."""
    if isinstance(value, dt.datetime):
        return short_date(value)
    if isinstance(value, enum.Enum):
        return cell_text(value)
    return to_text(value)


def char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def text_width(text: str) -> int:
    """Terminal columns ``text`` occupies."""
    return sum(char_width(char) for char in text)


def truncate(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` columns, ending with ``…`` when anything was cut."""
    if text_width(text) <= width:
        return text
    if width <= 0:
        return ""
    kept: list[str] = []
    used = 0
    for char in text:
        size = char_width(char)
        if used + size > width - 1:
            break
        kept.append(char)
        used += size
    return "".join(kept) + ELLIPSIS


def pad(text: str, width: int, *, right: bool = False) -> str:
    """Pad to ``width`` columns, on the left when ``right``-aligned."""
    fill = " " * max(0, width - text_width(text))
    return fill + text if right else text + fill


def wrap(text: str, width: int) -> list[str]:
    """Split ``text`` into lines of at most ``width`` columns, preferring breaks at spaces."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines.extend(_wrap_line(paragraph, max(1, width)))
    return lines


def _wrap_line(line: str, width: int) -> list[str]:
    out: list[str] = []
    while text_width(line) > width:
        cut = _cut_index(line, width)
        space = line.rfind(" ", 0, cut + 1)
        if space > 0:
            out.append(line[:space].rstrip())
            line = line[space + 1 :]
        else:
            out.append(line[:cut])
            line = line[cut:]
    out.append(line)
    return out


def _cut_index(line: str, width: int) -> int:
    used = 0
    for index, char in enumerate(line):
        used += char_width(char)
        if used > width:
            return max(1, index)
    return len(line)
