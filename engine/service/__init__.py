"""The engine's façade for the cmdlets: :class:`Engine` and the request/record types it speaks.

One module per noun (endpoints, batches, users, statistics, config, availability); the shared
rules for stopping users and the runner contract are in :mod:`engine.service.common`.
"""

from engine.service.engine import Engine

__all__ = ["Engine"]
