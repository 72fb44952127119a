"""PowerShell numeric literals: ``993``, ``0x1F``, ``1.5e3``, ``7d`` (decimal), ``1KB``.

Used by the lexer for number tokens and by conversions from text (``[int]'7'``, ``'5' + 1``).
"""

from __future__ import annotations

import re

_NUMBER = re.compile(
    r"(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)([lLdD]?)(kb|mb|gb|tb|pb)?",
    re.IGNORECASE,
)
_MULTIPLIERS = {"kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40, "pb": 1 << 50}


def parse_number(text: str) -> int | float | None:
    """The value of a PowerShell numeric literal, or None when ``text`` is not one."""
    match = _NUMBER.fullmatch(text)
    if not match:
        return None
    body = text[: match.start(1)] if match.group(1) or match.group(2) else text
    if match.group(2):
        body = text[: match.start(2)]
        if match.group(1):
            body = body[:-1]
    elif match.group(1):
        body = text[:-1]
    suffix = (match.group(1) or "").lower()
    multiplier = _MULTIPLIERS.get((match.group(2) or "").lower(), 1)
    value: int | float
    if body[:2].lower() == "0x":
        value = int(body, 16)
    elif suffix == "d" or any(c in body for c in ".eE"):
        value = float(body)
        if suffix != "d" and value.is_integer() and "." not in body and "e" not in body.lower():
            value = int(value)
    else:
        value = int(body)
    value = value * multiplier
    if isinstance(value, float) and multiplier > 1 and value.is_integer():
        value = int(value)
    return value
