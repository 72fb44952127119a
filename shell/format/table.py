"""Table layout as PowerShell 7 draws it (``Format-Table`` and the default table view).

Rules (PowerShell 7 ``TableWriter`` behaviour, see tests for the examples they come from):

* one space between columns; the last column gets no trailing padding;
* the header row, then an underline of ``-`` as long as each header label (not the column),
  aligned like the label;
* text columns are left-aligned, number columns right-aligned (headers too); a column's
  alignment follows its first non-null value unless given;
* columns are as wide as their widest cell or header (headers count even when hidden, as in
  PowerShell); when the table is wider than the line, the widest columns shrink (never below
  a few columns), then columns that still do not fit are dropped from the right;
* a cell too long for its column is cut and ends with ``…``; with ``wrap`` it continues on
  the next lines instead.  A multi-line value shows its first line (plus ``…``) unless wrapped.

The caller adds the blank lines PowerShell prints around a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shell.format.values import ELLIPSIS, cell_text, is_number, pad, text_width, truncate, wrap

MIN_SHRUNK_WIDTH = 5


@dataclass(frozen=True)
class Column:
    """One column: its label, alignment (None = from the data) and optional fixed width."""

    header: str
    align: str | None = None  # "left" | "right"
    width: int | None = None


def table_lines(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Any]],
    *,
    width: int = 120,
    hide_headers: bool = False,
    wrap_cells: bool = False,
) -> list[str]:
    """The lines of a table of raw ``rows`` (values, not text) under ``columns``."""
    if not columns:
        return []
    right = [_is_right(column, [row[i] for row in rows]) for i, column in enumerate(columns)]
    texts = [[cell_text(value) for value in row] for row in rows]
    widths = _fit(_natural_widths(columns, texts), columns, width)
    shown = len(widths)
    lines: list[str] = []
    if not hide_headers:
        shown_columns = list(zip(columns, widths, strict=False))
        headers = [truncate(c.header, w) for c, w in shown_columns]
        lines.append(_line(headers, widths, right))
        underline = ["-" * min(text_width(c.header), w) for c, w in shown_columns]
        lines.append(_line(underline, widths, right))
    for row in texts:
        lines.extend(_row_lines(row[:shown], widths, right[:shown], wrap_cells))
    return [line.rstrip() for line in lines]


def _line(cells: Sequence[str], widths: Sequence[int], right: Sequence[bool]) -> str:
    """Cells padded to their columns (numbers to the right) and joined by one space."""
    return " ".join(pad(text, w, right=r) for text, w, r in zip(cells, widths, right, strict=False))


def _is_right(column: Column, values: list[Any]) -> bool:
    if column.align:
        return column.align.casefold() == "right"
    first = next((value for value in values if value is not None), None)
    return is_number(first)


def _natural_widths(columns: Sequence[Column], texts: list[list[str]]) -> list[int]:
    widths = []
    for index, column in enumerate(columns):
        if column.width:
            widths.append(column.width)
            continue
        cells = [max((text_width(line) for line in row[index].splitlines()), default=0)
                 for row in texts]
        widths.append(max([text_width(column.header), *cells]))
    return widths


def _fit(widths: list[int], columns: Sequence[Column], limit: int) -> list[int]:
    """Shrink the widest flexible columns, then drop columns from the right, to fit ``limit``."""
    widths = list(widths)
    floor = [
        w if c.width else min(w, MIN_SHRUNK_WIDTH) for w, c in zip(widths, columns, strict=True)
    ]
    while _total(widths) > limit:
        candidates = [i for i, w in enumerate(widths) if w > floor[i]]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: (widths[i], i))
        widths[widest] -= 1
    while len(widths) > 1 and _total(widths) > limit:
        widths.pop()
    return widths


def _total(widths: list[int]) -> int:
    return sum(widths) + max(0, len(widths) - 1)


def _row_lines(row: list[str], widths: list[int], right: list[bool], wrap_cells: bool) -> list[str]:
    if wrap_cells:
        cells = [wrap(text, w) for text, w in zip(row, widths, strict=True)]
    else:
        cells = [[_one_line(text, w)] for text, w in zip(row, widths, strict=True)]
    height = max((len(cell) for cell in cells), default=1)
    return [
        _line([cell[n] if n < len(cell) else "" for cell in cells], widths, right)
        for n in range(height)
    ]


def _one_line(text: str, width: int) -> str:
    lines = text.splitlines()
    if len(lines) <= 1:
        return truncate(text, width)
    first = truncate(lines[0], width)
    # more lines follow: show that with an ellipsis unless the cut already added one
    return first if first.endswith(ELLIPSIS) else truncate(first + ELLIPSIS + " ", width)
