"""Export-Csv, ConvertTo-Csv, Import-Csv, ConvertFrom-Csv, ConvertTo-Json, ConvertFrom-Json.

The text rules live in ``shell.format.csvtext`` and ``shell.format.jsontext``; this module
binds parameters, files and errors the way PowerShell 7 does: no ``#TYPE`` line unless
``-IncludeTypeInformation`` (``-NoTypeInformation`` is accepted and changes nothing),
utf8NoBOM, LF line ends, ``-Append`` reusing the file's header (a missing column is an error
unless ``-Force``), ``-NoClobber`` refusing to replace a file, ``-WhatIf`` writing nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cmdlets.base import BoundArguments, Cmdlet, CmdletError, Context, Example, Parameter
from cmdlets.base import ParamType as T
from shell.builtins.common import INPUT_OBJECT, Collecting, as_list, has_input
from shell.builtins.files import ENCODING_CHOICES, read_text, write_text
from shell.format.csvtext import (
    QUOTE_MODES,
    CsvWriter,
    csv_property_names,
    parse_csv,
    split_records,
)
from shell.format.jsontext import DEFAULT_DEPTH, MAX_DEPTH, JsonOptions, from_json, to_json
from shell.objects import enumerate_value, to_text

_CSV_WRITE_PARAMETERS = (
    Parameter("NoTypeInformation", T.SWITCH, aliases=("NTI",),
              help="Accepted for compatibility; no #TYPE line is written anyway."),
    Parameter("IncludeTypeInformation", T.SWITCH, aliases=("ITI",),
              help="Write a '#TYPE <type name>' line first."),
    Parameter("UseQuotes", T.STRING, aliases=("UQ",), choices=QUOTE_MODES,
              help="Always (default), AsNeeded or Never."),
    Parameter("QuoteFields", T.STRING_ARRAY, aliases=("QF",),
              help="Quote only these columns."),
    Parameter("NoHeader", T.SWITCH, help="Leave out the header line."),
)


def _writer(args: BoundArguments, header: list[str] | None = None) -> CsvWriter:
    if args.switch("NoTypeInformation") and args.switch("IncludeTypeInformation"):
        raise CmdletError("You must specify either the -IncludeTypeInformation or "
                          "-NoTypeInformation parameters, but not both.", "InvalidData",
                          "CannotSpecifyIncludeTypeInformationAndNoTypeInformation")
    return CsvWriter(
        delimiter=str(args.get("Delimiter") or ","),
        use_quotes=str(args.get("UseQuotes") or "Always"),
        quote_fields=as_list(args.get("QuoteFields")),
        include_type=args.switch("IncludeTypeInformation") and header is None,
        header=header,
        write_header=not args.switch("NoHeader"),
    )


class ExportCsv(Collecting):
    name = "Export-Csv"
    aliases = ("epcsv",)
    synopsis = "Writes objects to a CSV file."
    description = ("Writes one line per object with the properties of the first object as "
                   "the header; every field is quoted; $null is written as an empty field.")
    examples = (
        Example("Get-MigrationUser -BatchId B | Select-Object Identity, Status | "
                "Export-Csv users.csv", "Saves two columns of every migration user."),
        Example("Get-MigrationUser -BatchId B | Get-MigrationUserStatistics | "
                "Export-Csv stats.csv -Append",
                "Adds rows to an existing file, reusing its header."),
    )
    parameters = (
        INPUT_OBJECT,
        Parameter("Path", T.STRING, position=0, aliases=("PSPath", "LiteralPath", "LP"),
                  help="The CSV file to write."),
        Parameter("Delimiter", T.STRING, position=1, help="The field separator (default ,)."),
        *_CSV_WRITE_PARAMETERS,
        Parameter("Append", T.SWITCH, help="Add rows to the end of an existing file."),
        Parameter("Force", T.SWITCH, help="With -Append, allow objects missing columns."),
        Parameter("NoClobber", T.SWITCH, aliases=("NoOverwrite",),
                  help="Fail instead of replacing an existing file."),
        Parameter("Encoding", T.STRING, choices=ENCODING_CHOICES,
                  help="The text encoding (default utf8NoBOM)."),
        Parameter("UseCulture", T.SWITCH, help="Accepted; the delimiter stays a comma."),
    )
    supports_should_process = True

    def end(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if args.get("Path") is None:
            raise CmdletError("You must specify either the -Path or -LiteralPath parameters.",
                              "InvalidArgument", "CannotSpecifyPathAndLiteralPath")
        path = ctx.resolve_path(str(args["Path"]))
        writer = _writer(args)  # validates the switches before anything else
        if not ctx.should_process(str(path), "Export-Csv"):
            return ()
        append = args.switch("Append") and path.is_file() and path.stat().st_size > 0
        if append:
            header = _existing_header(path, writer.delimiter, args.get("Encoding"))
            _check_columns(path, header, self._items, args.switch("Force"))
            writer = _writer(args, header)
        elif args.switch("NoClobber") and path.exists():
            raise CmdletError(f"The file '{path}' already exists.", "ResourceExists",
                              "NoClobber", target=str(path))
        lines = [line for obj in self._items for line in writer.lines_for(obj)]
        write_text(path, "".join(line + "\n" for line in lines),
                   encoding=args.get("Encoding"), append=append)
        return ()


def _existing_header(path: Path, delimiter: str, encoding: str | None) -> list[str]:
    text = read_text(path, encoding)
    if text.startswith("#TYPE"):
        text = text.partition("\n")[2]
    records = split_records(text, delimiter)
    return [str(name or "") for name in records[0]] if records else []


def _check_columns(path: Path, header: list[str], objects: list[Any], force: bool) -> None:
    if force:
        return
    for obj in objects:
        present = {name.casefold() for name in csv_property_names(obj)}
        for column in header:
            if column.casefold() not in present:
                raise CmdletError(
                    f"Cannot append CSV content to the following file: {path}. The appended "
                    "object does not have a property that corresponds to the following "
                    f"column: {column}. To continue with mismatched properties, add the "
                    "-Force parameter, and then retry the command.", "InvalidData",
                    "CannotAppendCsvWithMismatchedPropertyNames", target=str(path))


class ConvertToCsv(Cmdlet):
    name = "ConvertTo-Csv"
    synopsis = "Converts objects to CSV lines."
    description = "Outputs the CSV lines Export-Csv would write, as strings."
    examples = (Example("Get-MigrationBatch | ConvertTo-Csv", "Shows the batches as CSV."),)
    parameters = (
        INPUT_OBJECT,
        Parameter("Delimiter", T.STRING, position=1, help="The field separator (default ,)."),
        *_CSV_WRITE_PARAMETERS,
        Parameter("UseCulture", T.SWITCH, help="Accepted; the delimiter stays a comma."),
    )

    def __init__(self) -> None:
        self._writer: CsvWriter | None = None

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if not has_input(args) or args["InputObject"] is None:
            return ()
        if self._writer is None:
            self._writer = _writer(args)
        return self._writer.lines_for(args["InputObject"])


class ImportCsv(Cmdlet):
    name = "Import-Csv"
    aliases = ("ipcsv",)
    synopsis = "Reads a CSV file into objects."
    description = ("Outputs one object per data row, with the header line's names as "
                   "properties and every value as a string.")
    examples = (Example("Import-Csv users.csv | Where-Object Status -eq 'Failed'",
                        "Reads users.csv and keeps the failed rows."),)
    parameters = (
        Parameter("Path", T.STRING_ARRAY, position=0, from_pipeline=True,
                  aliases=("PSPath", "LiteralPath", "LP"), help="The CSV file(s) to read."),
        Parameter("Delimiter", T.STRING, position=1, help="The field separator (default ,)."),
        Parameter("Header", T.STRING_ARRAY, help="Column names; the first line is then data."),
        Parameter("Encoding", T.STRING, choices=ENCODING_CHOICES, help="The text encoding."),
        Parameter("UseCulture", T.SWITCH, help="Accepted; the delimiter stays a comma."),
    )

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        out: list[Any] = []
        for name in as_list(args.get("Path")):
            path = ctx.resolve_path(str(name))
            if not path.is_file():
                ctx.write_error(CmdletError(f"Could not find file '{path}'.", "ObjectNotFound",
                                            "FileOpenFailure", target=str(path)))
                continue
            text = read_text(path, args.get("Encoding"))
            header = as_list(args.get("Header")) or None
            out.extend(parse_csv(text, delimiter=_delimiter(args), header=header))
        return out


def _delimiter(args: BoundArguments) -> str:
    delimiter = str(args.get("Delimiter") or ",")
    if len(delimiter) != 1:
        raise CmdletError(f'The delimiter "{delimiter}" must be a single character.',
                          "InvalidArgument", "InvalidDelimiter")
    return delimiter


class ConvertFromCsv(Cmdlet):
    name = "ConvertFrom-Csv"
    synopsis = "Converts CSV lines into objects."
    description = "Reads CSV text from the pipeline (header first) and outputs one object per row."
    examples = (Example("Get-Content users.csv | ConvertFrom-Csv", "Same as Import-Csv."),)
    parameters = (
        Parameter("InputObject", T.OBJECT, position=0, mandatory=True, from_pipeline=True,
                  allow_null=True, allow_empty=True,
                  help="CSV text."),
        Parameter("Delimiter", T.STRING, position=1, help="The field separator (default ,)."),
        Parameter("Header", T.STRING_ARRAY, help="Column names; the first line is then data."),
        Parameter("UseCulture", T.SWITCH, help="Accepted; the delimiter stays a comma."),
    )

    def __init__(self) -> None:
        self._lines: list[str] = []

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        self._lines.extend(to_text(item) for item in enumerate_value(args.get("InputObject")))
        return ()

    def end(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        header = as_list(args.get("Header")) or None
        return parse_csv("\n".join(self._lines), delimiter=_delimiter(args), header=header)


class ConvertToJson(Collecting):
    name = "ConvertTo-Json"
    synopsis = "Converts objects to JSON text."
    description = ("Outputs one JSON string (an array when several objects arrive); levels "
                   "deeper than -Depth (default 2) are written as their string form, with a "
                   "warning.")
    examples = (Example("Get-MigrationBatch B | ConvertTo-Json -Depth 4",
                        "The batch as JSON, four levels deep."),)
    parameters = (
        INPUT_OBJECT,
        Parameter("Depth", T.INT, help="How many levels to serialize (default 2, at most 100)."),
        Parameter("Compress", T.SWITCH, help="Leave out whitespace and indentation."),
        Parameter("EnumsAsStrings", T.SWITCH, help="Write enum values as names."),
        Parameter("AsArray", T.SWITCH, help="Always write a JSON array."),
    )
    keeps_null = True

    def end(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        depth = args.get("Depth")
        depth = DEFAULT_DEPTH if depth is None else int(depth)
        if not 0 <= depth <= MAX_DEPTH:
            raise CmdletError(
                f"Cannot validate argument on parameter 'Depth'. The {depth} argument is "
                f"outside the range 0 to {MAX_DEPTH}.", "InvalidData",
                "ParameterArgumentValidationError")
        if not self._items and not args.switch("AsArray"):
            return ()
        value: Any = self._items if len(self._items) != 1 or args.switch("AsArray") \
            else self._items[0]
        options = JsonOptions(depth, args.switch("Compress"), args.switch("EnumsAsStrings"))
        text = to_json(value, options)
        if options.truncated:
            ctx.write_warning("Resulting JSON is truncated as serialization has exceeded the "
                              f"set depth of {depth}.")
        return (text,)


class ConvertFromJson(Cmdlet):
    name = "ConvertFrom-Json"
    synopsis = "Converts JSON text into objects."
    description = ("Parses JSON text from the pipeline; objects become PSCustomObject records "
                   "(or hashtables with -AsHashtable); a top-level array is enumerated.")
    examples = (Example("Get-Content batch.json -Raw | ConvertFrom-Json", "Reads a JSON file."),)
    parameters = (
        Parameter("InputObject", T.OBJECT, position=0, mandatory=True, from_pipeline=True,
                  allow_null=True, allow_empty=True,
                  help="JSON text."),
        Parameter("AsHashtable", T.SWITCH, help="Make hashtables instead of records."),
        Parameter("NoEnumerate", T.SWITCH, help="Output a top-level array as one object."),
        Parameter("Depth", T.INT, help="Accepted for compatibility."),
    )

    def __init__(self) -> None:
        self._parts: list[str] = []

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        self._parts.extend(to_text(item) for item in enumerate_value(args.get("InputObject")))
        return ()

    def end(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        text = "\n".join(self._parts)
        if not text.strip():
            return ()
        try:
            value = from_json(text, as_hashtable=args.switch("AsHashtable"))
        except ValueError as exc:
            raise CmdletError(f"Conversion from JSON failed with error: {exc}", "ParserError",
                              "System.ArgumentException") from None
        if isinstance(value, list) and not args.switch("NoEnumerate"):
            return value
        return (value,)


CSV_JSON_CMDLETS: tuple[type[Cmdlet], ...] = (
    ExportCsv, ConvertToCsv, ImportCsv, ConvertFromCsv, ConvertToJson, ConvertFromJson,
)
