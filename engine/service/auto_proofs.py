"""The runner's automatic proofs: a syncer wrapped so that a proof follows the passes that
matter (after a successful initial pass, after the final pass of Complete-MigrationBatch).

Apart from engine/service/proofs.py so the runner can wrap its syncer at start without
importing the comparer, the readers and the targets a proof needs: those load with the first
proof, and an incremental pass (most runner starts: a -SyncNow, the next day's sync) never
pays for them.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.runner.jobs import CancelToken, OutcomeKind, SyncJob, SyncKind, SyncOutcome, UserSyncer
from engine.store import Store


def with_proofs(syncer: UserSyncer) -> UserSyncer:
    """The syncer, followed by the automatic proof after a successful initial pass and after
    the final pass of Complete-MigrationBatch (before the runner records the outcome)."""

    def sync_and_prove(open_store: Callable[[], Store], job: SyncJob, token: CancelToken
                       ) -> SyncOutcome:
        outcome = syncer(open_store, job, token)
        if (outcome.kind is OutcomeKind.ok and not token.cancelled
                and (job.final or job.kind is SyncKind.initial)):
            from engine.service.proofs import prove_after_pass

            prove_after_pass(open_store, job.user_id,
                             "completion" if job.final else "initial-sync",
                             cancelled=lambda: token.cancelled)
        return outcome

    return sync_and_prove
