"""Incremental syncs happen by themselves, through the real ``imsh`` console script and the
on-demand runner it launches (no systemd unit): the runner stays alive while the batch has
passes due, a SIGKILLed runner is replaced by the next command that reads state, and the
admin is warned when passes are due but no runner will run them.

The batch's ``-IncrementalSyncInterval`` is 3 seconds (imsh accepts 1 s up to 365 days,
engine/runner/intervals.py) so the test takes seconds, not the issue's two minutes: the
mechanism is the same for a minute or a day. The suite switches keep-alive off for every other
test (tests/conftest.py); the imsh processes here say which they want.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.paths import resolve_state_paths
from engine.runner.liveness import parse_owner
from engine.store import Store
from scripts.corpus import ImapParams, generate, load_imap
from tests.support.loopback import LoopbackServer
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers]

ROOT = Path(__file__).resolve().parents[2]
ADDRESS = "kim@contoso.com"
INTERVAL = "00:00:03"


class Admin:
    """Runs imsh lines on one state directory as an admin would, from a work directory."""

    def __init__(self, state: Path, work: Path) -> None:
        self.state, self.work = state, work

    def imsh(self, line: str, *, keep_alive: bool = True) -> subprocess.CompletedProcess[str]:
        command = shutil.which("imsh")
        argv = [command] if command else [sys.executable, "-m", "shell.main"]
        env = {**os.environ, "IMSH_HOME": "", "PYTHONPATH": str(ROOT),
               "IMSH_RUNNER_KEEP_ALIVE": "1" if keep_alive else "0"}
        env.pop("IMSH_SERVICE_SYNCER", None)
        result = subprocess.run([*argv, "--state", str(self.state), "-c", line], cwd=self.work,
                                env=env, capture_output=True, text=True, timeout=120,
                                check=False)
        assert result.returncode == 0, f"{line}: {result.stdout}\n{result.stderr}"
        return result

    def store(self) -> Store:
        return Store.open(resolve_state_paths(self.state))

    def last_success(self) -> datetime | None:
        with self.store() as store:
            return store.users.get(ADDRESS).last_successful_sync_at

    def runner_pids(self) -> list[int]:
        with self.store() as store:
            owners = [parse_owner(lease.owner) for lease in store.leases.active(prefix="runner:")]
        return [owner.pid for owner in owners if owner is not None]


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.2)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "State:\tZ" not in Path(
        f"/proc/{pid}/status").read_text(errors="replace")


@pytest.fixture
def admin(tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer) -> Iterator[Admin]:
    """A batch of one small mailbox, synced once, with a 3-second incremental interval; the
    runner launched for it was told not to stay (keep-alive off), so it has exited."""
    work = tmp_path / "work"
    work.mkdir()
    admin = Admin(tmp_path / "state", work)
    source_user, target_user = dovecot.fresh_user(), dovecot_target.fresh_user()
    load_imap(ImapParams(dovecot.host, dovecot.port, source_user, dovecot.password),
              generate(11, 5, max_size=4096))
    (work / "users.csv").write_text(
        "EmailAddress,UserName,Password,TargetUserName,TargetPassword\n"
        f"{ADDRESS},{source_user},{dovecot.password},{target_user},{dovecot_target.password}\n",
        encoding="utf-8")
    admin.imsh(
        f"New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port}"
        " -Security None | Out-Null; New-MigrationEndpoint -IMAP -Name Target -RemoteServer "
        f"127.0.0.1 -Port {dovecot_target.port} -Security None | Out-Null; "
        "New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint Target -CSVData "
        "(Get-Content users.csv -AsByteStream) -IncrementalSyncInterval 00:00:30 -AutoStart"
        " | Out-Null; Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 60"
        " | Out-Null", keep_alive=False)
    wait_for(lambda: not admin.runner_pids(), 30, "the runner that was not kept alive to exit")
    try:
        yield admin
    finally:
        for pid in admin.runner_pids():  # a failed test must not leave its runner behind
            if alive(pid):
                os.kill(pid, signal.SIGTERM)


def test_admin_is_warned_when_passes_are_due_and_no_runner_will_run_them(admin: Admin) -> None:
    listed = admin.imsh("Get-MigrationBatch -Identity B1 | Out-Null", keep_alive=False)
    assert 'WARNING: The migration batch "B1" has passes due' in listed.stderr
    assert "no runner is running to perform them" in listed.stderr
    assert admin.runner_pids() == []


def test_batch_keeps_syncing_by_itself_and_after_its_runner_is_killed(admin: Admin) -> None:
    first = admin.last_success()
    assert first is not None
    # Any command that reads state starts a runner for the due passes; it says nothing then.
    changed = admin.imsh(f"Set-MigrationBatch -Identity B1 -IncrementalSyncInterval {INTERVAL}")
    assert "WARNING" not in changed.stderr, changed.stderr
    wait_for(lambda: len(admin.runner_pids()) == 1, 20, "a runner for the due passes")
    # The incremental passes then come with no further command: at least two of them, so the
    # runner waited for the next one rather than exiting after the first.
    runner = admin.runner_pids()[0]
    seen: set[datetime] = set()

    def two_more_passes() -> bool:
        last = admin.last_success()
        if last is not None and last != first:
            seen.add(last)
        return len(seen) >= 2
    wait_for(two_more_passes, 30, "two incremental passes with no command")
    assert admin.runner_pids() == [runner] and alive(runner)
    listed = admin.imsh("Get-MigrationBatch -Identity B1 | Out-Null")
    assert "WARNING" not in listed.stderr, listed.stderr

    # SIGKILL (the OOM killer): the next command that reads state starts another runner.
    os.kill(runner, signal.SIGKILL)
    wait_for(lambda: not alive(runner), 10, "the killed runner to die")
    killed_at = admin.last_success()
    admin.imsh("Get-MigrationUser | Out-Null")
    wait_for(lambda: (admin.runner_pids() or [runner])[0] != runner, 20, "a new runner")
    wait_for(lambda: admin.last_success() != killed_at, 30, "a pass after the kill")

    # Stopping the batch leaves nothing due: the runner exits by itself.
    replacement = admin.runner_pids()[0]
    admin.imsh("Stop-MigrationBatch -Identity B1 -Confirm:$false")
    wait_for(lambda: not alive(replacement), 30, "the runner to exit once nothing is due")


def test_diagnostic_names_the_logs_and_the_runner_output_does_not_repeat_the_log(
        admin: Admin) -> None:
    shown = admin.imsh("(Get-MigrationUserStatistics -Identity kim@contoso.com -Diagnostic)"
                       ".DiagnosticInfo", keep_alive=False)
    logs = admin.state / "logs"
    assert f"logs: {logs / 'imsh-service.log'}, {logs / 'imsh-runner.out'}" in shown.stdout
    service_log = (logs / "imsh-service.log").read_text(encoding="utf-8")
    assert "starting the initial sync of kim@contoso.com" in service_log
    output = (logs / "imsh-runner.out").read_text(encoding="utf-8")
    assert "starting the initial sync" not in output  # the log is in one file, not two
    assert {path.stat().st_mode & 0o777 for path in logs.iterdir()} == {0o600}


class SlowMailServer(LoopbackServer):
    """A mail server that never says hello: it accepts a connection, keeps it silent for
    ``delay`` seconds and hangs up. A runner's last notification round waits that long."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        threading.Timer(self.delay, conn.close).start()


def test_sync_now_asked_while_the_runner_is_leaving_still_runs(
        tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer) -> None:
    """The runner that found nothing due sends its last mail before it exits (here to a mail
    server that takes 8 s to hang up), holding its lease: a -SyncNow meanwhile sees a runner
    and launches none. Before the fix that runner then left, and the pass asked for never
    came."""
    mail = SlowMailServer(delay=8.0)
    work = tmp_path / "work"
    work.mkdir()
    admin = Admin(tmp_path / "state", work)
    source_user, target_user = dovecot.fresh_user(), dovecot_target.fresh_user()
    load_imap(ImapParams(dovecot.host, dovecot.port, source_user, dovecot.password),
              generate(12, 5, max_size=4096))
    (work / "users.csv").write_text(
        "EmailAddress,UserName,Password,TargetUserName,TargetPassword\n"
        f"{ADDRESS},{source_user},{dovecot.password},{target_user},{dovecot_target.password}\n",
        encoding="utf-8")
    try:
        admin.imsh(
            f"Set-MigrationConfig -SmtpServer 127.0.0.1 -SmtpPort {mail.port} -SmtpSecurity "
            "None -SmtpFrom imsh@migration.test | Out-Null; New-MigrationEndpoint -IMAP -Name "
            f"Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null; "
            "New-MigrationEndpoint -IMAP -Name Target -RemoteServer 127.0.0.1 -Port "
            f"{dovecot_target.port} -Security None | Out-Null; New-MigrationBatch -Name B1 "
            "-SourceEndpoint Source -TargetEndpoint Target -CSVData (Get-Content users.csv "
            "-AsByteStream) -NotificationEmails admin@contoso.com -AutoStart | Out-Null; "
            "Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 60 | Out-Null",
            keep_alive=False)
        first = admin.last_success()
        assert first is not None
        [leaving] = admin.runner_pids()  # nothing is due: it is sending its last mail
        asked = datetime.now(UTC)
        admin.imsh("Set-MigrationBatch -Identity B1 -SyncNow", keep_alive=False)
        assert admin.runner_pids() == [leaving]  # so the shell launched no other runner
        assert mail.connections >= 1

        wait_for(lambda: (admin.last_success() or asked) > asked, 60,
                 "the pass asked for while the runner was leaving")
        wait_for(lambda: not admin.runner_pids(), 60, "the runner to exit afterwards")
    finally:
        mail.close()
        for pid in admin.runner_pids():
            if alive(pid):
                os.kill(pid, signal.SIGTERM)
