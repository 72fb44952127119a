"""The streaming pipeline cmdlets: Where-Object, ForEach-Object and Select-Object, with
PowerShell 7's parameters, output records and errors (Sort/Group/Measure: ``aggregate``).

Cmdlets keep per-pipeline state on the instance (the shell makes a fresh instance for each
pipeline); Select-Object -Last/-Unique emit in ``end``, -First stops the upstream commands.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from cmdlets.base import BoundArguments, Cmdlet, CmdletError, Context, Example, Parameter, PSObject
from cmdlets.base import ParamType as T
from shell.builtins.common import INPUT_OBJECT, as_list, has_input
from shell.format import select as sel
from shell.lang.errors import StopUpstream
from shell.lang.members import MemberError, call_method, get_member
from shell.lang.operators import compare, truthy
from shell.lang.typenames import type_name_of
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
                  allow_null=True, allow_empty=True,
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
        Parameter("ArgumentList", T.OBJECT_ARRAY, position=1, sets=("PropertyAndMethodSet",),
                  aliases=("Args",), remaining=True, allow_null=True, allow_empty=True,
                  help="Arguments for the method named by -MemberName."),
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
        Example("Get-MigrationUser -BatchId B | Get-MigrationUserStatistics | "
                "Select-Object Identity, Status, *Synced*",
                "Shows three columns, one of them chosen by wildcard."),
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
    extended = PSObject(dict(item.properties), item.type_names, item.display, item.view,
                        dict(item.labels))
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


PIPELINE_CMDLETS: tuple[type[Cmdlet], ...] = (WhereObject, ForEachObject, SelectObject)
