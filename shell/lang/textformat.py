""".NET text formatting: the ``-f`` operator and ``ToString(format)`` on numbers and dates.

Supported: composite items ``{index[,alignment][:format]}`` with ``{{``/``}}`` escapes;
numeric formats ``N``/``F``/``D``/``X``/``P``/``C``/``E`` (with precision) and ``0.00``-style
custom patterns; date formats ``yyyy MM dd HH hh mm ss fff tt ddd dddd MMM MMMM`` and the
standard single letters ``d D t T g G s u o``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from shell.objects import to_text


class FormatError(Exception):
    pass


_ITEM = re.compile(r"\{\{|\}\}|\{(\d+)(?:\s*,\s*(-?\d+))?(?::([^}]*))?\}")


def format_operator(template: str, args: list[Any]) -> str:
    """``"template" -f args``."""

    def item(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole in ("{{", "}}"):
            return whole[0]
        index = int(match.group(1))
        if index >= len(args):
            raise FormatError("Error formatting a string: Index (zero based) must be greater "
                              "than or equal to zero and less than the size of the argument "
                              "list..")
        text = format_value(args[index], match.group(3) or "")
        width = int(match.group(2) or 0)
        return text.rjust(width) if width > 0 else text.ljust(-width)

    stray = re.sub(_ITEM, "", template)
    if "{" in stray or "}" in stray:
        raise FormatError("Error formatting a string: Input string was not in a correct format..")
    return _ITEM.sub(item, template)


def format_value(value: Any, spec: str) -> str:
    if not spec:
        return to_text(value)
    if isinstance(value, dt.datetime):
        return format_date(value, spec)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_number(value, spec)
    return to_text(value)


def format_number(value: int | float, spec: str) -> str:
    match = re.fullmatch(r"([NnFfDdXxPpCcEeGg])(\d*)", spec)
    if not match:
        return _custom_number(value, spec)
    kind, digits = match.group(1), match.group(2)
    precision = int(digits) if digits else None
    upper = kind.upper()
    if upper == "N":
        return f"{value:,.{2 if precision is None else precision}f}"
    if upper == "F":
        return f"{value:.{2 if precision is None else precision}f}"
    if upper == "D":
        return f"{int(value):0{precision or 1}d}"
    if upper == "X":
        text = f"{int(value):0{precision or 1}x}"
        return text.upper() if kind == "X" else text
    if upper == "P":
        return f"{value * 100:,.{2 if precision is None else precision}f} %"
    if upper == "C":
        return f"${value:,.{2 if precision is None else precision}f}"
    if upper == "E":
        return f"{value:.{6 if precision is None else precision}E}"
    return to_text(value)


def _custom_number(value: int | float, spec: str) -> str:
    match = re.fullmatch(r"([#,0]*)(?:\.([0#]+))?", spec)
    if not match:
        return to_text(value)
    decimals = match.group(2) or ""
    required = decimals.count("0")
    text = f"{value:{',' if ',' in match.group(1) else ''}.{len(decimals)}f}"
    if len(decimals) > required and "." in text:
        head, tail = text.split(".")
        tail = tail.rstrip("0").ljust(required, "0")
        text = head + ("." + tail if tail else "")
    int_zeros = match.group(1).count("0")
    if int_zeros > 1:
        head, dot, tail = text.partition(".")
        text = head.zfill(int_zeros) + dot + tail
    return text


_DATE_TOKENS = re.compile(r"yyyy|yy|MMMM|MMM|MM|M|dddd|ddd|dd|d|HH|H|hh|h|mm|m|ss|s|fff|ff|f|"
                          r"tt|zzz|K|'[^']*'|\"[^\"]*\"|\\.")
_STANDARD_DATES = {"d": "MM/dd/yyyy", "D": "dddd, MMMM d, yyyy", "t": "h:mm tt",
                   "T": "h:mm:ss tt", "g": "MM/dd/yyyy h:mm tt", "G": "MM/dd/yyyy HH:mm:ss",
                   "s": "yyyy-MM-ddTHH:mm:ss", "u": "yyyy-MM-dd HH:mm:ssZ",
                   "o": "yyyy-MM-ddTHH:mm:ss.fffffffK", "O": "yyyy-MM-ddTHH:mm:ss.fffffffK"}


def format_date(value: dt.datetime, spec: str) -> str:
    """``$date.ToString('yyyy-MM-dd')`` with .NET custom or standard format strings."""
    if spec in _STANDARD_DATES:
        spec = _STANDARD_DATES[spec]
    hour12 = value.hour % 12 or 12

    def token(match: re.Match[str]) -> str:
        t = match.group(0)
        table = {
            "yyyy": f"{value.year:04}", "yy": f"{value.year % 100:02}",
            "MMMM": value.strftime("%B"), "MMM": value.strftime("%b"),
            "MM": f"{value.month:02}", "M": str(value.month),
            "dddd": value.strftime("%A"), "ddd": value.strftime("%a"),
            "dd": f"{value.day:02}", "d": str(value.day),
            "HH": f"{value.hour:02}", "H": str(value.hour),
            "hh": f"{hour12:02}", "h": str(hour12),
            "mm": f"{value.minute:02}", "m": str(value.minute),
            "ss": f"{value.second:02}", "s": str(value.second),
            "fff": f"{value.microsecond // 1000:03}", "ff": f"{value.microsecond // 10000:02}",
            "f": str(value.microsecond // 100000), "tt": "AM" if value.hour < 12 else "PM",
            "zzz": value.strftime("%z")[:3] + ":" + value.strftime("%z")[3:]
            if value.tzinfo else "", "K": value.strftime("%z") if value.tzinfo else "",
        }
        if t in table:
            return table[t]
        if t[0] in "'\"":
            return t[1:-1]
        return t[1:]  # backslash escape

    text = spec.replace("fffffff", "\x00")
    text = _DATE_TOKENS.sub(token, text)
    return text.replace("\x00", f"{value.microsecond * 10:07}")
