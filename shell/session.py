"""A language session: variables, the runtime, output and errors for one imsh process.

The console host calls ``run(chunk)`` for each complete statement chunk, ``imsh -c`` calls it
once, the script runner calls ``run_file``.  Output that reaches the end of a top-level
statement goes through Out-Default: it is rendered (``shell.format.render``) to stdout once
the statement finishes (earlier when an error or host message must appear after it).  Errors
go to stderr in PowerShell's NormalView layout; no Python traceback ever reaches the user.

Exit status (``exit_code``): ``exit N`` wins; otherwise 0 when no terminating error
occurred and no command reported an error, 1 otherwise.  When the reader of stdout goes
away (``imsh -c ... | head -1``) the run stops quietly, as a program killed by SIGPIPE.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from cmdlets.registry import Registry
from shell.history import is_sensitive, mask_tokens
from shell.lang import functions
from shell.lang.binder import BindingError
from shell.lang.errors import ErrorRecord, ParseError, PSRuntimeError
from shell.lang.errorview import format_record
from shell.lang.evaluator import Runtime
from shell.lang.flow import BreakSignal, ContinueSignal, ExitSignal, ReturnSignal
from shell.lang.parser import parse_source
from shell.lang.scope import Variables
from shell.lang.tokens import Source
from shell.lang.values import PathInfo
from shell.objects import Hashtable, to_text


class OutputClosed(BaseException):
    """stdout's reader has gone: nothing more can be shown, so the run ends.

    A BaseException so that no cmdlet or ``try`` turns it into an error record.
    """


@dataclass(frozen=True)
class RunResult:
    ok: bool  # no terminating error
    had_errors: bool  # some error (terminating or not) was reported during this run
    exit_requested: int | None = None


class Session:
    """One interpreter with its variables, bound to stdout/stderr/stdin."""

    def __init__(
        self,
        registry: Registry,
        *,
        engine_factory: Callable[[], Any],
        stdout: TextIO,
        stderr: TextIO,
        stdin: TextIO | None = None,
        cwd: Path | None = None,
        interactive: bool = False,
        width: int = 120,
    ) -> None:
        self.registry = registry
        self.stdout = stdout
        self.stderr = stderr
        self.stdin = stdin
        self.interactive = interactive
        self.width = width
        self._cwd = (cwd or Path.cwd()).resolve()
        self._engine_factory = engine_factory
        self._engine: Any = None
        self._pending: list[Any] = []
        self._terminated = False
        self._exit_requested: int | None = None
        self._progress_shown: dict[str, tuple[str, float]] = {}
        self._output_closed = False
        self.history: list[HistoryEntry] = []  # Get-History (this session, secrets left out)
        self.transcript: Path | None = None  # Start-Transcript's file
        self.variables = Variables({
            "?": lambda: self.runtime.last_ok,
            "pwd": lambda: PathInfo.of(self._cwd),
            "home": lambda: str(Path.home()),
            "error": lambda: self.runtime.errors,
            "pid": os.getpid,
        })
        self.runtime = Runtime(self, self.variables)
        self._set_preferences()

    def _set_preferences(self) -> None:
        defaults = {"ErrorActionPreference": "Continue", "WarningPreference": "Continue",
                    "VerbosePreference": "SilentlyContinue", "WhatIfPreference": False,
                    "DebugPreference": "SilentlyContinue",
                    "ConfirmPreference": "High", "LASTEXITCODE": 0, "IsLinux": True,
                    "IsWindows": False, "PSVersionTable": Hashtable(
                        {"PSVersion": "5.1", "PSEdition": "imsh"})}
        for name, value in defaults.items():
            self.variables.set(name, value)

    # -- running -----------------------------------------------------------------------------

    def run(self, text: str, *, source: str = "<stdin>",
            script_args: list[str] | None = None) -> RunResult:
        """Parse and run one chunk of program text; ``script_args`` feed its ``param()``."""
        errors_before = self.runtime.had_errors
        self.runtime.had_errors = False
        ok, exit_requested = True, None
        entry = self._remember_command(text, source)
        try:
            tree = parse_source(Source(text, source))
        except ParseError as err:
            self._report_parse_error(err)
            return self._finish(False, errors_before)
        except RecursionError:
            self._report_parse_error(ParseError(
                "The script is nested too deeply to parse.", "ScriptTooComplex", None))
            return self._finish(False, errors_before)
        except Exception as exc:  # a parser defect must still not show a traceback
            self._report_parse_error(ParseError(
                f"An internal error occurred while parsing: {type(exc).__name__}: {exc}",
                "InternalParserError", None))
            return self._finish(False, errors_before)
        try:
            if tree.params:
                self._bind_script_params(tree, script_args or [])
            self.runtime.run_statements(tree.statements, self._pending.append,
                                        after_each=self.flush_output)
        except PSRuntimeError as err:
            ok = False
            if not err.reported:
                self.runtime.report(err.record)
        except ExitSignal as signal:
            exit_requested = signal.code
            self._exit_requested = signal.code
        except (ReturnSignal, BreakSignal, ContinueSignal):
            pass
        except OutputClosed:
            ok = False
        except KeyboardInterrupt:
            # Ctrl-C stops the pipeline; PowerShell shows nothing for it ($? is false)
            ok = False
            self.runtime.current_ok = self.runtime.last_ok = False
        try:
            self.flush_output()
        except OutputClosed:
            ok = False
        if entry is not None:
            entry.end = dt.datetime.now()
            entry.ok = ok and not self.runtime.had_errors
        return self._finish(ok, errors_before, exit_requested)

    def _remember_command(self, text: str, source: str) -> HistoryEntry | None:
        """Lines typed at the console (or given to -c) become Get-History entries; a line
        that may carry a secret is left out, as it is of the history file."""
        if source != "<stdin>" or not text.strip() or is_sensitive(text):
            return None
        entry = HistoryEntry(len(self.history) + 1, text.strip(), dt.datetime.now())
        self.history.append(entry)
        if self.transcript is not None:
            self._transcribe(f"PS> {entry.command_line}\n")
        return entry

    def _transcribe(self, text: str) -> None:
        if self.transcript is None:
            return
        try:
            with self.transcript.open("a", encoding="utf-8") as handle:
                handle.write(mask_tokens(text))  # the dashboard token: on screen only
        except OSError:
            self.transcript = None  # the file went away: stop transcribing, keep running

    def _finish(self, ok: bool, errors_before: bool, exit_requested: int | None = None
                ) -> RunResult:
        had_errors = self.runtime.had_errors or not ok
        self.runtime.had_errors = errors_before or had_errors
        if not ok:
            self._terminated = True
        return RunResult(ok=ok, had_errors=had_errors, exit_requested=exit_requested)

    def _report_parse_error(self, err: ParseError) -> None:
        record = ErrorRecord(err.message, category="ParserError", error_id=err.error_id,
                             reason="ParentContainsErrorRecordException", extent=err.extent,
                             parse_error=True)
        self.runtime.report(record)

    def run_file(self, path: Path, args: list[str] | None = None) -> int:
        """Run a script file with ``$args``; return the process exit status."""
        path = self.resolve_path(str(path))
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as err:
            return self._unreadable_script(path, f"{err.strerror}.", "ScriptFileNotFound")
        except UnicodeDecodeError as err:
            return self._unreadable_script(
                path, f"it is not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset "
                f"{err.start}); save it as UTF-8.", "ScriptFileNotUtf8")
        self.variables.set("args", list(args or []))
        self.variables.set("PSScriptRoot", str(path.parent))
        self.variables.set("PSCommandPath", str(path))
        self.run(text, source=str(path), script_args=list(args or []))
        return self.exit_code

    def _bind_script_params(self, tree: Any, args: list[str]) -> None:
        """Bind a script's ``param( )`` block from its command-line arguments with the binder
        functions use (``-A value``, ``-A:value``, a unique prefix, the rest by position;
        types, defaults, Mandatory and validation as for a function). The variables land in
        the script's scope; ``$args`` holds what a simple script's parameters did not take.
        A binding error is a terminating error (exit status 1), as in PowerShell."""
        name = Path(tree.extent.source.name).name if tree.extent.source.name != "<stdin>" \
            else "<ScriptBlock>"
        try:
            cls = functions.declaration(tree, name, self.runtime.eval)
            binding, rest = functions.bind_function(cls, functions.command_line_items(args),
                                                    pipeline_input=False)
        except BindingError as err:
            raise PSRuntimeError(ErrorRecord(
                err.message, category=err.category, error_id=err.error_id, command=name,
                reason=err.reason, target=err.target), script_terminating=True) from None
        try:
            functions.bound_variables(self.runtime, cls, binding, rest, self.variables.set)
        except BindingError as err:  # a default value its type constraint refuses
            raise PSRuntimeError(ErrorRecord(
                err.message, category=err.category, error_id=err.error_id, command=name,
                reason=err.reason, target=err.target), script_terminating=True) from None

    def _unreadable_script(self, path: Path, why: str, error_id: str) -> int:
        self.runtime.report(ErrorRecord(
            f"The script file '{path}' cannot be read: {why}", category="ObjectNotFound",
            error_id=error_id, reason="CommandNotFoundException", target=str(path)))
        self._terminated = True
        return self.exit_code

    @property
    def exit_code(self) -> int:
        if self._exit_requested is not None:
            return self._exit_requested
        return 1 if self._terminated or self.runtime.had_errors else 0

    def close(self) -> None:
        engine, self._engine = self._engine, None
        close = getattr(engine, "close", None)
        if callable(close):
            close()

    # -- the runtime's host ------------------------------------------------------------------

    @property
    def engine(self) -> Any:
        if self._engine is None:
            self._engine = self._engine_factory()
        return self._engine

    @property
    def cwd(self) -> Path:
        return self._cwd

    @cwd.setter
    def cwd(self, path: Path) -> None:
        self._cwd = path

    def resolve_path(self, path: str) -> Path:
        candidate = Path(os.path.expanduser(path))
        return candidate if candidate.is_absolute() else self._cwd / candidate

    def write_out(self, text: str) -> None:
        if self._output_closed:
            return
        if self.transcript is not None:
            self._transcribe(text)
        try:
            self.stdout.write(text)
            self.stdout.flush()
        except BrokenPipeError:
            self._close_output()
            raise OutputClosed() from None

    def write_err(self, text: str, kind: str | None = None) -> None:
        """Write to stderr; errors, warnings and verbose lines in PowerShell 7's colours
        when stderr is a terminal (never when piped, nor with NO_COLOR set)."""
        try:
            if not self._output_closed:
                self.stdout.flush()  # errors appear after the output before them
        except BrokenPipeError:
            self._close_output()
        if self.transcript is not None:
            self._transcribe(text)
        if kind in STREAM_COLOURS and self._colour():
            text = colour_lines(text, STREAM_COLOURS[kind])
        try:
            self.stderr.write(text)
            self.stderr.flush()
        except BrokenPipeError:
            pass  # nobody reads the errors either; the exit status still tells

    def _colour(self) -> bool:
        if os.environ.get("NO_COLOR"):
            return False
        try:
            return self.stderr.isatty()
        except (AttributeError, ValueError):
            return False

    def _close_output(self) -> None:
        """Point the closed stdout at /dev/null, so that the final flush at exit is quiet."""
        self._output_closed = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError, io.UnsupportedOperation):
            pass

    def read_line(self, prompt: str) -> str | None:
        self.write_out(prompt)
        if self.stdin is None:
            return None
        line = self.stdin.readline()
        if line == "":
            return None
        return line.rstrip("\r\n")

    def render(self, objects: list[Any]) -> str:
        width = terminal_width(self.stdout, self.width) if self.interactive else self.width
        return render_objects(objects, width)

    def flush_output(self) -> None:
        if not self._pending:
            return
        if self._output_closed:
            self._pending.clear()
            return
        objects = list(self._pending)
        self._pending.clear()  # cleared in place: the runtime's emit holds this list
        text = self.render(objects)
        if text:
            self.write_out(text if text.endswith("\n") else text + "\n")

    def progress(self, activity: str, status: str, fraction: float | None) -> None:
        """A bar redrawn in place on a terminal; plain lines when piped (at most one per
        activity every few seconds, plus the first and the finished one)."""
        if self.interactive:
            line = progress_bar(activity, status, fraction, terminal_width(self.stderr,
                                                                           self.width))
            self.stderr.write("\r\x1b[K" + line)
            self.stderr.flush()
            return
        line = f"{activity}: {status}" + (f" {int(fraction * 100)}%" if fraction is not None
                                           else "")
        last_line, last_time = self._progress_shown.get(activity, ("", 0.0))
        now = time.monotonic()
        finished = fraction is not None and fraction >= 1.0
        if line != last_line and (finished or not last_line
                                  or now - last_time >= PLAIN_PROGRESS_SECONDS):
            self._progress_shown[activity] = (line, now)
            self.write_err(line + "\n")

    def progress_done(self, activity: str) -> None:
        self._progress_shown.pop(activity, None)
        if self.interactive:
            self.stderr.write("\r\x1b[K")
            self.stderr.flush()


@dataclass
class HistoryEntry:
    """One Get-History entry (Microsoft.PowerShell.Commands.HistoryInfo)."""

    id: int
    command_line: str
    start: dt.datetime
    end: dt.datetime | None = None
    ok: bool = True


PLAIN_PROGRESS_SECONDS = 5.0
BAR_WIDTH = 24


# $PSStyle.Formatting in PowerShell 7: Error bold red, Warning and Verbose bold yellow.
STREAM_COLOURS = {"error": "\x1b[31;1m", "warning": "\x1b[33;1m", "verbose": "\x1b[33;1m"}
RESET = "\x1b[0m"


def colour_lines(text: str, code: str) -> str:
    """Each line of ``text`` in ``code``'s colour, reset before its line end (as PowerShell
    does, so a resized or scrolled terminal never paints the next line)."""
    return "".join(f"{code}{line.rstrip(chr(10))}{RESET}" + ("\n" if line.endswith("\n") else "")
                   for line in text.splitlines(keepends=True) if line)


def terminal_width(stream: TextIO, default: int) -> int:
    """The width of the terminal ``stream`` writes to now (it may have been resized since the
    session began), else ``default``: a bar longer than the terminal wraps, and redrawing it
    in place then leaves a stale line per update."""
    try:
        return os.get_terminal_size(stream.fileno()).columns or default
    except (AttributeError, OSError, ValueError):
        return default


def progress_bar(activity: str, status: str, fraction: float | None, width: int) -> str:
    """``activity [#######.........] 42% status``, cut to the terminal width."""
    if fraction is None:
        bar = "[" + "?" * BAR_WIDTH + "]    "
    else:
        filled = int(max(0.0, min(fraction, 1.0)) * BAR_WIDTH)
        bar = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {int(fraction * 100):3d}%"
    return f"{activity} {bar} {status}"[: max(width - 1, 10)]


def render_objects(objects: list[Any], width: int) -> str:
    """Out-Default: ``shell.format.render`` when it is available, else one value per line."""
    try:
        from shell.format import render
    except ImportError:  # the formatter is optional while the shell is being assembled
        return _plain(objects)
    return render(objects, width)


def _plain(objects: list[Any]) -> str:
    lines = []
    for obj in objects:
        if isinstance(obj, ErrorRecord):
            lines.append(format_record(obj))
        else:
            lines.append(to_text(obj))
    return "\n".join(lines) + ("\n" if lines else "")

