"""Functions, filters, script blocks and scripts as commands, bound by the cmdlet binder.

Design: a ``param( )`` block is turned into a cmdlet declaration (a ``Cmdlet`` subclass whose
``parameters`` are ``ScriptParameter``s), so ``binder.bind`` binds a function exactly as it
binds a cmdlet, and every binding error (unknown parameter, missing mandatory parameter,
conversion, ValidateSet, null or empty) reads the same.  The declaration is derived once per
syntax tree node and cached.

PowerShell's two kinds of function:

* a **simple** function (no ``[CmdletBinding()]``, no ``[Parameter()]``): every non-switch
  parameter is positional in declaration order; what binds to no parameter (extra positional
  values, unknown ``-Names``) goes to ``$args``; no common parameters; a parameter that is not
  given is ``$null`` (or its default).
* an **advanced** function: unknown names and extra positional values are binding errors; the
  common parameters (-Verbose, -ErrorAction ...) are accepted and set the preference variables
  in the function's scope; positions are the declared ``Position=`` values, or declaration order
  when no parameter declares one.

Parameters not marked ``Mandatory`` accept ``$null`` and empty values (PowerShell refuses them
only for mandatory ones).  A type constraint converts with the language's cast rules, and a
failure reads "Cannot process argument transformation on parameter 'n'. ..." as for a script
parameter in PowerShell (a cmdlet's reads "Cannot bind parameter ...").

Running: ``begin`` once, ``process`` once per pipeline input object (``$_`` is the object,
pipeline parameters bound from it, as ``binder.bind_pipeline`` binds them for cmdlets) or once
without input, then ``end`` (``$input`` holds the objects a function without a ``process``
block received).  Each block runs to completion in the function's own scope before its output
streams on, and the caller's scope is current whenever other commands of the pipeline run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from cmdlets.base import ALL_SETS, Cmdlet, CmdletError, Example, Parameter, ParamType
from shell.lang import ast
from shell.lang.binder import ArgItem, Binding, BindingError, bind, bind_pipeline
from shell.lang.convert import ConversionError, cast, to_int, to_string
from shell.lang.errors import ErrorRecord, PSRuntimeError
from shell.lang.flow import ReturnSignal
from shell.lang.scope import Scope
from shell.objects import Hashtable, to_text

if TYPE_CHECKING:
    from shell.lang.context import CommandContext
    from shell.lang.evaluator import Runtime
    from shell.lang.values import ScriptBlock

# type constraints the binder knows natively (pipeline ByValue matching, empty checks, texts)
_PARAM_TYPES = {
    "string": ParamType.STRING, "system.string": ParamType.STRING,
    "string[]": ParamType.STRING_ARRAY, "system.string[]": ParamType.STRING_ARRAY,
    "switch": ParamType.SWITCH, "switchparameter": ParamType.SWITCH,
    "int": ParamType.INT, "int32": ParamType.INT, "system.int32": ParamType.INT,
    "long": ParamType.INT, "int64": ParamType.INT,
    "bool": ParamType.BOOL, "boolean": ParamType.BOOL, "system.boolean": ParamType.BOOL,
    "scriptblock": ParamType.SCRIPTBLOCK, "datetime": ParamType.DATETIME,
    "timespan": ParamType.TIMESPAN, "hashtable": ParamType.HASHTABLE,
    "pscredential": ParamType.CREDENTIAL, "securestring": ParamType.SECURESTRING,
    "object[]": ParamType.OBJECT_ARRAY, "array": ParamType.OBJECT_ARRAY,
    "byte[]": ParamType.BYTES,
}
_ADVANCED_ATTRIBUTES = ("cmdletbinding", "parameter")


@dataclass(frozen=True)
class Validation:
    """A ``[ValidateRange]``, ``[ValidateNotNullOrEmpty]``, ``[ValidatePattern]`` or
    ``[ValidateLength]`` attribute with its constant arguments."""

    kind: str
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class ScriptParameter(Parameter):
    """A function's parameter: the binder calls ``convert_value`` instead of its own
    conversion (the ``transform`` hook), then checks empty values and ValidateSet."""

    type_name: str | None = None
    validations: tuple[Validation, ...] = ()

    def convert_value(self, value: Any, literal: str | None) -> Any:
        converted = self._cast(value, literal)
        for validation in self.validations:
            _validate(self, validation, converted)
        return converted

    def _cast(self, value: Any, literal: str | None) -> Any:
        if self.type_name is None:
            return value
        if self.type is ParamType.SWITCH:
            return bool(value) if not isinstance(value, str) else _bool_text(value)
        if self.type is ParamType.STRING:
            return "" if value is None else to_string(value, literal)
        if self.type is ParamType.STRING_ARRAY and literal is not None:
            return [literal]
        try:
            return cast(value, self.type_name)
        except KeyError:
            raise BindingError(f"Unable to find type [{self.type_name}].", "TypeNotFound",
                               category="InvalidOperation",
                               reason="RuntimeException") from None
        except ConversionError as err:
            raise BindingError(f"Cannot process argument transformation on parameter "
                               f"'{self.name}'. {err.message}",
                               "ParameterArgumentTransformationError", category="InvalidData",
                               target=value,
                               reason="ParameterBindingArgumentTransformationException"
                               ) from None


def _bool_text(text: str) -> bool:
    folded = text.strip().lower().lstrip("$")
    if folded in ("true", "false"):
        return folded == "true"
    raise BindingError(f'Cannot convert value "{text}" to type "System.Boolean". Boolean '
                       "parameters accept only Boolean values and numbers, such as $True, "
                       "$False, 1 or 0.", "ParameterArgumentTransformationError")


def _validate(param: ScriptParameter, validation: Validation, value: Any) -> None:
    prefix = f"Cannot validate argument on parameter '{param.name}'. "
    items = value if isinstance(value, list) else [value]
    if validation.kind == "validatenotnullorempty":
        if value is None or value == "" or (isinstance(value, list) and not value) or any(
                item is None or item == "" for item in items):
            raise _invalid(prefix + "The argument is null or empty. Provide an argument that "
                           "is not null or empty, and then try the command again.")
    elif validation.kind == "validatenotnull":
        if value is None or any(item is None for item in items):
            raise _invalid(prefix + "The argument is null. Provide a valid value for the "
                           "argument, and then try running the command again.")
    elif validation.kind == "validaterange" and len(validation.args) == 2:
        low, high = validation.args
        for item in items:
            shown = to_text(item)
            if _less(item, low):
                raise _invalid(prefix + f"The {shown} argument is less than the minimum allowed "
                               f"range of {to_text(low)}. Supply an argument that is greater "
                               f"than or equal to {to_text(low)} and then try the command "
                               "again.")
            if _less(high, item):
                raise _invalid(prefix + f"The {shown} argument is greater than the maximum "
                               f"allowed range of {to_text(high)}. Supply an argument that is "
                               f"less than or equal to {to_text(high)} and then try the command "
                               "again.")
    elif validation.kind == "validatepattern" and validation.args:
        pattern = to_text(validation.args[0])
        for item in items:
            if re.search(pattern, to_text(item), re.IGNORECASE) is None:
                raise _invalid(prefix + f'The argument "{to_text(item)}" does not match the '
                               f'"{pattern}" pattern. Supply an argument that matches '
                               f'"{pattern}" and try the command again.')
    elif validation.kind == "validatecount" and len(validation.args) == 2:
        low, high = (int(v) for v in validation.args)
        count = len(value) if isinstance(value, list) else (0 if value is None else 1)
        if not low <= count <= high:
            raise _invalid(prefix + f"The parameter requires at least {low} value(s) and no "
                           f"more than {high} value(s) - {count} value(s) were provided.")
    elif validation.kind == "validatelength" and len(validation.args) == 2:
        low, high = (int(v) for v in validation.args)
        for item in items:
            length = len(to_text(item))
            if length < low:
                raise _invalid(prefix + f"The character length ({length}) of the argument is "
                               f"too short. Specify an argument with a length that is greater "
                               f"than or equal to \"{low}\", and then try the command again.")
            if length > high:
                raise _invalid(prefix + f"The character length of the {length} argument is too "
                               f"long. Shorten the character length of the argument so it is "
                               f"fewer than or equal to \"{high}\" characters, and then try the "
                               "command again.")


def _less(a: Any, b: Any) -> bool:
    try:
        return bool(a < b)
    except TypeError:
        return to_text(a) < to_text(b)


def _invalid(message: str) -> BindingError:
    return BindingError(message, "ParameterArgumentValidationError", category="InvalidData",
                        reason="ParameterBindingValidationException")


# -- declarations ----------------------------------------------------------------------------


class ScriptCommand(Cmdlet):
    """The declaration derived from a script block's ``param( )`` block."""

    advanced: ClassVar[bool] = False
    decls: ClassVar[tuple[ast.ParamDecl, ...]] = ()
    positional_binding: ClassVar[bool] = True


# (id of the node, name) -> (the node, kept alive so its id stays unique; the declaration)
_DECLARATIONS: dict[tuple[int, str], tuple[Any, type[ScriptCommand]]] = {}


class DeclarationError(Exception):
    def __init__(self, message: str, extent: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extent = extent


def declaration(node: ast.ScriptBlockExpr | ast.StatementList, name: str,
                evaluate: Any) -> type[ScriptCommand]:
    """The cmdlet declaration of ``node``'s parameters (cached per node and name).

    ``evaluate`` turns an attribute argument expression into its value (constants, mostly)."""
    key = (id(node), name)
    cached = _DECLARATIONS.get(key)
    if cached is not None and cached[0] is node:
        return cached[1]
    attributes = {a.name.lower(): a for a in node.attributes}
    advanced = "cmdletbinding" in attributes or any(
        a.name.lower() in _ADVANCED_ATTRIBUTES for p in node.params for a in p.attributes)
    binding_args = _named_args(attributes.get("cmdletbinding"), evaluate)
    positional_binding = bool(binding_args.get("positionalbinding", True))
    explicit = any("position" in _named_args(_attr(p, "parameter"), evaluate)
                   for p in node.params)
    parameters: list[Parameter] = []
    next_position = 0
    for decl in node.params:
        try:
            param, next_position = _parameter(decl, evaluate, advanced, explicit,
                                              positional_binding, next_position)
        except ConversionError as err:
            raise BindingError(f"The attributes of parameter '{decl.name}' are not valid: "
                               f"{err.message}", "InvalidParameterAttribute",
                               category="MetadataError", reason="MetadataException") from None
        parameters.append(param)
    comment = comment_help(node.extent.text)
    if comment.get("parameters"):
        parameters = [dataclasses.replace(p, help=comment["parameters"].get(p.name.lower(),
                                                                          p.help))
                      for p in parameters]
    cls = type(name, (ScriptCommand,), {
        "synopsis": comment.get("synopsis", ""), "description": comment.get("description", ""),
        "examples": tuple(comment.get("examples", ())),
        "name": name, "parameters": tuple(parameters), "advanced": advanced,
        "decls": tuple(node.params), "positional_binding": positional_binding,
        "supports_should_process": bool(binding_args.get("supportsshouldprocess", False)),
        "default_parameter_set": binding_args.get("defaultparametersetname"),
    })
    _DECLARATIONS[key] = (node, cls)
    return cls


def _parameter(decl: ast.ParamDecl, evaluate: Any, advanced: bool, explicit: bool,
           positional_binding: bool, next_position: int) -> tuple[Parameter, int]:
    """One ScriptParameter from its declaration, and the next automatic position."""
    param_args = _named_args(_attr(decl, "parameter"), evaluate)
    type_name = decl.type_name
    ptype = _PARAM_TYPES.get(type_name.lower(), ParamType.OBJECT) if type_name \
        else ParamType.OBJECT
    position: int | None = None
    if "position" in param_args:
        position = to_int(param_args["position"])
    elif ptype is not ParamType.SWITCH and not explicit and (positional_binding
                                                             or not advanced):
        position = next_position
        next_position += 1
    mandatory = bool(param_args.get("mandatory", False))
    validations, choices, aliases = _validations(decl, evaluate)
    allowed = {a.name.lower() for a in decl.attributes}
    set_name = param_args.get("parametersetname")
    param = ScriptParameter(
        name=decl.name, type=ptype, mandatory=mandatory, position=position,
        sets=(str(set_name),) if set_name and str(set_name) != ALL_SETS else (),
        from_pipeline=bool(param_args.get("valuefrompipeline", False)),
        from_pipeline_by_name=bool(param_args.get("valuefrompipelinebypropertyname", False)),
        aliases=aliases, choices=choices, help=str(param_args.get("helpmessage", "")),
        remaining=bool(param_args.get("valuefromremainingarguments", False)),
        allow_null=not mandatory or "allownull" in allowed,
        allow_empty=not mandatory or bool(allowed & {"allowemptystring",
                                                     "allowemptycollection"}),
        type_name=type_name, validations=validations)
    return param, next_position


_HELP_BLOCK = re.compile(r"<#(.*?)#>", re.DOTALL)
_HELP_KEYWORD = re.compile(r"^\s*\.(SYNOPSIS|DESCRIPTION|PARAMETER|EXAMPLE|NOTES)\b[ \t]*(\S*)",
                           re.IGNORECASE | re.MULTILINE)


def comment_help(text: str) -> dict[str, Any]:
    """Comment-based help (``<# .SYNOPSIS ... .PARAMETER Batch ... .EXAMPLE ... #>``) at the
    start of a function's body, for Get-Help."""
    body = text[1:] if text.startswith("{") else text
    match = _HELP_BLOCK.match(body.lstrip())
    if match is None:
        return {}
    block = match.group(1)
    found: dict[str, Any] = {"parameters": {}, "examples": []}
    marks = list(_HELP_KEYWORD.finditer(block))
    for index, mark in enumerate(marks):
        end = marks[index + 1].start() if index + 1 < len(marks) else len(block)
        content = "\n".join(line.strip() for line in block[mark.end():end].strip("\n")
                            .splitlines()).strip()
        keyword = mark.group(1).lower()
        if keyword == "parameter":
            found["parameters"][mark.group(2).lower()] = " ".join(content.split())
        elif keyword == "example":
            code, _, remarks = content.partition("\n")
            found["examples"].append(Example(code.strip(), " ".join(remarks.split())))
        elif keyword in ("synopsis", "description"):
            found[keyword] = " ".join(content.split())
    return found


def _attr(decl: ast.ParamDecl, name: str) -> ast.Attribute | None:
    return next((a for a in decl.attributes if a.name.lower() == name), None)


def _named_args(attribute: ast.Attribute | None, evaluate: Any) -> dict[str, Any]:
    if attribute is None:
        return {}
    return {key.lower(): (True if value is None else evaluate(value))
            for key, value in attribute.named}


def _validations(decl: ast.ParamDecl, evaluate: Any
                 ) -> tuple[tuple[Validation, ...], tuple[str, ...], tuple[str, ...]]:
    validations: list[Validation] = []
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    for attribute in decl.attributes:
        kind = attribute.name.lower()
        args = tuple(_flatten(evaluate(arg)) for arg in attribute.args)
        flat = tuple(item for arg in args for item in (arg if isinstance(arg, list) else [arg]))
        if kind == "validateset":
            choices = tuple(to_text(v) for v in flat)
        elif kind == "alias":
            aliases = tuple(to_text(v) for v in flat)
        elif kind in ("validaterange", "validatepattern", "validatelength", "validatecount"):
            wanted = 1 if kind == "validatepattern" else 2
            if len(flat) != wanted:
                raise BindingError(f"The [{attribute.name}()] attribute on parameter "
                                   f"'{decl.name}' needs {wanted} argument(s).",
                                   "InvalidParameterAttribute", category="MetadataError",
                                   reason="MetadataException")
            validations.append(Validation(kind, flat))
        elif kind in ("validatenotnullorempty", "validatenotnull"):
            validations.append(Validation(kind))
        elif kind.startswith("validate"):
            # a check imsh cannot run must not silently let every value through
            raise BindingError(f"The [{attribute.name}()] attribute on parameter "
                               f"'{decl.name}' is not supported by imsh.", "NotSupported",
                               category="NotImplemented", reason="PSNotSupportedException")
    return tuple(validations), choices, aliases


def _flatten(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


# -- binding ---------------------------------------------------------------------------------


def split_arguments(cls: type[ScriptCommand], items: list[ArgItem]
                    ) -> tuple[list[ArgItem], list[Any]]:
    """For a simple function: the items its parameters take, and the rest (``$args``).

    Names resolve against the declared parameters only (exact, alias, or a unique prefix);
    an unknown ``-Name`` and positional values beyond the positional parameters go to
    ``$args``.  Advanced functions pass everything to the binder, which refuses extras."""
    if cls.advanced:
        return items, []
    # first pass: which parameters the named items take (a value may follow a -Name)
    entries: list[tuple[ArgItem, Parameter | None]] = []
    i = 0
    while i < len(items):
        item = items[i]
        i += 1
        param = _declared(cls, item.name) if item.name is not None else None
        if param is not None and not item.has_value and not param.is_switch \
                and i < len(items) and items[i].name is None:
            value_item = items[i]
            i += 1
            item = ArgItem(param.name, value_item.value, True, value_item.literal, item.extent)
        elif param is not None:
            item = ArgItem(param.name, item.value, item.has_value, item.literal, item.extent)
        entries.append((item, param))
    named = {param.name for _, param in entries if param is not None}
    slots = len([p for p in cls.parameters if p.position is not None and p.name not in named])
    # second pass, in order: positional values fill the slots, the rest is $args
    taken: list[ArgItem] = []
    rest: list[Any] = []
    for item, param in entries:
        if param is not None:
            taken.append(item)
        elif item.name is None and slots > 0:
            taken.append(item)
            slots -= 1
        elif item.name is None:
            rest.append(item.value)
        else:
            rest.append("-" + item.name + (":" if item.has_value else ""))
            if item.has_value:
                rest.append(item.value)
    return taken, rest


def _declared(cls: type[ScriptCommand], typed: str) -> Parameter | None:
    key = typed.lower()
    for param in cls.parameters:
        if param.name.lower() == key or key in (a.lower() for a in param.aliases):
            return param
    matches = [p for p in cls.parameters if p.name.lower().startswith(key)]
    if len(matches) > 1:
        names = " ".join("-" + p.name for p in matches)
        raise BindingError(f"Parameter cannot be processed because the parameter name '{typed}' "
                           f"is ambiguous. Possible matches include: {names}.",
                           "AmbiguousParameter", target=typed)
    return matches[0] if matches else None


class BoundParameters(Hashtable):
    """``$PSBoundParameters``: a dictionary, shown with Key/Value columns as PowerShell does."""

    key_value_view = True


def bound_variables(runtime: Runtime, cls: type[ScriptCommand], binding: Binding,
                    args: list[Any], set_variable: Any) -> Hashtable:
    """Set each parameter's variable (bound value, else its default, else ``$null``/false),
    ``$args`` and ``$PSBoundParameters``; defaults are evaluated in order, in the scope the
    variables are set in, so a default may use an earlier parameter."""
    values = binding.values
    # in binding order, as PowerShell fills it: named arguments first, then positional ones
    bound = BoundParameters({name: values[name] for name in values
                             if any(p.name == name for p in cls.parameters)})
    for param, decl in zip(cls.parameters, cls.decls, strict=True):
        if param.name in values:
            value = values[param.name]
        elif decl.default is not None:
            value = runtime.eval(decl.default)
            if decl.type_name:
                assert isinstance(param, ScriptParameter)
                value = param.convert_value(value, None)
        elif param.is_switch:
            value = False
        elif decl.type_name and param.type is ParamType.STRING:
            value = ""
        elif decl.type_name and param.type is ParamType.INT:
            value = 0
        else:
            value = None
        set_variable(param.name, value)
    set_variable("args", list(args))
    set_variable("PSBoundParameters", bound)
    common = binding.common
    if cls.advanced:
        if common.error_action:
            set_variable("ErrorActionPreference", common.error_action)
        if common.verbose:
            set_variable("VerbosePreference", "Continue")
        if common.debug:
            set_variable("DebugPreference", "Continue")
        if common.whatif is not None:
            set_variable("WhatIfPreference", common.whatif)
    return bound


# -- running ---------------------------------------------------------------------------------


def function_stage(runtime: Runtime, block: ScriptBlock, ctx: CommandContext,
                   upstream: Iterator[Any] | None, binding: Binding, rest: list[Any]
                   ) -> Iterator[Any]:
    """The generator that runs one invocation of a bound function in a pipeline."""
    cls = binding.cmdlet
    assert issubclass(cls, ScriptCommand)
    node = block.node
    variables = runtime.variables
    scope = Scope(variables.current)

    def run(statements: ast.StatementList | None, input_object: Any,
            input_items: list[Any] | None = None) -> list[Any]:
        out: list[Any] = []
        if statements is None:
            return out
        caller = variables.current
        variables.current = scope
        runtime.depth += 1
        named = cls.name != "<ScriptBlock>"
        if named:  # a function (not `& { }`): Write-Error inside names it
            runtime.invocations.append((cls.name, ctx.extent))
        try:
            if runtime.depth > 200:
                raise RecursionError
            # $_ is the pipeline object in process; elsewhere the caller's $_ shows through
            if statements is node.process and input_items is not None:
                scope.values["_"] = input_object
            else:
                scope.values.pop("_", None)
            if input_items is not None:
                scope.values["input"] = input_items
            with contextlib.suppress(ReturnSignal):
                runtime.exec_block(statements, out.append)
        finally:
            if named:
                runtime.invocations.pop()
            runtime.depth -= 1
            variables.current = caller
        return out

    caller = variables.current
    variables.current = scope
    try:
        setter = scope_setter(scope)
        try:
            bound = bound_variables(runtime, cls, binding, rest, setter)
        except BindingError as err:  # a default value its type constraint refuses
            raise PSRuntimeError(ErrorRecord(
                err.message, category=err.category, error_id=err.error_id, command=cls.name,
                reason=err.reason, target=err.target, extent=ctx.extent)) from None
        setter("MyInvocation", invocation_info(cls.name, bound, rest))
        if cls.advanced:
            setter("PSCmdlet", FunctionCmdlet(ctx, cls.name, binding.parameter_set))
    finally:
        variables.current = caller
    yield from run(node.begin, None)
    takes_input = cls.advanced or any(p.from_pipeline or p.from_pipeline_by_name
                                      for p in cls.parameters)
    received: list[Any] = []
    if upstream is None:
        yield from run(node.process, None, [])
    else:
        for obj in upstream:
            if takes_input:
                try:
                    extra = bind_pipeline(binding, obj)
                except BindingError as err:
                    ctx.write_error(CmdletError(err.message, err.category, err.error_id, obj))
                    continue
                for key in extra:
                    if key not in binding.values:
                        scope.values[variables.key(key)] = extra[key]
                        bound[key] = extra[key]
            if node.process is not None:
                yield from run(node.process, obj, [obj])
            else:
                received.append(obj)
    yield from run(node.body, None, received)


def invocation_info(name: str, bound: Hashtable, rest: list[Any]) -> Any:
    """``$MyInvocation``: the command's name and its arguments."""
    from cmdlets.base import PSObject

    command = PSObject({"Name": name, "CommandType": "Function"},
                       ("System.Management.Automation.FunctionInfo",))
    return PSObject({"MyCommand": command, "InvocationName": name, "BoundParameters": bound,
                     "UnboundArguments": list(rest)},
                    ("System.Management.Automation.InvocationInfo",))


class FunctionCmdlet:
    """``$PSCmdlet`` in an advanced function: ShouldProcess (honours -WhatIf/-Confirm like a
    cmdlet), ParameterSetName, WriteVerbose/WriteWarning/WriteDebug/WriteError."""

    ps_type_name = "System.Management.Automation.PSScriptCmdlet"
    PS_PROPERTIES = ("ParameterSetName", "MyInvocation")

    def __init__(self, ctx: CommandContext, name: str, parameter_set: str) -> None:
        self._ctx = ctx
        self._name = name
        self.ParameterSetName = parameter_set
        self.MyInvocation = None

    def ps_methods(self) -> dict[str, Any]:
        ctx = self._ctx

        def should_process(target: Any, action: Any = None) -> bool:
            return ctx.should_process(to_text(target), to_text(action) if action is not None
                                      else self._name)

        def write_error(error: Any) -> None:
            message = getattr(error, "message", None) or to_text(error)
            ctx.write_error(CmdletError(message, "NotSpecified", "Microsoft.PowerShell."
                                        "Commands.WriteErrorException"))

        return {"shouldprocess": should_process,
                "writeverbose": lambda text: ctx.write_verbose(to_text(text)),
                "writewarning": lambda text: ctx.write_warning(to_text(text)),
                "writedebug": lambda text: ctx.write_debug(to_text(text)),
                "writeerror": write_error}


def scope_setter(scope: Scope) -> Any:
    from shell.lang.scope import Variables

    def set_variable(name: str, value: Any) -> None:
        scope.values[Variables.key(name)] = value

    return set_variable


def bind_function(cls: type[ScriptCommand], items: list[ArgItem], *, pipeline_input: bool,
                  prompt: Any = None) -> tuple[Binding, list[Any]]:
    """Bind a function's arguments: its own items through the cmdlet binder, plus ``$args``."""
    taken, rest = split_arguments(cls, items)
    return bind(cls, taken, pipeline_input=pipeline_input, prompt=prompt), rest


def command_line_items(args: list[str]) -> list[ArgItem]:
    """A script's command-line arguments as binder items: ``-Name``, ``-Name:value``, values."""

    items: list[ArgItem] = []
    for arg in args:
        match = re.fullmatch(r"-([A-Za-z_?][\w-]*)(:?)(.*)", arg, re.DOTALL)
        if match is None:
            items.append(ArgItem(None, arg, True, arg))
        elif match.group(2):
            items.append(ArgItem(match.group(1), match.group(3), True, match.group(3)))
        else:
            items.append(ArgItem(match.group(1)))
    return items
