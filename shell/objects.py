"""How the language sees values: properties, enumeration, and text.

One place decides what ``$x.Name`` means for every kind of value the shell meets
(``PSObject`` records, hashtables, Python objects with attributes), which values a
pipeline enumerates, and how a value turns into text the way PowerShell's ``ToString``
does.  The evaluator, the formatter and the general-purpose cmdlets all use these
functions, so ``Select-Object``, ``Format-Table`` and member access always agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from cmdlets.base import PSCredential, PSObject
from engine.values import datetime_text, timespan_text


class Hashtable(dict[str, Any]):
    """``@{}``: insertion-ordered, with case-insensitive string keys.

    The first spelling of a key is kept for display; later spellings update the value.
    Non-string keys are stored as they are.
    """

    def __init__(self, items: Iterable[tuple[Any, Any]] | Mapping[Any, Any] = ()) -> None:
        super().__init__()
        self._folded: dict[Any, Any] = {}
        pairs = items.items() if isinstance(items, Mapping) else items
        for key, value in pairs:
            self[key] = value

    def _actual(self, key: Any) -> Any:
        return self._folded.get(_fold(key), key)

    def __setitem__(self, key: Any, value: Any) -> None:
        actual = self._folded.setdefault(_fold(key), key)
        super().__setitem__(actual, value)

    def __getitem__(self, key: Any) -> Any:
        return super().__getitem__(self._actual(key))

    def __contains__(self, key: object) -> bool:
        return _fold(key) in self._folded

    def __delitem__(self, key: Any) -> None:
        actual = self._actual(key)
        super().__delitem__(actual)
        del self._folded[_fold(key)]

    def get(self, key: Any, default: Any = None) -> Any:
        return self[key] if key in self else default  # noqa: SIM401 (dict.get bypasses folding)


def _fold(key: Any) -> Any:
    return key.casefold() if isinstance(key, str) else key


class NoSuchProperty(LookupError):
    """Raised by ``get_property(..., strict=True)`` when the member does not exist."""


_MISSING = object()


def get_property(obj: Any, name: str, *, strict: bool = False) -> Any:
    """``obj.name`` with PowerShell's rules; ``$null`` (None) when absent unless ``strict``."""
    value = _lookup(obj, name)
    if value is _MISSING:
        if strict:
            raise NoSuchProperty(name)
        return None
    return value


def _lookup(obj: Any, name: str) -> Any:
    if obj is None:
        return _MISSING
    if isinstance(obj, PSObject):
        return obj.get(name) if obj.has(name) else _MISSING
    if isinstance(obj, Hashtable):
        if name in obj:
            return obj[name]
        return _builtin_member(obj, name)
    if isinstance(obj, Mapping):
        for key in obj:
            if isinstance(key, str) and key.casefold() == name.casefold():
                return obj[key]
        return _builtin_member(obj, name)
    if isinstance(obj, PSCredential):
        return {"username": obj.user_name, "password": obj.password}.get(name.casefold(), _MISSING)
    return _builtin_member(obj, name)


def _builtin_member(obj: Any, name: str) -> Any:
    """The few .NET members admins use on plain values (Count, Length, date parts)."""
    key = name.casefold()
    if key in ("count", "length"):
        if isinstance(obj, str | bytes | list | tuple | dict):
            return len(obj)
        return 1
    if isinstance(obj, bool) and key == "ispresent":  # a [switch] parameter's value
        return obj
    if isinstance(obj, dt.datetime):
        parts = {"year": obj.year, "month": obj.month, "day": obj.day, "hour": obj.hour,
                 "minute": obj.minute, "second": obj.second, "date": obj.replace(
                     hour=0, minute=0, second=0, microsecond=0), "dayofweek": obj.strftime("%A")}
        if key in parts:
            return parts[key]
    if isinstance(obj, dt.timedelta):
        parts_td = {"totalseconds": obj.total_seconds(), "totalminutes": obj.total_seconds() / 60,
                    "totalhours": obj.total_seconds() / 3600, "days": obj.days}
        if key in parts_td:
            return parts_td[key]
    declared = getattr(type(obj), "PS_PROPERTIES", None)  # only the .NET-visible members
    if declared is not None:
        for attr in declared:
            if attr.casefold() == key:
                return getattr(obj, attr)
        return _MISSING
    for attr in vars(obj) if hasattr(obj, "__dict__") else ():
        if attr.casefold() == key and not attr.startswith("_"):
            return getattr(obj, attr)
    return _MISSING


def property_names(obj: Any) -> list[str]:
    """The properties an object shows (Format-List *, Export-Csv header, Select-Object *)."""
    if isinstance(obj, PSObject):
        return obj.names()
    if isinstance(obj, Mapping):
        return [str(key) for key in obj]
    if isinstance(obj, PSCredential):
        return ["UserName", "Password"]
    if obj is None or isinstance(obj, str | int | float | bool | bytes | dt.datetime):
        return []
    declared = getattr(type(obj), "PS_PROPERTIES", None)
    if declared is not None:
        return list(declared)
    if hasattr(obj, "__dict__"):
        return [name for name in vars(obj) if not name.startswith("_")]
    return []


def display_properties(obj: Any) -> list[str]:
    """The default display property set, else all properties."""
    if isinstance(obj, PSObject) and obj.display:
        return list(obj.display)
    return property_names(obj)


def is_enumerable(value: Any) -> bool:
    """True for values a pipeline unrolls: lists, tuples, generators; not strings or maps."""
    if isinstance(value, str | bytes | bytearray | Mapping | PSObject):
        return False
    return isinstance(value, list | tuple | set | frozenset | Iterator) or (
        hasattr(value, "__iter__") and not hasattr(value, "__dict__")
    )


def enumerate_value(value: Any) -> Iterator[Any]:
    """Yield the items a pipeline would send for ``value`` (``$null`` sends nothing)."""
    if value is None:
        return
    if is_enumerable(value):
        yield from value
    else:
        yield value


def to_text(value: Any) -> str:
    """PowerShell's string conversion of a value (``"$x"``, ``[string]$x``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, dt.datetime):
        return datetime_text(value)
    if isinstance(value, dt.timedelta):
        return timespan_text(value)
    if isinstance(value, bytes | bytearray):
        return " ".join(str(b) for b in value)
    if isinstance(value, PSObject):
        return str(value) if value.view == "string" else _record_text(value)
    if isinstance(value, Hashtable):
        return "System.Collections.Hashtable"
    if is_enumerable(value):
        return " ".join(to_text(item) for item in value)
    return str(value)


def _float_text(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _record_text(record: PSObject) -> str:
    if record.has("Identity"):
        return to_text(record.get("Identity"))
    pairs = "; ".join(f"{name}={to_text(record.get(name))}" for name in record.names())
    return "@{" + pairs + "}"
