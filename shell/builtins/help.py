"""Get-Command and Get-Help, built from the cmdlet declarations in the session's registry.

The registry comes from ``ctx.registry`` (the session's ``cmdlets.registry.Registry``).
Get-Command writes CommandInfo-like records (CommandType, Name, Version, Source); aliases come
first, then cmdlets, each sorted by name, as PowerShell 7 lists them.  Get-Help writes the
help text as one string: NAME, SYNOPSIS, SYNTAX (one line per parameter set in PowerShell
notation), DESCRIPTION, PARAMETERS (-Detailed/-Full), EXAMPLES, ALIASES, REMARKS.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import metadata
from typing import Any

from cmdlets.base import (
    ALL_SETS,
    BoundArguments,
    Cmdlet,
    CmdletError,
    Context,
    Example,
    Parameter,
    PSObject,
)
from cmdlets.base import ParamType as T
from cmdlets.registry import Registry
from shell.builtins.common import as_list
from shell.objects import Hashtable
from shell.wildcard import has_wildcards, wildcard_match

COMMAND_INFO = "System.Management.Automation.CmdletInfo"
ALIAS_INFO = "System.Management.Automation.AliasInfo"
SOURCE = "imsh"
ABOUT_TOPIC = "about_imsh"


def _version() -> str:
    try:
        return metadata.version("imsh")
    except metadata.PackageNotFoundError:
        return "0.1.0"


def registry_of(ctx: Context) -> Registry:
    registry: Registry = ctx.registry
    return registry


FUNCTION_INFO = "System.Management.Automation.FunctionInfo"
PARAMETER_METADATA = "System.Management.Automation.ParameterMetadata"


def _command_record(name: str, kind: str, cls: type[Cmdlet]) -> PSObject:
    verb, _, noun = cls.name.partition("-") if kind != "Alias" else ("", "", "")
    props = {"CommandType": kind, "Name": name, "Version": _version() if kind != "Function"
             else "", "Source": SOURCE if kind != "Function" else "",
             "Verb": verb, "Noun": noun,
             "Definition": cls.name if kind == "Alias" else _syntax_lines(cls)[0],
             "ResolvedCommandName": cls.name,
             "DefaultParameterSet": cls.default_parameter_set,
             "OutputType": cls.output_type or None,
             "Parameters": None if kind == "Alias" else _parameters(cls),
             "ParameterSets": None if kind == "Alias" else [
                 s for s in cls.parameter_sets()],
             "ModuleName": SOURCE if kind != "Function" else "",
             "HelpUri": ""}
    type_name = {"Alias": ALIAS_INFO, "Function": FUNCTION_INFO}.get(kind, COMMAND_INFO)
    return PSObject(props, (type_name, "System.Object"),
                    display=("CommandType", "Name", "Version", "Source"), view="table")


def _parameters(cls: type[Cmdlet]) -> Hashtable:
    """``(Get-Command X).Parameters``: name -> ParameterMetadata, common parameters included."""
    from shell.lang.binder import all_parameters

    table = Hashtable()
    simple = not getattr(cls, "advanced", True)  # a simple function has no common parameters
    for param in (cls.parameters if simple else all_parameters(cls)):
        table[param.name] = PSObject(
            {"Name": param.name, "ParameterType": _type_ref(param),
             "ParameterSets": list(param.sets) or [ALL_SETS], "IsDynamic": False,
             "Aliases": list(param.aliases), "SwitchParameter": param.is_switch,
             "IsMandatory": param.mandatory, "Position": param.position},
            (PARAMETER_METADATA, "System.Object"))
    return table


def _type_ref(param: Parameter) -> Any:
    from shell.lang.typenames import NET_NAMES
    from shell.lang.values import TypeRef

    full = NET_NAMES[param.type]
    if param.is_switch:
        full = "System.Management.Automation.SwitchParameter"
    return TypeRef(full.rsplit(".", 1)[-1], full)


class GetCommand(Cmdlet):
    name = "Get-Command"
    aliases = ("gcm",)
    synopsis = "Lists the commands of the session."
    description = "Lists cmdlets and aliases, filtered by name (wildcards), verb, noun or type."
    examples = (Example("Get-Command *-MigrationBatch", "Lists the batch cmdlets."),)
    parameters = (
        Parameter("Name", T.STRING_ARRAY, position=0, help="Names to list (wildcards allowed)."),
        Parameter("Verb", T.STRING_ARRAY, help="Verbs to list (wildcards allowed)."),
        Parameter("Noun", T.STRING_ARRAY, help="Nouns to list (wildcards allowed)."),
        Parameter("CommandType", T.STRING_ARRAY, aliases=("Type",),
                  choices=("Alias", "Function", "Cmdlet", "All"),
                  help="Alias, Function, Cmdlet or All."),
    )

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        registry = registry_of(ctx)
        names = [str(n) for n in as_list(args.get("Name"))]
        kinds = {str(k).casefold() for k in as_list(args.get("CommandType"))} or {"all"}
        functions: dict[str, type[Cmdlet]] = getattr(ctx, "function_declarations", dict)()
        if not names and "all" in kinds and (args.get("Verb") or args.get("Noun")):
            kinds = {"cmdlet", "function"}
        records = [r for r in self._all(registry, kinds, functions)
                   if self._wanted(r, args, names)]
        for name in names:
            if not has_wildcards(name) and not any(
                    r.get("Name").casefold() == name.casefold() for r in records):
                ctx.write_error(CmdletError(
                    f"The term '{name}' is not recognized as a name of a cmdlet, function, "
                    "script file, or executable program.", "ObjectNotFound",
                    "CommandNotFoundException", target=name))
        return records

    @staticmethod
    def _all(registry: Registry, kinds: set[str], functions: dict[str, type[Cmdlet]]
             ) -> list[PSObject]:
        records: list[PSObject] = []
        if kinds & {"all", "alias"}:
            aliases = sorted(registry.aliases().items(), key=lambda kv: kv[0].casefold())
            records.extend(_command_record(alias, "Alias", registry.find(alias) or Cmdlet)
                           for alias, _ in aliases)
        if kinds & {"all", "function"}:
            records.extend(_command_record(name, "Function", cls)
                           for name, cls in sorted(functions.items(),
                                                   key=lambda kv: kv[0].casefold()))
        if kinds & {"all", "cmdlet"}:
            records.extend(_command_record(cls.name, "Cmdlet", cls) for cls in registry)
        return records

    @staticmethod
    def _wanted(record: PSObject, args: BoundArguments, names: list[str]) -> bool:
        name = str(record.get("Name"))
        if names and not any(wildcard_match(pattern, name) for pattern in names):
            return False
        verb, _, noun = str(record.get("ResolvedCommandName")).partition("-")
        if record.get("CommandType") == "Alias" and (args.get("Verb") or args.get("Noun")):
            return False
        for key, part in (("Verb", verb), ("Noun", noun)):
            patterns = [str(p) for p in as_list(args.get(key))]
            if patterns and not any(wildcard_match(p, part) for p in patterns):
                return False
        return True


def _type_text(param: Parameter) -> str:
    """``<string>``, or ``{A | B}`` for a ValidateSet, as PowerShell's syntax shows them."""
    if param.choices:
        return "{" + " | ".join(param.choices) + "}"
    return f"<{param.type.value}>"


def _param_syntax(param: Parameter) -> str:
    if param.is_switch:
        text = f"-{param.name}"
        return text if param.mandatory else f"[{text}]"
    name = f"-{param.name}" if param.position is None else f"[-{param.name}]"
    text = f"{name} {_type_text(param)}"
    return text if param.mandatory else f"[{text}]"


def _syntax_lines(cls: type[Cmdlet]) -> list[str]:
    lines = []
    for set_name in cls.parameter_sets():
        params = [p for p in cls.parameters if set_name == ALL_SETS or p.in_set(set_name)]
        params = [p for p in params if not p.unsupported]
        positional = sorted((p for p in params if p.position is not None),
                            key=lambda p: p.position or 0)
        named = [p for p in params if p.position is None]
        ordered = positional + [p for p in named if p.mandatory] + \
            [p for p in named if not p.mandatory]
        parts = [cls.name, *(_param_syntax(p) for p in ordered)]
        if cls.supports_should_process:
            parts += ["[-WhatIf]", "[-Confirm]"]
        parts.append("[<CommonParameters>]")
        lines.append(" ".join(parts))
    return lines


def _indent(text: str, level: int = 1) -> list[str]:
    pad = "    " * level
    return [pad + line if line else "" for line in text.splitlines()] or [pad]


def _parameter_block(param: Parameter, full: bool) -> list[str]:
    head = f"-{param.name}" + ("" if param.is_switch else f" {_type_text(param)}")
    lines = _indent(head) + _indent(param.help or "(no description)", 2)
    if full:
        pipeline = "true (ByValue)" if param.from_pipeline else (
            "true (ByPropertyName)" if param.from_pipeline_by_name else "false")
        facts = [("Required?", str(param.mandatory).lower()),
                 ("Position?", "named" if param.position is None else str(param.position)),
                 ("Accept pipeline input?", pipeline),
                 ("Aliases", ", ".join(param.aliases) or "None")]
        lines += ["", *(f"        {k:<27}{v}" for k, v in facts)]
    return [*lines, ""]


def _example_block(number: int, example: Example) -> list[str]:
    return [f"    -------------------------- EXAMPLE {number} --------------------------", "",
            *_indent(example.code), "", *_indent(example.remarks), ""]


def help_text(cls: type[Cmdlet], *, detailed: bool = False, full: bool = False,
              examples_only: bool = False) -> str:
    """The Get-Help page of one cmdlet."""
    lines = ["", "NAME", *_indent(cls.name), "", "SYNOPSIS", *_indent(cls.synopsis or cls.name), ""]
    if not examples_only:
        lines += ["", "SYNTAX"]
        for syntax in _syntax_lines(cls):
            lines += [*_indent(syntax), ""]
        lines += ["", "DESCRIPTION", *_indent(cls.description or cls.synopsis), ""]
    if (detailed or full) and not examples_only:
        lines += ["", "PARAMETERS"]
        for param in cls.parameters:
            if not param.unsupported:
                lines += _parameter_block(param, full)
        lines += ["    <CommonParameters>",
                  "        This cmdlet supports the common parameters: Verbose, Debug,",
                  "        ErrorAction, ErrorVariable, WarningAction, WarningVariable,",
                  "        OutBuffer, PipelineVariable, and OutVariable.", ""]
    if detailed or full or examples_only:
        for number, example in enumerate(cls.examples, 1):
            lines += _example_block(number, example)
    if not examples_only:
        lines += ["", "ALIASES", *_indent(", ".join(cls.aliases) or "None"), ""]
        lines += ["", "REMARKS",
                  f'    To see the examples, type: "Get-Help {cls.name} -Examples"',
                  f'    For more information, type: "Get-Help {cls.name} -Detailed"',
                  f'    For technical information, type: "Get-Help {cls.name} -Full"', ""]
    return "\n".join(lines)


def about_text(registry: Registry) -> str:
    """``Get-Help about_imsh``: what imsh is and every command with its synopsis."""
    width = max((len(cls.name) for cls in registry), default=10) + 2
    lines = ["", "TOPIC", "    about_imsh", "", "SHORT DESCRIPTION",
             "    imsh copies IMAP mailboxes with Exchange-style migration cmdlets.", "",
             "LONG DESCRIPTION",
             "    Create endpoints and batches, start them, and watch the statistics:",
             "", "        New-MigrationEndpoint -IMAP ...", "        New-MigrationBatch -Name B "
             "-CSVData ([System.IO.File]::ReadAllBytes('users.csv')) ...",
             "        Start-MigrationBatch B",
             "        Get-MigrationUser -BatchId B | Get-MigrationUserStatistics",
             "", "COMMANDS"]
    lines += [f"    {cls.name:<{width}}{cls.synopsis}".rstrip() for cls in registry]
    lines += ["", "    Type 'Get-Help <command> -Detailed' for the parameters of a command.", ""]
    return "\n".join(lines)


class GetHelp(Cmdlet):
    name = "Get-Help"
    aliases = ("help", "man")
    synopsis = "Shows help about imsh commands."
    description = ("Shows the help page of a command (from its declaration), or the list of "
                   "commands matching a wildcard; 'Get-Help about_imsh' gives an overview.")
    examples = (Example("Get-Help New-MigrationBatch -Detailed",
                        "Shows the parameters of New-MigrationBatch."),)
    parameters = (
        Parameter("Name", T.STRING, position=0, help="A command name, alias or wildcard."),
        Parameter("Detailed", T.SWITCH, help="Add parameter descriptions and examples."),
        Parameter("Full", T.SWITCH, help="Add everything, with parameter attributes."),
        Parameter("Examples", T.SWITCH, help="Show only the examples."),
        Parameter("Parameter", T.STRING, help="Show only this parameter (wildcards allowed)."),
    )

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        registry = registry_of(ctx)
        name = str(args.get("Name") or ABOUT_TOPIC)
        if name.casefold() == ABOUT_TOPIC.casefold():
            return (about_text(registry),)
        cls = registry.find(name)
        if cls is None and not has_wildcards(name):  # a function: its syntax from param()
            functions: dict[str, type[Cmdlet]] = getattr(ctx, "function_declarations",
                                                         dict)()
            cls = next((f for n, f in functions.items() if n.casefold() == name.casefold()),
                       None)
        if cls is None and has_wildcards(name):
            return self._listing(registry, name)
        if cls is None:
            raise CmdletError(f"Get-Help could not find {name} in a help file in this session. "
                              f"Type 'Get-Help {ABOUT_TOPIC}' for the list of commands.",
                              "ResourceUnavailable", "HelpNotFound", target=name)
        if args.get("Parameter") is not None:
            return (self._parameter(cls, str(args["Parameter"])),)
        return (help_text(cls, detailed=args.switch("Detailed"), full=args.switch("Full"),
                          examples_only=args.switch("Examples")),)

    @staticmethod
    def _listing(registry: Registry, pattern: str) -> list[PSObject]:
        return [PSObject({"Name": cls.name, "Category": "Cmdlet", "Module": SOURCE,
                          "Synopsis": cls.synopsis}, ("HelpInfoShort", "System.Object"))
                for cls in registry if wildcard_match(pattern, cls.name)]

    @staticmethod
    def _parameter(cls: type[Cmdlet], pattern: str) -> str:
        found = [p for p in cls.parameters if wildcard_match(pattern, p.name)]
        if not found:
            raise CmdletError(f'No parameter matches criteria "{pattern}".', "InvalidArgument",
                              "NoParmsFound", target=pattern)
        return "\n".join(line for p in found for line in _parameter_block(p, True))


HELP_CMDLETS: tuple[type[Cmdlet], ...] = (GetCommand, GetHelp)
