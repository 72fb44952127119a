"""The real sync executor, paced, for ``imsh service`` subprocesses (``IMSH_SERVICE_SYNCER``).

It runs ``engine.sync.executor.sync_user`` unchanged against real servers, but appends in
batches of ``IMSH_TEST_BATCH_COUNT`` messages (default 2) and, after each append batch is
recorded, notes ``<pid> <user id> <time>`` in ``IMSH_TEST_STEP_LOG`` and sleeps
``IMSH_TEST_STEP_DELAY`` seconds. So a test can tell that a pass is under way and signal the
service in the middle of it; the executor itself, its cancel checks and its state are the
production ones.
"""

from __future__ import annotations

import os
import time

from engine.runner import CancelToken, StoreFactory, SyncJob, SyncOutcome
from engine.sync import faults
from engine.sync.executor import SyncOptions
from engine.sync.executor import sync_user as real_sync_user


def sync_user(store_factory: StoreFactory, job: SyncJob, token: CancelToken) -> SyncOutcome:
    delay = float(os.environ.get("IMSH_TEST_STEP_DELAY", "0"))
    log_path = os.environ.get("IMSH_TEST_STEP_LOG")

    def hook(step: str) -> None:
        if step != faults.AFTER_RECORD:
            return
        if log_path:
            with open(log_path, "a", encoding="ascii") as log:
                log.write(f"{os.getpid()} {job.user_id} {time.time()}\n")
        time.sleep(delay)

    options = SyncOptions(batch_count=int(os.environ.get("IMSH_TEST_BATCH_COUNT", "2")),
                          maildir_fsync=False, hook=hook)
    return real_sync_user(store_factory, job, token, options=options)
