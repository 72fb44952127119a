"""The .NET static members admins use in migration scripts, emulated.

``[System.IO.File]::ReadAllBytes(path)`` (for ``-CSVData``), ``ReadAllText``, ``Exists``,
``WriteAllText``, ``ReadAllLines``; ``[Math]::Round/Floor/Ceiling/Max/Min/Abs/Pow/Sqrt``;
``[datetime]::Now/UtcNow/Today/Parse``; ``[string]::IsNullOrEmpty/IsNullOrWhiteSpace/Join/
Empty``; ``[System.Text.Encoding]::UTF8/ASCII/Unicode`` with ``GetString``/``GetBytes``;
``[Environment]::NewLine/MachineName/UserName``; ``[int]::MaxValue``, ``[guid]::NewGuid()``;
``[TimeSpan]::FromDays/FromHours/FromMinutes/FromSeconds/FromMilliseconds/Parse`` and ``Zero``.
Relative paths resolve against the session's current directory.  Any other type is PowerShell's
"Unable to find type [X]." error; any other member is "does not contain a method named".
"""

from __future__ import annotations

import datetime as dt
import getpass
import math
import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shell.lang.convert import ConversionError, to_datetime, to_float, to_int, to_timespan
from shell.lang.typenames import canonical_type
from shell.objects import to_text

Resolver = Callable[[str], Path]


class StaticError(Exception):
    def __init__(self, message: str, error_id: str, category: str = "InvalidOperation") -> None:
        super().__init__(message)
        self.message = message
        self.error_id = error_id
        self.category = category


class Encoding:
    """``[System.Text.Encoding]::UTF8`` and friends."""

    def __init__(self, name: str, codec: str) -> None:
        self.EncodingName = name
        self._codec = codec

    def call(self, method: str, args: list[Any]) -> Any:
        from shell.lang.convert import to_bytes

        key = method.lower()
        if key == "getstring" and len(args) == 1:
            return to_bytes(args[0]).decode(self._codec, errors="replace")
        if key == "getbytes" and len(args) == 1:
            return to_text(args[0]).encode(self._codec, errors="replace")
        raise KeyError(method)

    def __str__(self) -> str:
        return "System.Text." + self.EncodingName.replace(" ", "") + "Encoding"


_ENCODINGS = {"utf8": Encoding("Unicode (UTF-8)", "utf-8"),
              "ascii": Encoding("US-ASCII", "ascii"),
              "unicode": Encoding("Unicode", "utf-16-le"),
              "default": Encoding("Unicode (UTF-8)", "utf-8")}


def _file_members(resolve: Resolver) -> dict[str, Callable[..., Any]]:
    def read_bytes(path: Any) -> bytes:
        return resolve(to_text(path)).read_bytes()

    def read_text(path: Any, *_: Any) -> str:
        return resolve(to_text(path)).read_text(encoding="utf-8-sig")

    def read_lines(path: Any, *_: Any) -> list[str]:
        return read_text(path).splitlines()

    def write_text(path: Any, text: Any, *_: Any) -> None:
        resolve(to_text(path)).write_text(to_text(text), encoding="utf-8")

    def write_bytes(path: Any, data: Any) -> None:
        from shell.lang.convert import to_bytes

        resolve(to_text(path)).write_bytes(to_bytes(data))

    return {"readallbytes": read_bytes, "readalltext": read_text, "readalllines": read_lines,
            "writealltext": write_text, "writeallbytes": write_bytes,
            "exists": lambda p: resolve(to_text(p)).is_file()}


def _math_members() -> dict[str, Callable[..., Any]]:
    def round_(value: Any, digits: Any = 0) -> Any:
        result = round(to_float(value), to_int(digits))
        return int(result) if to_int(digits) == 0 else result

    return {
        "round": round_,
        "floor": lambda v: math.floor(to_float(v)),
        "ceiling": lambda v: math.ceil(to_float(v)),
        "max": lambda a, b: max(a, b, key=to_float),
        "min": lambda a, b: min(a, b, key=to_float),
        "abs": lambda v: abs(v) if isinstance(v, int | float) else abs(to_float(v)),
        "pow": lambda a, b: to_float(a) ** to_float(b),
        "sqrt": lambda v: math.sqrt(to_float(v)),
        "truncate": lambda v: math.trunc(to_float(v)),
    }


def _string_members() -> dict[str, Callable[..., Any]]:
    return {
        "isnullorempty": lambda v: v is None or to_text(v) == "",
        "isnullorwhitespace": lambda v: v is None or to_text(v).strip() == "",
        "join": lambda sep, *items: to_text(sep).join(
            to_text(i) for item in items for i in (item if isinstance(item, list) else [item])),
        "concat": lambda *items: "".join(to_text(i) for i in items),
        "equals": lambda a, b: to_text(a) == to_text(b),
    }


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


_PROPERTIES: dict[str, dict[str, Callable[[], Any]]] = {
    "System.DateTime": {"now": dt.datetime.now, "utcnow": lambda: dt.datetime.now(dt.UTC)
                        .replace(tzinfo=None), "today": lambda: dt.datetime.combine(
                            dt.date.today(), dt.time())},
    "System.String": {"empty": lambda: ""},
    "System.Int32": {"maxvalue": lambda: 2**31 - 1, "minvalue": lambda: -(2**31)},
    "System.Int64": {"maxvalue": lambda: 2**63 - 1, "minvalue": lambda: -(2**63)},
    "System.Text.Encoding": {name: _constant(enc) for name, enc in _ENCODINGS.items()},
    "System.Environment": {"newline": lambda: "\n", "machinename": socket.gethostname,
                           "username": getpass.getuser,
                           "currentdirectory": lambda: os.getcwd()},
    "System.Math": {"pi": lambda: math.pi, "e": lambda: math.e},
    "System.TimeSpan": {"zero": lambda: dt.timedelta(0)},
}

# Types only usable through their static members (not casts).
_STATIC_TYPES = {"io.file": "System.IO.File", "math": "System.Math",
                 "environment": "System.Environment", "text.encoding": "System.Text.Encoding",
                 "guid": "System.Guid", "io.path": "System.IO.Path"}


def static_type(name: str) -> str | None:
    """The full name of a type that has static members here (or is castable)."""
    key = name.lower().removeprefix("system.")
    return _STATIC_TYPES.get(key) or canonical_type(name)


def _path_members(resolve: Resolver) -> dict[str, Callable[..., Any]]:
    return {"combine": lambda *parts: str(Path(*[to_text(p) for p in parts])),
            "getfilename": lambda p: Path(to_text(p)).name,
            "getextension": lambda p: Path(to_text(p)).suffix,
            "getdirectoryname": lambda p: str(Path(to_text(p)).parent),
            "getfullpath": lambda p: str(resolve(to_text(p))),
            "gettempfilename": lambda: str(Path(os.environ.get("TMPDIR", "/tmp"))
                                           / f"tmp{uuid.uuid4().hex[:8]}.tmp")}


def _methods(full: str, resolve: Resolver) -> dict[str, Callable[..., Any]]:
    if full == "System.IO.File":
        return _file_members(resolve)
    if full == "System.IO.Path":
        return _path_members(resolve)
    if full == "System.Math":
        return _math_members()
    if full == "System.String":
        return _string_members()
    if full == "System.DateTime":
        return {"parse": to_datetime, "isleapyear": lambda y: _leap(to_int(y)),
                "daysinmonth": lambda y, m: _days_in_month(to_int(y), to_int(m))}
    if full == "System.Guid":
        return {"newguid": lambda: str(uuid.uuid4())}
    if full in ("System.Int32", "System.Int64"):
        return {"parse": to_int}
    if full == "System.TimeSpan":
        return _timespan_members()
    return {}


def _timespan_members() -> dict[str, Callable[..., Any]]:
    def span(unit: str) -> Callable[[Any], dt.timedelta]:
        return lambda value: dt.timedelta(**{unit: to_float(value)})

    return {"fromdays": span("days"), "fromhours": span("hours"), "fromminutes": span("minutes"),
            "fromseconds": span("seconds"), "frommilliseconds": span("milliseconds"),
            "parse": to_timespan}


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_in_month(year: int, month: int) -> int:
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    return (nxt - dt.timedelta(days=1)).day


def _resolve_type(name: str) -> str:
    full = static_type(name)
    if full is None:
        raise StaticError(f"Unable to find type [{name}].", "TypeNotFound")
    return full


def get_static(name: str, member: str) -> Any:
    """``[name]::member``."""
    full = _resolve_type(name)
    getter = _PROPERTIES.get(full, {}).get(member.lower())
    if getter is None:
        return None
    return getter()


def call_static(name: str, method: str, args: list[Any], resolve: Resolver) -> Any:
    """``[name]::method(args)``; file errors become PowerShell's 'Exception calling' text."""
    full = _resolve_type(name)
    function = _methods(full, resolve).get(method.lower())
    if function is None:
        raise StaticError(f"Method invocation failed because [{full}] does not contain a method "
                          f"named '{method}'.", "MethodNotFound")
    try:
        return function(*args)
    except TypeError:
        raise StaticError(f'Cannot find an overload for "{method}" and the argument count: '
                          f'"{len(args)}".', "MethodCountCouldNotFindBest") from None
    except FileNotFoundError as err:
        raise _calling(method, args, f"Could not find file '{err.filename}'.",
                       "FileNotFoundException") from None
    except IsADirectoryError as err:
        raise _calling(method, args, f"Access to the path '{err.filename}' is denied.",
                       "UnauthorizedAccessException") from None
    except PermissionError as err:
        raise _calling(method, args, f"Access to the path '{err.filename}' is denied.",
                       "UnauthorizedAccessException") from None
    except OSError as err:
        raise _calling(method, args, err.strerror or str(err), "IOException") from None
    except (ValueError, ConversionError) as err:
        raise _calling(method, args, getattr(err, "message", str(err)),
                       "FormatException") from None


def _calling(method: str, args: list[Any], message: str, error_id: str) -> StaticError:
    return StaticError(f'Exception calling "{method}" with "{len(args)}" argument(s): '
                       f'"{message}"', error_id, "NotSpecified")
