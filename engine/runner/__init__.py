"""The runner: claims due migration users through leases and runs their syncs in the background.

``jobs`` is the seam between the runner and the sync executor (what one job is, what it returns,
how it is cancelled); ``scheduler`` holds the pure decisions (who starts now, retry backoff, when
the next incremental sync is due); ``status`` names the user statuses the runner moves through;
``passes`` writes a pass's claim, start and result to the store; ``housekeeping`` settles stopped
users and removed batches nobody is syncing; ``runner`` is the loop; ``launcher`` starts a
detached runner process. docs/service.md describes the behaviour.
"""

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
