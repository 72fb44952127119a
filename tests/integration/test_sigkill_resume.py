"""Crash safety, the hard way: SIGKILL real ``imsh`` processes in the middle of a migration.

A corpus of 600 messages (60 MB, several of them a few MB large) goes from one real Dovecot
into another through the real ``imsh`` console script: an ``.imsh`` script creates the
endpoints and a batch with ``-AutoStart``, which launches the detached runner
(``imsh service --until-idle``). At seeded random moments the runner is SIGKILLed (in the
first round together with the foreground ``imsh`` waiting for the batch), and the migration is
resumed, alternately by a foreground ``imsh service --until-idle`` (itself killed in its turn)
and by ``Start-MigrationBatch``, which launches a new detached runner. After the last kill a
foreground runner finishes the batch. Then the comparer must find the two mailboxes identical
(nothing lost, nothing duplicated, flags, keywords and dates kept) and the statistics must count
every source message exactly once.

Leases last 1 s (``IMSH_LEASE_TTL``) so that a killed runner's user is taken over quickly.
"""

from __future__ import annotations

import contextlib
import csv
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from scripts import compare, corpus
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SEED = 20261125
MESSAGES = 1200  # enough copying left after a late first kill for the others to land mid-copy
MAX_SIZE = 4 * 1024 * 1024
# each kill lands once the target holds a seeded random number of messages, plus this jitter
JITTER = (0.0, 0.05)
PASS_START = "starting the initial sync of"
PASS_DONE = "Initial synchronization completed"


@dataclass
class Migration:
    """One state directory, one batch B of one user, driven through the real ``imsh``."""

    work: Path
    source: ImapServer
    source_user: str
    target: ImapServer
    target_user: str

    @property
    def state(self) -> Path:
        return self.work / "state"

    @property
    def service_log(self) -> Path:
        return self.state / "logs" / "imsh-service.log"

    def imsh(self, *args: str) -> list[str]:
        command = shutil.which("imsh")
        argv = [command] if command else [sys.executable, "-m", "shell.main"]
        return [*argv, "--state", str(self.state), *args]

    def env(self) -> dict[str, str]:
        return {**os.environ, "IMSH_LEASE_TTL": "1", "IMSH_POLL_INTERVAL": "0.05",
                "IMSH_HOME": "", "PYTHONPATH": str(ROOT)}

    def popen(self, *args: str) -> subprocess.Popen[bytes]:
        with (self.work / "imsh.err").open("ab") as errors:
            return subprocess.Popen(self.imsh(*args), cwd=self.work, env=self.env(),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=errors)

    def diagnostics(self) -> str:
        errors = self.work / "imsh.err"
        shown = errors.read_text(errors="replace")[-2000:] if errors.exists() else ""
        return f"imsh stderr:\n{shown}\nservice log:\n{self._log()[-2000:]}"

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.imsh(*args), cwd=self.work, env=self.env(),
                              capture_output=True, text=True, timeout=timeout, check=False)

    def write_inputs(self) -> None:
        (self.work / "users.csv").write_text(
            "EmailAddress,UserName,Password,TargetUserName,TargetPassword\n"
            f"{self.source_user}@example.org,{self.source_user},{self.source.password},"
            f"{self.target_user},{self.target.password}\n", encoding="utf-8")
        (self.work / "migrate.imsh").write_text(f"""$ErrorActionPreference = 'Stop'
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {self.source.port} `
    -Security None
New-MigrationEndpoint -IMAP -Name Target -RemoteServer 127.0.0.1 -Port {self.target.port} `
    -Security None
New-MigrationBatch -Name B -SourceEndpoint Source -TargetEndpoint Target `
    -CSVData ([System.IO.File]::ReadAllBytes("users.csv")) -AutoStart
Wait-MigrationBatch -Identity B -TimeoutSeconds 120
""", encoding="utf-8")

    def runner_pids(self) -> list[int]:
        """Every live process serving this state: ``... --state DIR service ...``."""
        needle = f"--state {self.state} service"
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            except OSError:
                continue
            if needle in " ".join(argv):
                found.append(int(entry.name))
        return found

    def passes_started(self) -> int:
        return self._log().count(PASS_START)

    def completed(self) -> bool:
        """Has a runner finished the migration (so that there is nothing left to kill)?"""
        return PASS_DONE in self._log()

    def _log(self) -> str:
        return self.service_log.read_text(errors="replace") if self.service_log.exists() else ""

    def copied(self) -> int:
        """Messages in the target mailbox right now (a folder being created counts 0)."""
        client = self.target.login(self.target_user)
        try:
            names = [name for flags, _sep, name in client.list_folders()
                     if b"\\Noselect" not in flags and b"\\NonExistent" not in flags]
            return sum(self._messages(client, name) for name in names)
        finally:
            client.logout()

    @staticmethod
    def _messages(client: IMAPClient, name: str) -> int:
        try:
            return int(client.folder_status(name, ["MESSAGES"])[b"MESSAGES"])
        except IMAPClientError:  # listed while the runner's CREATE is still under way
            return 0

    def statistics(self) -> dict[str, str]:
        script = ("Get-MigrationUser -BatchId B | Get-MigrationUserStatistics | "
                  "Select-Object Identity,Status,SyncedItemCount,SkippedItemCount | "
                  "Export-Csv stats.csv -NoTypeInformation")
        result = self.run("-c", script)
        assert result.returncode == 0, result.stderr
        with (self.work / "stats.csv").open(encoding="utf-8", newline="") as handle:
            [row] = list(csv.DictReader(handle))
        return row


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0,
             job: Migration | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s\n{job.diagnostics() if job else ''}")
        time.sleep(0.01)


def kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # it finished on its own just now
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def migration(dovecot: ImapServer, dovecot_target: ImapServer,
              tmp_path: Path) -> Iterator[Migration]:
    source_user, target_user = dovecot.fresh_user(), dovecot_target.fresh_user()
    mailbox = corpus.generate(SEED, MESSAGES, "bench", max_size=MAX_SIZE)
    corpus.load_imap(corpus.ImapParams(dovecot.host, dovecot.port, source_user,
                                       dovecot.password), mailbox)
    job = Migration(tmp_path, dovecot, source_user, dovecot_target, target_user)
    job.write_inputs()
    yield job
    kill(job.runner_pids())  # a failed test must not leave a runner behind


def kill_first_round(job: Migration, threshold: int, rng: random.Random) -> None:
    """Start the batch from a script; kill its runner mid-copy and the waiting foreground imsh."""
    foreground = job.popen("migrate.imsh")
    kill_at(job, threshold, rng)
    kill([*job.runner_pids(), foreground.pid])
    foreground.wait(10)


def kill_foreground_runner(job: Migration, threshold: int, rng: random.Random) -> None:
    """Resume with ``imsh service --until-idle`` in the foreground; kill it mid-copy."""
    runner = job.popen("service", "--until-idle")
    kill_at(job, threshold, rng)
    kill([runner.pid])
    runner.wait(10)


def kill_started_runner(job: Migration, threshold: int, rng: random.Random) -> None:
    """Resume with ``Start-MigrationBatch``, which launches a detached runner; kill it.

    A shell launches no runner while the killed one's lease still looks alive (up to
    ``IMSH_LEASE_TTL``), so the batch is started again until a runner takes the user.
    """
    before = job.passes_started()

    def started() -> bool:
        result = job.run("-c", "Start-MigrationBatch -Identity B")
        assert result.returncode == 0, result.stderr
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            if job.passes_started() > before or job.completed():
                return True
            time.sleep(0.01)
        return False

    wait_for(started, "a runner launched by Start-MigrationBatch starts a pass", job=job)
    kill_at(job, threshold, rng)
    kill(job.runner_pids())


def kill_at(job: Migration, threshold: int, rng: random.Random) -> None:
    """Return when the target holds ``threshold`` messages (or the migration is done), plus a
    random jitter, so that the caller's kill lands at a random point of the copy."""
    wait_for(lambda: job.completed() or job.copied() >= threshold, f"{threshold} copied",
             job=job)
    time.sleep(rng.uniform(*JITTER))


def test_sigkilled_migration_resumes_without_loss_or_duplicates(migration: Migration) -> None:
    job, rng = migration, random.Random(SEED)
    rounds = [kill_first_round] + [kill_foreground_runner, kill_started_runner] * 2
    thresholds = sorted(rng.sample(range(1, MESSAGES * 9 // 10), len(rounds)))
    progress: list[int] = []  # messages on the target after each kill
    for kill_round, threshold in zip(rounds, thresholds, strict=True):
        if job.completed():
            break
        # each kill lands after the resumed runner copied some more: a threshold the target
        # had already passed would kill the resume before it copied anything
        floor = (progress[-1] if progress else 0) + MESSAGES // 30
        kill_round(job, min(max(threshold, floor), MESSAGES - 1), rng)
        wait_for(lambda: not job.runner_pids(), "the killed processes are gone", 10)
        progress.append(job.copied())

    finish = job.run("service", "--until-idle", timeout=120)
    assert finish.returncode == 0, finish.stderr

    partial = [n for n in progress if 0 < n < MESSAGES]
    # at least two kills landed mid-copy (a fast machine may finish the last resume before
    # its kill: the resumes got quicker once a dead runner's leases are freed at once)
    assert len(partial) >= 2, f"too few kills hit a pass while copying: {progress}"
    source = compare.open_source(f"imap://{job.source_user}:{job.source.password}"
                                 f"@127.0.0.1:{job.source.port}")
    target = compare.open_source(f"imap://{job.target_user}:{job.target.password}"
                                 f"@127.0.0.1:{job.target.port}")
    try:
        report = compare.compare(source, target)
    finally:
        source.close()
        target.close()
    assert report.identical, f"after kills at {progress} copied:\n{report.format()}"
    stats = job.statistics()
    # a Start-MigrationBatch that reached a batch the last runner had just synced runs an
    # incremental pass: IncrementalSynced is as right as Synced here
    assert stats["Status"] in ("Synced", "IncrementalSynced"), stats
    assert int(stats["SyncedItemCount"]) == MESSAGES, (stats, progress)
    assert int(stats["SkippedItemCount"]) == 0, stats
