"""The runner: claims due migration users through leases and runs their syncs in the background.

``jobs`` is the seam between the runner and the sync executor (what one job is, what it returns,
how it is cancelled); ``scheduler`` holds the pure decisions (who starts now, retry backoff, when
the next incremental sync is due); ``status`` names the user statuses the runner moves through;
``passes`` writes a pass's claim, start and result to the store; ``housekeeping`` settles stopped
users and removed batches nobody is syncing; ``runner`` is the loop; ``launcher`` starts a
detached runner process. docs/service.md describes the behaviour.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.runner.jobs import (
        CancelReason,
        CancelToken,
        OutcomeKind,
        StoreFactory,
        SyncJob,
        SyncKind,
        SyncOutcome,
        UserSyncer,
    )
    from engine.runner.runner import Runner

# The names are loaded on first use (PEP 562): a console command needs only the small
# ``launcher``/``liveness``/``intervals`` modules, and importing this package must not drag in the
# loop, the jobs and through them the whole sync engine.
_HOMES = {"Runner": "engine.runner.runner"}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'engine.runner' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(_HOMES.get(name, "engine.runner.jobs")), name)


__all__ = [
    "CancelReason",
    "CancelToken",
    "OutcomeKind",
    "Runner",
    "StoreFactory",
    "SyncJob",
    "SyncKind",
    "SyncOutcome",
    "UserSyncer",
]
