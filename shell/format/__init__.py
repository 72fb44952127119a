"""Formatting: how objects become console text, CSV and JSON, PowerShell 7 style.

``render(objects, width)`` is Out-Default (see ``console``); the submodules own one job each:
``values`` (cell text), ``table``, ``listing``, ``formatted`` (Format-* objects), ``select``
(property selection), ``wildcard``, ``csvtext`` and ``jsontext``.
"""

from shell.format.console import render
from shell.format.formatted import FormattedList, FormattedOutput, FormattedTable, TextBlock

__all__ = ["FormattedList", "FormattedOutput", "FormattedTable", "TextBlock", "render"]
