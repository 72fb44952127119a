"""Comparison and truth as the pipeline cmdlets need them (Where-Object, Sort-Object).

PowerShell rules kept: string comparisons ignore case unless asked; the right operand is
converted to the left operand's type (``1 -eq '1.0'``); ``$null`` sorts first; a script
block's output is true when it is one true value or several values.  Strings are ordered by
case-folded ordinal comparison (PowerShell uses the culture's collation, which also ignores
some punctuation; ordinal order is predictable and equal for the ASCII names admins sort).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from shell.format.values import is_number
from shell.format.wildcard import wildcard_match
from shell.objects import enumerate_value, is_enumerable, to_text


def truthy(value: Any) -> bool:
    """``[bool]$value``."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if is_number(value):
        return bool(value)
    if isinstance(value, str):
        return value != ""
    if is_enumerable(value):
        items = list(value)
        return len(items) > 1 or (len(items) == 1 and truthy(items[0]))
    return True


def outputs_truthy(outputs: Sequence[Any]) -> bool:
    """Truth of a script block's output list (Where-Object's FilterScript)."""
    return truthy(list(outputs)) if len(outputs) != 1 else truthy(outputs[0])


def convert_like(right: Any, left: Any) -> Any:
    """Convert ``right`` to ``left``'s type when PowerShell would; unchanged when it cannot."""
    if right is None or left is None:
        return right
    try:
        if isinstance(left, bool):
            return truthy(right)
        if isinstance(left, int) and not isinstance(right, bool):
            number = float(str(right).strip()) if isinstance(right, str) else float(right)
            return int(number) if number.is_integer() else number
        if isinstance(left, float):
            return float(right)
        if isinstance(left, str):
            return to_text(right)
    except (TypeError, ValueError):
        return right
    return right


def equals(left: Any, right: Any, *, case_sensitive: bool = False) -> bool:
    """``left -eq right`` for a scalar left operand."""
    right = convert_like(right, left)
    if isinstance(left, str) and isinstance(right, str):
        return left == right if case_sensitive else left.casefold() == right.casefold()
    try:
        return bool(left == right)
    except TypeError:
        return False


def order(left: Any, right: Any, *, case_sensitive: bool = False) -> int:
    """-1, 0 or 1: how ``left`` sorts against ``right`` (``$null`` first)."""
    if left is None or right is None:
        return (left is not None) - (right is not None)
    if is_number(left) and not is_number(right):
        right = convert_like(right, left)
    elif is_number(right) and not is_number(left):
        left = convert_like(left, right)
    if (is_number(left) and is_number(right)) or (
        isinstance(left, dt.datetime) and isinstance(right, dt.datetime)
    ):
        return (left > right) - (left < right)
    a, b = to_text(left), to_text(right)
    if not case_sensitive:
        a, b = a.casefold(), b.casefold()
    return (a > b) - (a < b)


def _contains(collection: Any, value: Any, case_sensitive: bool) -> bool:
    return any(equals(item, value, case_sensitive=case_sensitive)
               for item in enumerate_value(collection))


def _match(left: Any, pattern: Any, case_sensitive: bool) -> bool:
    flags = 0 if case_sensitive else re.IGNORECASE
    return re.search(to_text(pattern), to_text(left), flags) is not None


def _scalar_test(op: str, left: Any, right: Any, cs: bool) -> bool:
    tests = {
        "eq": lambda: equals(left, right, case_sensitive=cs),
        "ne": lambda: not equals(left, right, case_sensitive=cs),
        "gt": lambda: order(left, right, case_sensitive=cs) > 0,
        "ge": lambda: order(left, right, case_sensitive=cs) >= 0,
        "lt": lambda: order(left, right, case_sensitive=cs) < 0,
        "le": lambda: order(left, right, case_sensitive=cs) <= 0,
        "like": lambda: wildcard_match(to_text(right), to_text(left), case_sensitive=cs),
        "notlike": lambda: not wildcard_match(to_text(right), to_text(left), case_sensitive=cs),
        "match": lambda: _match(left, right, cs),
        "notmatch": lambda: not _match(left, right, cs),
    }
    return tests[op]()


def compare(op: str, left: Any, right: Any, *, case_sensitive: bool = False) -> bool:
    """Whether ``left -op right`` is true (a collection on the left filters its items)."""
    if op == "contains":
        return _contains(left, right, case_sensitive)
    if op == "notcontains":
        return not _contains(left, right, case_sensitive)
    if op == "in":
        return _contains(right, left, case_sensitive)
    if op == "notin":
        return not _contains(right, left, case_sensitive)
    if is_enumerable(left):
        return any(_scalar_test(op, item, right, case_sensitive) for item in left)
    return _scalar_test(op, left, right, case_sensitive)
