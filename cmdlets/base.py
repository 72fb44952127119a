"""The cmdlet contract shared by the shell and every cmdlet.

A cmdlet is a class that declares its parameters once (``Parameter``) and implements
``begin``/``process``/``end`` like a PowerShell advanced function.  Everything the shell
derives — binding, tab completion, ``Get-Help``, ``Get-Command`` — comes from that one
declaration.  A cmdlet body talks to the outside world only through the ``Context`` it is
given (the shell implements it), which keeps cmdlets free of shell internals:

* ``ctx.engine`` is the engine façade (migration cmdlets call exactly one method on it);
* ``ctx.invoke(block, ...)`` runs a script block (``Where-Object``, ``ForEach-Object``);
* ``ctx.write_error`` reports a non-terminating error; raising ``CmdletError`` (or any
  ``engine.errors.ImshError``) is a statement-terminating error, as ``ThrowTerminatingError``
  is in PowerShell;
* ``ctx.should_process`` honours ``-WhatIf`` and ``-Confirm``.

Lifecycle: the shell creates a fresh instance of the class for each pipeline it appears in,
calls ``begin`` once, ``process`` once per pipeline input (or once when there is no pipeline
input), then ``end``.  Each returns an iterable of output objects that stream to the next
command.  Instances may keep state between the calls (``Sort-Object`` collects in
``process`` and emits in ``end``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

ALL_SETS = "__AllParameterSets"


class ParamType(enum.Enum):
    """The value types the binder converts arguments to."""

    STRING = "string"
    STRING_ARRAY = "string[]"
    INT = "int"
    UNLIMITED_INT = "Unlimited<int>"  # an int, or the word Unlimited (Exchange limits)
    BOOL = "bool"
    SWITCH = "switch"
    OBJECT = "object"
    OBJECT_ARRAY = "object[]"
    SCRIPTBLOCK = "scriptblock"
    BYTES = "byte[]"
    CREDENTIAL = "PSCredential"
    SECURESTRING = "SecureString"
    DATETIME = "datetime"
    TIMESPAN = "timespan"
    HASHTABLE = "hashtable"


@dataclass(frozen=True)
class Parameter:
    """One declared parameter of a cmdlet.

    ``sets`` empty means the parameter belongs to every parameter set.  ``choices`` is
    PowerShell's ValidateSet (matched case-insensitively, bound to the declared spelling).
    ``position`` is the positional index within each of the parameter's sets.
    """

    name: str
    type: ParamType = ParamType.STRING
    mandatory: bool = False
    position: int | None = None
    sets: tuple[str, ...] = ()
    from_pipeline: bool = False
    from_pipeline_by_name: bool = False
    aliases: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    help: str = ""
    # ValueFromRemainingArguments: every positional argument from this parameter's position
    # on binds to it as one list (``Write-Host 'Batch' $name``).
    remaining: bool = False
    # Exchange parameters imsh accepts syntactically but does not implement: binding them
    # fails with NotSupportedError ("... is not supported by imsh") instead of a parse error.
    unsupported: bool = False
    # Null and empty never mean "not given". The binder refuses ``$null`` (an undefined
    # variable is ``$null``), ``''`` and an empty array for every parameter, mandatory or not,
    # as PowerShell refuses them for a mandatory one ("Cannot bind argument to parameter
    # 'Identity' because it is null."), unless the declaration says otherwise:
    # ``allow_null`` is PowerShell's [AllowNull()] (the cmdlet gives ``$null`` a meaning, such
    # as "clear this setting"), ``allow_empty`` is [AllowEmptyString()] plus
    # [AllowEmptyCollection()]. Switches are never refused: ``-Force:$null`` is ``$false``.
    allow_null: bool = False
    allow_empty: bool = False

    @property
    def is_switch(self) -> bool:
        return self.type is ParamType.SWITCH

    def in_set(self, set_name: str) -> bool:
        return not self.sets or set_name in self.sets


@dataclass(frozen=True)
class Example:
    """A help example: the code line(s) and what they do."""

    code: str
    remarks: str


class BoundArguments(Mapping[str, Any]):
    """The bound parameters of one invocation: case-insensitive, keyed by declared name."""

    def __init__(self, values: Mapping[str, Any] | None = None, parameter_set: str = ALL_SETS):
        self._values: dict[str, Any] = {}
        self._names: dict[str, str] = {}
        self.parameter_set = parameter_set
        for key, value in (values or {}).items():
            self[key] = value

    def __setitem__(self, key: str, value: Any) -> None:
        folded = key.casefold()
        self._names[folded] = key
        self._values[folded] = value

    def __getitem__(self, key: str) -> Any:
        return self._values[key.casefold()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.casefold() in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._names.values())

    def __len__(self) -> int:
        return len(self._values)

    def copy(self) -> BoundArguments:
        return BoundArguments({name: self[name] for name in self}, self.parameter_set)

    def switch(self, name: str) -> bool:
        """True when a switch was given (and not given as ``-Name:$false``)."""
        return bool(self.get(name, False))


class CmdletError(Exception):
    """An error a cmdlet reports, shown as ``Verb-Noun : message``.

    ``category`` is a PowerShell ErrorCategory name (ObjectNotFound, InvalidArgument,
    InvalidOperation, ...); ``error_id`` becomes the FullyQualifiedErrorId's first part.
    """

    def __init__(
        self,
        message: str,
        category: str = "NotSpecified",
        error_id: str = "",
        target: object = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.category = category
        self.error_id = error_id or category
        self.target = target


class Invocable(Protocol):
    """A script block as cmdlets see it: opaque, run through ``Context.invoke``."""

    text: str


class Context(Protocol):
    """What a running cmdlet may ask of its host (implemented by the shell)."""

    @property
    def engine(self) -> Any:
        """The engine façade (``engine.service.Engine``), opened on first use."""

    @property
    def registry(self) -> Any:
        """The session's ``cmdlets.registry.Registry`` (Get-Command, Get-Help)."""

    @property
    def cwd(self) -> Path:
        """The session's current directory; relative paths resolve against it."""

    @property
    def interactive(self) -> bool:
        """True when a person is at a terminal (prompts and progress bars allowed)."""

    def resolve_path(self, path: str) -> Path: ...

    def invoke(
        self, block: Invocable, input_object: Any = None, args: Sequence[Any] = ()
    ) -> list[Any]:
        """Run ``block`` with ``$_`` bound to ``input_object``; return its output."""

    def write_host(self, text: str, *, newline: bool = True, color: str | None = None) -> None: ...

    def write_warning(self, text: str) -> None: ...

    def write_verbose(self, text: str) -> None: ...

    def write_error(self, error: BaseException) -> None:
        """Report a non-terminating error; processing of the next input goes on."""

    def should_process(self, target: str, action: str) -> bool:
        """Return False under -WhatIf (after printing 'What if: ...') or a declined -Confirm."""

    @property
    def whatif(self) -> bool:
        """True under -WhatIf (or ``$WhatIfPreference``): a cmdlet that previews checks its
        input fully first, then shows what it would do, and changes nothing."""

    def progress(self, activity: str, status: str, fraction: float | None = None) -> None:
        """Show or update a progress bar (a terminal) or a plain progress line (piped)."""

    def progress_done(self, activity: str) -> None: ...

    def render(self, objects: Sequence[Any]) -> str:
        """Format objects as the console would show them (used by Out-File, Out-String)."""


class Cmdlet:
    """Base class of every cmdlet; subclasses set the class attributes and override hooks."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    synopsis: ClassVar[str] = ""
    description: ClassVar[str] = ""
    examples: ClassVar[tuple[Example, ...]] = ()
    parameters: ClassVar[tuple[Parameter, ...]] = ()
    default_parameter_set: ClassVar[str | None] = None
    # -WhatIf/-Confirm are accepted only when this is true (SupportsShouldProcess).
    supports_should_process: ClassVar[bool] = False
    # High-impact cmdlets (Remove-*, Complete-*) confirm unless -Confirm:$false or -Force.
    confirm_impact: ClassVar[str] = "Medium"
    # The type names of the objects this cmdlet writes (Get-Command's OutputType).
    output_type: ClassVar[str] = ""

    def begin(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        return ()

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        return ()

    def end(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        return ()

    @classmethod
    def parameter_sets(cls) -> list[str]:
        """Names of the declared parameter sets, default first; [ALL_SETS] when none."""
        names: list[str] = []
        for param in cls.parameters:
            for set_name in param.sets:
                if set_name not in names:
                    names.append(set_name)
        if cls.default_parameter_set in names:
            names.remove(cls.default_parameter_set)
            names.insert(0, cls.default_parameter_set)
        return names or [ALL_SETS]


@dataclass
class PSObject:
    """An output record: ordered properties with case-insensitive lookup and a type name.

    ``type_names`` follow PowerShell (most specific first).  ``display`` is the default
    display property set; ``view`` forces ``"table"`` or ``"list"`` (as a format.ps1xml
    view would), else the shell picks a table for four or fewer shown properties; ``labels``
    renames the default table's column headers.
    """

    properties: dict[str, Any] = field(default_factory=dict)
    type_names: tuple[str, ...] = ("System.Management.Automation.PSCustomObject",)
    display: tuple[str, ...] = ()
    view: str | None = None
    # Column headers of the default table view where they differ from the property name, as
    # a format.ps1xml view's labels (Exchange Online shows BatchId as "Batch").
    labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._folded = {name.casefold(): name for name in self.properties}

    def has(self, name: str) -> bool:
        return name.casefold() in self._folded

    def get(self, name: str, default: Any = None) -> Any:
        actual = self._folded.get(name.casefold())
        return default if actual is None else self.properties[actual]

    def set(self, name: str, value: Any) -> None:
        actual = self._folded.setdefault(name.casefold(), name)
        self.properties[actual] = value

    def names(self) -> list[str]:
        return list(self.properties)

    @property
    def type_name(self) -> str:
        return self.type_names[0] if self.type_names else ""


@dataclass(frozen=True)
class PSCredential:
    """``System.Management.Automation.PSCredential``: a user name and a sealed password.

    ``password`` is an ``engine.secrets.Secret`` (a SecureString in PowerShell terms).
    """

    user_name: str
    password: Any

    def __repr__(self) -> str:
        return f"PSCredential(user_name={self.user_name!r}, password=********)"
