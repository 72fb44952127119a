"""Content and host cmdlets: Get-Content, Set-Content, Add-Content, Write-Host,
Write-Output, Write-Warning, Write-Error, Get-Date, New-TimeSpan, Start-Sleep,
Get-Location.

``Get-Content -AsByteStream`` (or ``-Encoding Byte``) outputs ONE ``bytes`` object rather
than one byte per pipeline item, so ``-CSVData (Get-Content f.csv -Encoding Byte)`` binds the
whole file at once, which is what admins mean by it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from typing import Any

from cmdlets.base import BoundArguments, Cmdlet, CmdletError, Context, Example, Parameter, PSObject
from cmdlets.base import ParamType as T
from engine.values import parse_datetime
from shell.builtins.common import as_list, has_input
from shell.builtins.datefmt import dotnet_format, unix_format
from shell.builtins.files import ENCODING_CHOICES, read_bytes, read_text, write_text
from shell.objects import enumerate_value, to_text


class GetContent(Cmdlet):
    name = "Get-Content"
    aliases = ("gc", "cat", "type")
    synopsis = "Gets the lines (or bytes) of a file."
    description = ("Outputs each line of the file as a string, the whole text with -Raw, or "
                   "the file's bytes with -AsByteStream / -Encoding Byte.")
    examples = (Example("New-MigrationBatch -Name B -CSVData (Get-Content users.csv -Encoding "
                        "Byte)", "Passes a CSV file to a cmdlet that wants bytes."),)
    parameters = (
        Parameter("Path", T.STRING_ARRAY, mandatory=True, position=0, from_pipeline=True,
                  aliases=("PSPath", "LiteralPath", "LP", "FullName"), help="The file(s)."),
        Parameter("Raw", T.SWITCH, help="Output the whole text as one string."),
        Parameter("AsByteStream", T.SWITCH, help="Output the bytes of the file."),
        Parameter("Encoding", T.STRING, choices=(*ENCODING_CHOICES, "Byte"),
                  help="The text encoding; Byte means -AsByteStream."),
        Parameter("TotalCount", T.INT, aliases=("First", "Head"),
                  help="Output only the first N lines."),
        Parameter("Tail", T.INT, aliases=("Last",), help="Output only the last N lines."),
    )

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        out: list[Any] = []
        for name in as_list(args.get("Path")):
            try:
                out.extend(self._read(ctx, args, str(name)))
            except CmdletError as error:
                ctx.write_error(error)
        return out

    def _read(self, ctx: Context, args: BoundArguments, name: str) -> list[Any]:
        path = ctx.resolve_path(name)
        encoding = args.get("Encoding")
        if args.switch("AsByteStream") or str(encoding or "").casefold() == "byte":
            return [read_bytes(path)]
        text = read_text(path, encoding)
        if args.switch("Raw"):
            return [text]
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        lines = [line.removesuffix("\r") for line in lines]
        if args.get("TotalCount") is not None and args["TotalCount"] >= 0:
            lines = lines[: args["TotalCount"]]
        if args.get("Tail") is not None:
            lines = lines[len(lines) - args["Tail"]:] if args["Tail"] > 0 else []
        return list(lines)


class SetContent(Cmdlet):
    name = "Set-Content"
    synopsis = "Writes values to a file, replacing its content."
    description = "Writes each value as a line (utf8NoBOM, LF line ends unless told otherwise)."
    examples = (Example("'a','b' | Set-Content list.txt", "Writes two lines."),)
    parameters = (
        Parameter("Path", T.STRING_ARRAY, mandatory=True, position=0,
                  aliases=("PSPath", "LiteralPath", "LP"), help="The file(s) to write."),
        Parameter("Value", T.OBJECT_ARRAY, position=1, from_pipeline=True,
                  allow_null=True, allow_empty=True,
                  help="The values to write."),
        Parameter("Encoding", T.STRING, choices=(*ENCODING_CHOICES, "Byte"),
                  help="The text encoding (default utf8NoBOM)."),
        Parameter("NoNewline", T.SWITCH, help="Write the values without line breaks."),
        Parameter("AsByteStream", T.SWITCH, help="Write bytes as they are."),
        Parameter("Force", T.SWITCH, help="Accepted for compatibility."),
        Parameter("PassThru", T.SWITCH, help="Also output the values."),
    )
    supports_should_process = True
    append = False
    action = "Set Content"

    def __init__(self) -> None:
        self._values: list[Any] = []

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        self._values.extend(enumerate_value(args.get("Value")))
        return ()

    def end(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        for name in as_list(args.get("Path")):
            path = ctx.resolve_path(str(name))
            if not ctx.should_process(f"Path: {path}", self.action):
                continue
            if args.switch("AsByteStream") or str(args.get("Encoding") or "").casefold() == "byte":
                self._write_bytes(path)
                continue
            separator = "" if args.switch("NoNewline") else "\n"
            text = "".join(to_text(value) + separator for value in self._values)
            write_text(path, text, encoding=args.get("Encoding"), append=self.append)
        return list(self._values) if args.switch("PassThru") else ()

    def _write_bytes(self, path: Any) -> None:
        data = b"".join(v if isinstance(v, bytes) else bytes([int(v)]) for v in self._values)
        with open(path, "ab" if self.append else "wb") as handle:
            handle.write(data)


class AddContent(SetContent):
    name = "Add-Content"
    synopsis = "Appends values to a file."
    description = "Adds each value as a line at the end of the file (creating it if needed)."
    examples = (Example("'done' | Add-Content log.txt", "Appends a line."),)
    append = True
    action = "Add Content"


class WriteHost(Cmdlet):
    name = "Write-Host"
    synopsis = "Writes text to the console (not to the pipeline)."
    description = "Prints the objects separated by spaces (or -Separator), in an optional colour."
    examples = (Example("Write-Host 'Batch started' -ForegroundColor Green", "Prints a line."),)
    parameters = (
        Parameter("Object", T.OBJECT, position=0, from_pipeline=True, aliases=("Msg", "Message"),
                  allow_null=True, allow_empty=True,
                  remaining=True, help="What to print."),
        Parameter("NoNewline", T.SWITCH, help="Do not end the line."),
        Parameter("Separator", T.OBJECT, allow_null=True,
                  help="Put between the items of a collection."),
        Parameter("ForegroundColor", T.STRING, help="A console colour name."),
        Parameter("BackgroundColor", T.STRING, help="Accepted; ignored."),
    )

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        separator = to_text(args["Separator"]) if "Separator" in args else " "
        text = separator.join(to_text(item) for item in enumerate_value(args.get("Object")))
        ctx.write_host(text, newline=not args.switch("NoNewline"),
                       color=args.get("ForegroundColor"))
        return ()


class WriteOutput(Cmdlet):
    name = "Write-Output"
    aliases = ("echo", "write")
    synopsis = "Sends objects down the pipeline."
    description = "Outputs each object (collections are enumerated unless -NoEnumerate)."
    examples = (Example("Write-Output 'done'", "Outputs the string 'done'."),)
    parameters = (
        Parameter("InputObject", T.OBJECT, mandatory=True, position=0, from_pipeline=True,
                  allow_null=True, allow_empty=True,
                  remaining=True, help="The objects to output."),
        Parameter("NoEnumerate", T.SWITCH, help="Output a collection as one object."),
    )

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if not has_input(args):
            return ()
        value = args["InputObject"]
        return [value] if args.switch("NoEnumerate") else list(enumerate_value(value))


class WriteWarning(Cmdlet):
    name = "Write-Warning"
    synopsis = "Writes a warning message."
    description = "Prints 'WARNING: message' on the warning stream."
    examples = (Example("Write-Warning 'Batch B has failed users'", "Prints a warning."),)
    parameters = (Parameter("Message", T.STRING, mandatory=True, position=0, from_pipeline=True,
                            aliases=("Msg",), allow_empty=True, help="The warning text."),)

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        ctx.write_warning(to_text(args.get("Message")))
        return ()


class WriteError(Cmdlet):
    name = "Write-Error"
    synopsis = "Writes a non-terminating error."
    description = "Reports an error and lets the script go on (unless -ErrorAction Stop)."
    examples = (Example("Write-Error 'User u1 failed'", "Reports an error."),)
    parameters = (
        Parameter("Message", T.STRING, mandatory=True, position=0, from_pipeline=True,
                  aliases=("Msg",), allow_null=True, allow_empty=True, help="The error text."),
        Parameter("Category", T.STRING, help="The PowerShell error category."),
        Parameter("ErrorId", T.STRING, help="An identifier for the error."),
        Parameter("TargetObject", T.OBJECT, allow_null=True,
                  help="The object the error is about."),
    )

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        ctx.write_error(CmdletError(
            to_text(args.get("Message")), str(args.get("Category") or "NotSpecified"),
            str(args.get("ErrorId") or "Microsoft.PowerShell.Commands.WriteErrorException"),
            target=args.get("TargetObject")))
        return ()


def to_datetime(value: Any) -> dt.datetime:
    """A -Date argument as a datetime (dates and the text forms the language's casts read)."""
    if isinstance(value, dt.datetime):
        return value
    text = to_text(value).strip()
    parsed = parse_datetime(text)
    if parsed is not None:
        return parsed
    raise CmdletError(f"Cannot bind parameter 'Date'. Cannot convert value \"{text}\" to type "
                      '"System.DateTime".', "InvalidArgument", "CannotConvertArgumentNoMessage")


# Get-Date's part parameters and their ValidateRange, in the order PowerShell applies them.
_DATE_PARTS = {"Year": (1, 9999), "Month": (1, 12), "Day": (1, 31), "Hour": (0, 23),
               "Minute": (0, 59), "Second": (0, 59), "Millisecond": (0, 999)}


def _in_range(name: str, value: int) -> int:
    low, high = _DATE_PARTS[name]
    if value < low:
        raise CmdletError(f"Cannot validate argument on parameter '{name}'. The {value} argument "
                          f"is less than the minimum allowed range of {low}. Supply an argument "
                          f"that is greater than or equal to {low} and then try the command "
                          "again.", "InvalidData", "ParameterArgumentValidationError")
    if value > high:
        raise CmdletError(f"Cannot validate argument on parameter '{name}'. The {value} argument "
                          f"is greater than the maximum allowed range of {high}. Supply an "
                          f"argument that is less than or equal to {high} and then try the "
                          "command again.", "InvalidData", "ParameterArgumentValidationError")
    return value


def _add_months(value: dt.datetime, months: int) -> dt.datetime:
    """.NET AddMonths: the day is clamped to the last day of the resulting month."""
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    following = dt.date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    last_day = (following - dt.timedelta(days=1)).day
    return value.replace(year=year, month=month + 1, day=min(value.day, last_day))


def _set_parts(value: dt.datetime, args: BoundArguments) -> dt.datetime:
    """-Year .. -Millisecond as PowerShell sets them: by adding the difference, so a day past
    the month's end runs into the next month (``-Month 2 -Day 31`` is in March)."""
    parts = {name: _in_range(name, int(args[name])) for name in _DATE_PARTS
             if args.get(name) is not None}
    if "Year" in parts:
        value = _add_months(value, 12 * (parts["Year"] - value.year))
    if "Month" in parts:
        value = _add_months(value, parts["Month"] - value.month)
    deltas = {"Day": ("days", value.day), "Hour": ("hours", value.hour),
              "Minute": ("minutes", value.minute), "Second": ("seconds", value.second),
              "Millisecond": ("milliseconds", value.microsecond // 1000)}
    for name, (unit, current) in deltas.items():
        if name in parts:
            value += dt.timedelta(**{unit: parts[name] - current})
    return value


class GetDate(Cmdlet):
    name = "Get-Date"
    synopsis = "Gets the current date and time (or formats a given one)."
    description = ("Outputs a date, or a string with -Format (.NET format) / -UFormat "
                   "(strftime).")
    examples = (Example("Get-Date -Format 'yyyy-MM-dd'", "Today as 2026-11-25."),)
    parameters = (
        Parameter("Date", T.OBJECT, position=0, from_pipeline=True,
                  aliases=("LastWriteTime",), help="The date to use instead of now."),
        Parameter("Format", T.STRING, help="A .NET format string such as 'yyyy-MM-dd HH:mm'."),
        Parameter("UFormat", T.STRING, help="A Unix format such as '%Y-%m-%d'."),
        Parameter("AsUTC", T.SWITCH, help="Convert to UTC."),
        *(Parameter(part, T.INT, help=f"Sets the {part.lower()} of the date ({low}-{high}).")
          for part, (low, high) in _DATE_PARTS.items()),
    )

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        value = to_datetime(args["Date"]) if args.get("Date") is not None else dt.datetime.now()
        value = _set_parts(value, args)
        if args.switch("AsUTC"):
            value = value.astimezone(dt.UTC)
        if args.get("Format") is not None:
            return (dotnet_format(value, str(args["Format"])),)
        if args.get("UFormat") is not None:
            return (unix_format(value, str(args["UFormat"])),)
        return (value,)


class NewTimeSpan(Cmdlet):
    name = "New-TimeSpan"
    synopsis = "Creates a time span: from days, hours, minutes and seconds, or between two dates."
    description = ("With -Days/-Hours/-Minutes/-Seconds/-Milliseconds, the sum of them; with "
                   "-Start/-End, End minus Start (either defaults to now).")
    examples = (Example("Set-MigrationBatch B -IncrementalSyncInterval (New-TimeSpan -Hours 6)",
                        "Syncs batch B every six hours."),)
    parameters = (
        Parameter("Start", T.DATETIME, position=0, sets=("Date",), aliases=("LastWriteTime",),
                  help="The start of the span (default: now)."),
        Parameter("End", T.DATETIME, position=1, sets=("Date",), from_pipeline=True,
                  help="The end of the span (default: now)."),
        *(Parameter(unit, T.INT, sets=("Time",), help=f"{unit} in the span.")
          for unit in ("Days", "Hours", "Minutes", "Seconds", "Milliseconds")),
    )
    default_parameter_set = "Date"

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        units = {unit.lower(): int(args[unit]) for unit in
                 ("Days", "Hours", "Minutes", "Seconds", "Milliseconds")
                 if args.get(unit) is not None}
        if units:
            return (dt.timedelta(**units),)
        now = dt.datetime.now()
        start, end = args.get("Start") or now, args.get("End") or now
        if (start.tzinfo is None) != (end.tzinfo is None):
            start, end = start.astimezone(), end.astimezone()
        return (end - start,)


class StartSleep(Cmdlet):
    name = "Start-Sleep"
    aliases = ("sleep",)
    synopsis = "Waits for a number of seconds or milliseconds."
    description = "Pauses the script."
    examples = (Example("Start-Sleep -Seconds 30", "Waits half a minute."),)
    parameters = (
        Parameter("Seconds", T.OBJECT, position=0, aliases=("s",),
                  help="Seconds to wait (fractions allowed)."),
        Parameter("Milliseconds", T.INT, aliases=("ms",), help="Milliseconds to wait."),
    )

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        try:
            seconds = float(to_text(args.get("Seconds") or 0))
            seconds += (args.get("Milliseconds") or 0) / 1000
        except ValueError:
            raise CmdletError(f"Cannot convert value \"{to_text(args.get('Seconds'))}\" to "
                              'type "System.Double".', "InvalidArgument",
                              "CannotConvertArgumentNoMessage") from None
        if seconds < 0:
            raise CmdletError("The sleep time cannot be negative.", "InvalidArgument",
                              "ParameterArgumentValidationError")
        time.sleep(seconds)
        return ()


class GetLocation(Cmdlet):
    name = "Get-Location"
    aliases = ("pwd", "gl")
    synopsis = "Gets the current directory."
    description = "Outputs the directory relative paths resolve against."
    examples = (Example("Get-Location", "Shows the current directory."),)

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        return (PSObject({"Path": str(ctx.cwd)}, ("System.Management.Automation.PathInfo",
                                                  "System.Object")),)


IO_CMDLETS: tuple[type[Cmdlet], ...] = (
    GetContent, SetContent, AddContent, WriteHost, WriteOutput, WriteWarning, WriteError,
    GetDate, NewTimeSpan, StartSleep, GetLocation,
)
