"""Error records and the exceptions that carry them through the language runtime.

PowerShell distinguishes three kinds of error, and so do we:

* **non-terminating** — a cmdlet reports it (``ctx.write_error``); the pipeline goes on;
* **statement-terminating** — a cmdlet raises, the binder fails, a command is unknown, an
  expression fails at runtime: the statement stops, the script goes on, ``try`` catches it;
* **script-terminating** — ``throw``, ``-ErrorAction Stop``, ``$ErrorActionPreference =
  'Stop'``, parse errors: the script stops unless ``try``/``catch`` handles it.

``ErrorRecord`` is what ``$Error``, ``$_`` in ``catch`` and the display (``errorview``) see.
Its attributes are named so the language can read them (``$_.Exception.Message``,
``$_.CategoryInfo``, ``$_.FullyQualifiedErrorId``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shell.lang.tokens import Extent


class ParseError(Exception):
    """A syntax error; ``error_id`` is PowerShell's parser error id."""

    def __init__(self, message: str, error_id: str, extent: Extent | None) -> None:
        super().__init__(message)
        self.message = message
        self.error_id = error_id
        self.extent = extent
        # True when more input could complete the text (open string, brace, trailing pipe).
        self.incomplete = False


# the .NET namespaces of the exception types imsh's errors name (CategoryInfo.Reason)
_NAMESPACES = {
    "System.Management.Automation": (
        "RuntimeException", "CommandNotFoundException", "ParameterBindingException",
        "ParameterBindingValidationException", "ParameterBindingArgumentTransformationException",
        "ParentContainsErrorRecordException", "MethodInvocationException", "PSArgumentException",
        "ItemNotFoundException", "ValidationMetadataException", "PSInvalidOperationException",
        "ParseException", "IncompleteParseException", "ActionPreferenceStopException",
        "PipelineStoppedException", "MetadataException", "PSNotSupportedException",
        "SessionStateUnauthorizedAccessException", "PSArgumentNullException"),
    "System": ("Exception", "ArgumentException", "ArgumentNullException",
               "ArgumentOutOfRangeException", "InvalidOperationException", "FormatException",
               "NotSupportedException", "NotImplementedException", "TimeoutException",
               "UnauthorizedAccessException", "InvalidCastException", "DivideByZeroException",
               "OverflowException", "IndexOutOfRangeException", "NullReferenceException"),
    "System.IO": ("IOException", "FileNotFoundException", "DirectoryNotFoundException"),
    "Microsoft.Exchange.Configuration.Tasks": ("ManagementObjectNotFoundException",
                                               "ManagementObjectAlreadyExistsException"),
    "Microsoft.PowerShell.Commands": ("WriteErrorException",),
}
_FULL_NAMES = {short: f"{ns}.{short}" for ns, shorts in _NAMESPACES.items() for short in shorts}


def exception_type_name(reason: str) -> str:
    """The .NET full name for a CategoryInfo reason; Python-side failures (an internal error)
    are reported as PowerShell's RuntimeException, never by their Python class name."""
    if "." in reason:
        return reason
    return _FULL_NAMES.get(reason, "System.Management.Automation.RuntimeException")


@dataclass
class ExceptionInfo:
    """``$_.Exception``: the message and its .NET type (``GetType().FullName``)."""

    Message: str
    TypeName: str = "RuntimeException"
    InnerException: Any = None

    PS_PROPERTIES = ("Message", "InnerException", "Source", "HResult")

    @property
    def ps_type_name(self) -> str:
        return exception_type_name(self.TypeName)

    @property
    def Source(self) -> str:
        return "System.Management.Automation"

    @property
    def HResult(self) -> int:
        return -2146233087

    def __str__(self) -> str:
        return self.Message


class InvocationRecord:
    """``$_.InvocationInfo``: where the failing command was, as PowerShell reports it."""

    PS_PROPERTIES = ("MyCommand", "ScriptLineNumber", "OffsetInLine", "ScriptName", "Line",
                     "PositionMessage", "InvocationName", "PipelineLength",
                     "PipelinePosition", "ExpectingInput", "CommandOrigin")
    ps_type_name = "System.Management.Automation.InvocationInfo"

    def __init__(self, command: str, extent: Extent | None) -> None:
        self._extent = extent
        self.MyCommand = command or None
        self.InvocationName = command
        self.ScriptLineNumber = extent.line if extent is not None else 0
        self.OffsetInLine = extent.col if extent is not None else 0
        name = extent.source.name if extent is not None else ""
        self.ScriptName = "" if not name or name.startswith("<") or name == "-c" else name
        self.Line = extent.source.line_text(extent.line) if extent is not None else ""
        self.PipelineLength = 0
        self.PipelinePosition = 0
        self.ExpectingInput = False
        self.CommandOrigin = "Internal"

    @property
    def PositionMessage(self) -> str:
        from shell.lang.errorview import position_lines

        return "\n".join(position_lines(self._extent))

    def __str__(self) -> str:
        return "System.Management.Automation.InvocationInfo"


class ErrorList(list[Any]):
    """``$Error``: an ArrayList (newest first) that ``Clear()``, ``Remove()`` and ``RemoveAt()``
    change, unlike an array."""

    ps_type_name = "System.Collections.ArrayList"
    growable = True


@dataclass
class CategoryInfo:
    Category: str
    Activity: str
    Reason: str
    TargetName: str
    TargetType: str

    def __str__(self) -> str:
        return (f"{self.Category}: ({self.TargetName}:{self.TargetType}) "
                f"[{self.Activity}], {self.Reason}")


class ErrorRecord:
    """One error as PowerShell keeps it (``$Error[0]``).

    ``command`` prefixes the display (``Get-Foo : message``); ``activity`` is the bracketed
    part of CategoryInfo (defaults to ``command``); the FullyQualifiedErrorId is
    ``error_id,command`` for errors a command raised, bare ``error_id`` otherwise.
    """

    def __init__(
        self,
        message: str,
        *,
        category: str = "NotSpecified",
        error_id: str = "",
        command: str = "",
        activity: str | None = None,
        reason: str = "RuntimeException",
        target: Any = None,
        extent: Extent | None = None,
        parse_error: bool = False,
        qualified: bool = True,
    ) -> None:
        error_id = error_id or category
        self.Exception = ExceptionInfo(message, reason)
        self.FullyQualifiedErrorId = f"{error_id},{command}" if command and qualified else error_id
        self.CategoryInfo = CategoryInfo(category, command if activity is None else activity,
                                         reason, _target_text(target), _target_type(target))
        self.TargetObject = target
        self.extent = extent
        self.command = command
        self.parse_error = parse_error

    # the properties scripts see (Format-List *, Get-Member); the rest is imsh's own state
    PS_PROPERTIES = ("Exception", "TargetObject", "CategoryInfo", "FullyQualifiedErrorId",
                     "ErrorDetails", "InvocationInfo", "ScriptStackTrace",
                     "PipelineIterationInfo")

    @property
    def InvocationInfo(self) -> InvocationRecord:
        return InvocationRecord(self.command, self.extent)

    @property
    def ErrorDetails(self) -> None:
        return None

    @property
    def ScriptStackTrace(self) -> str:
        info = self.InvocationInfo
        where = info.ScriptName or "<ScriptBlock>"
        return f"at <ScriptBlock>, {where}: line {info.ScriptLineNumber}"

    @property
    def PipelineIterationInfo(self) -> list[int]:
        return []

    @property
    def message(self) -> str:
        return self.Exception.Message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"ErrorRecord({self.message!r})"


def _target_text(target: Any) -> str:
    if target is None:
        return ""
    text = str(target)
    return text if len(text) <= 40 else text[:37] + "..."


def _target_type(target: Any) -> str:
    if target is None:
        return ""
    names = {str: "String", int: "Int32", float: "Double", bool: "Boolean"}
    return names.get(type(target), type(target).__name__)


class PSRuntimeError(Exception):
    """A terminating error carrying its ``ErrorRecord``.

    ``script_terminating`` is False for statement-terminating errors (the script goes on
    after reporting it unless a ``try`` is active).
    """

    def __init__(self, record: ErrorRecord, *, script_terminating: bool = False) -> None:
        super().__init__(record.message)
        self.record = record
        self.script_terminating = script_terminating
        self.reported = False


class StopUpstream(Exception):
    """Raised by a cmdlet (``Select-Object -First``) to stop the commands feeding it.

    Raise it from ``process`` after yielding the last object wanted; the shell closes the
    upstream commands and then calls the cmdlet's ``end`` as usual.
    """


def runtime_error(
    message: str,
    error_id: str,
    extent: Extent | None,
    *,
    category: str = "InvalidOperation",
    target: Any = None,
) -> PSRuntimeError:
    """A statement-terminating runtime error of an expression (PowerShell's RuntimeException)."""
    record = ErrorRecord(message, category=category, error_id=error_id, target=target,
                         extent=extent, reason="RuntimeException")
    return PSRuntimeError(record)
