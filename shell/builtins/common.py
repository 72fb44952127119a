"""Pieces the general-purpose cmdlets share: the pipeline input parameter, the base of the
cmdlets that need all their input before they output, and errors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from cmdlets.base import BoundArguments, Cmdlet, CmdletError, Context, Parameter, ParamType

INPUT_OBJECT = Parameter(
    "InputObject", ParamType.OBJECT, from_pipeline=True, allow_null=True, allow_empty=True,
    help="The object to process; usually it comes from the pipeline.",
)  # pipeline data: $null and '' are objects like any other (PowerShell's [AllowNull()])


def has_input(args: BoundArguments) -> bool:
    """True when this ``process`` call carries a pipeline (or -InputObject) object."""
    return "InputObject" in args


class Collecting(Cmdlet):
    """Collects every input object in ``_items``; subclasses output in ``end``.

    ``$null`` input is dropped unless ``keeps_null`` (Sort-Object and Group-Object keep it).
    """

    keeps_null: ClassVar[bool] = False

    def __init__(self) -> None:
        self._items: list[Any] = []

    def process(self, ctx: Context, args: BoundArguments) -> Iterable[Any]:
        if has_input(args) and (self.keeps_null or args["InputObject"] is not None):
            self._items.append(args["InputObject"])
        return ()


def as_list(value: Any) -> list[Any]:
    """A parameter value that may be one item or several, as a list."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def invalid_argument(message: str, error_id: str = "InvalidArgument") -> CmdletError:
    return CmdletError(message, "InvalidArgument", error_id)
