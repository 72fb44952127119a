"""Stand-in syncers for ``imsh service`` subprocesses in tests (``IMSH_SERVICE_SYNCER``).

They do no IMAP work: each notes ``<pid> <user id> <start time>`` in the file named by
``IMSH_TEST_SYNC_LOG`` and then either returns at once (:func:`quick`) or "syncs" for
``IMSH_TEST_SYNC_SECONDS`` seconds, stopping at once when cancelled (:func:`slow`).
"""

from __future__ import annotations

import os
import time

from engine.runner import CancelToken, StoreFactory, SyncJob, SyncOutcome


def _note(job: SyncJob) -> None:
    with open(os.environ["IMSH_TEST_SYNC_LOG"], "a", encoding="ascii") as log:
        log.write(f"{os.getpid()} {job.user_id} {time.time()}\n")


def quick(store_factory: StoreFactory, job: SyncJob, token: CancelToken) -> SyncOutcome:
    _note(job)
    return SyncOutcome.ok()


def slow(store_factory: StoreFactory, job: SyncJob, token: CancelToken) -> SyncOutcome:
    _note(job)
    seconds = float(os.environ.get("IMSH_TEST_SYNC_SECONDS", "60"))
    return SyncOutcome.stopped() if token.wait(seconds) else SyncOutcome.ok()
