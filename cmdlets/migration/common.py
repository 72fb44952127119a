"""Parameter declarations and conversions the migration cmdlets share.

Exchange marks ``-Identity`` as position 1 (the first positional parameter; imsh counts from
0) and as taking pipeline input; imsh binds it by value (a record turns into its Identity) and
by property name (``Get-MigrationUser | Get-MigrationUserStatistics``). Parameters that exist
only on-premises or only for other migration kinds are declared ``unsupported``.

A parameter that takes a value or ``$null`` is declared ``OBJECT`` (the binder refuses
``$null`` for typed parameters) and converted here: :func:`credentials`, :func:`timespan`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from cmdlets.base import BoundArguments, CmdletError, Context, Parameter, PSCredential
from cmdlets.base import ParamType as T
from engine.limits import parse_unlimited
from engine.secrets import Credential, Secret
from engine.values import parse_timespan


def identity(noun: str, *, mandatory: bool = False, sets: tuple[str, ...] = ()) -> Parameter:
    return Parameter("Identity", T.STRING, mandatory=mandatory, position=0, sets=sets,
                     from_pipeline=True, from_pipeline_by_name=True,
                     help=f"The {noun}: its name (the Identity property value).")


def checked(ctx: Context, target: str, action: str, operation: Callable[[Any], object]) -> bool:
    """``ctx.should_process`` that, under -WhatIf, first makes every check of the real
    operation (``Engine.check``: the operation runs and is rolled back; no runner starts), so
    -WhatIf fails exactly as the command would, and only then says what it would do."""
    if ctx.whatif:
        ctx.engine.check(operation)
    return ctx.should_process(target, action)


def unsupported(*names: str, switch: bool = False) -> tuple[Parameter, ...]:
    """Exchange parameters imsh accepts syntactically and refuses when given."""
    kind = T.SWITCH if switch else T.OBJECT
    return tuple(Parameter(name, kind, unsupported=True,
                           help="Exchange parameter not supported by imsh.") for name in names)


ON_PREMISES = unsupported("DomainController", "Partition")


def optional(args: BoundArguments, name: str) -> Any:
    return args.get(name)


def strings(args: BoundArguments, name: str) -> tuple[str, ...]:
    value = optional(args, name)
    if value is None:
        return ()
    items = value if isinstance(value, list | tuple) else [value]
    return tuple(str(item).strip() for item in items if str(item).strip())


def unlimited(args: BoundArguments, name: str) -> int | None:
    """An ``Unlimited<int>`` parameter that was given: the number, or None for Unlimited."""
    return parse_unlimited(name, args[name])


def credentials(args: BoundArguments, name: str = "Credentials") -> Credential | None:
    value = optional(args, name)
    if value is None:
        return None
    if not isinstance(value, PSCredential) or not isinstance(value.password, Secret):
        raise CmdletError(f"-{name} needs a PSCredential (Get-Credential or New-Object "
                          "System.Management.Automation.PSCredential).", "InvalidArgument",
                          "InvalidCredential")
    return Credential(value.user_name, value.password)


def timespan(args: BoundArguments, name: str) -> timedelta | None:
    """An ``OBJECT`` parameter that takes a TimeSpan or ``$null``, converted as the binder
    converts a TimeSpan: a TimeSpan, text such as ``'1.00:00:00'`` or ``'06:00:00'``, or a
    number of ticks."""
    value = optional(args, name)
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return timedelta(microseconds=value / 10)
    parsed = parse_timespan(value) if isinstance(value, str) else None
    if parsed is None:
        raise CmdletError(
            f"Cannot bind parameter '{name}'. Cannot convert value \"{value}\" to type "
            '"System.TimeSpan". Error: "Input string was not in a correct format."',
            "InvalidArgument", "CannotConvertArgumentNoMessage", target=value)
    return parsed


