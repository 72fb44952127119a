"""Value conversion: parameter arguments to their ``ParamType``, and casts (``[int]'7'``).

Binding rules (PowerShell's, with the imsh additions written down):

* a bareword number keeps its source text for ``string`` parameters (``-Name 007`` is
  ``"007"``); for ``int`` it is the number;
* ``Unlimited<int>`` accepts a whole number or the word ``Unlimited`` (any case), bound as the
  string ``"Unlimited"``;
* ``string[]`` takes an array or a single value; ``byte[]`` takes bytes or a list of 0..255;
* ``bool`` takes ``$true``/``$false``, numbers, and (leniently) the words true/false;
* ``SecureString`` and ``PSCredential`` only pass through values of those types;
* ``datetime`` parses ISO 8601 and ``MM/dd/yyyy [HH:mm[:ss]]``; ``timespan`` parses
  ``[d.]hh:mm[:ss]`` (an integer is a count of 100 ns ticks, as in .NET).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from cmdlets.base import ParamType, PSCredential, PSObject
from engine.values import parse_datetime, parse_timespan
from shell.lang.numbers import parse_number
from shell.lang.operators import truthy
from shell.lang.typenames import NET_NAMES, canonical_type, is_instance, is_secret, type_name_of
from shell.lang.values import ScriptBlock
from shell.objects import Hashtable, is_enumerable, to_text


class ConversionError(Exception):
    def __init__(self, message: str, error_id: str = "InvalidCastFromStringToInteger",
                 category: str = "InvalidArgument") -> None:
        super().__init__(message)
        self.message = message
        self.error_id = error_id
        self.category = category


# -- conversions -----------------------------------------------------------------------------


def _cannot(value: Any, target: str) -> ConversionError:
    if isinstance(value, str):
        return ConversionError(f'Cannot convert value "{value}" to type "{target}". '
                               'Error: "Input string was not in a correct format."')
    return ConversionError(f'Cannot convert the "{to_text(value)}" value of type '
                           f'"{type_name_of(value)}" to type "{target}".',
                           "ConvertToFinalInvalidCastException")


def to_int(value: Any, target: str = "System.Int32") -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return round(value)  # .NET rounds half to even, as Python does
    if isinstance(value, str):
        text = value.strip()
        number = parse_number(text.lstrip("+-")) if text else None
        if number is not None:
            return to_int(-number if text.startswith("-") else number, target)
    if isinstance(value, list | tuple) and len(value) == 1:
        return to_int(value[0], target)
    raise _cannot(value, target)


def to_float(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(to_text(value).strip())
    except ValueError:
        raise _cannot(value, "System.Double") from None


def to_bool_argument(value: Any) -> bool:
    if isinstance(value, bool | int | float):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "$true", "$false"):
        return value.strip().lower().lstrip("$") == "true"
    raise ConversionError(f'Cannot convert value "{type_name_of(value)}" to type '
                          '"System.Boolean". Boolean parameters accept only Boolean values and '
                          "numbers, such as $True, $False, 1 or 0.",
                          "ParameterArgumentTransformationError")


def to_bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    items = list(value) if isinstance(value, list | tuple) else [value]
    try:
        return bytes(to_int(item, "System.Byte") for item in items)
    except (ValueError, ConversionError):
        raise _cannot(value, "System.Byte[]") from None


def to_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is not None:
            return parsed
        # DateTime.Parse's own failure, as PowerShell 7 reports a string it cannot parse
        raise ConversionError(f'Cannot convert value "{value}" to type "System.DateTime". '
                              f'Error: "String \'{value}\' was not recognized as a valid '
                              'DateTime."', "InvalidCastParseTargetInvocation", "InvalidArgument")
    raise _cannot(value, "System.DateTime")


def to_timespan(value: Any) -> dt.timedelta:
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return dt.timedelta(microseconds=value / 10)
    if isinstance(value, str):
        parsed = parse_timespan(value)
        if parsed is not None:
            return parsed
    raise _cannot(value, "System.TimeSpan")


def to_string(value: Any, literal: str | None = None) -> str:
    if literal is not None:
        return literal
    return to_text(value)


def convert_argument(value: Any, ptype: ParamType, literal: str | None = None) -> Any:
    """Convert a bound argument to ``ptype``; ``literal`` is a bareword's source text."""
    if ptype is ParamType.STRING:
        return to_string(value, literal)
    if ptype is ParamType.STRING_ARRAY:
        if isinstance(value, list | tuple):
            return [to_text(item) for item in value]
        return [to_string(value, literal)]
    if ptype is ParamType.INT:
        return to_int(value)
    if ptype is ParamType.UNLIMITED_INT:
        if isinstance(value, str) and value.strip().lower() == "unlimited":
            return "Unlimited"
        try:
            return to_int(value)
        except ConversionError:
            raise ConversionError(f'Cannot convert value "{to_text(value)}" to type '
                                  '"Unlimited". Use a whole number or Unlimited.') from None
    if ptype in (ParamType.BOOL, ParamType.SWITCH):
        return to_bool_argument(value)
    if ptype is ParamType.OBJECT:
        return value
    if ptype is ParamType.OBJECT_ARRAY:
        return list(value) if isinstance(value, list | tuple) else [value]
    return _convert_special(value, ptype)


def _convert_special(value: Any, ptype: ParamType) -> Any:
    target = NET_NAMES[ptype]
    if ptype is ParamType.SCRIPTBLOCK:
        if isinstance(value, ScriptBlock):
            return value
        raise _cannot_type(value, target)
    if ptype is ParamType.BYTES:
        return to_bytes(value)
    if ptype is ParamType.CREDENTIAL:
        if isinstance(value, PSCredential):
            return value
        raise _cannot_type(value, target)
    if ptype is ParamType.SECURESTRING:
        if is_secret(value):
            return value
        raise _cannot_type(value, target)
    if ptype is ParamType.DATETIME:
        return to_datetime(value)
    if ptype is ParamType.TIMESPAN:
        return to_timespan(value)
    if ptype is ParamType.HASHTABLE:
        if isinstance(value, Mapping):
            return value if isinstance(value, Hashtable) else Hashtable(value)
        raise _cannot_type(value, target)
    return value


def _cannot_type(value: Any, target: str) -> ConversionError:
    return ConversionError(f'Cannot convert the "{to_text(value)}" value of type '
                           f'"{type_name_of(value)}" to type "{target}".',
                           "ConvertToFinalInvalidCastException")


# -- casts -----------------------------------------------------------------------------------


def cast(value: Any, type_name: str) -> Any:
    """``[type_name]value``; raises ConversionError, or KeyError for an unknown type."""
    full = canonical_type(type_name)
    if full is None:
        raise KeyError(type_name)
    caster = _CASTS.get(full)
    if caster is None:
        if is_instance(value, full):
            return value
        raise _cannot_type(value, full)
    return caster(value)


def _to_array(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple) or (is_enumerable(value) and not isinstance(value, dict)):
        return list(value)
    return [value]


def _to_custom_object(value: Any) -> Any:
    if isinstance(value, Mapping):
        return PSObject({to_text(k): v for k, v in value.items()})
    return value


def _to_char(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return chr(value)
    text = to_text(value)
    if len(text) != 1:
        raise _cannot(value, "System.Char")
    return text


_CASTS: dict[str, Any] = {
    "System.String": lambda v: to_text(v),
    "System.Int32": to_int,
    "System.Int64": to_int,
    "System.Byte": lambda v: to_int(v, "System.Byte") & 0xFF,
    "System.Double": to_float,
    "System.Single": to_float,
    "System.Decimal": to_float,
    "System.Boolean": truthy,
    "System.Char": _to_char,
    "System.DateTime": to_datetime,
    "System.TimeSpan": to_timespan,
    "System.Array": _to_array,
    "System.Object[]": _to_array,
    "System.String[]": lambda v: [to_text(x) for x in _to_array(v)],
    "System.Int32[]": lambda v: [to_int(x) for x in _to_array(v)],
    "System.Byte[]": to_bytes,
    "System.Object": lambda v: v,
    "System.Management.Automation.PSObject": lambda v: v,
    "System.Void": lambda v: None,
    "System.Collections.Hashtable": lambda v: _convert_special(v, ParamType.HASHTABLE),
    "System.Management.Automation.PSCustomObject": _to_custom_object,
    "System.Management.Automation.ScriptBlock": lambda v: _convert_special(
        v, ParamType.SCRIPTBLOCK),
}
