"""Instance members: ``$x.Name`` and ``$x.Method(args)`` on the values scripts meet.

Properties come from ``shell.objects.get_property`` (one answer for the whole shell); this
module adds member-access enumeration (``$users.Status`` on an array gives each user's
Status) and the .NET methods that are sensible on strings, numbers, dates, time spans,
arrays, hashtables, script blocks and credentials.  Anything else is PowerShell's "does not
contain a method named" error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from cmdlets.base import PSCredential, PSObject
from shell.lang.convert import ConversionError, to_int
from shell.lang.operators import truthy
from shell.lang.statics import Encoding
from shell.lang.textformat import format_value
from shell.lang.typenames import short_type_name, type_name_of
from shell.lang.values import ScriptBlock, TypeRef
from shell.objects import Hashtable, get_property, is_enumerable, to_text

Invoke = Callable[[ScriptBlock, Any, list[Any]], list[Any]]


class MemberError(Exception):
    def __init__(self, message: str, error_id: str, category: str = "InvalidOperation") -> None:
        super().__init__(message)
        self.message = message
        self.error_id = error_id
        self.category = category


def collapse(values: list[Any]) -> Any:
    """Pipeline-style result: nothing -> $null, one -> the value, more -> the list."""
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def get_member(value: Any, name: str) -> Any:
    if value is None:
        return None
    key = name.lower()
    if isinstance(value, list | tuple) or (is_enumerable(value) and not isinstance(value, Mapping)):
        items = list(value)
        if key in ("count", "length"):
            return len(items)
        results: list[Any] = []
        for item in items:
            result = get_member(item, name)
            if isinstance(result, list):
                results.extend(result)
            elif result is not None:
                results.append(result)
        return collapse(results)
    if isinstance(value, Mapping):
        if name in value:
            return value[name]
        if key in ("keys", "values"):
            return list(value.keys() if key == "keys" else value.values())
        if key == "count":
            return len(value)
        return None
    if isinstance(value, dt.timedelta):
        extra = {"hours": value.seconds // 3600, "minutes": value.seconds // 60 % 60,
                 "seconds": value.seconds % 60, "milliseconds": value.microseconds // 1000,
                 "totaldays": value.total_seconds() / 86400,
                 "totalmilliseconds": value.total_seconds() * 1000,
                 "ticks": int(value.total_seconds() * 10_000_000)}
        if key in extra:
            return extra[key]
    if isinstance(value, dt.datetime):
        extra_dt = {"dayofyear": value.timetuple().tm_yday,
                    "millisecond": value.microsecond // 1000,
                    "ticks": int((value - dt.datetime(1, 1, 1, tzinfo=value.tzinfo))
                                 .total_seconds() * 10_000_000),
                    "timeofday": value - value.replace(hour=0, minute=0, second=0, microsecond=0)}
        if key in extra_dt:
            return extra_dt[key]
    return get_property(value, name)


# -- methods ---------------------------------------------------------------------------------


def call_method(value: Any, name: str, args: list[Any], invoke: Invoke) -> Any:
    """``value.name(args)``."""
    if value is None:
        raise MemberError("You cannot call a method on a null-valued expression.",
                          "InvokeMethodOnNull")
    key = name.lower()
    try:
        handler = _find(value, key, invoke)
        if handler is None:
            if _is_collection(value):
                return collapse([call_method(item, name, args, invoke) for item in value])
            raise MemberError(f"Method invocation failed because [{type_name_of(value)}] does "
                              f"not contain a method named '{name}'.", "MethodNotFound")
        return handler(*args)
    except MemberError:
        raise
    except TypeError:
        raise MemberError(f'Cannot find an overload for "{name}" and the argument count: '
                          f'"{len(args)}".', "MethodCountCouldNotFindBest") from None
    except (ValueError, IndexError, KeyError, ConversionError, OverflowError) as err:
        message = getattr(err, "message", None) or str(err)
        raise MemberError(f'Exception calling "{name}" with "{len(args)}" argument(s): '
                          f'"{message}"', "MethodInvocationException", "NotSpecified") from None


def _is_collection(value: Any) -> bool:
    return isinstance(value, list | tuple)


def _find(value: Any, key: str, invoke: Invoke) -> Callable[..., Any] | None:
    common: dict[str, Callable[..., Any]] = {
        "gettype": lambda: TypeRef(short_type_name(type_name_of(value)), type_name_of(value)),
        "tostring": lambda fmt=None: format_value(value, to_text(fmt)) if fmt else _tostring(value),
        "equals": lambda other: value == other,
    }
    specific: dict[str, Callable[..., Any]] = {}
    if isinstance(value, str):
        specific = _string_methods(value)
    elif isinstance(value, dt.datetime):
        specific = _date_methods(value)
    elif isinstance(value, dt.timedelta):
        specific = {"add": lambda other: value + other, "subtract": lambda other: value - other,
                    "negate": lambda: -value}
    elif isinstance(value, list | tuple):
        specific = _list_methods(value, invoke)
    elif isinstance(value, Hashtable | dict):
        specific = _hashtable_methods(value)
    elif isinstance(value, ScriptBlock):
        specific = {"invoke": lambda *a: collapse(invoke(value, None, list(a))),
                    "invokereturnasis": lambda *a: collapse(invoke(value, None, list(a)))}
    elif isinstance(value, Encoding):
        return lambda *a: value.call(key, list(a))
    elif callable(getattr(value, "ps_methods", None)):  # $PSCmdlet in an advanced function
        specific = value.ps_methods()
    elif isinstance(value, PSCredential):
        specific = {"getnetworkcredential": lambda: PSObject(
            {"UserName": value.user_name, "Password": _reveal(value.password)},
            type_names=("System.Net.NetworkCredential",))}
    if key == _ALL_NAMES:
        return lambda: [*specific, *common]
    return specific.get(key) or common.get(key)


_ALL_NAMES = "\0names"


def method_names(value: Any) -> list[str]:
    """The (lower-case) names of the methods ``value`` answers (Get-Member lists them)."""
    if value is None:
        return []
    found = _find(value, _ALL_NAMES, lambda block, item, args: [])
    return list(found()) if found is not None else []


def _reveal(secret: Any) -> str:
    reveal = getattr(secret, "reveal", None)
    return reveal() if callable(reveal) else to_text(secret)


def _tostring(value: Any) -> str:
    if type(value).__name__ == "Secret":
        return "System.Security.SecureString"
    if isinstance(value, Hashtable):
        return "System.Collections.Hashtable"
    if isinstance(value, list | tuple):
        return "System.Object[]"
    return to_text(value)


def _string_methods(s: str) -> dict[str, Callable[..., Any]]:
    def split(*separators: Any) -> list[str]:
        seps = [to_text(x) for sep in separators
                for x in (sep if isinstance(sep, list) else [sep])] or [" "]
        chars = [c for sep in seps for c in sep] if all(len(x) <= 1 for x in seps) else seps
        parts, current, i = [], "", 0
        while i < len(s):
            hit = next((c for c in chars if c and s.startswith(c, i)), None)
            if hit is None:
                current += s[i]
                i += 1
            else:
                parts.append(current)
                current, i = "", i + len(hit)
        parts.append(current)
        return parts

    def substring(start: Any, length: Any = None) -> str:
        a = to_int(start)
        if a < 0 or a > len(s):
            raise ValueError("startIndex cannot be larger than length of string.")
        if length is None:
            return s[a:]
        n = to_int(length)
        if n < 0 or a + n > len(s):
            raise ValueError("Index and length must refer to a location within the string.")
        return s[a : a + n]

    def trim_chars(args: tuple[Any, ...]) -> str | None:
        return "".join(to_text(a) for a in args) if args else None

    return {
        "toupper": lambda: s.upper(), "tolower": lambda: s.lower(),
        "toupperinvariant": lambda: s.upper(), "tolowerinvariant": lambda: s.lower(),
        "trim": lambda *c: s.strip(trim_chars(c)),
        "trimstart": lambda *c: s.lstrip(trim_chars(c)),
        "trimend": lambda *c: s.rstrip(trim_chars(c)),
        "split": split,
        "replace": lambda old, new: s.replace(to_text(old), to_text(new)),
        "contains": lambda sub: to_text(sub) in s,
        "startswith": lambda sub, *_: s.startswith(to_text(sub)),
        "endswith": lambda sub, *_: s.endswith(to_text(sub)),
        "substring": substring,
        "indexof": lambda sub, *_: s.find(to_text(sub)),
        "lastindexof": lambda sub, *_: s.rfind(to_text(sub)),
        "padleft": lambda n, c=" ": s.rjust(to_int(n), to_text(c)),
        "padright": lambda n, c=" ": s.ljust(to_int(n), to_text(c)),
        "insert": lambda i, sub: s[: to_int(i)] + to_text(sub) + s[to_int(i):],
        "remove": lambda i, n=None: s[: to_int(i)] + ("" if n is None else s[to_int(i)
                                                                            + to_int(n):]),
        "tochararray": lambda: list(s),
        "compareto": lambda other: (s > to_text(other)) - (s < to_text(other)),
        "equals": lambda other, *_: s == to_text(other),
    }


def _date_methods(d: dt.datetime) -> dict[str, Callable[..., Any]]:
    def add_months(n: Any) -> dt.datetime:
        months = d.month - 1 + to_int(n)
        year, month = d.year + months // 12, months % 12 + 1
        day = min(d.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28,
                          31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1])
        return d.replace(year=year, month=month, day=day)

    def span(**unit: Any) -> Callable[[Any], dt.datetime]:
        (name, _), = unit.items()
        return lambda n: d + dt.timedelta(**{name: float(n)})

    return {
        "adddays": span(days=1), "addhours": span(hours=1), "addminutes": span(minutes=1),
        "addseconds": span(seconds=1), "addmilliseconds": span(milliseconds=1),
        "addmonths": add_months, "addyears": lambda n: add_months(to_int(n) * 12),
        "add": lambda other: d + other,
        "subtract": lambda other: d - other,
        "touniversaltime": lambda: d.astimezone(dt.UTC).replace(tzinfo=None)
        if d.tzinfo else d.astimezone().astimezone(dt.UTC).replace(tzinfo=None),
        "tolocaltime": lambda: d.astimezone().replace(tzinfo=None) if d.tzinfo else d,
        "toshortdatestring": lambda: format_value(d, "M/d/yyyy"),
        "tolongdatestring": lambda: format_value(d, "dddd, MMMM d, yyyy"),
        "toshorttimestring": lambda: format_value(d, "h:mm tt"),
        "tolongtimestring": lambda: format_value(d, "h:mm:ss tt"),
        "compareto": lambda other: (d > other) - (d < other),
    }


def _list_methods(items: list[Any] | tuple[Any, ...], invoke: Invoke
                  ) -> dict[str, Callable[..., Any]]:
    from shell.lang.operators import compare

    def where(block: ScriptBlock, mode: Any = None, count: Any = 0) -> list[Any]:
        chosen = [item for item in items if truthy(collapse(invoke(block, item, [])))]
        limit = to_int(count) if count else 0
        if mode is not None and to_text(mode).lower() == "first":
            return chosen[: limit or 1]
        if mode is not None and to_text(mode).lower() == "last":
            return chosen[-(limit or 1):]
        return chosen[:limit] if limit else chosen

    def foreach(block: Any, *args: Any) -> list[Any]:
        if isinstance(block, ScriptBlock):
            return [out for item in items for out in invoke(block, item, [])]
        return [get_member(item, to_text(block)) for item in items]

    def fixed(*_: Any) -> None:
        raise ValueError("Collection was of a fixed size.")

    return {
        "contains": lambda x: bool(compare("ceq", list(items), x)[0]) if not isinstance(
            x, str) else any(isinstance(i, str) and i == x for i in items)
        or bool(compare("ceq", list(items), x)[0]),
        "indexof": lambda x: next((i for i, v in enumerate(items) if v == x), -1),
        "where": where, "foreach": foreach, "add": fixed, "remove": fixed,
        "clone": lambda: list(items),
        **(_growable_methods(items) if getattr(items, "growable", False) else {}),
    }


def _growable_methods(items: Any) -> dict[str, Callable[..., Any]]:
    """ArrayList methods (``$Error.Clear()``)."""
    def remove_at(index: Any) -> None:
        del items[to_int(index)]

    def remove(item: Any) -> None:
        if item in items:
            items.remove(item)

    return {"clear": items.clear, "removeat": remove_at, "remove": remove,
            "add": lambda item: items.append(item) or len(items) - 1}


def _hashtable_methods(table: dict[Any, Any]) -> dict[str, Callable[..., Any]]:
    def add(key: Any, value: Any) -> None:
        if key in table:
            raise ValueError(f"Item has already been added. Key in dictionary: '{key}'  Key "
                             f"being added: '{key}'")
        table[key] = value

    def remove(key: Any) -> None:
        table.pop(key, None)

    return {
        "containskey": lambda k: k in table, "contains": lambda k: k in table,
        "containsvalue": lambda v: v in table.values(), "add": add, "remove": remove,
        "clear": table.clear, "clone": lambda: Hashtable(table),
        "getenumerator": lambda: [PSObject({"Name": k, "Key": k, "Value": v},
                                           type_names=("System.Collections.DictionaryEntry",))
                                  for k, v in table.items()],
    }
