"""Get-Member: the members of the objects in a pipeline, as PowerShell 7 lists them.

One ``MemberDefinition`` record per member and distinct input type (TypeName, Name,
MemberType, Definition); the console shows them grouped under ``   TypeName: ...`` headings
(``shell.format.console``).  Members are sorted by MemberType, then Name, as PowerShell does.

What the members are: a ``[pscustomobject]`` (and a hashtable's keys are not members) has
NoteProperties; a typed record (a migration batch, user, endpoint ...) has Properties, shown
``{get;set;}`` as Exchange's objects show theirs; scalars have the .NET properties imsh
answers (``Length`` of a string, date parts) and the methods imsh implements for them
(``shell.lang.members``), with their .NET signatures where known.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from cmdlets.base import BoundArguments, Context, Example, Parameter, PSCredential, PSObject
from cmdlets.base import ParamType as T
from shell.builtins.common import INPUT_OBJECT, Collecting, as_list
from shell.lang.members import method_names
from shell.lang.typenames import type_name_of
from shell.objects import property_names
from shell.wildcard import wildcard_match

MEMBER_DEFINITION = "Microsoft.PowerShell.Commands.MemberDefinition"
MEMBER_TYPES = ("AliasProperty", "CodeProperty", "Property", "NoteProperty", "ScriptProperty",
                "Properties", "PropertySet", "Method", "CodeMethod", "ScriptMethod", "Methods",
                "ParameterizedProperty", "MemberSet", "Event", "Dynamic", "All")
_PROPERTY_KINDS = {"AliasProperty", "CodeProperty", "Property", "NoteProperty", "ScriptProperty"}
_METHOD_KINDS = {"Method", "CodeMethod", "ScriptMethod"}

# PowerShell's short names in member definitions
_SHORT = {"System.String": "string", "System.Int32": "int", "System.Int64": "long",
          "System.Boolean": "bool", "System.Double": "double", "System.DateTime": "datetime",
          "System.TimeSpan": "timespan", "System.Collections.Hashtable": "hashtable",
          "System.Object[]": "Object[]", "System.Char": "char", "System.Byte[]": "byte[]",
          "System.Management.Automation.ScriptBlock": "scriptblock",
          "System.Management.Automation.PSCredential": "pscredential",
          "System.Security.SecureString": "securestring", "System.Object": "System.Object"}

_COMMON_METHODS = {"equals": "bool Equals(System.Object obj)", "gethashcode": "int GetHashCode()",
                   "gettype": "type GetType()", "tostring": "string ToString()"}
# .NET spellings and signatures of the methods imsh implements (shell.lang.members)
_SIGNATURES = {
    "add": "Add", "adddays": "datetime AddDays(double value)",
    "addhours": "datetime AddHours(double value)",
    "addmilliseconds": "datetime AddMilliseconds(double value)",
    "addminutes": "datetime AddMinutes(double value)",
    "addmonths": "datetime AddMonths(int months)",
    "addseconds": "datetime AddSeconds(double value)",
    "addyears": "datetime AddYears(int value)", "clear": "void Clear()",
    "clone": "System.Object Clone()", "compareto": "int CompareTo(System.Object value)",
    "contains": "bool Contains(string value)", "containskey": "bool ContainsKey(System.Object key)",
    "containsvalue": "bool ContainsValue(System.Object value)",
    "endswith": "bool EndsWith(string value)", "getenumerator": "GetEnumerator",
    "getnetworkcredential": "System.Net.NetworkCredential GetNetworkCredential()",
    "indexof": "int IndexOf(string value)", "insert": "string Insert(int startIndex, string value)",
    "lastindexof": "int LastIndexOf(string value)", "padleft": "string PadLeft(int totalWidth)",
    "padright": "string PadRight(int totalWidth)", "remove": "Remove",
    "replace": "string Replace(string oldValue, string newValue)",
    "split": "string[] Split(char[] separator)", "startswith": "bool StartsWith(string value)",
    "substring": "string Substring(int startIndex)", "subtract": "Subtract",
    "tochararray": "char[] ToCharArray()", "tolocaltime": "datetime ToLocalTime()",
    "tolongdatestring": "string ToLongDateString()",
    "tolongtimestring": "string ToLongTimeString()", "tolower": "string ToLower()",
    "tolowerinvariant": "string ToLowerInvariant()",
    "toshortdatestring": "string ToShortDateString()",
    "toshorttimestring": "string ToShortTimeString()",
    "touniversaltime": "datetime ToUniversalTime()", "toupper": "string ToUpper()",
    "toupperinvariant": "string ToUpperInvariant()", "trim": "string Trim()",
    "trimend": "string TrimEnd()", "trimstart": "string TrimStart()",
    "where": "Where", "foreach": "ForEach", "first": "First", "last": "Last",
    "invoke": "System.Collections.ObjectModel.Collection[psobject] Invoke()",
    "invokereturnasis": "System.Object InvokeReturnAsIs()",
    "negate": "timespan Negate()",
}
_SCALAR_PROPERTIES: dict[type, tuple[tuple[str, str], ...]] = {
    str: (("Length", "int Length {get;}"),),
    dt.datetime: (("Date", "datetime Date {get;}"), ("Day", "int Day {get;}"),
                  ("DayOfWeek", "System.DayOfWeek DayOfWeek {get;}"),
                  ("DayOfYear", "int DayOfYear {get;}"), ("Hour", "int Hour {get;}"),
                  ("Millisecond", "int Millisecond {get;}"), ("Minute", "int Minute {get;}"),
                  ("Month", "int Month {get;}"), ("Second", "int Second {get;}"),
                  ("Ticks", "long Ticks {get;}"), ("TimeOfDay", "timespan TimeOfDay {get;}"),
                  ("Year", "int Year {get;}")),
    dt.timedelta: (("Days", "int Days {get;}"), ("Hours", "int Hours {get;}"),
                   ("Milliseconds", "int Milliseconds {get;}"),
                   ("Minutes", "int Minutes {get;}"), ("Seconds", "int Seconds {get;}"),
                   ("Ticks", "long Ticks {get;}"), ("TotalDays", "double TotalDays {get;}"),
                   ("TotalHours", "double TotalHours {get;}"),
                   ("TotalMilliseconds", "double TotalMilliseconds {get;}"),
                   ("TotalMinutes", "double TotalMinutes {get;}"),
                   ("TotalSeconds", "double TotalSeconds {get;}")),
}


def short_type(value: Any) -> str:
    full = type_name_of(value) if value is not None else "System.Object"
    if isinstance(value, list | tuple):
        return "Object[]"
    return _SHORT.get(full, full)


def type_names(value: Any) -> str:
    if isinstance(value, PSObject):
        return value.type_name
    return type_name_of(value)


def members(value: Any) -> list[tuple[str, str, str]]:
    """(Name, MemberType, Definition) of ``value``'s members, in Get-Member's order."""
    out: list[tuple[str, str, str]] = []
    if isinstance(value, PSObject):
        note = value.type_name in ("System.Management.Automation.PSCustomObject", "")
        for name in value.names():
            item = value.get(name)
            if note:
                kind = "object" if item is None else short_type(item)
                out.append((name, "NoteProperty", f"{kind} {name}={_note(item)}"))
            else:
                out.append((name, "Property", f"{short_type(item)} {name} {{get;set;}}"))
        out.extend((m.split(" ", 1)[1].split("(")[0], "Method", m)
                   for m in _COMMON_METHODS.values())
    else:
        for scalar, props in _SCALAR_PROPERTIES.items():
            if isinstance(value, scalar):
                out.extend((name, "Property", definition) for name, definition in props)
        if isinstance(value, PSCredential):
            out.extend([("Password", "Property", "securestring Password {get;}"),
                        ("UserName", "Property", "string UserName {get;}")])
        elif isinstance(value, Mapping):
            out.extend([("Count", "Property", "int Count {get;}"),
                        ("Keys", "Property", "System.Collections.ICollection Keys {get;}"),
                        ("Values", "Property", "System.Collections.ICollection Values {get;}")])
        elif not isinstance(value, str | int | float | bool | dt.datetime | dt.timedelta):
            out.extend((name, "Property", f"{short_type(getattr(value, name, None))} {name} "
                        "{get;}") for name in property_names(value))
        names = set(_COMMON_METHODS) | set(method_names(value))
        for key in names:
            definition = _COMMON_METHODS.get(key) or _SIGNATURES.get(key) or key.capitalize()
            name = definition.split("(")[0].split(" ")[-1] if "(" in definition else definition
            out.append((name, "Method", definition if "(" in definition else f"{name}()"))
    return sorted(out, key=lambda m: (m[1], m[0].casefold()))


def _note(value: Any) -> str:
    from shell.objects import to_text

    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        return "System.Object[]"
    if isinstance(value, Mapping) and not isinstance(value, PSObject):
        return "System.Collections.Hashtable"
    return to_text(value)


def _kind_matches(kind: str, wanted: list[str]) -> bool:
    if not wanted:
        return True
    for want in wanted:
        folded = want.casefold()
        if folded == "all" or folded == kind.casefold():
            return True
        if folded == "properties" and kind in _PROPERTY_KINDS:
            return True
        if folded == "methods" and kind in _METHOD_KINDS:
            return True
    return False


class GetMember(Collecting):
    name = "Get-Member"
    aliases = ("gm",)
    synopsis = "Gets the properties and methods of objects."
    description = ("Lists the members (properties and methods, with their types) of each "
                   "distinct type of object in the pipeline, grouped by TypeName.")
    examples = (
        Example("Get-MigrationBatch | Get-Member",
                "The properties of a migration batch and their types."),
        Example("Get-MigrationUser | Get-Member -MemberType Property -Name *Sync*",
                "Only the sync-related properties of a migration user."),
    )
    parameters = (
        INPUT_OBJECT,
        Parameter("Name", T.STRING_ARRAY, position=0, help="Member names (wildcards allowed)."),
        Parameter("MemberType", T.STRING_ARRAY, aliases=("Type",), choices=MEMBER_TYPES,
                  help="Only members of these kinds (Property, NoteProperty, Method, ...)."),
        Parameter("Static", T.SWITCH, unsupported=True),
        Parameter("Force", T.SWITCH, help="Accepted; imsh has no hidden members to add."),
    )

    def end(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if not self._items:
            from shell.builtins.common import invalid_argument

            raise invalid_argument("You must specify an object for the Get-Member cmdlet.",
                                   "NoObjectInGetMember")
        seen: set[str] = set()
        names = as_list(args.get("Name"))
        kinds = as_list(args.get("MemberType"))
        for obj in self._items:
            type_name = type_names(obj)
            if type_name in seen:
                continue
            seen.add(type_name)
            for name, kind, definition in members(obj):
                if names and not any(wildcard_match(pattern, name) for pattern in names):
                    continue
                if not _kind_matches(kind, kinds):
                    continue
                yield PSObject({"TypeName": type_name, "Name": name, "MemberType": kind,
                                "Definition": definition}, (MEMBER_DEFINITION,),
                               ("Name", "MemberType", "Definition"), "table")


EXPLORE_CMDLETS = (GetMember,)
