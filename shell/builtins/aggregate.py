"""The cmdlets that need all their input: Sort-Object, Group-Object and Measure-Object, with
PowerShell 7's parameters and output records (GroupInfo as a table, GenericMeasureInfo as a
list).  Comparisons are the language's (``shell.lang.operators.sort_order``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from typing import Any

from cmdlets.base import BoundArguments, Cmdlet, CmdletError, Context, Example, Parameter, PSObject
from cmdlets.base import ParamType as T
from shell.builtins.common import INPUT_OBJECT, Collecting, as_list
from shell.format import select as sel
from shell.format.values import is_number
from shell.lang.operators import sort_order, truthy
from shell.objects import Hashtable, get_property, property_names, to_text
from shell.wildcard import wildcard_match


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
    examples = (Example("Get-MigrationUser -BatchId B | Get-MigrationUserStatistics | "
                        "Measure-Object SyncedItemCount -Sum",
                        "Totals the synced items of a batch."),)
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


AGGREGATE_CMDLETS: tuple[type[Cmdlet], ...] = (SortObject, GroupObject, MeasureObject)
