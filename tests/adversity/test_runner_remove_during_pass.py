"""Remove-MigrationUser during a pass: once the cmdlet returned, nothing more is appended for
that user (issue step 8, item 13). Before, appends went on for seconds (the pass only looked at
its cancel token between append batches of up to 4 MB).

Real ``imsh``, real Dovecot on both sides, a throttled source link (about 70 kB/s per
connection) so that the pass is long enough to be interrupted.
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

CORPUS = generate(83, 120, max_size=96 * 1024)
THROTTLE = Fault("trickle", after=20_000, chunk=4096, interval=0.06)


@pytest.fixture
def migration(tmp_path: Path, dovecot: ImapServer,
              dovecot_target: ImapServer) -> Iterator[CliMigration]:
    m = CliMigration.create(tmp_path, dovecot, dovecot_target, CORPUS, proxy_source=True)
    assert m.source_proxy is not None
    m.source_proxy.set_faults(every_connection(down=THROTTLE))
    yield m
    m.close()


def test_remove_migration_user_during_a_pass_stops_its_appends_before_returning(
        migration: CliMigration) -> None:
    m = migration
    m.setup_batch()
    wait_for(lambda: m.target_count() >= 5, 60, "the first copies on the target")
    m.ok(f"Remove-MigrationUser -Identity {m.source_user}@example.org -Confirm:$false")
    returned = m.target_count()
    time.sleep(4.0)
    later = m.target_count()
    assert later == returned, f"{later - returned} messages appended after the cmdlet returned"
    assert returned < len(CORPUS), "the pass finished before the removal: the test proves nothing"
    gone = m.run(f"Get-MigrationUser -Identity {m.source_user}@example.org")
    assert gone.returncode != 0, "the removed user is still listed"
