"""The object pipeline cmdlets: Where-Object, ForEach-Object, Select-Object, Sort-Object,
Group-Object and Measure-Object, with PowerShell 7's parameters, output records and errors.

Cmdlets keep per-pipeline state on the instance (the shell makes a fresh instance for each
pipeline); the collecting ones (Sort, Group, Measure, Select -Last/-Unique) emit in ``end``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Iterator
from typing import Any

from cmdlets.base import BoundArguments, Cmdlet, CmdletError, Context, Example, Parameter, PSObject
from cmdlets.base import ParamType as T
from shell.builtins.common import INPUT_OBJECT, Collecting, as_list, has_input
from shell.format import select as sel
from shell.format.values import is_number, type_name_of
from shell.lang.errors import StopUpstream
from shell.lang.members import MemberError, call_method, get_member
from shell.lang.operators import compare, sort_order, truthy
from shell.objects import Hashtable, enumerate_value, get_property, property_names, to_text
from shell.wildcard import wildcard_match

# (switch, parameter set, operator, case-sensitive)
_BASE_OPERATORS = ("EQ", "NE", "GT", "GE", "LT", "LE", "Like", "NotLike", "Match", "NotMatch",
                   "Contains", "NotContains", "In", "NotIn")
OPERATORS: tuple[tuple[str, str, str, bool], ...] = tuple(
    (prefix + op, f"{prefix}{op}Set", op.casefold(), prefix == "C")
    for op in _BASE_OPERATORS for prefix in ("", "C")
)
_OPERATOR_SETS = (*(set_name for _, set_name, _, _ in OPERATORS), "NotSet")


def _where_parameters() -> tuple[Parameter, ...]:
    params = [
        INPUT_OBJECT,
        Parameter("FilterScript", T.SCRIPTBLOCK, mandatory=True, position=0,
                  sets=("ScriptBlockSet",), help="A script block; objects for which it "
                  "returns true pass."),
        Parameter("Property", T.STRING, mandatory=True, position=0, sets=_OPERATOR_SETS,
                  help="The property to test (simplified syntax)."),
        Parameter("Value", T.OBJECT, position=1, sets=_OPERATOR_SETS[:-1],
                  help="The value the property is compared with."),
        Parameter("Not", T.SWITCH, mandatory=True, sets=("NotSet",),
                  help="Pass objects whose property is false or absent."),
    ]
    for switch, set_name, op, _ in OPERATORS:
        aliases = () if switch[1:] in _BASE_OPERATORS else ("I" + switch,)  # -IEQ, not -ICEQ
        params.append(Parameter(switch, T.SWITCH, mandatory=switch != "EQ", sets=(set_name,),
                                aliases=aliases, help=f"Compare with -{op}."))
    return tuple(params)


class WhereObject(Cmdlet):
    name = "Where-Object"
    aliases = ("?", "where")
    synopsis = "Selects objects from the pipeline by a condition."
    description = ("Passes on the objects for which the script block is true, or, in the "
                   "simplified syntax, whose property compares true with the value.")
    examples = (
        Example("Get-MigrationUser | Where-Object { $_.Status -eq 'Failed' }",
                "Lists the migration users whose status is Failed."),
        Example("Get-MigrationUser | Where-Object Status -eq 'Failed'",
                "The same in the simplified syntax."),
    )
    parameters = _where_parameters()
    default_parameter_set = "EQSet"

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if not has_input(args):
            return ()
        obj = args["InputObject"]
        return (obj,) if self._passes(ctx, args, obj) else ()

    def _passes(self, ctx: Context, args: BoundArguments, obj: Any) -> bool:
        block = args.get("FilterScript")
        if block is None and sel.is_script_block(args.get("Property")):
            block = args["Property"]  # tolerate a binder that chose the simplified set
        if block is not None:
            return truthy(ctx.invoke(block, obj))
        value = get_property(obj, str(args["Property"]))
        if args.switch("Not"):
            return not truthy(value)
        for switch, _, op, case_sensitive in OPERATORS:
            if args.switch(switch):
                return _compares(op, case_sensitive, value, args.get("Value"))
        if "Value" in args:
            return _compares("eq", False, value, args["Value"])
        return truthy(value)


def _compares(op: str, case_sensitive: bool, value: Any, operand: Any) -> bool:
    """``value -op operand`` as the language evaluates it (a collection value filters)."""
    result, _ = compare(("c" if case_sensitive else "") + op, value, operand)
    return truthy(result)


class ForEachObject(Cmdlet):
    name = "ForEach-Object"
    aliases = ("%", "foreach")
    synopsis = "Runs a script block for each object in the pipeline."
    description = ("Runs -Begin once, -Process for each input object with $_ bound to it, and "
                   "-End once; or, given a member name, outputs that property of each object.")
    examples = (
        Example("Get-MigrationUser | ForEach-Object { $_.Identity }",
                "Outputs the identity of each migration user."),
        Example("Get-MigrationBatch | ForEach-Object Identity", "The same, simplified."),
    )
    parameters = (
        INPUT_OBJECT,
        Parameter("Process", T.SCRIPTBLOCK, mandatory=True, position=0,
                  sets=("ScriptBlockSet",), help="Runs once per input object."),
        Parameter("Begin", T.SCRIPTBLOCK, sets=("ScriptBlockSet",),
                  help="Runs once before the first input object."),
        Parameter("End", T.SCRIPTBLOCK, sets=("ScriptBlockSet",),
                  help="Runs once after the last input object."),
        Parameter("MemberName", T.STRING, mandatory=True, position=0,
                  sets=("PropertyAndMethodSet",), help="The property or method to take."),
        Parameter("ArgumentList", T.OBJECT_ARRAY, sets=("PropertyAndMethodSet",),
                  aliases=("Args",), help="Arguments for the method named by -MemberName."),
    )
    default_parameter_set = "ScriptBlockSet"

    def begin(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        block = args.get("Begin")
        return ctx.invoke(block, None) if block is not None else ()

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        obj = args.get("InputObject")
        member = args.get("MemberName")
        block = args.get("Process")
        if block is None and sel.is_script_block(member):
            block, member = member, None
        if block is not None:
            return ctx.invoke(block, obj)
        if member is None or not has_input(args):
            return ()
        return list(enumerate_value(
            _member(ctx, obj, str(member), as_list(args.get("ArgumentList")))))

    def end(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        block = args.get("End")
        return ctx.invoke(block, None) if block is not None else ()


def _member(ctx: Context, obj: Any, member: str, arguments: list[Any]) -> Any:
    """``$obj.member`` or ``$obj.member(args)`` for ForEach-Object -MemberName, as the
    language evaluates them; a name that is neither gives nothing."""
    value = get_member(obj, member)
    if value is not None and not arguments:
        return value
    try:
        return call_method(obj, member, arguments, ctx.invoke)
    except MemberError as err:
        if err.error_id in ("MethodNotFound", "InvokeMethodOnNull"):
            return value
        raise CmdletError(err.message, err.category, err.error_id, target=obj) from None


class SelectObject(Cmdlet):
    name = "Select-Object"
    aliases = ("select",)
    synopsis = "Selects properties of objects, or a number of objects."
    description = ("Creates new objects holding the chosen properties (names, wildcards or "
                   "calculated properties), or passes on the first, last or unique objects, "
                   "or expands one property into its values.")
    examples = (
        Example("Get-MigrationUserStatistics -BatchId B | Select-Object Identity, Status, "
                "*Synced*", "Shows three columns, one of them chosen by wildcard."),
        Example("Get-MigrationBatch | Select-Object -ExpandProperty Identity",
                "Outputs the batch names as plain strings."),
    )
    parameters = (
        INPUT_OBJECT,
        Parameter("Property", T.OBJECT_ARRAY, position=0,
                  help="Property names (wildcards allowed) or calculated properties."),
        Parameter("ExcludeProperty", T.STRING_ARRAY, help="Properties to leave out."),
        Parameter("ExpandProperty", T.STRING, help="A property whose value(s) to output."),
        Parameter("Unique", T.SWITCH, help="Output each distinct object once."),
        Parameter("First", T.INT, help="Output only the first N objects."),
        Parameter("Last", T.INT, help="Output only the last N objects."),
        Parameter("Skip", T.INT, help="Skip the first N objects."),
    )

    def __init__(self) -> None:
        self._seen = 0
        self._emitted = 0
        self._held: list[Any] = []

    def process(self, ctx: Context, args: BoundArguments) -> Iterator[Any]:
        if not has_input(args):
            return
        self._seen += 1
        if self._seen <= (args.get("Skip") or 0):
            return
        if "Last" in args or args.switch("Unique"):
            self._held.append(args["InputObject"])
            return
        first = args.get("First")
        if first is not None and self._emitted >= first:
            raise StopUpstream()  # -First 0
        self._emitted += 1
        yield from self._project(ctx, args, args["InputObject"])
        if first is not None and self._emitted >= first:
            # PowerShell's StopUpstreamCommandsException: nothing upstream runs any more.
            raise StopUpstream()

    def end(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if not self._held:
            return ()
        outputs = [out for obj in self._held for out in self._project(ctx, args, obj)]
        if args.switch("Unique"):
            outputs = _distinct(outputs)
        first, last = args.get("First"), args.get("Last")
        if first is not None and last is not None:
            head = outputs[:first]
            return head + outputs[max(len(head), len(outputs) - last):]
        if first is not None:
            return outputs[:first]
        if last is not None:
            return outputs[len(outputs) - last:] if last > 0 else []
        return outputs

    def _project(self, ctx: Context, args: BoundArguments, obj: Any) -> list[Any]:
        exclude = as_list(args.get("ExcludeProperty"))
        if args.get("ExpandProperty") is not None:
            return self._expand(ctx, args, obj, exclude)
        if args.get("Property") is not None:
            specs = sel.resolve(obj, sel.parse_specs(as_list(args["Property"])), exclude)
        elif exclude:
            specs = sel.resolve(obj, [sel.PropertySpec("*", wildcard=True)], exclude)
        else:
            return [obj]
        return [sel.select_record(ctx, obj, specs, "Selected." + type_name_of(obj))]

    def _expand(
        self, ctx: Context, args: BoundArguments, obj: Any, exclude: list[Any]
    ) -> list[Any]:
        pattern = str(args["ExpandProperty"])
        matches = [name for name in property_names(obj) if wildcard_match(pattern, name)]
        if len(matches) > 1:
            ctx.write_error(CmdletError(
                f'Multiple properties cannot be expanded: "{pattern}" matches '
                f'{", ".join(matches)}.', "InvalidArgument", "MutlipleExpandProperties"))
            return []
        value = get_property(obj, matches[0] if matches else pattern, strict=False)
        if value is None and not matches and get_property(obj, pattern) is None:
            ctx.write_error(CmdletError(f'Property "{pattern}" cannot be found.',
                                        "InvalidArgument", "ExpandPropertyNotFound", target=obj))
            return []
        items = list(enumerate_value(value))
        if args.get("Property") is None:
            return items
        specs = sel.resolve(obj, sel.parse_specs(as_list(args["Property"])), exclude)
        return [_with_properties(ctx, item, obj, specs) for item in items]


def _with_properties(ctx: Context, item: Any, source: Any, specs: list[sel.PropertySpec]) -> Any:
    """-ExpandProperty with -Property: the expanded record gains the selected properties."""
    if not isinstance(item, PSObject):
        return item
    extended = PSObject(dict(item.properties), item.type_names, item.display, item.view)
    for spec in specs:
        extended.set(spec.name, sel.evaluate(ctx, source, spec))
    return extended


def _identity(obj: Any, case_sensitive: bool = True) -> Any:
    """A hashable stand-in for comparing output objects (-Unique)."""
    names = property_names(obj) if isinstance(obj, PSObject | Hashtable) else []
    values = [to_text(get_property(obj, name)) for name in names] if names else [to_text(obj)]
    if not case_sensitive:
        values = [value.casefold() for value in values]
    return (tuple(name.casefold() for name in names), tuple(values))


def _distinct(objects: list[Any], case_sensitive: bool = True) -> list[Any]:
    seen: set[Any] = set()
    kept = []
    for obj in objects:
        key = _identity(obj, case_sensitive)
        if key not in seen:
            seen.add(key)
            kept.append(obj)
    return kept


class SortObject(Collecting):
    name = "Sort-Object"
    aliases = ("sort",)
    synopsis = "Sorts objects by property values."
    description = ("Sorts the input by one or more properties (or calculated properties), "
                   "ascending unless -Descending; strings ignore case unless -CaseSensitive; "
                   "equal objects keep their input order.")
    examples = (Example("Get-MigrationUser | Sort-Object Status, Identity",
                        "Sorts migration users by status, then identity."),)
    parameters = (
        INPUT_OBJECT,
        Parameter("Property", T.OBJECT_ARRAY, position=0,
                  help="Properties or calculated properties to sort by."),
        Parameter("Descending", T.SWITCH, help="Sort in descending order."),
        Parameter("Unique", T.SWITCH, help="Drop objects that sort equal to the previous one."),
        Parameter("CaseSensitive", T.SWITCH, help="Compare strings case-sensitively."),
        Parameter("Top", T.INT, help="Output only the first N sorted objects."),
        Parameter("Bottom", T.INT, help="Output only the last N sorted objects."),
        Parameter("Stable", T.SWITCH, help="Accepted: sorting is always stable."),
    )

    keeps_null = True

    def end(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if not self._items:
            return ()
        keys = self._keys(ctx, args)
        cs = args.switch("CaseSensitive")
        directions = self._directions(args)

        def by_keys(a: int, b: int) -> int:
            for left, right, descending in zip(keys[a], keys[b], directions, strict=True):
                result = sort_order(left, right, cs)
                if result:
                    return -result if descending else result
            return 0

        indexes = sorted(range(len(self._items)), key=functools.cmp_to_key(by_keys))
        if args.switch("Unique"):
            indexes = [i for n, i in enumerate(indexes) if n == 0 or by_keys(indexes[n - 1], i)]
        result = [self._items[i] for i in indexes]
        if args.get("Top") is not None:
            return result[: args["Top"]]
        if args.get("Bottom") is not None:
            return result[len(result) - args["Bottom"]:]
        return result

    def _specs(self, args: BoundArguments) -> list[sel.PropertySpec]:
        if args.get("Property") is None:
            return []
        specs = sel.parse_specs(as_list(args["Property"]), (*sel.SORT_KEYS, *sel.NAME_KEYS))
        return sel.resolve(self._items[0], specs)

    def _keys(self, ctx: Context, args: BoundArguments) -> list[list[Any]]:
        self._resolved = self._specs(args)
        if not self._resolved:
            return [[item] for item in self._items]
        return [[sel.evaluate(ctx, item, spec) for spec in self._resolved] for item in self._items]

    def _directions(self, args: BoundArguments) -> list[bool]:
        default = args.switch("Descending")
        if not self._resolved:
            return [default]
        directions = []
        for spec in self._resolved:
            if spec.option("Descending") is not None:
                directions.append(truthy(spec.option("Descending")))
            elif spec.option("Ascending") is not None:
                directions.append(not truthy(spec.option("Ascending")))
            else:
                directions.append(default)
        return directions


GROUP_INFO = "Microsoft.PowerShell.Commands.GroupInfo"


class GroupObject(Collecting):
    name = "Group-Object"
    aliases = ("group",)
    synopsis = "Groups objects that have the same value for the given properties."
    description = ("Outputs one record per distinct value with Count, Name (the value as "
                   "text) and Group (the objects), in order of first appearance.")
    examples = (Example("Get-MigrationUser | Group-Object Status",
                        "Counts migration users per status."),)
    parameters = (
        INPUT_OBJECT,
        Parameter("Property", T.OBJECT_ARRAY, position=0, help="Properties to group by."),
        Parameter("NoElement", T.SWITCH, help="Leave out the Group property."),
        Parameter("AsHashTable", T.SWITCH, aliases=("AHT",),
                  help="Output one hashtable: value -> objects."),
        Parameter("AsString", T.SWITCH, help="With -AsHashTable, use the values as strings."),
        Parameter("CaseSensitive", T.SWITCH, help="Group strings case-sensitively."),
    )

    keeps_null = True

    def end(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if not self._items:
            return ()
        specs = sel.parse_specs(as_list(args.get("Property")))
        specs = sel.resolve(self._items[0], specs) if specs else []
        groups: dict[Any, tuple[list[Any], list[Any]]] = {}
        for item in self._items:
            values = [sel.evaluate(ctx, item, s) for s in specs] if specs else [item]
            key = tuple(to_text(v) if args.switch("CaseSensitive") else to_text(v).casefold()
                        for v in values)
            groups.setdefault(key, (values, []))[1].append(item)
        if args.switch("AsHashTable"):
            return (self._hashtable(groups, args.switch("AsString")),)
        return [self._record(values, members, args.switch("NoElement"))
                for values, members in groups.values()]

    @staticmethod
    def _record(values: list[Any], members: list[Any], no_element: bool) -> PSObject:
        props: dict[str, Any] = {"Count": len(members),
                                 "Name": ", ".join(to_text(v) for v in values)}
        if not no_element:
            props["Group"] = members
        props["Values"] = values
        display = ("Count", "Name") if no_element else ("Count", "Name", "Group")
        return PSObject(props, (GROUP_INFO, "System.Object"), display=display, view="table")

    @staticmethod
    def _hashtable(groups: dict[Any, tuple[list[Any], list[Any]]], as_string: bool) -> Hashtable:
        table = Hashtable()
        for values, members in groups.values():
            key: Any = ", ".join(to_text(v) for v in values)
            if not as_string and len(values) == 1:
                key = values[0]
            table[key] = members
        return table


MEASURE_INFO = "Microsoft.PowerShell.Commands.GenericMeasureInfo"
MEASURE_FIELDS = ("Count", "Average", "Sum", "Maximum", "Minimum", "StandardDeviation",
                  "Property")


class MeasureObject(Collecting):
    name = "Measure-Object"
    aliases = ("measure",)
    synopsis = "Counts objects and computes sum, average, maximum and minimum of properties."
    description = ("Outputs a GenericMeasureInfo record (shown as a list) with Count and, when "
                   "asked for, Average, Sum, Maximum, Minimum and StandardDeviation.")
    examples = (Example("Get-MigrationUserStatistics -BatchId B | Measure-Object "
                        "SyncedItemCount -Sum", "Totals the synced items of a batch."),)
    parameters = (
        INPUT_OBJECT,
        Parameter("Property", T.STRING_ARRAY, position=0, help="Properties to measure."),
        Parameter("Sum", T.SWITCH, help="Compute the sum."),
        Parameter("Average", T.SWITCH, help="Compute the average."),
        Parameter("Maximum", T.SWITCH, help="Find the maximum."),
        Parameter("Minimum", T.SWITCH, help="Find the minimum."),
        Parameter("StandardDeviation", T.SWITCH, help="Compute the sample standard deviation."),
        Parameter("AllStats", T.SWITCH, help="Compute every statistic."),
    )


    def end(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        names = as_list(args.get("Property"))
        if not names:
            return (self._measure(self._items, None, args),)
        results = []
        for pattern in names:
            matched = self._property_values(str(pattern))
            if matched is None:
                ctx.write_error(CmdletError(
                    f'The property "{pattern}" cannot be found in the input for any objects.',
                    "InvalidArgument", "GenericMeasurePropertyNotFound"))
                continue
            for name, values in matched.items():
                results.append(self._measure(values, name, args))
        return results

    def _property_values(self, pattern: str) -> dict[str, list[Any]] | None:
        found: dict[str, list[Any]] = {}
        for item in self._items:
            names = [n for n in property_names(item) if wildcard_match(pattern, n)]
            if not names and get_property(item, pattern) is not None:
                names = [pattern]
            for name in names:
                value = get_property(item, name)
                bucket = found.setdefault(name, [])
                if value is not None:
                    bucket.append(value)
        return found or None

    def _measure(self, values: list[Any], name: str | None, args: BoundArguments) -> PSObject:
        every = args.switch("AllStats")
        wanted = {field: every or args.switch(field) for field in MEASURE_FIELDS[1:6]}
        record: dict[str, Any] = dict.fromkeys(MEASURE_FIELDS)
        record["Count"] = len(values)
        record["Property"] = name
        if wanted["Maximum"] or wanted["Minimum"]:
            record["Maximum"], record["Minimum"] = _extremes(values, wanted)
        if wanted["Sum"] or wanted["Average"] or wanted["StandardDeviation"]:
            numbers = [_number(v) for v in values]
            total = sum(numbers)
            if wanted["Sum"]:
                record["Sum"] = total
            if wanted["Average"] and numbers:
                record["Average"] = float(total) / len(numbers)
            if wanted["StandardDeviation"]:
                record["StandardDeviation"] = _std(numbers)
        return PSObject(record, (MEASURE_INFO, "Microsoft.PowerShell.Commands.MeasureInfo",
                                 "System.Object"), view="list")


def _number(value: Any) -> int | float:
    if is_number(value):
        return float(value) if not isinstance(value, int | float) else value
    text = to_text(value).strip()
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            continue
    raise CmdletError(f'Input object "{to_text(value)}" is not numeric.',
                      "InvalidType", "NonNumericInputObject", target=value)


def _extremes(values: list[Any], wanted: dict[str, bool]) -> tuple[Any, Any]:
    if not values:
        return None, None
    try:
        keyed = [_number(v) for v in values]
    except CmdletError:
        keyed = list(values)
    ranked = sorted(keyed, key=functools.cmp_to_key(sort_order))
    return (ranked[-1] if wanted["Maximum"] else None, ranked[0] if wanted["Minimum"] else None)


def _std(numbers: list[int | float]) -> float:
    if len(numbers) < 2:
        return 0.0
    mean = sum(numbers) / len(numbers)
    return math.sqrt(sum((n - mean) ** 2 for n in numbers) / (len(numbers) - 1))


PIPELINE_CMDLETS: tuple[type[Cmdlet], ...] = (
    WhereObject, ForEachObject, SelectObject, SortObject, GroupObject, MeasureObject,
)
