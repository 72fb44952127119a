"""JSON text as PowerShell 7's ConvertTo-Json writes it, and ConvertFrom-Json's reading.

Layout (PowerShell 7 uses Json.NET ``Formatting.Indented``): two-space indent, ``"name": value``,
one array element per line, ``[]``/``{}`` for empty containers; ``compress`` gives the compact
form without any whitespace.  Non-ASCII text is written as is; control characters, ``"`` and
``\\`` are escaped.

Depth: the input object is level 0, its property values level 1, and so on (array
elements count as a level too).  A container deeper than ``depth`` (default 2) is replaced by
its string form (``System.Collections.Hashtable``, ``@{a=1}``) and ``truncated`` is set so the
cmdlet can warn as PowerShell 7 does.  Scalars are never cut.

Values: dates become ISO 8601 strings (``2026-11-25T20:07:00``, fractional seconds without
trailing zeros, ``Z`` or ``+hh:mm`` for aware dates); enums with integer values become
numbers, other enums their value (``-EnumsAsStrings`` forces names); a ``Secret`` is
written masked; floats keep a fraction (``1.0``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cmdlets.base import PSObject
from shell.objects import Hashtable, get_property, is_enumerable, property_names, to_text

DEFAULT_DEPTH = 2
MAX_DEPTH = 100


@dataclass
class JsonOptions:
    depth: int = DEFAULT_DEPTH
    compress: bool = False
    enums_as_strings: bool = False
    truncated: bool = False


def to_json(value: Any, options: JsonOptions | None = None) -> str:
    """The JSON text for ``value``; sets ``options.truncated`` when depth cut anything."""
    options = options or JsonOptions()
    tree = _tree(value, 0, options)
    if options.compress:
        return json.dumps(tree, ensure_ascii=False, separators=(",", ":"))
    return _indented(tree, 0)


def _tree(value: Any, level: int, options: JsonOptions) -> Any:
    """Plain Python data (dict/list/scalars) mirroring what PowerShell serializes."""
    scalar = _scalar(value, options)
    if scalar is not _CONTAINER:
        return scalar
    if level > options.depth:
        options.truncated = True
        return to_text(value)
    if isinstance(value, Mapping):
        return {str(k): _tree(v, level + 1, options) for k, v in value.items()}
    if is_enumerable(value):
        return [_tree(item, level + 1, options) for item in value]
    return {name: _tree(get_property(value, name), level + 1, options)
            for name in property_names(value)}


_CONTAINER = object()


def _scalar(value: Any, options: JsonOptions) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):
        if options.enums_as_strings:
            return value.name
        return value.value if isinstance(value.value, int | str) else value.name
    if isinstance(value, int):
        return value
    if isinstance(value, float | decimal.Decimal):
        return _number(float(value))
    if isinstance(value, dt.datetime):
        return iso_date(value)
    if isinstance(value, dt.timedelta):
        return to_text(value)
    if isinstance(value, bytes | bytearray):
        return list(value)
    if type(value).__name__ == "Secret" or not (
        isinstance(value, Mapping | PSObject | Hashtable) or is_enumerable(value)
        or property_names(value)
    ):
        return str(value)
    return _CONTAINER


def _number(value: float) -> Any:
    if math.isnan(value) or math.isinf(value):
        return {math.inf: "Infinity", -math.inf: "-Infinity"}.get(value, "NaN")
    return value


def iso_date(value: dt.datetime) -> str:
    """Json.NET's round-trip date format: ``yyyy-MM-ddTHH:mm:ss.FFFFFFFK``."""
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += "." + f"{value.microsecond:06}".rstrip("0")
    offset = value.utcoffset()
    if offset is None:
        return text
    if not offset:
        return text + "Z"
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{text}{sign}{hours:02}:{mins:02}"


def _indented(tree: Any, level: int) -> str:
    inner = "  " * (level + 1)
    if isinstance(tree, dict):
        if not tree:
            return "{}"
        items = [f"{inner}{_string(k)}: {_indented(v, level + 1)}" for k, v in tree.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * level + "}"
    if isinstance(tree, list):
        if not tree:
            return "[]"
        items = [inner + _indented(v, level + 1) for v in tree]
        return "[\n" + ",\n".join(items) + "\n" + "  " * level + "]"
    return json.dumps(tree, ensure_ascii=False)


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def from_json(text: str, *, as_hashtable: bool = False) -> Any:
    """Parse JSON; objects become ``PSCustomObject`` records (or hashtables)."""
    def hook(pairs: list[tuple[str, Any]]) -> Any:
        if as_hashtable:
            return Hashtable(pairs)
        return PSObject(dict(pairs))
    return json.loads(text, object_pairs_hook=hook)
