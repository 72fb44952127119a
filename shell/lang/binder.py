"""Parameter binding from a cmdlet's declaration, as PowerShell's binder does it.

Order: named arguments (case-insensitive names, aliases, unambiguous prefixes — an exact
name or alias wins over prefixes), then the parameter set is resolved from the named
parameters, then positional arguments bind by ``position`` within that set, then, per
pipeline input object, ByValue (type already matching), ByPropertyName, ByValue with
conversion.  The common parameters (-ErrorAction/-ea, -WarningAction/-wa, -Verbose/-vb,
-Debug/-db, -ErrorVariable/-ev, -OutVariable/-ov, ...; -WhatIf/-wi and -Confirm/-cf only for
``supports_should_process`` cmdlets) take part in name matching and land in ``Common``.

Null and empty: ``$null`` (also what an undefined variable holds), ``''`` and an empty array
are refused for every parameter, mandatory or not, named, positional, prompted for or bound from
the pipeline, with PowerShell's "Cannot bind argument to parameter 'X' because it is null." /
"... an empty string." / "... an empty array." (``ParameterArgumentValidationError*NotAllowed``,
category InvalidData), unless the declaration allows it (``Parameter.allow_null`` /
``allow_empty``, cmdlets/base.py). A switch given ``$null`` is ``$false``. So no cmdlet ever
sees a missing value where the script meant one (docs/cmdlets.md, "Null, empty and missing
identities").

Failures raise ``BindingError`` with PowerShell's message and error id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cmdlets.base import BoundArguments, Cmdlet, Parameter, ParamType, PSCredential
from shell.lang.convert import ConversionError, convert_argument
from shell.lang.tokens import Extent
from shell.lang.typenames import NET_NAMES
from shell.lang.values import ScriptBlock
from shell.objects import NoSuchProperty, get_property, to_text

ACTION_PREFERENCES = ("SilentlyContinue", "Stop", "Continue", "Inquire", "Ignore", "Suspend")

_COMMON = (
    Parameter("Verbose", ParamType.SWITCH, aliases=("vb",)),
    Parameter("Debug", ParamType.SWITCH, aliases=("db",)),
    Parameter("ErrorAction", aliases=("ea",), choices=ACTION_PREFERENCES),
    Parameter("WarningAction", aliases=("wa",), choices=ACTION_PREFERENCES),
    Parameter("InformationAction", aliases=("infa",), choices=ACTION_PREFERENCES),
    Parameter("ErrorVariable", aliases=("ev",)),
    Parameter("WarningVariable", aliases=("wv",)),
    Parameter("InformationVariable", aliases=("iv",)),
    Parameter("OutVariable", aliases=("ov",)),
    Parameter("OutBuffer", ParamType.INT, aliases=("ob",)),
    Parameter("PipelineVariable", aliases=("pv",)),
)
_SHOULD_PROCESS = (
    Parameter("WhatIf", ParamType.SWITCH, aliases=("wi",)),
    Parameter("Confirm", ParamType.SWITCH, aliases=("cf",)),
)
COMMON_NAMES = frozenset(p.name for p in _COMMON + _SHOULD_PROCESS)


class BindingError(Exception):
    def __init__(self, message: str, error_id: str, *, category: str = "InvalidArgument",
                 target: Any = None, extent: Extent | None = None,
                 reason: str = "ParameterBindingException") -> None:
        super().__init__(message)
        self.message = message
        self.error_id = error_id
        self.category = category
        self.target = target
        self.extent = extent
        self.reason = reason  # the .NET exception type PowerShell would name


@dataclass
class ArgItem:
    """One evaluated command-line element: ``-Name[:value]`` or a positional value."""

    name: str | None  # the parameter as typed (without '-'); None for positional values
    value: Any = None
    has_value: bool = False  # -Name:value (or a positional value)
    literal: str | None = None  # a bareword's source text (for string parameters)
    extent: Extent | None = None


@dataclass
class Common:
    error_action: str | None = None
    warning_action: str | None = None
    verbose: bool = False
    debug: bool = False
    error_variable: str | None = None
    out_variable: str | None = None
    whatif: bool | None = None
    confirm: bool | None = None


@dataclass
class Binding:
    cmdlet: type[Cmdlet]
    parameter_set: str
    values: dict[str, Any]
    common: Common = field(default_factory=Common)

    def arguments(self, extra: Mapping[str, Any] | None = None) -> BoundArguments:
        values = dict(self.values)
        values.update(extra or {})
        return BoundArguments(values, self.parameter_set)


_ALL_PARAMETERS: dict[type[Cmdlet], tuple[Parameter, ...]] = {}


def all_parameters(cls: type[Cmdlet]) -> tuple[Parameter, ...]:
    """Declared then common parameters of ``cls`` (cached per class)."""
    cached = _ALL_PARAMETERS.get(cls)
    if cached is None:
        cached = _ALL_PARAMETERS[cls] = _collect_parameters(cls)
    return cached


def _collect_parameters(cls: type[Cmdlet]) -> tuple[Parameter, ...]:
    extra = _SHOULD_PROCESS if cls.supports_should_process else ()
    declared = {p.name.lower() for p in cls.parameters}
    common = tuple(p for p in _COMMON + extra if p.name.lower() not in declared)
    return tuple(cls.parameters) + common


def resolve_parameter(cls: type[Cmdlet], typed: str, extent: Extent | None = None) -> Parameter:
    """The parameter ``-typed`` names: exact name/alias first, then a unique prefix."""
    key = typed.lower()
    params = all_parameters(cls)
    for param in params:
        if param.name.lower() == key or key in (a.lower() for a in param.aliases):
            return param
    matches = [p for p in params if p.name.lower().startswith(key)
               or any(a.lower().startswith(key) for a in p.aliases)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise BindingError(f"A parameter cannot be found that matches parameter name '{typed}'.",
                           "NamedParameterNotFound", target=typed, extent=extent)
    names = " ".join("-" + p.name for p in matches)
    raise BindingError(f"Parameter cannot be processed because the parameter name '{typed}' is "
                       f"ambiguous. Possible matches include: {names}.", "AmbiguousParameter",
                       target=typed, extent=extent)


Prompt = Callable[[type[Cmdlet], list[Parameter]], dict[str, Any] | None]


def bind(cls: type[Cmdlet], items: list[ArgItem], *, pipeline_input: bool = False,
         prompt: Prompt | None = None) -> Binding:
    """Bind the command-line elements of one invocation (before pipeline input)."""
    named: dict[str, tuple[Parameter, ArgItem]] = {}
    positional: list[ArgItem] = []
    i = 0
    while i < len(items):
        item = items[i]
        i += 1
        if item.name is None:
            positional.append(item)
            continue
        param = resolve_parameter(cls, item.name, item.extent)
        if param.name in named:
            raise BindingError(
                f"Cannot bind parameter because parameter '{param.name}' is specified more than "
                "once. To provide multiple values to parameters that can accept multiple values, "
                'use the array syntax. For example, "-parameter value1,value2,value3".',
                "ParameterAlreadyBound", target=item.name, extent=item.extent)
        if not item.has_value and not param.is_switch:
            if i >= len(items) or items[i].name is not None:
                raise BindingError(
                    f"Missing an argument for parameter '{param.name}'. Specify a parameter of "
                    f"type '{NET_NAMES[param.type]}' and try again.", "MissingArgument",
                    target=item.name, extent=item.extent)
            value_item = items[i]
            i += 1
            item = ArgItem(item.name, value_item.value, True, value_item.literal, item.extent)
        if param.unsupported:
            raise BindingError(f"The parameter '{param.name}' is not supported by imsh.",
                               "NotSupported", category="NotImplemented", target=param.name,
                               extent=item.extent)
        named[param.name] = (param, item)
    common = _common(named)
    positional = _gather_remaining(cls, named, positional)
    declared = {name: pair for name, pair in named.items() if name not in COMMON_NAMES
                or any(p.name == name for p in cls.parameters)}
    set_name, assigned = _choose_set(cls, declared, positional, pipeline_input)
    values: dict[str, Any] = {}
    for name, (param, item) in declared.items():
        values[name] = _convert(param, item.value if item.has_value else True, item.literal,
                                item.extent)
    for param, item in assigned:
        values[param.name] = _convert(param, item.value, item.literal, item.extent)
    binding = Binding(cls, set_name, values, common)
    _check_mandatory(binding, pipeline_input, prompt)
    return binding


def _gather_remaining(cls: type[Cmdlet], named: dict[str, tuple[Parameter, ArgItem]],
                      positional: list[ArgItem]) -> list[ArgItem]:
    param = next((p for p in cls.parameters if p.remaining), None)
    if param is None or param.name in named:
        return positional
    start = param.position or 0
    if len(positional) <= start + 1:
        return positional
    rest = positional[start:]
    gathered = ArgItem(None, [item.value for item in rest], True, None, rest[0].extent)
    return [*positional[:start], gathered]


def _common(named: dict[str, tuple[Parameter, ArgItem]]) -> Common:
    common = Common()

    def get(name: str) -> Any:
        param, item = named[name]
        return _convert(param, item.value if item.has_value else True, item.literal, item.extent)

    if "ErrorAction" in named:
        common.error_action = _action(get("ErrorAction"))
    if "WarningAction" in named:
        common.warning_action = _action(get("WarningAction"))
    for attr, name in (("verbose", "Verbose"), ("debug", "Debug"), ("whatif", "WhatIf"),
                       ("confirm", "Confirm")):
        if name in named:
            setattr(common, attr, bool(get(name)))
    if "ErrorVariable" in named:
        common.error_variable = str(get("ErrorVariable"))
    if "OutVariable" in named:
        common.out_variable = str(get("OutVariable"))
    return common


def _action(value: Any) -> str:
    if isinstance(value, int) and 0 <= value < len(ACTION_PREFERENCES):
        return ACTION_PREFERENCES[value]
    return str(value)


def _choose_set(cls: type[Cmdlet], named: dict[str, tuple[Parameter, ArgItem]],
                positional: list[ArgItem], pipeline_input: bool
                ) -> tuple[str, list[tuple[Parameter, ArgItem]]]:
    sets = cls.parameter_sets()
    candidates = [s for s in sets if all(p.in_set(s) for p, _ in named.values())]
    if not candidates:
        raise BindingError("Parameter set cannot be resolved using the specified named "
                           "parameters.", "AmbiguousParameterSet")
    fits: list[tuple[str, list[tuple[Parameter, ArgItem]], bool, int]] = []
    first_failure: ArgItem | None = None
    conversion_failure: BindingError | None = None
    for set_name in candidates:
        slots = sorted((p for p in cls.parameters if p.position is not None and p.in_set(set_name)
                        and p.name not in named), key=lambda p: p.position or 0)
        if len(positional) > len(slots):
            first_failure = first_failure or positional[len(slots)]
            continue
        assigned = list(zip(slots, positional, strict=False))
        try:
            for param, item in assigned:
                _convert(param, item.value, item.literal, item.extent)
        except BindingError as err:
            conversion_failure = conversion_failure or err
            continue
        bound = set(named) | {p.name for p, _ in assigned}
        complete = not _missing(cls, set_name, bound, pipeline_input)
        # Sets whose positional parameters take the arguments as they are win over sets that
        # would convert them ({ script block } is a FilterScript, not a -Property string).
        native = sum(1 for p, item in assigned if p.type is not ParamType.OBJECT
                     and _NATIVE.get(p.type, lambda v: False)(item.value))
        fits.append((set_name, assigned, complete, native))
    if not fits:
        if conversion_failure is not None and first_failure is None:
            raise conversion_failure
        assert first_failure is not None
        raise BindingError("A positional parameter cannot be found that accepts argument "
                           f"'{_arg_text(first_failure)}'.", "PositionalParameterNotFound",
                           target=_arg_text(first_failure), extent=first_failure.extent)
    pool = [f for f in fits if f[2]] or fits
    best = max(f[3] for f in pool)
    pool = [f for f in pool if f[3] == best]
    for set_name, assigned, _, _ in pool:
        if set_name == cls.default_parameter_set:
            return set_name, assigned
    return pool[0][0], pool[0][1]


def _arg_text(item: ArgItem) -> str:
    if item.literal is not None:
        return item.literal
    if isinstance(item.value, list):
        return " ".join(to_text(v) for v in item.value)
    return to_text(item.value)


def _missing(cls: type[Cmdlet], set_name: str, bound: set[str], pipeline_input: bool
             ) -> list[Parameter]:
    return [p for p in cls.parameters if p.mandatory and p.in_set(set_name) and p.name not in bound
            and not (pipeline_input and (p.from_pipeline or p.from_pipeline_by_name))]


def _check_mandatory(binding: Binding, pipeline_input: bool, prompt: Prompt | None) -> None:
    missing = _missing(binding.cmdlet, binding.parameter_set, set(binding.values), pipeline_input)
    if missing and prompt is not None:
        answers = prompt(binding.cmdlet, missing)
        if answers is not None:
            for param in missing:
                if param.name in answers:
                    binding.values[param.name] = _convert(param, answers[param.name], None, None)
            missing = [p for p in missing if p.name not in binding.values]
    if missing:
        names = " ".join(p.name for p in missing)
        raise BindingError("Cannot process command because of one or more missing mandatory "
                           f"parameters: {names}.", "MissingMandatoryParameter")


def _convert(param: Parameter, value: Any, literal: str | None, extent: Extent | None) -> Any:
    if value is None:
        if param.is_switch:
            return False  # -Force:$null is -Force:$false, as in PowerShell
        if not param.allow_null:
            raise _refused(param, "null", "NullNotAllowed", extent)
    transform = getattr(param, "convert_value", None)  # a function's typed parameter
    try:
        if transform is not None:
            converted = transform(value, literal)
        else:
            converted = convert_argument(value, param.type, literal)
    except BindingError as err:
        err.extent = err.extent or extent
        raise
    except ConversionError as err:
        if param.type in (ParamType.BOOL, ParamType.SWITCH):
            raise BindingError(f"Cannot process argument transformation on parameter "
                               f"'{param.name}'. {err.message}",
                               "ParameterArgumentTransformationError", extent=extent) from None
        raise BindingError(f"Cannot bind parameter '{param.name}'. {err.message}",
                           "CannotConvertArgumentNoMessage", target=value, extent=extent) from None
    if value is not None and not param.allow_empty:
        _refuse_empty(param, converted, extent)
    if param.choices:
        converted = _validate_set(param, converted, extent)
    return converted


_EMPTY_CHECKED = (ParamType.STRING, ParamType.STRING_ARRAY, ParamType.OBJECT_ARRAY,
                  ParamType.BYTES)


def _refuse_empty(param: Parameter, converted: Any, extent: Extent | None) -> None:
    """``''`` for a string, ``@()`` for an array, or an array holding ``''``: refused."""
    if param.type not in _EMPTY_CHECKED:
        return
    if param.type is ParamType.STRING:
        if converted == "":
            raise _refused(param, "an empty string", "EmptyStringNotAllowed", extent)
        return
    if len(converted) == 0:
        raise _refused(param, "an empty array", "EmptyArrayNotAllowed", extent)
    if param.type is ParamType.STRING_ARRAY and any(item == "" for item in converted):
        raise _refused(param, "an empty string", "EmptyStringNotAllowed", extent)


def _refused(param: Parameter, what: str, kind: str, extent: Extent | None) -> BindingError:
    return BindingError(f"Cannot bind argument to parameter '{param.name}' because it is {what}.",
                        f"ParameterArgumentValidationError{kind}", category="InvalidData",
                        reason="ParameterBindingValidationException", extent=extent)


def _validate_set(param: Parameter, value: Any, extent: Extent | None) -> Any:
    def one(text: Any) -> str:
        for choice in param.choices:
            if choice.lower() == str(text).lower():
                return choice
        raise BindingError(
            f"Cannot validate argument on parameter '{param.name}'. The argument \"{text}\" does "
            f"not belong to the set \"{','.join(param.choices)}\" specified by the ValidateSet "
            "attribute. Supply an argument that is in the set and then try the command again.",
            "ParameterArgumentValidationError", target=text, extent=extent)

    if isinstance(value, list):
        return [one(v) for v in value]
    return one(value)


# -- pipeline input ------------------------------------------------------------------------

_NATIVE: dict[ParamType, Callable[[Any], bool]] = {
    ParamType.STRING: lambda v: isinstance(v, str),
    ParamType.STRING_ARRAY: lambda v: isinstance(v, str),
    ParamType.INT: lambda v: isinstance(v, int) and not isinstance(v, bool),
    ParamType.UNLIMITED_INT: lambda v: isinstance(v, int) and not isinstance(v, bool),
    ParamType.BOOL: lambda v: isinstance(v, bool),
    ParamType.OBJECT: lambda v: True,
    ParamType.OBJECT_ARRAY: lambda v: True,
    ParamType.SCRIPTBLOCK: lambda v: isinstance(v, ScriptBlock),
    ParamType.BYTES: lambda v: isinstance(v, bytes | bytearray),
    ParamType.CREDENTIAL: lambda v: isinstance(v, PSCredential),
    ParamType.DATETIME: lambda v: isinstance(v, dt.datetime),
    ParamType.TIMESPAN: lambda v: isinstance(v, dt.timedelta),
    ParamType.HASHTABLE: lambda v: isinstance(v, Mapping),
    ParamType.SECURESTRING: lambda v: type(v).__name__ == "Secret",
}


def bind_pipeline(binding: Binding, obj: Any) -> BoundArguments:
    """Bind one pipeline input object; raises BindingError (a non-terminating error)."""
    cls, set_name = binding.cmdlet, binding.parameter_set
    free = [p for p in cls.parameters if p.in_set(set_name) and p.name not in binding.values]
    extra: dict[str, Any] = {}
    by_value = [p for p in free if p.from_pipeline]
    if obj is None and by_value and not any(p.allow_null for p in by_value):
        raise _refused(by_value[0], "null", "NullNotAllowed", None)
    for param in by_value:
        if _NATIVE.get(param.type, lambda v: False)(obj):
            extra[param.name] = _try_convert(param, obj)
            break
    for param in (p for p in free if p.from_pipeline_by_name and p.name not in extra):
        for name in (param.name, *param.aliases):
            try:
                value = get_property(obj, name, strict=True)
            except NoSuchProperty:
                continue
            converted = _try_convert(param, value)
            if value is not None and converted is not _FAILED:
                extra[param.name] = converted
                break
    if not extra:
        for param in by_value:
            converted = _try_convert(param, obj)
            if converted is not _FAILED:
                extra[param.name] = converted
                break
    extra = {k: v for k, v in extra.items() if v is not _FAILED}
    if not extra:
        raise BindingError(
            "The input object cannot be bound to any parameters for the command either because "
            "the command does not take pipeline input or the input and its properties do not "
            "match any of the parameters that take pipeline input.", "InputObjectNotBound",
            target=obj)
    missing = _missing(cls, set_name, set(binding.values) | set(extra), False)
    if missing:
        names = " ".join(p.name for p in missing)
        raise BindingError("Cannot process command because of one or more missing mandatory "
                           f"parameters: {names}.", "MissingMandatoryParameter")
    return binding.arguments(extra)


_FAILED = object()


def _try_convert(param: Parameter, value: Any) -> Any:
    try:
        return _convert(param, value, None, None)
    except BindingError:
        return _FAILED
