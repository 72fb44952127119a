"""Type names as PowerShell shows them: the .NET names of parameter types, the type literals
scripts may write (``[int]``, ``[System.Management.Automation.PSCredential]``), the full name
of a value's type (``$x.GetType().FullName``) and ``-is``.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping
from typing import Any

from cmdlets.base import ParamType, PSCredential, PSObject
from shell.lang.errors import ErrorRecord
from shell.lang.values import ScriptBlock, TypeRef
from shell.objects import Hashtable

NET_NAMES: dict[ParamType, str] = {
    ParamType.STRING: "System.String",
    ParamType.STRING_ARRAY: "System.String[]",
    ParamType.INT: "System.Int32",
    ParamType.UNLIMITED_INT: "Unlimited",
    ParamType.BOOL: "System.Boolean",
    ParamType.SWITCH: "System.Management.Automation.SwitchParameter",
    ParamType.OBJECT: "System.Object",
    ParamType.OBJECT_ARRAY: "System.Object[]",
    ParamType.SCRIPTBLOCK: "System.Management.Automation.ScriptBlock",
    ParamType.BYTES: "System.Byte[]",
    ParamType.CREDENTIAL: "System.Management.Automation.PSCredential",
    ParamType.SECURESTRING: "System.Security.SecureString",
    ParamType.DATETIME: "System.DateTime",
    ParamType.TIMESPAN: "System.TimeSpan",
    ParamType.HASHTABLE: "System.Collections.Hashtable",
}

# Casts the language knows: lower-case alias -> .NET full name.
TYPE_ALIASES: dict[str, str] = {
    "string": "System.String", "int": "System.Int32", "int32": "System.Int32",
    "long": "System.Int64", "int64": "System.Int64", "double": "System.Double",
    "float": "System.Single", "single": "System.Single", "decimal": "System.Decimal",
    "bool": "System.Boolean", "boolean": "System.Boolean", "char": "System.Char",
    "byte": "System.Byte", "byte[]": "System.Byte[]", "datetime": "System.DateTime",
    "timespan": "System.TimeSpan", "array": "System.Array", "object[]": "System.Object[]",
    "string[]": "System.String[]", "int[]": "System.Int32[]", "object": "System.Object",
    "hashtable": "System.Collections.Hashtable",
    "ordered": "System.Collections.Specialized.OrderedDictionary",
    "pscustomobject": "System.Management.Automation.PSCustomObject",
    "psobject": "System.Management.Automation.PSObject",
    "scriptblock": "System.Management.Automation.ScriptBlock",
    "securestring": "System.Security.SecureString",
    "pscredential": "System.Management.Automation.PSCredential",
    "management.automation.pscredential": "System.Management.Automation.PSCredential",
    "regex": "System.Text.RegularExpressions.Regex", "void": "System.Void",
    "errorrecord": "System.Management.Automation.ErrorRecord",
    "management.automation.errorrecord": "System.Management.Automation.ErrorRecord",
    "exception": "System.Exception", "valuetype": "System.ValueType",
    "collections.hashtable": "System.Collections.Hashtable",
    "management.automation.pscustomobject": "System.Management.Automation.PSCustomObject",
}


def canonical_type(name: str) -> str | None:
    """The .NET full name for a type literal, or None when the language has no such type."""
    key = name.lower()
    if key.startswith("system."):
        key = key[len("system."):]
    if key in TYPE_ALIASES:
        return TYPE_ALIASES[key]
    for full in TYPE_ALIASES.values():
        if full.lower() == "system." + key:
            return full
    return None


def type_name_of(value: Any) -> str:
    """The .NET-style full type name of a value (``GetType().FullName``)."""
    if isinstance(value, bool):
        return "System.Boolean"
    if isinstance(value, int):
        return "System.Int32" if -(2**31) <= value < 2**31 else "System.Int64"
    simple = {float: "System.Double", decimal.Decimal: "System.Decimal",
              str: "System.String", dt.datetime: "System.DateTime",
              dt.timedelta: "System.TimeSpan", bytes: "System.Byte[]",
              bytearray: "System.Byte[]", Hashtable: "System.Collections.Hashtable",
              ScriptBlock: "System.Management.Automation.ScriptBlock",
              PSCredential: "System.Management.Automation.PSCredential",
              ErrorRecord: "System.Management.Automation.ErrorRecord",
              TypeRef: "System.RuntimeType"}
    for cls, name in simple.items():
        if isinstance(value, cls):
            return name
    if isinstance(value, PSObject):
        return value.type_name
    if isinstance(value, list | tuple):
        return getattr(value, "ps_type_name", "System.Object[]")
    if is_secret(value):
        return "System.Security.SecureString"
    declared = getattr(value, "ps_type_name", None)  # ExceptionInfo, InvocationRecord, $Error
    if isinstance(declared, str):
        return declared
    return type(value).__name__


def short_type_name(full: str) -> str:
    return full.rsplit(".", 1)[-1]


def is_instance(value: Any, type_name: str) -> bool:
    """``value -is [type_name]``."""
    full = canonical_type(type_name)
    if value is None:
        return False
    if full is None:
        if isinstance(value, PSObject):
            return any(n.lower() == type_name.lower() for n in value.type_names)
        return type_name_of(value).lower() == type_name.lower()
    checks = {
        "System.Object": lambda v: True,
        "System.Array": lambda v: isinstance(v, list | tuple),
        "System.Object[]": lambda v: isinstance(v, list | tuple),
        "System.ValueType": lambda v: isinstance(v, int | float | bool | dt.datetime
                                                 | dt.timedelta),
        "System.Int32": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "System.Int64": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "System.Double": lambda v: isinstance(v, float),
        "System.Collections.Hashtable": lambda v: isinstance(v, Mapping),
        "System.Management.Automation.PSObject": lambda v: True,
        "System.Management.Automation.PSCustomObject": lambda v: isinstance(v, PSObject),
        "System.Exception": lambda v: hasattr(v, "Message"),
    }
    check = checks.get(full)
    if check is not None:
        return bool(check(value))
    return type_name_of(value) == full


def is_secret(value: Any) -> bool:
    return type(value).__name__ == "Secret" and hasattr(value, "reveal")
