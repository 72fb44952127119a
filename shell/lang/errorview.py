"""Error display in Windows PowerShell 5.1's NormalView layout.

Command and runtime errors::

    Get-MigrationBatch : The migration batch "b1" couldn't be found.
    At line:1 char:1
    + Get-MigrationBatch b1
    + ~~~~~~~~~~~~~~~~~~~~~
        + CategoryInfo          : ObjectNotFound: (b1:String) [Get-MigrationBatch], ...
        + FullyQualifiedErrorId : NotFound,Get-MigrationBatch

Parse errors put the position first and the message after the underline, as PowerShell does.
Errors of a script file say ``At /path/file.imsh:3 char:5`` instead of ``At line:3 char:5``.
"""

from __future__ import annotations

from shell.lang.errors import ErrorRecord
from shell.lang.tokens import Extent


def position_lines(extent: Extent | None) -> list[str]:
    if extent is None:
        return []
    line, col = extent.line, extent.col
    name = extent.source.name
    where = f"At line:{line} char:{col}" if name.startswith("<") or name == "-c" else (
        f"At {name}:{line} char:{col}")
    text = extent.source.line_text(line).replace("\t", " ").rstrip("\r")
    end_of_line = len(text) + 1
    end_col = min(col + max(extent.end - extent.start, 1), end_of_line if end_of_line > col
                  else col + 1)
    underline = " " * (col - 1) + "~" * max(end_col - col, 1)
    return [where, "+ " + text, "+ " + underline]


def format_record(record: ErrorRecord) -> str:
    """The full NormalView text of an error record (lines joined by newlines)."""
    info = record.CategoryInfo
    details = [
        f"    + CategoryInfo          : {info.Category}: ({info.TargetName}:{info.TargetType}) "
        f"[{info.Activity}], {info.Reason}",
        f"    + FullyQualifiedErrorId : {record.FullyQualifiedErrorId}",
    ]
    position = position_lines(record.extent)
    if record.parse_error:
        return "\n".join([*position, record.message, *details])
    head = f"{record.command} : {record.message}" if record.command else record.message
    return "\n".join([head, *position, *details])
