"""The general-purpose cmdlets of imsh (pipeline, sorting/grouping/measuring, formatting,
CSV/JSON, files, objects, help).

``BUILTIN_CMDLETS`` is what the session registers next to the migration cmdlets.
"""

from cmdlets.base import Cmdlet
from shell.builtins.aggregate import AGGREGATE_CMDLETS
from shell.builtins.csvjson import CSV_JSON_CMDLETS
from shell.builtins.everyday import EVERYDAY_CMDLETS
from shell.builtins.explore import EXPLORE_CMDLETS
from shell.builtins.formatting import FORMATTING_CMDLETS
from shell.builtins.help import HELP_CMDLETS
from shell.builtins.io import IO_CMDLETS
from shell.builtins.objects import OBJECT_CMDLETS
from shell.builtins.pipeline import PIPELINE_CMDLETS

BUILTIN_CMDLETS: tuple[type[Cmdlet], ...] = (
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
