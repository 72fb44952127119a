"""List layout as PowerShell shows it (``Format-List`` and the default list view).

Each record is a block of ``Name : value`` lines with names padded to the longest name of
the record.  A value too long for the line, or spanning several lines, continues on the
following lines indented to the value column.  Empty values leave ``Name :`` alone.
The caller separates records with the blank lines PowerShell prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shell.format.values import cell_text, pad, text_width, wrap


def list_lines(pairs: Sequence[tuple[str, Any]], *, width: int = 120) -> list[str]:
    """The lines of one record shown as a list."""
    if not pairs:
        return []
    label_width = max(text_width(name) for name, _ in pairs)
    indent = " " * (label_width + 3)
    value_width = max(10, width - label_width - 3)
    lines: list[str] = []
    for name, value in pairs:
        text_lines = wrap(cell_text(value), value_width)
        lines.append(f"{pad(name, label_width)} : {text_lines[0]}".rstrip())
        lines.extend((indent + more).rstrip() for more in text_lines[1:])
    return lines
