"""``CommandContext``: the ``cmdlets.base.Context`` one running cmdlet sees.

One instance per command in a pipeline, so errors carry the command's name and position
and ``-ErrorAction``, ``-WhatIf``, ``-Confirm`` apply to that command only.

Error actions: ``Stop`` turns an error into a script-terminating one; ``SilentlyContinue``
records it in ``$Error`` without showing it; ``Ignore`` drops it.  Errors silenced this
way do not make the script's exit status non-zero.

Confirmation (``should_process``): ``-WhatIf`` (or ``$WhatIfPreference``) prints
``What if: Performing the operation "A" on target "T".`` and declines.  ``-Confirm`` asks
(reading the answer from stdin; end of input declines).  A cmdlet whose ``confirm_impact``
reaches ``$ConfirmPreference`` (High by default) asks too when the session is interactive;
when it is not, imsh refuses with an error unless ``-Confirm:$false`` or ``-Force`` is given,
because a script must never delete on an unanswered prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmdlets.base import Cmdlet, CmdletError, Invocable
from shell.lang.errors import ErrorRecord, PSRuntimeError
from shell.lang.operators import truthy
from shell.lang.tokens import Extent
from shell.lang.values import ScriptBlock
from shell.objects import to_text

if TYPE_CHECKING:
    from shell.lang.binder import Binding
    from shell.lang.evaluator import Runtime

_IMPACT = {"none": 0, "low": 1, "medium": 2, "high": 3}
_REASONS = {"ObjectNotFound": "ManagementObjectNotFoundException",
            "ResourceExists": "ManagementObjectAlreadyExistsException",
            "InvalidArgument": "ArgumentException", "InvalidData": "DataValidationException",
            "InvalidOperation": "InvalidOperationException",
            "NotImplemented": "NotSupportedException",
            "ConnectionError": "MigrationTransientException",
            "AuthenticationError": "AuthenticationException",
            "PermissionDenied": "UnauthorizedAccessException",
            "OperationTimeout": "TimeoutException", "ReadError": "IOException",
            "WriteError": "IOException"}
_PROMPT = ('[Y] Yes  [A] Yes to All  [N] No  [L] No to All  [S] Suspend  [?] Help '
           '(default is "Y"): ')
_HELP = ("Y - Continue with only the next step of the operation.\n"
         "A - Continue with all the steps of the operation.\n"
         "N - Skip this operation and proceed with the next operation.\n"
         "L - Skip this operation and all subsequent operations.\n"
         "S - Pause the current pipeline (imsh treats it as No).\n")


def exception_record(exc: BaseException, command: str, extent: Extent | None) -> ErrorRecord:
    """An error record for an exception a cmdlet raised or reported."""
    if isinstance(exc, PSRuntimeError):
        return exc.record
    category = getattr(exc, "category", None)
    message = getattr(exc, "message", None)
    if category is not None and isinstance(message, str):
        category = str(category)
        return ErrorRecord(message, category=category,
                           error_id=str(getattr(exc, "error_id", "") or category),
                           command=command, reason=_REASONS.get(category, "Exception"),
                           target=getattr(exc, "target", None), extent=extent)
    if isinstance(exc, OSError) and exc.strerror:
        where = f" '{exc.filename}'" if exc.filename else ""
        return ErrorRecord(f"{exc.strerror}{where}.", category="NotSpecified",
                           error_id=type(exc).__name__, command=command,
                           reason=type(exc).__name__, extent=extent)
    return ErrorRecord(f"An internal error occurred: {type(exc).__name__}: {exc}",
                       category="NotSpecified", error_id="InternalError", command=command,
                       reason=type(exc).__name__, extent=extent)


class CommandContext:
    """Implements ``cmdlets.base.Context`` for one command of one pipeline."""

    def __init__(self, runtime: Runtime, cmdlet: type[Cmdlet], extent: Extent) -> None:
        self._rt = runtime
        self._cmdlet = cmdlet
        self._extent = extent
        self.binding: Binding | None = None
        self._yes_to_all = False
        self._no_to_all = False

    # -- the Context protocol ---------------------------------------------------------------

    @property
    def engine(self) -> Any:
        return self._rt.host.engine

    @property
    def cwd(self) -> Path:
        return self._rt.host.cwd

    @property
    def registry(self) -> Any:
        """The session's cmdlet registry (Get-Command, Get-Help)."""
        return self._rt.host.registry

    @property
    def interactive(self) -> bool:
        return self._rt.host.interactive

    def resolve_path(self, path: str) -> Path:
        return self._rt.host.resolve_path(path)

    @property
    def extent(self) -> Extent:
        return self._extent

    @property
    def session(self) -> Any:
        """The session around the runtime (Set-Location, Read-Host, Get-History, transcripts
        use its console services)."""
        return self._rt.host

    def set_variable(self, name: str, value: Any) -> None:
        """Tee-Object -Variable, -OutVariable-like stores in the caller's scope."""
        self._rt.variables.set(name, value)

    def write_debug(self, text: str) -> None:
        debug = self._common("debug") or to_text(
            self._rt.variables.get("DebugPreference")).lower() == "continue"
        if debug:
            self._rt.host.flush_output()
            self._rt.host.write_err(f"DEBUG: {text}\n", "verbose")

    def function_declarations(self) -> dict[str, type[Cmdlet]]:
        """The session's functions as cmdlet declarations (Get-Command lists them)."""
        from shell.lang import functions

        out: dict[str, type[Cmdlet]] = {}
        for info in self._rt.functions.values():
            try:
                out[info.name] = functions.declaration(info.block.node, info.name,
                                                       self._rt.eval)
            except Exception:  # a declaration whose attribute arguments fail: not listed
                continue
        return out

    def invoke(self, block: Invocable, input_object: Any = None, args: Sequence[Any] = ()
               ) -> list[Any]:
        if not isinstance(block, ScriptBlock):
            raise CmdletError("The argument is not a script block.", "InvalidArgument")
        return self._rt.invoke_block(block, input_object, list(args), new_scope=False)

    def write_host(self, text: str, *, newline: bool = True, color: str | None = None) -> None:
        self._rt.host.flush_output()
        self._rt.host.write_out(text + ("\n" if newline else ""))

    def write_warning(self, text: str) -> None:
        action = self._common("warning_action") or to_text(
            self._rt.variables.get("WarningPreference")) or "Continue"
        if action.lower() in ("silentlycontinue", "ignore"):
            return
        self._rt.host.flush_output()
        self._rt.host.write_err(f"WARNING: {text}\n", "warning")

    def write_verbose(self, text: str) -> None:
        verbose = self._common("verbose") or to_text(
            self._rt.variables.get("VerbosePreference")).lower() == "continue"
        if verbose:
            self._rt.host.flush_output()
            self._rt.host.write_err(f"VERBOSE: {text}\n", "verbose")

    def write_error(self, error: BaseException) -> None:
        record = exception_record(error, self._cmdlet.name, self._extent)
        if self._cmdlet.name == "Write-Error" and isinstance(error, CmdletError) and \
                getattr(self._rt, "invocations", None):
            record = self._written_error(error)
        action = self.error_action().lower()
        self._remember(record)
        if action == "stop":
            raise PSRuntimeError(record, script_terminating=True)
        if action == "ignore":
            return
        quiet = action == "silentlycontinue"
        self._rt.report(record, display=not quiet, count=not quiet)

    @property
    def whatif(self) -> bool:
        common = self.binding.common if self.binding else None
        return bool(common.whatif if common and common.whatif is not None else truthy(
            self._rt.variables.get("WhatIfPreference")))

    def _written_error(self, error: CmdletError) -> ErrorRecord:
        """Inside a function, Write-Error's record names the function and points at its call,
        as PowerShell's does (``Check-Wave : wave failed``)."""
        command, extent = self._rt.invocations[-1]
        return ErrorRecord(error.message, category=error.category, error_id=error.error_id,
                           command=command, activity="Write-Error",
                           reason="WriteErrorException", target=error.target, extent=extent)

    def should_process(self, target: str, action: str) -> bool:
        common = self.binding.common if self.binding else None
        whatif = common.whatif if common and common.whatif is not None else truthy(
            self._rt.variables.get("WhatIfPreference"))
        host = self._rt.host
        if whatif:
            host.flush_output()
            host.write_out(f'What if: Performing the operation "{action}" on target '
                           f'"{target}".\n')
            return False
        confirm = common.confirm if common else None
        if confirm is False or self._yes_to_all:
            return True
        if self._no_to_all:
            return False
        if confirm is None:
            if not self._impact_requires_confirmation() or self._forced():
                return True
            if not host.interactive:
                raise CmdletError(
                    f"{self._cmdlet.name} needs confirmation to {action.lower()} "
                    f"'{target}', and this session cannot ask (it is not interactive). "
                    "Add -Confirm:$false (or -Force) to proceed without a prompt.",
                    "InvalidOperation", "ConfirmationRequired", target)
        return self._ask(target, action)

    def progress(self, activity: str, status: str, fraction: float | None = None) -> None:
        self._rt.host.progress(activity, status, fraction)

    def progress_done(self, activity: str) -> None:
        self._rt.host.progress_done(activity)

    def render(self, objects: Sequence[Any]) -> str:
        return self._rt.host.render(list(objects))

    # -- helpers -----------------------------------------------------------------------------

    def terminating(self, exc: BaseException) -> PSRuntimeError:
        """The error record for an exception the cmdlet raised (statement-terminating)."""
        record = exception_record(exc, self._cmdlet.name, self._extent)
        action = self.error_action().lower()
        self._remember(record)
        error = PSRuntimeError(record, script_terminating=action == "stop")
        if action in ("silentlycontinue", "ignore"):
            if action == "silentlycontinue":
                self._rt.report(record, display=False, count=False)
            error = _Silenced(record)
        return error

    def error_action(self) -> str:
        return self._common("error_action") or to_text(
            self._rt.variables.get("ErrorActionPreference")) or "Continue"

    def _common(self, name: str) -> Any:
        return getattr(self.binding.common, name) if self.binding else None

    def _remember(self, record: ErrorRecord) -> None:
        name = self._common("error_variable")
        if name:
            append = name.startswith("+")
            name = name.lstrip("+")
            existing = self._rt.variables.get(name) if append else None
            values = list(existing) if isinstance(existing, list) else []
            self._rt.variables.set(name, [*values, record])

    def _impact_requires_confirmation(self) -> bool:
        preference = to_text(self._rt.variables.get("ConfirmPreference")).lower() or "high"
        if preference == "none":
            return False
        impact = _IMPACT.get(self._cmdlet.confirm_impact.lower(), 2)
        return impact >= _IMPACT.get(preference, 3)

    def _forced(self) -> bool:
        return bool(self.binding and truthy(self.binding.values.get("Force")))

    def _ask(self, target: str, action: str) -> bool:
        host = self._rt.host
        host.flush_output()
        host.write_out("\nConfirm\nAre you sure you want to perform this action?\n"
                       f'Performing the operation "{action}" on target "{target}".\n')
        while True:
            answer = host.read_line(_PROMPT)
            if answer is None:
                host.write_out("\n")
                return False
            choice = answer.strip().lower()[:1] or "y"
            if choice == "?":
                host.write_out(_HELP)
                continue
            if choice in ("y", "a"):
                self._yes_to_all = choice == "a"
                return True
            if choice in ("n", "l", "s"):
                self._no_to_all = choice == "l"
                return False


class _Silenced(PSRuntimeError):
    """A cmdlet failure under -ErrorAction SilentlyContinue/Ignore: ends the statement quietly."""

    def __init__(self, record: ErrorRecord) -> None:
        super().__init__(record)
        self.reported = True
