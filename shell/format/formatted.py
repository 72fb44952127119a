"""Format objects: what ``Format-Table``/``Format-List`` emit and Out-Default prints as is.

They hold already-evaluated columns and values (calculated properties have run), and lay
themselves out only when printed, because only then is the line width known.  Like
PowerShell's format objects they are meant to end a pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shell.format.listing import list_lines
from shell.format.table import Column, table_lines


class FormattedOutput:
    """Base of the objects ``render`` prints without choosing a view itself."""

    def lines(self, width: int) -> list[str]:
        raise NotImplementedError


@dataclass(frozen=True)
class TextBlock(FormattedOutput):
    """Pre-rendered lines."""

    text_lines: tuple[str, ...]

    def lines(self, width: int) -> list[str]:
        return list(self.text_lines)


@dataclass(frozen=True)
class FormattedTable(FormattedOutput):
    """A table with its blank lines before and after, as PowerShell 7 prints it."""

    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    hide_headers: bool = False
    wrap_cells: bool = False

    def lines(self, width: int) -> list[str]:
        body = table_lines(self.columns, self.rows, width=width,
                           hide_headers=self.hide_headers, wrap_cells=self.wrap_cells)
        return ["", *body, ""]


@dataclass(frozen=True)
class FormattedList(FormattedOutput):
    """Records as ``Name : value`` blocks, each after a blank line, and a blank line at the end."""

    records: tuple[tuple[tuple[str, Any], ...], ...] = field(default_factory=tuple)

    def lines(self, width: int) -> list[str]:
        out: list[str] = []
        for pairs in self.records:
            out.append("")
            out.extend(list_lines(pairs, width=width))
        return [*out, ""] if out else []


@dataclass(frozen=True)
class GroupedTable(FormattedOutput):
    """``Format-Table -GroupBy`` and Get-Member's view: one table per group, each after a
    ``   Label: value`` heading, as PowerShell 7 prints them."""

    label: str
    columns: tuple[Column, ...]
    groups: tuple[tuple[Any, tuple[tuple[Any, ...], ...]], ...]
    indent: int = 3  # Get-Member and -GroupBy: 3 spaces; Get-ChildItem's Directory: 4

    def lines(self, width: int) -> list[str]:
        from shell.format.values import cell_text

        out: list[str] = []
        for value, rows in self.groups:
            out.extend(["", " " * self.indent + f"{self.label}: {cell_text(value)}", ""])
            out.extend(table_lines(self.columns, rows, width=width))
        return [*out, ""] if out else []


def formatted_list(records: Sequence[Sequence[tuple[str, Any]]]) -> FormattedList:
    return FormattedList(tuple(tuple(pairs) for pairs in records))
