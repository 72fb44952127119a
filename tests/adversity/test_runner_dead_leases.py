"""A runner killed with SIGKILL (OOM killer, reboot) must not hold its users for a minute, nor
make the shell believe a runner exists (issue step 8, item 8).

The kill lands in the middle of an initial pass through a throttled source link (so that there
is a pass to interrupt); the lease TTL is the production default (60 s). Afterwards the shell's
own cmdlets must get the migration going again at once: the dead runner's leases are free
because its PID is gone (engine/runner/liveness.py).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.corpus import generate
from tests.adversity.runner_support import CliMigration, wait_for
from tests.support.servers import ImapServer
from tests.support.tcp_proxy import Fault, every_connection

pytestmark = [pytest.mark.servers, pytest.mark.slow]

CORPUS = generate(73, 80, max_size=64 * 1024)
THROTTLE = Fault("trickle", after=20_000, chunk=4096, interval=0.02)  # about 200 kB/s a link


@pytest.fixture
def migration(tmp_path: Path, dovecot: ImapServer,
              dovecot_target: ImapServer) -> Iterator[CliMigration]:
    m = CliMigration.create(tmp_path, dovecot, dovecot_target, CORPUS, proxy_source=True)
    assert m.source_proxy is not None
    m.source_proxy.set_faults(every_connection(down=THROTTLE))
    yield m
    m.close()


def kill_runner_mid_pass(m: CliMigration) -> int:
    """Start the batch, SIGKILL its runner once some messages arrived; the killed PID."""
    m.setup_batch()
    wait_for(lambda: m.target_count() >= 5, 60, "the first copies on the target")
    pids = m.runner_lease_pids()
    assert len(pids) == 1, pids
    os.kill(pids[0], signal.SIGKILL)
    wait_for(lambda: pids[0] not in m.runner_pids(), 10, "the runner to die")
    assert m.target_count() < len(CORPUS), "the pass finished before the kill"
    return pids[0]


def test_wait_after_a_sigkilled_runner_gets_the_batch_finished(migration: CliMigration) -> None:
    m = migration
    kill_runner_mid_pass(m)
    result = m.run("Wait-MigrationBatch -Identity B -TimeoutSeconds 45 | Out-Null", timeout=90)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{m.diagnostics()}"
    assert m.batch_status() == "Synced"
    assert m.compare() is None


def test_sync_now_after_a_sigkilled_runner_launches_a_runner_at_once(
        migration: CliMigration) -> None:
    m = migration
    killed = kill_runner_mid_pass(m)
    m.ok("Set-MigrationBatch -Identity B -SyncNow")
    wait_for(lambda: any(pid != killed for pid in m.runner_pids()), 10,
             "-SyncNow to launch a runner")
    wait_for(lambda: m.user_status() == "Synced", 45, "the resumed pass to finish")
    assert m.compare() is None


def test_wait_says_plainly_when_no_runner_can_work_on_the_batch(
        tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer) -> None:
    """A runner that cannot start (here: a syncer that does not exist) leaves nobody to work on
    the batch; Wait-MigrationBatch says so instead of waiting out its whole timeout."""
    m = CliMigration.create(tmp_path, dovecot, dovecot_target, generate(74, 5),
                            IMSH_SERVICE_SYNCER="no.such.module:sync")
    try:
        m.setup_batch()
        started = time.monotonic()
        result = m.run("Wait-MigrationBatch -Identity B -TimeoutSeconds 90", timeout=120)
        took = time.monotonic() - started
        assert result.returncode != 0
        assert "No runner is working on the migration batch" in result.stdout + result.stderr, (
            result.stdout + result.stderr)
        assert took < 60, f"Wait took {took:.0f} s to say that nobody works on the batch"
    finally:
        m.close()
