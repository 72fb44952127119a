"""The engine's façade for the cmdlets: :class:`Engine` and the request/record types it speaks.

One module per noun (endpoints, batches, users, statistics, config, availability); the shared
rules for stopping users and the runner contract are in :mod:`engine.service.common`.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.service.engine import Engine

__all__ = ["Engine"]


def __getattr__(name: str) -> Any:
    # Loaded on first use (PEP 562): the runner imports single service modules (config,
    # proofs) and must not load the whole façade with them.
    if name == "Engine":
        from engine.service.engine import Engine

        return Engine
    raise AttributeError(f"module 'engine.service' has no attribute {name!r}")
