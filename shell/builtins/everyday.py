"""The everyday cmdlets admins reach for around the migration cmdlets, with PowerShell 7's
parameters that matter in scripts: locations and files (Set-Location, Test-Path,
Get-ChildItem), text (Select-String, Tee-Object, ConvertTo-Html), comparison
(Compare-Object), the host (Read-Host, Clear-Host, Write-Verbose/-Debug/-Progress,
Get-History, Start-/Stop-Transcript).

The console services (the current directory, reading a line, the history, the transcript)
belong to the session; these cmdlets reach it through ``ctx.session`` (shell.lang.context).
Design decisions: Read-Host without a terminal reads the next line of standard input (a script
fed answers on stdin works; at end of input it is an error, never a silent empty answer);
Read-Host -AsSecureString returns a sealed Secret; Clear-Host writes nothing when output is not
a terminal; Get-ChildItem lists directories before files, each sorted by name, as PowerShell
does; a transcript records the commands typed and everything shown, except secret-bearing
command lines (shell/history.py's rule).
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cmdlets.base import BoundArguments, Cmdlet, CmdletError, Context, Example, Parameter, PSObject
from cmdlets.base import ParamType as T
from engine.secrets import Secret
from shell.builtins.common import INPUT_OBJECT, Collecting, as_list, has_input
from shell.builtins.files import read_text, write_text
from shell.lang.convert import to_int
from shell.objects import get_property, property_names, to_text
from shell.wildcard import has_wildcards, wildcard_match

PATH_INFO = "System.Management.Automation.PathInfo"


def _session(ctx: Context) -> Any:
    session = getattr(ctx, "session", None)
    if session is None:
        raise CmdletError("This command needs the imsh console.", "InvalidOperation",
                          "NoConsole")
    return session


def _service(ctx: Context, name: str) -> Any:
    """A console service of the shell's context beyond the cmdlet Context protocol."""
    service = getattr(ctx, name, None)
    if service is None:
        raise CmdletError("This command needs the imsh console.", "InvalidOperation",
                          "NoConsole")
    return service


def _not_found(path: str, kind: str = "path") -> CmdletError:
    return CmdletError(f"Cannot find {kind} '{path}' because it does not exist.",
                       "ObjectNotFound", "PathNotFound", path)


# -- locations and files ---------------------------------------------------------------------


class SetLocation(Cmdlet):
    name = "Set-Location"
    aliases = ("cd", "sl", "chdir")
    synopsis = "Sets the current directory."
    description = ("Relative paths (CSV files, Export-Csv, scripts) resolve against it; "
                   "'cd -' returns to the previous directory, 'cd ~' to the home directory.")
    examples = (Example("Set-Location ~/migrations; Import-Csv users.csv",
                        "Works in the migrations directory."),)
    parameters = (
        Parameter("Path", T.STRING, position=0, from_pipeline=True, from_pipeline_by_name=True,
                  help="The directory to go to (default: the home directory)."),
        Parameter("PassThru", T.SWITCH, help="Output the new location."),
    )

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        session = _session(ctx)
        typed = args.get("Path") or "~"
        previous = getattr(session, "previous_location", None)
        if typed == "-":
            if previous is None:
                raise CmdletError("There is no location history left to navigate backwards.",
                                  "InvalidOperation", "InvalidOperation")
            target = Path(previous)
        else:
            target = ctx.resolve_path(typed)
        if not target.exists():
            raise _not_found(str(target))
        if not target.is_dir():
            raise CmdletError(f"Cannot set the location to '{target}' because it is a file.",
                              "InvalidArgument", "ArgumentException", str(target))
        session.previous_location = str(session.cwd)
        session.cwd = Path(os.path.normpath(target))
        if args.switch("PassThru"):
            return (PSObject({"Path": str(session.cwd)}, (PATH_INFO, "System.Object")),)
        return ()


class TestPath(Cmdlet):
    name = "Test-Path"
    synopsis = "Tells whether a path exists."
    description = "True when the file or directory exists (wildcards allowed); -PathType " \
                  "Leaf/Container also checks its kind."
    examples = (Example("if (-not (Test-Path users.csv)) { throw 'users.csv is missing' }",
                        "Stops a script early when its CSV file is missing."),)
    parameters = (
        Parameter("Path", T.STRING_ARRAY, position=0, mandatory=True, from_pipeline=True,
                  from_pipeline_by_name=True, help="The paths to test."),
        Parameter("PathType", T.STRING, choices=("Any", "Container", "Leaf"),
                  help="Any (default), Container (a directory) or Leaf (a file)."),
        Parameter("IsValid", T.SWITCH, help="Only check the path's syntax."),
    )

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        kind = (args.get("PathType") or "Any").lower()
        for typed in as_list(args.get("Path")):
            if args.switch("IsValid"):
                yield "\0" not in typed
                continue
            matches = _expand(ctx, typed)
            if kind == "leaf":
                yield any(p.is_file() for p in matches)
            elif kind == "container":
                yield any(p.is_dir() for p in matches)
            else:
                yield bool(matches)


def _expand(ctx: Context, typed: str) -> list[Path]:
    path = ctx.resolve_path(typed)
    if not has_wildcards(path.name):
        return [path] if path.exists() else []
    parent = path.parent
    if not parent.is_dir():
        return []
    return sorted(p for p in parent.iterdir() if wildcard_match(path.name, p.name))


def _item(path: Path) -> PSObject:
    stat = path.stat()
    is_dir = path.is_dir()
    mode = ("d" if is_dir else "-") + "----"
    props: dict[str, Any] = {
        "Mode": mode, "LastWriteTime": dt.datetime.fromtimestamp(stat.st_mtime),
        "Length": None if is_dir else stat.st_size, "Name": path.name,
        "FullName": str(path), "Extension": path.suffix, "BaseName": path.stem,
        "Directory": str(path.parent), "PSIsContainer": is_dir,
        "CreationTime": dt.datetime.fromtimestamp(stat.st_ctime),
        "UnixMode": _unix_mode(stat.st_mode, is_dir), "User": _owner(stat.st_uid, "pwd"),
        "Group": _owner(stat.st_gid, "grp"), "Size": stat.st_size,
    }
    type_name = "System.IO.DirectoryInfo" if is_dir else "System.IO.FileInfo"
    # PowerShell 7's view on Linux
    return PSObject(props, (type_name, "System.IO.FileSystemInfo", "System.Object"),
                    ("UnixMode", "User", "Group", "LastWriteTime", "Size", "Name"), "table")


def _owner(number: int, module: str) -> str:
    try:
        if module == "pwd":
            import pwd

            return pwd.getpwuid(number).pw_name
        import grp

        return grp.getgrgid(number).gr_name
    except (KeyError, ImportError):
        return str(number)


def _unix_mode(mode: int, is_dir: bool) -> str:
    bits = "".join(flag if mode & (1 << (8 - i)) else "-" for i, flag in
                   enumerate("rwxrwxrwx"))
    return ("d" if is_dir else "-") + bits


class GetChildItem(Cmdlet):
    name = "Get-ChildItem"
    aliases = ("gci", "ls", "dir")
    synopsis = "Lists the files and directories in a directory."
    description = ("Directories first, then files, each sorted by name; -Filter/-Include take "
                   "wildcards; -Recurse descends; -Name outputs only the names.")
    examples = (Example("Get-ChildItem *.csv | ForEach-Object { Import-Csv $_.FullName }",
                        "Reads every CSV file of the current directory."),)
    parameters = (
        Parameter("Path", T.STRING_ARRAY, position=0, from_pipeline=True,
                  from_pipeline_by_name=True, help="Directories or wildcard paths to list."),
        Parameter("Filter", T.STRING, position=1, help="A wildcard pattern for the names."),
        Parameter("Include", T.STRING_ARRAY, help="Only names matching these wildcards."),
        Parameter("Exclude", T.STRING_ARRAY, help="Leave out names matching these wildcards."),
        Parameter("Recurse", T.SWITCH, aliases=("s",), help="List subdirectories too."),
        Parameter("File", T.SWITCH, help="Only files."),
        Parameter("Directory", T.SWITCH, aliases=("ad",), help="Only directories."),
        Parameter("Name", T.SWITCH, help="Output the names (relative paths) only."),
        Parameter("Force", T.SWITCH, help="Include hidden (dot) files."),
    )

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        for typed in as_list(args.get("Path")) or ["."]:
            path = ctx.resolve_path(typed)
            if path.is_dir():
                base, entries = path, self._walk(path, args)
            else:
                matches = _expand(ctx, typed)
                if not matches:
                    ctx.write_error(_not_found(str(path)))
                    continue
                base = path.parent
                entries = [m for m in matches if self._wanted(m, args, listing=False)]
            for entry in entries:
                if args.switch("Name"):
                    yield str(entry.relative_to(base))
                else:
                    yield _item(entry)

    def _walk(self, directory: Path, args: BoundArguments) -> list[Path]:
        try:
            children = sorted(directory.iterdir(), key=lambda p: (not p.is_dir(),
                                                                   p.name.casefold()))
        except OSError as err:
            raise CmdletError(f"Access to the path '{directory}' is denied.",
                              "PermissionDenied", "DirUnauthorizedAccessError",
                              str(directory)) from err
        out: list[Path] = []
        for child in children:
            if child.name.startswith(".") and not args.switch("Force"):
                continue
            if self._wanted(child, args, listing=True):
                out.append(child)
        if args.switch("Recurse"):
            for child in children:
                if child.is_dir() and not child.is_symlink() and (
                        not child.name.startswith(".") or args.switch("Force")):
                    out.extend(self._walk(child, args))
        return out

    @staticmethod
    def _wanted(path: Path, args: BoundArguments, *, listing: bool) -> bool:
        if args.switch("File") and not path.is_file():
            return False
        if args.switch("Directory") and not path.is_dir():
            return False
        name = path.name
        pattern = args.get("Filter")
        if pattern and not wildcard_match(pattern, name):
            return False
        include = as_list(args.get("Include"))
        if include and not any(wildcard_match(p, name) for p in include):
            return False
        exclude = as_list(args.get("Exclude"))
        return not any(wildcard_match(p, name) for p in exclude)


# -- text ------------------------------------------------------------------------------------


class SelectString(Cmdlet):
    name = "Select-String"
    aliases = ("sls",)
    synopsis = "Finds text in strings and files."
    description = ("Outputs MatchInfo objects (Path, LineNumber, Line, Pattern, Matches) for "
                   "lines matching a regular expression (case-insensitive unless "
                   "-CaseSensitive); -SimpleMatch takes the pattern literally.")
    examples = (Example("Select-String -Path imsh.log -Pattern 'NO \\[AUTHENTICATIONFAILED\\]'",
                        "Finds the failed logins in a log."),
                Example("Get-MigrationUser | Out-String -Stream | Select-String Failed",
                        "Only the table lines of failed users."))
    parameters = (
        Parameter("Pattern", T.STRING_ARRAY, position=0, mandatory=True,
                  help="Regular expressions (or texts with -SimpleMatch)."),
        Parameter("Path", T.STRING_ARRAY, position=1, from_pipeline_by_name=True,
                  aliases=("FullName",), help="Files to search (wildcards allowed)."),
        INPUT_OBJECT,
        Parameter("SimpleMatch", T.SWITCH, help="Match the pattern as plain text."),
        Parameter("CaseSensitive", T.SWITCH, help="Match case."),
        Parameter("NotMatch", T.SWITCH, help="Output the lines that do not match."),
        Parameter("Quiet", T.SWITCH, help="Output True or False only."),
        Parameter("List", T.SWITCH, help="Only the first match of each file."),
        Parameter("AllMatches", T.SWITCH, help="Every match of a line in Matches."),
        Parameter("Raw", T.SWITCH, help="Output the matching lines as strings."),
    )

    def begin(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        flags = 0 if args.switch("CaseSensitive") else re.IGNORECASE
        try:
            self._patterns = [re.compile(re.escape(p) if args.switch("SimpleMatch") else p,
                                         flags) for p in as_list(args["Pattern"])]
        except re.error as err:
            patterns = ", ".join(to_text(p) for p in as_list(args["Pattern"]))
            raise CmdletError(f"The string {patterns} is not a valid regular "
                              f"expression: {err}.", "InvalidArgument",
                              "InvalidRegex") from None
        self._found = False
        return ()

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        piped = args.get("InputObject") if has_input(args) else None
        if isinstance(piped, PSObject) and piped.type_name == "System.IO.FileInfo":
            # `gci *.log | Select-String x` searches the files, as PowerShell binds -Path
            yield from self._search(ctx, args, [str(piped.get("FullName"))])
            return
        if args.get("Path") is not None and not has_input(args):
            yield from self._search(ctx, args, as_list(args["Path"]))
            return
        if not has_input(args) or args["InputObject"] is None:
            return
        obj = args["InputObject"]
        hit = self._line(args, to_text(obj), 0, "InputStream", "InputStream")
        if hit is not None:
            yield from self._emit(args, hit)

    def _search(self, ctx: Context, args: BoundArguments, paths: list[str]) -> Iterable[Any]:
        for typed in paths:
            matches = _expand(ctx, typed)
            if not matches:
                ctx.write_error(_not_found(str(ctx.resolve_path(typed))))
            for path in matches:
                if path.is_dir():
                    continue
                shown = os.path.relpath(path, ctx.cwd) if path.is_relative_to(ctx.cwd) \
                    else str(path)
                for number, line in enumerate(read_text(path).splitlines(), 1):
                    hit = self._line(args, line, number, str(path), shown)
                    if hit is not None:
                        yield from self._emit(args, hit)
                        if args.switch("List"):
                            break

    def _line(self, args: BoundArguments, line: str, number: int, path: str, filename: str
              ) -> PSObject | None:
        found = [(p, m) for p in self._patterns for m in
                 ([*p.finditer(line)] if args.switch("AllMatches") else
                  [x for x in [p.search(line)] if x])]
        if bool(found) == args.switch("NotMatch"):
            return None
        pattern = found[0][0].pattern if found else self._patterns[0].pattern
        groups = [PSObject({"Value": m.group(0), "Index": m.start(), "Length": len(m.group(0)),
                            "Success": True}, ("System.Text.RegularExpressions.Match",))
                  for _, m in found]
        shown = f"{filename}:{number}:{line}" if number else line
        return PSObject({"IgnoreCase": not args.switch("CaseSensitive"), "LineNumber": number,
                         "Line": line, "Path": path,
                         "Filename": Path(path).name if number else filename,
                         "Pattern": pattern, "Matches": groups, "_shown": shown},
                        ("Microsoft.PowerShell.Commands.MatchInfo", "System.Object"))

    def _emit(self, args: BoundArguments, hit: PSObject) -> Iterable[Any]:
        if args.switch("Quiet"):
            if not self._found:
                self._found = True
            return ()
        if args.switch("Raw"):
            return (hit.get("Line"),)
        shown = hit.get("_shown")
        del hit.properties["_shown"]
        hit.__post_init__()
        return (MatchInfo(hit, str(shown)),)

    def end(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if args.switch("Quiet"):
            return (self._found,)
        return ()


class MatchInfo(PSObject):
    """A Select-String match: its properties, shown as ``file:line:text`` (or the line)."""

    def __init__(self, record: PSObject, shown: str) -> None:
        super().__init__(record.properties, record.type_names, view="string")
        self.shown = shown

    def __str__(self) -> str:
        return self.shown


class TeeObject(Cmdlet):
    name = "Tee-Object"
    aliases = ("tee",)
    synopsis = "Saves the pipeline's objects in a file or variable and passes them on."
    description = ("-FilePath writes them as the console would show them (-Append adds); "
                   "-Variable stores them in a variable.")
    examples = (Example("Get-MigrationUser | Tee-Object -FilePath users.txt | "
                        "Where-Object Status -eq Failed", "Keeps the full list, shows failures."),)
    parameters = (
        INPUT_OBJECT,
        Parameter("FilePath", T.STRING, position=0, aliases=("Path",), sets=("File",),
                  mandatory=True, help="The file to write."),
        Parameter("LiteralPath", T.STRING, aliases=("PSPath", "LP"), sets=("LiteralFile",),
                  mandatory=True, help="The file to write (no wildcards)."),
        Parameter("Append", T.SWITCH, sets=("File", "LiteralFile"),
                  help="Append to the file instead of replacing it."),
        Parameter("Variable", T.STRING, sets=("Variable",), mandatory=True,
                  help="The name of the variable (without $)."),
    )
    default_parameter_set = "File"

    def __init__(self) -> None:
        self._items: list[Any] = []

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if has_input(args):
            self._items.append(args["InputObject"])
            yield args["InputObject"]

    def end(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if args.parameter_set == "Variable":
            value = self._items[0] if len(self._items) == 1 else list(self._items)
            _service(ctx, "set_variable")(args["Variable"], value)
            return ()
        path = ctx.resolve_path(args.get("FilePath") or args["LiteralPath"])
        text = ctx.render(self._items) if self._items else ""
        write_text(path, text, append=args.switch("Append"))
        return ()


class ConvertToHtml(Collecting):
    name = "ConvertTo-Html"
    synopsis = "Converts objects into an HTML table."
    description = ("Each object is a row, each property a column (-Property chooses them); "
                   "-Fragment gives only the <table>; the text is HTML-escaped.")
    examples = (Example("Get-MigrationUser | ConvertTo-Html -Property Identity,Status "
                        "-Title 'Wave 5' | Set-Content report.html",
                        "A status report for the web."),)
    parameters = (
        INPUT_OBJECT,
        Parameter("Property", T.OBJECT_ARRAY, position=0, help="The columns."),
        Parameter("Title", T.STRING, help="The page title (default: HTML TABLE)."),
        Parameter("Fragment", T.SWITCH, help="Only the table, no page around it."),
        Parameter("PreContent", T.STRING_ARRAY, help="Text before the table."),
        Parameter("PostContent", T.STRING_ARRAY, help="Text after the table."),
        Parameter("As", T.STRING, choices=("Table", "List"), help="Table (default) or List."),
    )

    def end(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        names = [to_text(p) for p in as_list(args.get("Property"))]
        if not names and self._items:
            first = self._items[0]
            names = property_names(first) or ["*"]
        lines: list[str] = []
        if not args.switch("Fragment"):
            title = html.escape(args.get("Title") or "HTML TABLE")
            lines += ['<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN"  '
                      '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">',
                      '<html xmlns="http://www.w3.org/1999/xhtml">', "<head>",
                      f"<title>{title}</title>", "</head><body>"]
        lines += [html.escape(to_text(t)) for t in as_list(args.get("PreContent"))]
        lines.append("<table>")
        if (args.get("As") or "Table") == "List":
            for obj in self._items:
                for name in names:
                    lines.append(f"<tr><td>{html.escape(name)}:</td><td>"
                                 f"{_cell(obj, name)}</td></tr>")
        else:
            lines.append("<colgroup>" + "<col/>" * len(names) + "</colgroup>")
            lines.append("<tr>" + "".join(f"<th>{html.escape(n)}</th>" for n in names) + "</tr>")
            for obj in self._items:
                lines.append("<tr>" + "".join(f"<td>{_cell(obj, n)}</td>" for n in names)
                             + "</tr>")
        lines.append("</table>")
        lines += [html.escape(to_text(t)) for t in as_list(args.get("PostContent"))]
        if not args.switch("Fragment"):
            lines.append("</body></html>")
        return lines


def _cell(obj: Any, name: str) -> str:
    value = obj if name == "*" else get_property(obj, name)
    if isinstance(value, list | tuple):
        return html.escape(" ".join(to_text(v) for v in value))
    return html.escape(to_text(value))


# -- comparison ------------------------------------------------------------------------------


class CompareObject(Cmdlet):
    name = "Compare-Object"
    aliases = ("compare", "diff")
    synopsis = "Compares two sets of objects."
    description = ("Outputs the objects that are only in the reference set (<=) or only in the "
                   "difference set (=>), by value or by -Property; -IncludeEqual adds (==).")
    examples = (Example("Compare-Object (Import-Csv wave5.csv).EmailAddress "
                        "(Get-MigrationUser).Identity",
                        "Who is in the CSV file but not in imsh, and the other way round."),)
    parameters = (
        Parameter("ReferenceObject", T.OBJECT_ARRAY, position=0, mandatory=True,
                  allow_empty=True, aliases=("Ref",), help="The reference set."),
        Parameter("DifferenceObject", T.OBJECT_ARRAY, position=1, mandatory=True,
                  from_pipeline=True, allow_empty=True, aliases=("Diff",),
                  help="The set compared with it."),
        Parameter("Property", T.OBJECT_ARRAY, help="Compare these properties only."),
        Parameter("IncludeEqual", T.SWITCH, help="Also output the objects in both sets."),
        Parameter("ExcludeDifferent", T.SWITCH, help="Output only the objects in both sets."),
        Parameter("PassThru", T.SWITCH, help="Output the objects themselves."),
        Parameter("CaseSensitive", T.SWITCH, help="Compare strings with case."),
        Parameter("SyncWindow", T.INT, help="Accepted; the whole sets are compared."),
    )

    def begin(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        self._difference: list[Any] = []
        return ()

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        self._difference.extend(as_list(args.get("DifferenceObject")))
        return ()

    def end(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        names = [to_text(p) for p in as_list(args.get("Property"))]
        fold = not args.switch("CaseSensitive")

        def key(obj: Any) -> tuple[Any, ...]:
            values = [get_property(obj, n) for n in names] if names else [obj]
            return tuple(to_text(v).casefold() if fold and isinstance(v, str) else
                         (to_text(v) if not isinstance(v, int | float) else v) for v in values)

        remaining = [(key(obj), obj) for obj in self._difference]
        out: list[Any] = []
        for obj in as_list(args.get("ReferenceObject")):
            k = key(obj)
            index = next((i for i, (other, _) in enumerate(remaining) if other == k), None)
            if index is None:
                if not args.switch("ExcludeDifferent"):
                    out.append(self._result(obj, "<=", names, args))
            else:
                remaining.pop(index)
                if args.switch("IncludeEqual") or args.switch("ExcludeDifferent"):
                    out.append(self._result(obj, "==", names, args))
        if not args.switch("ExcludeDifferent"):
            out.extend(self._result(obj, "=>", names, args) for _, obj in remaining)
        # PowerShell lists the difference set's extras (=>) first, then the reference's (<=)
        order = {"==": 0, "=>": 1, "<=": 2}
        ordered = sorted(out, key=lambda r: order[_indicator(r)])
        return [r.obj if isinstance(r, _Passed) else r for r in ordered]

    @staticmethod
    def _result(obj: Any, side: str, names: list[str], args: BoundArguments) -> Any:
        if args.switch("PassThru"):
            return _Passed(obj, side)
        props: dict[str, Any] = {n: get_property(obj, n) for n in names} if names else {
            "InputObject": obj}
        props["SideIndicator"] = side
        return PSObject(props, ("System.Management.Automation.PSCustomObject", "System.Object"),
                        view="table")


class _Passed:
    """A -PassThru result: the object, with its SideIndicator kept beside it."""

    def __init__(self, obj: Any, side: str) -> None:
        self.obj = obj
        self.side = side


def _indicator(result: Any) -> str:
    if isinstance(result, _Passed):
        return result.side
    return str(result.get("SideIndicator"))


# -- the host --------------------------------------------------------------------------------


class ReadHost(Cmdlet):
    name = "Read-Host"
    synopsis = "Reads a line of input."
    description = ("Shows the prompt followed by ': ' and reads a line; -AsSecureString keeps "
                   "the answer sealed (a SecureString).")
    examples = (Example("$batch = Read-Host 'Batch name'", "Asks for a batch name."),)
    parameters = (
        Parameter("Prompt", T.OBJECT, position=0, remaining=True, help="The prompt text."),
        Parameter("AsSecureString", T.SWITCH, help="Read a secret (not echoed at a terminal)."),
        Parameter("MaskInput", T.SWITCH, help="Do not echo the answer at a terminal."),
    )

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        session = _session(ctx)
        prompt = args.get("Prompt")
        text = " ".join(to_text(p) for p in as_list(prompt)) + ": " if prompt else ""
        secret = args.switch("AsSecureString") or args.switch("MaskInput")
        if secret and ctx.interactive:
            import getpass

            session.flush_output()
            answer: str | None = getpass.getpass(text)
        else:
            session.flush_output()
            answer = session.read_line(text)
            if ctx.interactive is False and answer is not None and text:
                session.write_out("\n")
        if answer is None:
            raise CmdletError("Read-Host reached the end of the input: no answer was given.",
                              "ReadError", "EndOfInput")
        if args.switch("AsSecureString"):
            return (Secret(answer),)
        return (answer,)


class ClearHost(Cmdlet):
    name = "Clear-Host"
    aliases = ("cls", "clear")
    synopsis = "Clears the console screen."
    description = "Clears the terminal; does nothing when the output is not a terminal."
    examples = (Example("cls", "Clears the screen."),)

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if ctx.interactive:
            ctx.write_host("\x1b[2J\x1b[3J\x1b[H", newline=False)
        return ()


class WriteVerbose(Cmdlet):
    name = "Write-Verbose"
    synopsis = "Writes a verbose message."
    description = ("Prints 'VERBOSE: message' when $VerbosePreference is Continue or -Verbose "
                   "is given (to the script, or to this cmdlet).")
    examples = (Example("Write-Verbose \"Creating batch $name\"", "A message for -Verbose runs."),)
    parameters = (Parameter("Message", T.STRING, mandatory=True, position=0, from_pipeline=True,
                            aliases=("Msg",), allow_empty=True, help="The message."),)

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        ctx.write_verbose(to_text(args.get("Message")))
        return ()


class WriteDebug(Cmdlet):
    name = "Write-Debug"
    synopsis = "Writes a debug message."
    description = "Prints 'DEBUG: message' when $DebugPreference is Continue or -Debug is given."
    examples = (Example("Write-Debug \"Row $i\"", "A message for -Debug runs."),)
    parameters = (Parameter("Message", T.STRING, mandatory=True, position=0, from_pipeline=True,
                            aliases=("Msg",), allow_empty=True, help="The message."),)

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        _service(ctx, "write_debug")(to_text(args.get("Message")))
        return ()


class WriteProgress(Cmdlet):
    name = "Write-Progress"
    synopsis = "Shows a progress bar."
    description = ("A bar on a terminal, a plain 'Activity: Status N%' line otherwise; "
                   "-Completed removes it.")
    examples = (Example("Write-Progress -Activity Import -Status $u -PercentComplete "
                        "($i * 100 / $n)", "Shows how far an import is."),)
    parameters = (
        Parameter("Activity", T.STRING, position=0, help="What is being done."),
        Parameter("Status", T.STRING, position=1, help="The current step."),
        Parameter("Id", T.INT, position=2, help="Accepted (one bar per activity)."),
        Parameter("PercentComplete", T.INT, help="0 to 100."),
        Parameter("SecondsRemaining", T.INT, help="Accepted; not shown."),
        Parameter("CurrentOperation", T.STRING, help="Shown after the status."),
        Parameter("ParentId", T.INT, help="Accepted; bars are not nested."),
        Parameter("Completed", T.SWITCH, help="Remove the bar."),
    )

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        activity = args.get("Activity") or "Processing"
        if args.switch("Completed"):
            ctx.progress_done(activity)
            return ()
        status = args.get("Status") or "Processing"
        if args.get("CurrentOperation"):
            status += f" {args['CurrentOperation']}"
        percent = args.get("PercentComplete")
        fraction = None if percent is None or percent < 0 else min(percent, 100) / 100
        ctx.progress(activity, status, fraction)
        return ()


@dataclass(frozen=True)
class _Int64ArrayParameter(Parameter):
    """A ``long[]`` parameter (Get-History -Id): the binder calls ``convert_value``, so
    ``-Id abc`` is PowerShell's "Cannot bind parameter 'Id'. Cannot convert value ... to type
    System.Int64" binding error, not an internal one."""

    def convert_value(self, value: Any, literal: str | None) -> list[int]:
        return [to_int(item, "System.Int64") for item in as_list(value)]


class GetHistory(Cmdlet):
    name = "Get-History"
    aliases = ("h", "history", "ghy")
    synopsis = "Lists the commands run in this session."
    description = ("HistoryInfo objects (Id, CommandLine, ExecutionStatus, StartExecutionTime, "
                   "EndExecutionTime, Duration); lines that may carry a secret are not kept.")
    examples = (Example("Get-History -Count 5", "The last five commands."),)
    parameters = (
        _Int64ArrayParameter("Id", T.OBJECT_ARRAY, position=0,
                             help="The entries with these ids."),
        Parameter("Count", T.INT, position=1, help="The last N entries."),
    )

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        entries = list(getattr(_session(ctx), "history", []))
        entries = [e for e in entries if e.end is not None]  # not the running Get-History
        ids = as_list(args.get("Id"))
        if ids:
            wanted = set(ids)
            entries = [e for e in entries if e.id in wanted]
        if args.get("Count") is not None:
            entries = entries[-args["Count"]:] if args["Count"] > 0 else []
        for e in entries:
            end = e.end or e.start
            yield PSObject({"Id": e.id, "CommandLine": e.command_line,
                            "ExecutionStatus": "Completed" if e.ok else "Failed",
                            "StartExecutionTime": e.start, "EndExecutionTime": end,
                            "Duration": end - e.start},
                           ("Microsoft.PowerShell.Commands.HistoryInfo", "System.Object"),
                           ("Id", "Duration", "CommandLine"), "table")


class StartTranscript(Cmdlet):
    name = "Start-Transcript"
    synopsis = "Records the session (commands and output) in a text file."
    description = ("Writes a header, then each command typed and what it shows; "
                   "Stop-Transcript ends it. Default file: imsh_transcript_<time>.txt in the "
                   "current directory.")
    examples = (Example("Start-Transcript -Path wave5.log -Append", "Keeps a log of the work."),)
    parameters = (
        Parameter("Path", T.STRING, position=0, aliases=("OutputDirectory",),
                  help="The transcript file."),
        Parameter("Append", T.SWITCH, help="Add to an existing file."),
        Parameter("Force", T.SWITCH, help="Accepted."),
        Parameter("NoClobber", T.SWITCH, aliases=("NoOverwrite",),
                  help="Refuse to replace an existing file."),
        Parameter("IncludeInvocationHeader", T.SWITCH, help="Accepted."),
    )

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        session = _session(ctx)
        stamp = dt.datetime.now()
        path = ctx.resolve_path(args.get("Path") or
                                f"imsh_transcript_{stamp:%Y%m%d%H%M%S}.txt")
        if session.transcript is not None:
            raise CmdletError("Transcription has already been started. Use the Stop-Transcript "
                              "command to stop transcription.", "InvalidOperation",
                              "CannotStartTranscription")
        if args.switch("NoClobber") and path.exists() and not args.switch("Append"):
            raise CmdletError(f"The file '{path}' already exists.", "ResourceExists",
                              "NoClobber", str(path))
        header = ("**********************\nimsh transcript start\n"
                  f"Start time: {stamp:%Y%m%d%H%M%S}\nUsername: {_user()}\n"
                  f"Machine: {os.uname().nodename}\n**********************\n")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | (os.O_APPEND if args.switch("Append")
                                                            else os.O_TRUNC), 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(header)
        except OSError as err:
            raise CmdletError(f"Could not open the transcript file '{path}': {err.strerror}.",
                              "OpenError", "CannotStartTranscription", str(path)) from None
        session.transcript = path
        return (f"Transcript started, output file is {path}",)


class StopTranscript(Cmdlet):
    name = "Stop-Transcript"
    synopsis = "Stops the transcript Start-Transcript began."
    description = "Writes the end marker and closes the transcript."
    examples = (Example("Stop-Transcript", "Ends the log."),)

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        session = _session(ctx)
        path = session.transcript
        if path is None:
            raise CmdletError("The host is not currently transcribing.", "InvalidOperation",
                              "InvalidOperation")
        session.transcript = None
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(f"**********************\nimsh transcript end\n"
                         f"End time: {dt.datetime.now():%Y%m%d%H%M%S}\n"
                         "**********************\n")
        return (f"Transcript stopped, output file is {path}",)


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


EVERYDAY_CMDLETS: tuple[type[Cmdlet], ...] = (
    SetLocation, TestPath, GetChildItem, SelectString, TeeObject, ConvertToHtml, CompareObject,
    ReadHost, ClearHost, WriteVerbose, WriteDebug, WriteProgress, GetHistory, StartTranscript,
    StopTranscript,
)
