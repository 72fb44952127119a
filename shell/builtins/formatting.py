"""Format-Table, Format-List, Out-String, Out-File, Out-Host and Out-Null.

Format-* collect their input and emit one format object (``shell.format.formatted``) that
the console prints as is; like PowerShell's, those objects belong at the end of a pipeline.
Format-List shows every property by default (as Exchange's list views do) and with ``*``;
values go through the display conversion, so
a ``Secret`` prints as ``********``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cmdlets.base import BoundArguments, Cmdlet, CmdletError, Context, Example, Parameter, PSObject
from cmdlets.base import ParamType as T
from shell.builtins.common import INPUT_OBJECT, Collecting, as_list
from shell.builtins.files import ENCODING_CHOICES, write_text
from shell.format import render
from shell.format import select as sel
from shell.format.formatted import FormattedList, FormattedTable, GroupedTable, TextBlock
from shell.format.table import Column
from shell.objects import display_properties, property_names, to_text


def _is_record(obj: Any) -> bool:
    return isinstance(obj, PSObject | Mapping) or bool(property_names(obj))


def _specs_for(obj: Any, args: BoundArguments, *, all_by_default: bool) -> list[sel.PropertySpec]:
    given = as_list(args.get("Property"))
    if not given:
        names = property_names(obj) if all_by_default else display_properties(obj)
        return [sel.PropertySpec(name) for name in names]
    return sel.resolve(obj, sel.parse_specs(given, sel.FORMAT_KEYS))


class FormatTable(Collecting):
    name = "Format-Table"
    aliases = ("ft",)
    synopsis = "Formats the output as a table."
    description = ("Shows the chosen properties (names, wildcards, calculated properties with "
                   "Label/Expression/Width/Alignment) as table columns; the columns come from "
                   "the first object.")
    examples = (Example("Get-MigrationUser | Format-Table Identity, Status, *Sync* -AutoSize",
                        "A table with the identity, status and every sync-related column."),)
    parameters = (
        INPUT_OBJECT,
        Parameter("Property", T.OBJECT_ARRAY, position=0, help="The columns to show."),
        Parameter("AutoSize", T.SWITCH, help="Size columns to their content (always done)."),
        Parameter("HideTableHeaders", T.SWITCH, help="Leave out the header and underline."),
        Parameter("Wrap", T.SWITCH, help="Wrap long values instead of cutting them."),
        Parameter("GroupBy", T.OBJECT, help="A property (or @{Label=..;Expression={..}}): a "
                  "new table with a heading whenever its value changes (sort first)."),
    )

    def end(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if not self._items:
            return ()
        first = self._items[0]
        if args.get("GroupBy") is not None and _is_record(first):
            return (self._grouped(ctx, args),)
        if not _is_record(first):
            return (TextBlock(tuple(line for obj in self._items
                                    for line in to_text(obj).split("\n"))),)
        if isinstance(first, Mapping) and not isinstance(first, PSObject) and \
                not args.get("Property"):
            rows = tuple((k, v) for table in self._items for k, v in table.items())
            return (FormattedTable((Column("Name", "left", 30), Column("Value", "left")), rows,
                                   args.switch("HideTableHeaders"), args.switch("Wrap")),)
        specs = _specs_for(first, args, all_by_default=False)
        columns = tuple(_column(spec) for spec in specs)
        rows = tuple(tuple(sel.evaluate(ctx, obj, spec) for spec in specs) for obj in self._items)
        return (FormattedTable(columns, rows, args.switch("HideTableHeaders"),
                               args.switch("Wrap")),)


    def _grouped(self, ctx: Context, args: BoundArguments) -> GroupedTable:
        parsed = sel.parse_specs([args["GroupBy"]], sel.FORMAT_KEYS)
        resolved = sel.resolve(self._items[0], parsed)
        # a name the first object lacks still groups (by $null), as in PowerShell
        group_spec = resolved[0] if resolved else sel.PropertySpec(to_text(args["GroupBy"]))
        specs = _specs_for(self._items[0], args, all_by_default=False)
        columns = tuple(_column(spec) for spec in specs)
        groups: list[tuple[Any, list[tuple[Any, ...]]]] = []
        for obj in self._items:
            value = sel.evaluate(ctx, obj, group_spec)
            row = tuple(sel.evaluate(ctx, obj, spec) for spec in specs)
            if groups and groups[-1][0] == value:
                groups[-1][1].append(row)
            else:
                groups.append((value, [row]))
        return GroupedTable(group_spec.name, columns,
                            tuple((value, tuple(rows)) for value, rows in groups))


def _column(spec: sel.PropertySpec) -> Column:
    align = spec.option("Alignment")
    width = spec.option("Width")
    return Column(spec.name, str(align).casefold() if align else None,
                  int(width) if width else None)


class FormatList(Collecting):
    name = "Format-List"
    aliases = ("fl",)
    synopsis = "Formats the output as a list of properties, one per line."
    description = ("Shows each object as 'Name : value' lines; -Property * shows every "
                   "property. Passwords show as ********.")
    examples = (Example("Get-MigrationEndpoint E | Format-List *",
                        "Shows every property of the endpoint."),)
    parameters = (
        INPUT_OBJECT,
        Parameter("Property", T.OBJECT_ARRAY, position=0, help="The properties to show."),
    )

    def end(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        records = []
        for obj in self._items:
            if not _is_record(obj):
                continue
            # every property, as Exchange's list views show (`Get-MigrationBatch | fl`);
            # the display set only chooses a table's columns
            specs = _specs_for(obj, args, all_by_default=True)
            records.append(tuple((spec.name, sel.evaluate(ctx, obj, spec)) for spec in specs))
        scalars = [obj for obj in self._items if not _is_record(obj)]
        out: list[Any] = []
        if records:
            out.append(FormattedList(tuple(records)))
        if scalars:
            out.append(TextBlock(tuple(to_text(obj) for obj in scalars)))
        return out


class OutString(Collecting):
    name = "Out-String"
    synopsis = "Turns objects into the text the console would show."
    description = "Outputs one string holding the formatted text, or one per line with -Stream."
    examples = (Example("$text = Get-MigrationBatch | Out-String",
                        "Keeps the batch table as text."),)
    parameters = (
        INPUT_OBJECT,
        Parameter("Width", T.INT, help="The line width (default: the console's)."),
        Parameter("Stream", T.SWITCH, help="Output each line as a separate string."),
    )

    def end(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        width = args.get("Width")
        text = render(self._items, width) if width else ctx.render(self._items)
        if args.switch("Stream"):
            return text.splitlines()
        return (text,)


class OutFile(Collecting):
    name = "Out-File"
    synopsis = "Writes the formatted output to a file."
    description = ("Writes the text the console would show into a file (utf8NoBOM, LF line "
                   "ends unless told otherwise).")
    examples = (Example("Get-MigrationUser | Out-File users.txt", "Saves the user table."),)
    parameters = (
        INPUT_OBJECT,
        Parameter("FilePath", T.STRING, mandatory=True, position=0, aliases=("Path",),
                  help="The file to write."),
        Parameter("Encoding", T.STRING, position=1, choices=ENCODING_CHOICES,
                  help="The text encoding (default utf8NoBOM)."),
        Parameter("Append", T.SWITCH, help="Add to the end of the file."),
        Parameter("Force", T.SWITCH, help="Overwrite even a read-only file."),
        Parameter("NoClobber", T.SWITCH, aliases=("NoOverwrite",),
                  help="Fail instead of replacing an existing file."),
        Parameter("Width", T.INT, help="The line width (default: the console's)."),
        Parameter("NoNewline", T.SWITCH, help="Write the text without line breaks."),
    )
    supports_should_process = True

    def end(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        path = ctx.resolve_path(str(args["FilePath"]))
        if not ctx.should_process(str(path), "Output to File"):
            return ()
        if args.switch("NoClobber") and not args.switch("Append") and path.exists():
            raise CmdletError(f"The file '{path}' already exists.", "ResourceExists",
                              "NoClobber", target=str(path))
        if args.switch("NoNewline"):
            text = "".join(to_text(obj) for obj in self._items)
        else:
            width = args.get("Width")
            text = render(self._items, width) if width else ctx.render(self._items)
        write_text(path, text, encoding=args.get("Encoding"), append=args.switch("Append"))
        return ()


class OutHost(Collecting):
    name = "Out-Host"
    aliases = ("oh",)
    synopsis = "Shows the output on the console."
    description = ("Writes the formatted text to the console at once, so nothing reaches the "
                   "rest of the pipeline or a variable.")
    examples = (Example("Get-MigrationBatch | Out-Host", "Shows the batches."),)
    parameters = (
        INPUT_OBJECT,
        Parameter("Paging", T.SWITCH, help="Accepted; imsh does not page."),
    )

    def end(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if self._items:
            ctx.write_host(ctx.render(self._items), newline=False)
        return ()


class OutNull(Cmdlet):
    name = "Out-Null"
    synopsis = "Discards the output."
    description = "Drops every input object; use it to hide output you do not need."
    examples = (Example("New-MigrationEndpoint -Maildir -Name M -Path /srv/mail | Out-Null",
                        "Creates the endpoint without showing it."),)
    parameters = (INPUT_OBJECT,)

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        return ()


FORMATTING_CMDLETS: tuple[type[Cmdlet], ...] = (
    FormatTable, FormatList, OutString, OutFile, OutHost, OutNull,
)
