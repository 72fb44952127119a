"""The general-purpose cmdlets of imsh (pipeline, sorting/grouping/measuring, formatting,
CSV/JSON, files, objects, help).

``BUILTIN_CMDLETS`` is every one of them, in registration order. It is built on first access,
so that importing one of the modules (the session's registry does, cmdlet by cmdlet:
shell/cmdlet_index.py) does not import all the others.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name != "BUILTIN_CMDLETS":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from shell.builtins.aggregate import AGGREGATE_CMDLETS
    from shell.builtins.csvjson import CSV_JSON_CMDLETS
    from shell.builtins.everyday import EVERYDAY_CMDLETS
    from shell.builtins.explore import EXPLORE_CMDLETS
    from shell.builtins.formatting import FORMATTING_CMDLETS
    from shell.builtins.help import HELP_CMDLETS
    from shell.builtins.io import IO_CMDLETS
    from shell.builtins.objects import OBJECT_CMDLETS
    from shell.builtins.pipeline import PIPELINE_CMDLETS

    return (
        *PIPELINE_CMDLETS,
        *AGGREGATE_CMDLETS,
        *FORMATTING_CMDLETS,
        *CSV_JSON_CMDLETS,
        *IO_CMDLETS,
        *OBJECT_CMDLETS,
        *EXPLORE_CMDLETS,
        *EVERYDAY_CMDLETS,
        *HELP_CMDLETS,
    )


__all__ = ["BUILTIN_CMDLETS"]
