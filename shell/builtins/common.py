"""Pieces every general-purpose cmdlet shares: the pipeline input parameter and errors."""

from __future__ import annotations

from typing import Any

from cmdlets.base import BoundArguments, CmdletError, Parameter, ParamType

INPUT_OBJECT = Parameter(
    "InputObject", ParamType.OBJECT, from_pipeline=True,
    help="The object to process; usually it comes from the pipeline.",
)


def has_input(args: BoundArguments) -> bool:
    """True when this ``process`` call carries a pipeline (or -InputObject) object."""
    return "InputObject" in args


def as_list(value: Any) -> list[Any]:
    """A parameter value that may be one item or several, as a list."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def invalid_argument(message: str, error_id: str = "InvalidArgument") -> CmdletError:
    return CmdletError(message, "InvalidArgument", error_id)
