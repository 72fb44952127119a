"""Out-Default: how the console shows a stream of output objects.

* ``$null`` shows nothing; strings, numbers and other scalars one per line;
* a date alone shows its long form between blank lines, as ``Get-Date`` does;
* records (``PSObject`` and objects with properties) are grouped in runs of the same type
  and display properties; a run is a table when its first record has ``view == "table"`` or
  at most four display properties, otherwise a list (``view == "list"`` forces that);
* hashtables show as the ``Name``/``Value`` table (Name column 30 wide, as PowerShell's view);
* format objects from ``Format-Table``/``Format-List`` print as they are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from cmdlets.base import PSObject
from shell.format.formatted import FormattedList, FormattedOutput, FormattedTable, GroupedTable
from shell.format.table import Column
from shell.format.values import long_date
from shell.lang.errors import ErrorRecord
from shell.lang.errorview import format_record
from shell.objects import display_properties, enumerate_value, get_property, to_text

TABLE_MAX_PROPERTIES = 4
HASHTABLE_NAME_WIDTH = 30


def render(objects: Sequence[Any], width: int = 120) -> str:
    """The console text for ``objects``, every line ending in a newline."""
    lines: list[str] = []
    for run in _runs(_flatten(objects)):
        lines.extend(_run_lines(run, width))
    return "".join(line + "\n" for line in lines)


def _flatten(objects: Sequence[Any]) -> Iterator[Any]:
    for obj in objects:
        yield from enumerate_value(obj)


def _shape(obj: Any) -> tuple[str, ...]:
    """Objects with equal shapes share one table or list."""
    if isinstance(obj, FormattedOutput):
        return ("format", str(id(obj)))
    if isinstance(obj, ErrorRecord):
        return ("error",)
    if isinstance(obj, PSObject) and obj.view == "string":  # shown as its text (MatchInfo)
        return ("scalar",)
    if isinstance(obj, Mapping) and not isinstance(obj, PSObject):
        return ("hashtable",)
    names = display_properties(obj)
    if not names or isinstance(obj, dt.datetime):
        return ("scalar",)
    type_name = obj.type_name if isinstance(obj, PSObject) else type(obj).__qualname__
    if type_name in GROUPED_VIEWS:  # files and directories share one listing
        return ("grouped", GROUPED_VIEWS[type_name][0])
    return ("record", type_name, *(name.casefold() for name in names))


def _runs(objects: Iterator[Any]) -> Iterator[list[Any]]:
    run: list[Any] = []
    for obj in objects:
        if run and _shape(obj) != _shape(run[0]):
            yield run
            run = []
        run.append(obj)
    if run:
        yield run


def _run_lines(run: list[Any], width: int) -> list[str]:
    first = run[0]
    if isinstance(first, FormattedOutput):
        return first.lines(width)
    kind = _shape(first)[0]
    if kind == "scalar":
        return [line for obj in run for line in _scalar_lines(obj)]
    if kind == "error":  # `$Error[0]` shows as the error was shown
        return [line for obj in run for line in format_record(obj).split("\n")]
    if kind == "hashtable":
        return _hashtable_table(run).lines(width)
    return _record_view(run).lines(width)


def _scalar_lines(obj: Any) -> list[str]:
    if isinstance(obj, dt.datetime):
        return ["", long_date(obj), ""]
    return to_text(obj).split("\n")


def _hashtable_table(run: list[Any]) -> FormattedTable:
    rows = tuple((key, value) for table in run for key, value in table.items())
    if getattr(run[0], "key_value_view", False):  # a dictionary ($PSBoundParameters)
        return FormattedTable((Column("Key", "left"), Column("Value", "left")), rows)
    columns = (Column("Name", "left", HASHTABLE_NAME_WIDTH), Column("Value", "left"))
    return FormattedTable(columns, rows)


# record types whose view is a table grouped under a "   Label: value" heading
GROUPED_VIEWS = {"Microsoft.PowerShell.Commands.MemberDefinition": ("TypeName", 3),
                 "System.IO.FileInfo": ("Directory", 4),
                 "System.IO.DirectoryInfo": ("Directory", 4)}


def _history_view(run: list[Any]) -> FormattedTable:
    """PowerShell 7's HistoryInfo table: Id (4 wide), Duration in seconds (12 wide, N3)."""
    rows = tuple((get_property(obj, "Id"),
                  f"{get_property(obj, 'Duration').total_seconds():,.3f}",
                  get_property(obj, "CommandLine")) for obj in run)
    return FormattedTable((Column("Id", "right", 4), Column("Duration", "right", 12),
                           Column("CommandLine", "left")), rows)


TABLE_VIEWS = {"Microsoft.PowerShell.Commands.HistoryInfo": _history_view}


def _record_view(run: list[Any]) -> FormattedOutput:
    first = run[0]
    view_of = TABLE_VIEWS.get(first.type_name) if isinstance(first, PSObject) else None
    if view_of is not None:
        return view_of(run)
    grouped = GROUPED_VIEWS.get(first.type_name) if isinstance(first, PSObject) else None
    if grouped is not None:
        table = grouped_table(run, grouped[0], display_properties(first))
        return GroupedTable(table.label, table.columns, table.groups, grouped[1])
    names = display_properties(first)
    view = first.view if isinstance(first, PSObject) else None
    as_table = view == "table" or (view != "list" and len(names) <= TABLE_MAX_PROPERTIES)
    if as_table:
        rows = tuple(tuple(get_property(obj, name) for name in names) for obj in run)
        labels = first.labels if isinstance(first, PSObject) else {}
        return FormattedTable(tuple(Column(labels.get(name, name)) for name in names), rows)
    return FormattedList(tuple(
        tuple((name, get_property(obj, name)) for name in names) for obj in run
    ))


def grouped_table(objects: Sequence[Any], label: str, names: Sequence[str],
                  values: Sequence[Any] | None = None) -> GroupedTable:
    """Consecutive objects with the same ``label`` value share one table (PowerShell starts a
    new group whenever the value changes, so sort first to group all of them)."""
    groups: list[tuple[Any, list[tuple[Any, ...]]]] = []
    for index, obj in enumerate(objects):
        value = values[index] if values is not None else get_property(obj, label)
        row = tuple(get_property(obj, name) for name in names)
        if groups and groups[-1][0] == value:
            groups[-1][1].append(row)
        else:
            groups.append((value, [row]))
    return GroupedTable(label, tuple(Column(name) for name in names),
                        tuple((value, tuple(rows)) for value, rows in groups))
