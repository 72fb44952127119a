"""Every wait has a deadline; Stop and SIGTERM take effect within seconds whatever the network
does (issue step 8, item 7).

The link under test trickles: one byte a second (the issue's case was one byte every 100 s),
always under the 60 s socket timeout, so no recv ever times out. Everything goes through the
real ``imsh`` console script and a real Dovecot on each side; the fault sits in a loopback TCP
proxy (tests/support/tcp_proxy.py), on the source side or on the target side.
"""

from __future__ import annotations

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

CORPUS = generate(71, 60, max_size=64 * 1024)
TRICKLE = Fault("trickle", after=40_000, chunk=1, interval=1.0)
STOP_WITHIN = 12.0  # seconds: poll interval + abort grace + recording, with room for load


@pytest.fixture
def source_side(tmp_path: Path, dovecot: ImapServer,
                dovecot_target: ImapServer) -> Iterator[CliMigration]:
    migration = CliMigration.create(tmp_path, dovecot, dovecot_target, CORPUS,
                                    proxy_source=True)
    yield migration
    migration.close()


@pytest.fixture
def target_side(tmp_path: Path, dovecot: ImapServer,
                dovecot_target: ImapServer) -> Iterator[CliMigration]:
    migration = CliMigration.create(tmp_path, dovecot, dovecot_target, CORPUS,
                                    proxy_target=True)
    yield migration
    migration.close()


def test_stop_on_a_trickling_source_link_stops_within_seconds(
        source_side: CliMigration) -> None:
    m = source_side
    assert m.source_proxy is not None
    m.source_proxy.set_faults(every_connection(down=TRICKLE))
    m.setup_batch()
    wait_for(lambda: m.source_proxy is not None and m.source_proxy.trickles > 0, 60,
             "the source link to trickle")
    time.sleep(1.0)
    m.ok("Stop-MigrationBatch -Identity B -Confirm:$false")
    took = wait_for(lambda: m.batch_status() == "Stopped", STOP_WITHIN,
                    "Stop-MigrationBatch on a trickling link to reach Stopped")
    assert m.user_status() == "Stopped", m.diagnostics()
    print(f"stopped {took:.1f} s after Stop-MigrationBatch")


def test_stop_on_a_stalled_target_link_stops_within_seconds(target_side: CliMigration) -> None:
    m = target_side
    assert m.target_proxy is not None
    # the target swallows the appends after 100 kB on each connection and never answers
    m.target_proxy.set_faults(every_connection(up=Fault("stall", after=100_000)))
    m.setup_batch()
    wait_for(lambda: m.target_proxy is not None and m.target_proxy.stalls > 0, 60,
             "the target link to stall")
    time.sleep(1.0)
    m.ok("Stop-MigrationBatch -Identity B -Confirm:$false")
    wait_for(lambda: m.batch_status() == "Stopped", STOP_WITHIN,
             "Stop-MigrationBatch on a stalled target link to reach Stopped")


def test_trickling_source_link_ends_the_pass_with_a_deadline_fault_then_resumes(
        source_side: CliMigration) -> None:
    m = source_side
    assert m.source_proxy is not None
    m.env_extra["IMSH_COMMAND_DEADLINE"] = "3"
    m.source_proxy.set_faults(every_connection(down=TRICKLE))
    m.setup_batch()
    wait_for(lambda: any("Transient error" in text for text in m.report()), 40,
             "the trickled pass to end with a transient fault")
    m.source_proxy.set_faults(None)
    m.ok("Start-MigrationUser -Identity " + f"{m.source_user}@example.org")
    m.ok("Wait-MigrationBatch -Identity B -TimeoutSeconds 90 | Out-Null", timeout=120)
    assert m.compare() is None


def test_sigterm_stops_the_service_on_a_trickling_link_within_seconds(
        source_side: CliMigration) -> None:
    m = source_side
    assert m.source_proxy is not None
    m.source_proxy.set_faults(every_connection(down=TRICKLE))
    m.setup_batch(autostart=False)
    service = m.service()
    try:
        # the service holds the state before Start, or Start launches a runner of its own
        # (under load the service may take seconds to come up)
        wait_for(lambda: bool(m.runner_owners()), 60, "the service to hold the state")
        m.ok("Start-MigrationBatch -Identity B")
        wait_for(lambda: m.source_proxy is not None and m.source_proxy.trickles > 0, 60,
                 "the source link to trickle")
        time.sleep(1.0)
        sent = time.monotonic()
        service.send_signal(signal.SIGTERM)
        try:
            code = service.wait(STOP_WITHIN)
        except Exception:
            pytest.fail(f"imsh service ignored SIGTERM for {STOP_WITHIN} s\n{m.diagnostics()}")
        print(f"imsh service exited {time.monotonic() - sent:.1f} s after SIGTERM")
        assert code == 0
        assert not m.runner_owners(), "the stopped service left its runner lease"
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()
