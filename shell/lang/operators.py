"""PowerShell operator semantics on Python values.

* Comparisons are case-insensitive unless the ``c`` prefix is used; the right operand is
  converted to the left operand's type (``1 -eq '1.0'`` is True, ``'1.0' -eq 1`` is False).
* With a collection on the left, ``-eq -ne -gt ... -like -match -replace`` filter/map the
  elements; ``-contains -in -is -as`` always give a single value.
* ``-like`` uses wildcards ``* ? [a-z]``; ``-match`` uses .NET regex (mapped to Python's)
  and reports the capture groups so the evaluator can set ``$Matches`` (scalar left only).
* Arithmetic follows the left operand: numbers add, strings concatenate, arrays append,
  hashtables merge, dates shift by time spans.

``OperatorError`` carries PowerShell's message; the evaluator turns it into an error record.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Callable
from typing import Any

from shell.lang.numbers import parse_number
from shell.lang.typenames import type_name_of
from shell.objects import Hashtable, is_enumerable, to_text
from shell.wildcard import wildcard_match


class OperatorError(Exception):
    def __init__(self, message: str, error_id: str = "RuntimeException") -> None:
        super().__init__(message)
        self.message = message
        self.error_id = error_id


def truthy(value: Any) -> bool:
    """PowerShell's conversion to bool."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        return value != ""
    if isinstance(value, list | tuple):
        if not value:
            return False
        return truthy(value[0]) if len(value) == 1 else True
    return True


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if is_enumerable(value) and not isinstance(value, dict):
        return list(value)
    return [value]


# -- numbers -------------------------------------------------------------------------------


def to_number(value: Any) -> int | float:
    """Convert for arithmetic; raise OperatorError with PowerShell's text on failure."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if value is None:
        return 0
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0
        number = parse_number(text.lstrip("+-"))
        if number is not None:
            return -number if text.startswith("-") else number
    raise OperatorError(f'Cannot convert value "{to_text(value)}" to type "System.Int32". '
                        'Error: "Input string was not in a correct format."',
                        "InvalidCastFromStringToInteger")


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# -- comparison ----------------------------------------------------------------------------


def _convert_like(left: Any, right: Any) -> Any:
    """Convert ``right`` to the type of ``left`` (PowerShell's comparison rule)."""
    if isinstance(left, bool):
        return truthy(right)
    if _numeric(left):
        if _numeric(right):
            return right
        try:
            return to_number(right)
        except OperatorError:
            return _NOT_CONVERTIBLE
    if isinstance(left, str):
        return right if isinstance(right, str) else to_text(right)
    if isinstance(left, dt.datetime) and isinstance(right, str):
        from engine.values import parse_datetime

        parsed = parse_datetime(right)
        return _NOT_CONVERTIBLE if parsed is None else parsed
    return right


_NOT_CONVERTIBLE = object()


def _equal(left: Any, right: Any, case: bool) -> bool:
    if left is None or right is None:
        return left is None and right is None
    converted = _convert_like(left, right)
    if converted is _NOT_CONVERTIBLE:
        return False
    if isinstance(left, str):
        return left == converted if case else left.casefold() == converted.casefold()
    try:
        return bool(left == converted)
    except Exception:
        return False


def _order(left: Any, right: Any, case: bool) -> int:
    if left is None or right is None:
        return (left is not None) - (right is not None)
    converted = _convert_like(left, right)
    if converted is _NOT_CONVERTIBLE:
        raise OperatorError(f'Could not compare "{to_text(left)}" to "{to_text(right)}".',
                            "ComparisonFailure")
    a, b = left, converted
    if isinstance(a, str) and not case:
        a, b = a.casefold(), b.casefold()
    try:
        return (a > b) - (a < b)
    except TypeError:
        raise OperatorError(f'Cannot compare "{to_text(left)}" because it is not IComparable.',
                            "NotIcomparable") from None


def sort_order(left: Any, right: Any, case: bool = False) -> int:
    """-1, 0 or 1 for Sort-Object and Measure-Object: ``$null`` first, then PowerShell's
    comparison; values it cannot compare are ordered by their text (as Sort-Object does)."""
    try:
        return _order(left, right, case)
    except OperatorError:
        a, b = to_text(left), to_text(right)
        if not case:
            a, b = a.casefold(), b.casefold()
        return (a > b) - (a < b)


def like(value: Any, pattern: Any, case: bool = False) -> bool:
    return wildcard_match(to_text(pattern), to_text(value), case_sensitive=case)


_NET_NAMED_GROUP = re.compile(r"\(\?<(?![=!])(\w+)>")
_NET_BACKREF = re.compile(r"\\k<(\w+)>")


@functools.lru_cache(maxsize=256)
def net_regex(pattern: str, case: bool) -> re.Pattern[str]:
    """Compile a .NET regular expression with Python's ``re`` (named groups translated)."""
    translated = _NET_NAMED_GROUP.sub(r"(?P<\1>", pattern)
    translated = _NET_BACKREF.sub(r"(?P=\1)", translated)
    try:
        return re.compile(translated, 0 if case else re.IGNORECASE)
    except re.error as err:
        raise OperatorError(f'The regular expression pattern {pattern} is not valid: {err}.',
                            "InvalidRegularExpression") from None


def match_groups(match: re.Match[str]) -> Hashtable:
    """``$Matches`` for a successful match: 0 = whole match, then numbered and named groups."""
    groups = Hashtable()
    names = {index: name for name, index in match.re.groupindex.items()}
    for index in range(match.re.groups, 0, -1):
        if match.group(index) is not None:
            groups[names.get(index, index)] = match.group(index)
    groups[0] = match.group(0)
    return groups


def _replace(value: Any, right: Any, case: bool) -> str:
    items = as_list(right)
    if not items or len(items) > 2:
        raise OperatorError("The -replace operator allows only two elements to follow it, not "
                            f"{len(items)}.", "BadReplaceArgument")
    pattern = net_regex(to_text(items[0]), case)
    replacement = to_text(items[1]) if len(items) == 2 else ""
    return pattern.sub(lambda m: _expand_replacement(replacement, m), to_text(value))


def _expand_replacement(template: str, match: re.Match[str]) -> str:
    def group(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        key = m.group(1) or m.group(2)
        try:
            ref: int | str = int(key)
        except ValueError:
            ref = key
        try:
            return match.group(ref) or ""
        except IndexError:
            return m.group(0)

    return re.sub(r"\$\$|\$\{(\w+)\}|\$(\d+)", group, template)


def split(value: Any, right: Any, case: bool) -> list[str]:
    items = as_list(right)
    limit = int(to_number(items[1])) if len(items) > 1 else 0
    pattern = net_regex(to_text(items[0]) if items else " ", case)
    parts = pattern.split(to_text(value), maxsplit=max(limit - 1, 0))
    if pattern.groups:
        return [p for p in parts if p is not None]
    return parts


def unary_split(value: Any) -> list[str]:
    return [part for part in re.split(r"\s+", to_text(value).strip()) if part] or [""]


# -- dispatch ------------------------------------------------------------------------------


def _scalar_op(name: str, case: bool) -> Callable[[Any, Any], bool] | None:
    table: dict[str, Callable[[Any, Any], bool]] = {
        "eq": lambda a, b: _equal(a, b, case),
        "ne": lambda a, b: not _equal(a, b, case),
        "gt": lambda a, b: _order(a, b, case) > 0,
        "ge": lambda a, b: _order(a, b, case) >= 0,
        "lt": lambda a, b: _order(a, b, case) < 0,
        "le": lambda a, b: _order(a, b, case) <= 0,
        "like": lambda a, b: like(a, b, case),
        "notlike": lambda a, b: not like(a, b, case),
        "match": lambda a, b: net_regex(to_text(b), case).search(to_text(a)) is not None,
        "notmatch": lambda a, b: net_regex(to_text(b), case).search(to_text(a)) is None,
    }
    return table.get(name)


def split_case(op: str) -> tuple[str, bool]:
    """``ceq`` -> ("eq", True); ``ieq``/``eq`` -> ("eq", False)."""
    if op[:1] in ("c", "i") and op[1:] in _CASED:
        return op[1:], op[0] == "c"
    return op, False


_CASED = {"eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "match", "notmatch",
          "contains", "notcontains", "in", "notin", "replace", "split"}


def compare(op: str, left: Any, right: Any) -> tuple[Any, Hashtable | None]:
    """Apply a comparison-level operator; also return ``$Matches`` when ``-match`` set it."""
    name, case = split_case(op)
    scalar = _scalar_op(name, case)
    if scalar is not None:
        if is_enumerable(left):
            return [item for item in as_list(left) if scalar(item, right)], None
        if name == "match":
            hit = net_regex(to_text(right), case).search(to_text(left))
            return hit is not None, (match_groups(hit) if hit else None)
        return scalar(left, right), None
    if name in ("contains", "notcontains"):
        found = any(_equal(item, right, case) for item in as_list(left))
        return found == (name == "contains"), None
    if name in ("in", "notin"):
        found = any(_equal(item, left, case) for item in as_list(right))
        return found == (name == "in"), None
    if name == "replace":
        if is_enumerable(left):
            return [_replace(item, right, case) for item in as_list(left)], None
        return _replace(left, right, case), None
    if name == "split":
        if is_enumerable(left):
            return [p for item in as_list(left) for p in split(item, right, case)], None
        return split(left, right, case), None
    if name == "join":
        return to_text(right).join(to_text(item) for item in as_list(left)), None
    if name in ("shl", "shr"):
        a, b = int(to_number(left)), int(to_number(right))
        return (a << b if name == "shl" else a >> b), None
    raise OperatorError(f"The operator '-{op}' is not supported.", "OperatorNotSupported")


# -- arithmetic ----------------------------------------------------------------------------


def add(left: Any, right: Any) -> Any:
    if left is None:
        return list(right) if isinstance(right, list) else right
    if isinstance(left, list | tuple):
        return [*left, *right] if isinstance(right, list | tuple) else [*left, right]
    if isinstance(left, Hashtable) and isinstance(right, dict):
        merged = Hashtable(left)
        for key, value in right.items():
            if key in merged:
                raise OperatorError(f"Item has already been added. Key in dictionary: '{key}'  "
                                    f"Key being added: '{key}'", "DuplicateKeyInHashLiteral")
            merged[key] = value
        return merged
    if isinstance(left, str):
        return left + to_text(right)
    if isinstance(left, dt.datetime) and isinstance(right, dt.timedelta):
        return left + right
    if isinstance(left, dt.timedelta) and isinstance(right, dt.timedelta):
        return left + right
    return to_number(left) + to_number(right)


def subtract(left: Any, right: Any) -> Any:
    if isinstance(left, dt.datetime) and isinstance(right, dt.datetime | dt.timedelta):
        return left - right
    if isinstance(left, dt.timedelta) and isinstance(right, dt.timedelta):
        return left - right
    if isinstance(left, list | tuple | Hashtable):
        raise OperatorError(f"Method invocation failed because [{type_name_of(left)}] does not "
                            "contain a method named 'op_Subtraction'.", "MethodNotFound")
    return to_number(left) - to_number(right)


def multiply(left: Any, right: Any) -> Any:
    if isinstance(left, str):
        return left * int(to_number(right))
    if isinstance(left, list | tuple):
        return list(left) * int(to_number(right))
    return to_number(left) * to_number(right)


def divide(left: Any, right: Any) -> Any:
    a, b = to_number(left), to_number(right)
    if b == 0:
        raise OperatorError("Attempted to divide by zero.", "RuntimeException")
    if isinstance(a, int) and isinstance(b, int) and a % b == 0:
        return a // b
    return a / b


def modulo(left: Any, right: Any) -> Any:
    a, b = to_number(left), to_number(right)
    if b == 0:
        raise OperatorError("Attempted to divide by zero.", "RuntimeException")
    if isinstance(a, int) and isinstance(b, int):
        return int(math.fmod(a, b))
    return math.fmod(a, b)


ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": add, "-": subtract, "*": multiply, "/": divide, "%": modulo,
    "band": lambda a, b: int(to_number(a)) & int(to_number(b)),
    "bor": lambda a, b: int(to_number(a)) | int(to_number(b)),
    "bxor": lambda a, b: int(to_number(a)) ^ int(to_number(b)),
}


def negate(value: Any) -> Any:
    if isinstance(value, dt.timedelta):
        return -value
    return -to_number(value)


def range_values(left: Any, right: Any) -> list[int]:
    start, stop = int(to_number(left)), int(to_number(right))
    if abs(stop - start) > 50_000_000:
        raise OperatorError("The range is too large.", "RangeTooLarge")
    step = 1 if stop >= start else -1
    return list(range(start, stop + step, step))
