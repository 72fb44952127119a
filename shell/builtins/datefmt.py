"""Date formatting for Get-Date: .NET format strings (``-Format``) and ``-UFormat``.

Supported: the standard one-letter formats (d D t T f F g G M Y s u o r, en-US) and the
custom specifiers yyyy yy y MMMM MMM MM M dddd ddd dd d HH H hh h mm m ss s f..fffffff
F..FFFFFFF tt t zzz zz z K, with ``'literal'``/``"literal"``, ``\\x`` escapes and ``%x``.
``-UFormat`` uses the C ``strftime`` specifiers PowerShell documents (``%Y-%m-%d`` ...).
"""

from __future__ import annotations

import datetime as dt
import re

_STANDARD = {
    "d": "M/d/yyyy", "D": "dddd, MMMM d, yyyy", "t": "h:mm tt", "T": "h:mm:ss tt",
    "f": "dddd, MMMM d, yyyy h:mm tt", "F": "dddd, MMMM d, yyyy h:mm:ss tt",
    "g": "M/d/yyyy h:mm tt", "G": "M/d/yyyy h:mm:ss tt", "M": "MMMM d", "m": "MMMM d",
    "Y": "MMMM yyyy", "y": "MMMM yyyy", "s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
    "u": "yyyy'-'MM'-'dd HH':'mm':'ss'Z'", "o": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "O": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK", "r": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "R": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
}
_TOKEN = re.compile(r"'[^']*'|\"[^\"]*\"|\\.|%.|(y+|M+|d+|H+|h+|m+|s+|f+|F+|t+|z+|K)", re.S)


def dotnet_format(value: dt.datetime, pattern: str) -> str:
    """``$date.ToString(pattern)`` in the en-US culture."""
    pattern = _STANDARD.get(pattern, pattern)
    if value.tzinfo is not None and pattern in (_STANDARD["u"], _STANDARD["r"]):
        value = value.astimezone(dt.UTC)
    return _TOKEN.sub(lambda m: _expand(m.group(0), value), pattern)


def _expand(token: str, value: dt.datetime) -> str:
    if token[0] in "'\"":
        return token[1:-1]
    if token[0] == "\\":
        return token[1]
    if token[0] == "%":
        return _specifier(token[1], value)
    return _specifier(token, value)


def _specifier(token: str, v: dt.datetime) -> str:
    kind, size = token[0], len(token)
    if kind == "y":
        return str(v.year % 100) if size == 1 else (
            f"{v.year % 100:02}" if size == 2 else f"{v.year:0{size}}")
    if kind == "M":
        return [str(v.month), f"{v.month:02}", v.strftime("%b"), v.strftime("%B")][min(size, 4) - 1]
    if kind == "d":
        return [str(v.day), f"{v.day:02}", v.strftime("%a"), v.strftime("%A")][min(size, 4) - 1]
    if kind in "Hhms":
        number = {"H": v.hour, "h": v.hour % 12 or 12, "m": v.minute, "s": v.second}[kind]
        return f"{number:02}" if size >= 2 else str(number)
    if kind in "fF":
        digits = f"{v.microsecond:06}0"[:size]
        return digits.rstrip("0") if kind == "F" else digits
    if kind == "t":
        return ("AM" if v.hour < 12 else "PM")[:size if size < 2 else 2]
    if kind in "zK":
        return _offset(v, token)
    return token


def _offset(value: dt.datetime, token: str) -> str:
    offset = value.utcoffset()
    if token == "K":
        if offset is None:
            return ""
        return "Z" if not offset else _offset(value, "zzz")
    local = offset if offset is not None else dt.datetime.now().astimezone().utcoffset()
    minutes = int((local or dt.timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    if token == "z":
        return f"{sign}{hours}"
    if token == "zz":
        return f"{sign}{hours:02}"
    return f"{sign}{hours:02}:{mins:02}"


def unix_format(value: dt.datetime, pattern: str) -> str:
    """``Get-Date -UFormat``: strftime, with ``%s`` as seconds since the epoch."""
    epoch = str(int(value.timestamp()))
    return value.strftime(pattern.replace("%s", epoch))
