"""Starting a runner on demand: is one serving the state directory, and launch one detached.

Start-MigrationBatch (through the façade's ``runner_launcher``) asks :func:`runner_is_active`;
if no unexpired ``runner:`` lease of a live runner exists it starts
``imsh service --until-idle`` with :func:`launch_detached`, which puts the process in a
session of its own (so a terminal's hangup or the shell's exit does not reach it) with its
output appended to a log file.

Two shells starting batches at the same instant would both see no runner; :func:`claim_launch`
takes a short ``launch`` lease first so only one of them launches. Were both to start a runner
anyway, the user leases would still keep them from syncing one user twice.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from engine.runner.liveness import free_dead_leases
from engine.store import Store

log = logging.getLogger(__name__)

RUNNER_PREFIX = "runner:"
LAUNCH_RESOURCE = "launch"
LAUNCH_TTL = timedelta(seconds=15)
LOG_MODE = 0o600


def runner_is_active(store: Store, now: datetime | None = None) -> bool:
    """True if some runner that is not provably dead holds an unexpired ``runner:`` lease on
    this state (a SIGKILLed runner's lease is freed here, engine/runner/liveness.py)."""
    free_dead_leases(store, now, RUNNER_PREFIX)
    return bool(store.leases.active(now, RUNNER_PREFIX))


def claim_launch(store: Store, owner: str, now: datetime | None = None) -> bool:
    """Take the short-lived ``launch`` lease; False if another live process is launching a
    runner."""
    free_dead_leases(store, now, LAUNCH_RESOURCE)
    return store.leases.acquire(LAUNCH_RESOURCE, owner, LAUNCH_TTL, now)


def launch_detached(
    command: Sequence[str],
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start ``command`` in a new session, stdin from /dev/null, output appended to
    ``log_path`` (mode 0600); it outlives the caller. Returns its process id."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, LOG_MODE)
    try:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=fd,
            start_new_session=True,
            close_fds=True,
            env=dict(env) if env is not None else None,
            cwd=cwd,
        )
    finally:
        os.close(fd)
    # Reap the child if it exits while this process still lives, so no zombie lingers; if this
    # process exits first, init adopts the child.
    threading.Thread(target=process.wait, name="imsh-runner-reaper", daemon=True).start()
    log.info("started a runner (pid %d): %s", process.pid, " ".join(command))
    return process.pid
