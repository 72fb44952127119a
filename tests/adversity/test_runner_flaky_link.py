"""A flaky link (connections cut every ~1 MB) must still carry a migration through in one go
(issue step 8, item 9): a dropped connection costs that connection's batch, not the pass; a
pass that made progress resets the backoff; Start-MigrationUser and -SyncNow retry a user that
waits in backoff now.

All through the real ``imsh`` console script, real Dovecot on both sides, and the loopback
proxy cutting each connection after a number of bytes (source side: bytes to imsh; target
side: bytes from imsh).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.corpus import generate
from tests.adversity.runner_support import CliMigration, wait_for
from tests.support.servers import ImapServer
from tests.support.tcp_proxy import Fault, every_connection

pytestmark = [pytest.mark.servers, pytest.mark.slow]

CORPUS = generate(79, 300, max_size=96 * 1024)
MEGABYTE = 1024 * 1024
IN_ONE_GO = 120  # seconds; the old code took minutes (30 s, 1 min, 2 min ... backoffs)


@pytest.fixture
def migration(tmp_path: Path, dovecot: ImapServer,
              dovecot_target: ImapServer) -> Iterator[CliMigration]:
    m = CliMigration.create(tmp_path, dovecot, dovecot_target, CORPUS, proxy_source=True,
                            proxy_target=True)
    yield m
    m.close()


def finish(m: CliMigration) -> float:
    started = time.monotonic()
    result = m.run(f"Wait-MigrationBatch -Identity B -TimeoutSeconds {IN_ONE_GO} | Out-Null",
                   timeout=IN_ONE_GO + 30)
    took = time.monotonic() - started
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{m.diagnostics()}"
    assert m.compare() is None
    return took


def test_a_source_link_cut_every_megabyte_still_migrates_in_one_go(
        migration: CliMigration) -> None:
    m = migration
    assert m.source_proxy is not None
    m.source_proxy.set_faults(every_connection(down=Fault("cut", after=MEGABYTE)))
    m.setup_batch()
    took = finish(m)
    assert m.source_proxy.cuts >= 3, "the link was hardly cut: the test proves nothing"
    print(f"{len(CORPUS)} messages in {took:.0f} s through {m.source_proxy.cuts} source cuts")


def test_a_target_link_cut_every_megabyte_still_migrates_in_one_go(
        migration: CliMigration) -> None:
    m = migration
    assert m.target_proxy is not None
    m.target_proxy.set_faults(every_connection(up=Fault("cut", after=MEGABYTE)))
    m.setup_batch()
    took = finish(m)
    assert m.target_proxy.cuts >= 3, "the link was hardly cut: the test proves nothing"
    print(f"{len(CORPUS)} messages in {took:.0f} s through {m.target_proxy.cuts} target cuts")


def dead_link_then_healed(m: CliMigration) -> None:
    """The source refuses every connection until the first pass failed; then it is healed."""
    assert m.source_proxy is not None
    m.setup_batch(autostart=False)  # New-MigrationEndpoint tests the link: healthy still
    m.source_proxy.set_faults(every_connection(down=Fault("cut", after=0)))
    m.ok("Start-MigrationBatch -Identity B")
    wait_for(lambda: any("Transient error" in text for text in m.report()), 30,
             "the first pass to fail transiently")
    m.source_proxy.set_faults(None)


def test_start_migration_user_retries_a_user_waiting_in_backoff_now(
        migration: CliMigration) -> None:
    m = migration
    dead_link_then_healed(m)
    m.ok(f"Start-MigrationUser -Identity {m.source_user}@example.org")
    wait_for(lambda: m.user_status() == "Synced", 15, "the retried pass to finish")
    assert m.compare() is None


def test_sync_now_retries_a_user_waiting_in_backoff_now(migration: CliMigration) -> None:
    m = migration
    dead_link_then_healed(m)
    m.ok("Set-MigrationBatch -Identity B -SyncNow")
    wait_for(lambda: m.user_status() == "Synced", 15, "the retried pass to finish")
    assert m.compare() is None
