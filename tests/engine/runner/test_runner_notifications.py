"""The runner sends notification mail: after a batch settles, before an idle runner exits, and
on completion (also when every user failed it) — in a thread of its own, so a sender stuck on
a dead SMTP server never starves lease renewal. The sender is a recorder here; the real SMTP
path is tested in tests/integration/test_notification_mail.py and test_notification_flow.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from engine.model import MigrationUserStatus as U
from engine.notify import SmtpSettings
from engine.paths import StatePaths, resolve_state_paths
from engine.runner import Runner, SyncJob, SyncOutcome
from engine.store import Store
from engine.transitions import BatchPhase
from tests.engine.runner.test_runner import Background, Recorder, add_batch, wait_until


@pytest.fixture
def paths(tmp_path: Path) -> StatePaths:
    return resolve_state_paths(tmp_path / "state", env={})


@pytest.fixture
def store(paths: StatePaths) -> Iterator[Store]:
    with Store.open(paths) as opened:
        SmtpSettings(server="smtp.invalid", sender="imsh@example.org").save(opened.config)
        yield opened


@dataclass
class Outbox:
    """Records the mail it is given, after ``delay`` seconds (a slow or dead SMTP server)."""

    delay: float = 0.0
    mail: list[EmailMessage] = field(default_factory=list)
    threads: set[str] = field(default_factory=set)

    def __call__(self, settings: SmtpSettings, message: EmailMessage) -> None:
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay)
        self.mail.append(message)

    @property
    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.mail]


def notify(store: Store, name: str) -> None:
    batch = store.batches.get(name)
    store.batches.update(replace(batch, notification_emails=("admin@example.org",)))


def runner(paths: StatePaths, syncer: Recorder, outbox: Outbox, lease_ttl: float = 60.0
           ) -> Runner:
    return Runner(paths, syncer, poll_interval=0.02, housekeeping_interval=0.05,
                  lease_ttl=lease_ttl, sender=outbox)


def run_until_idle(runner: Runner) -> None:
    thread = threading.Thread(target=runner.run, args=(True, threading.Event()))
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "run(until_idle=True) did not return"


def test_an_idle_runner_sends_the_has_finished_mail_before_it_exits(
    paths: StatePaths, store: Store
) -> None:
    add_batch(store, "b1", 2)
    notify(store, "b1")
    outbox = Outbox()
    run_until_idle(runner(paths, Recorder(), outbox))
    assert outbox.subjects == ['E-mail migration batch "b1" has finished']
    assert outbox.threads == {"imsh-notify"}  # never the loop's own thread


def test_a_dead_smtp_server_does_not_starve_lease_renewal(paths: StatePaths, store: Store
                                                          ) -> None:
    add_batch(store, "settled", 1, status=U.Synced, sync_kind="incremental")
    notify(store, "settled")
    [user_id] = add_batch(store, "busy", 1)
    outbox = Outbox(delay=2.0)  # far beyond the lease's 0.6 s
    syncer = Recorder(seconds=2.5)
    lapses: list[datetime] = []

    def lease_lapsed() -> bool:
        lease = store.leases.get(f"user:{user_id}")
        now = datetime.now(UTC)
        if lease is not None and lease.expires_at < now:
            lapses.append(now)  # another runner could have taken the user over here
        return store.users.get_by_id(user_id).status == "Synced"

    background = Background(runner(paths, syncer, outbox, lease_ttl=0.6))
    try:
        wait_until(lambda: store.users.get_by_id(user_id).status == "Syncing")
        settled = store.batches.get("settled")  # its mail falls due while "busy" syncs
        store.batches.update(replace(settled, initial_sync_completed_at=datetime.now(UTC)))
        wait_until(lease_lapsed, timeout=15)
    finally:
        background.finish(timeout=15)
    assert lapses == []
    assert [t.reason for t in syncer.tokens if t.reason is not None] == []
    assert 'E-mail migration batch "settled" has finished' in outbox.subjects


def test_completion_mail_goes_out_even_when_every_user_failed_it(
    paths: StatePaths, store: Store
) -> None:
    add_batch(store, "b1", 2, phase=BatchPhase.Completing, status=U.Synced,
              sync_kind="incremental")
    notify(store, "b1")

    def fail(job: SyncJob) -> SyncOutcome:
        return SyncOutcome.failed("The mailbox can't be reached.")

    outbox = Outbox()
    run_until_idle(runner(paths, Recorder(fail=fail), outbox))
    assert {u.status for u in store.users.list()} == {"CompletionFailed"}
    assert store.batches.get("b1").completed_at is not None
    assert outbox.subjects == ['E-mail migration batch "b1" has been completed - with errors']


def test_a_pass_asked_for_while_the_idle_runner_sends_its_last_mail_is_run(
    paths: StatePaths, store: Store
) -> None:
    """The shell's -SyncNow lands while the runner that found nothing due is sending its
    "has finished" mail: the shell saw the runner's lease and started none, so this runner
    must not leave without the pass (engine/runner/runner.py, Runner._leave)."""
    [user_id] = add_batch(store, "b1", 1)
    notify(store, "b1")

    class SyncNowMeanwhile(Outbox):
        def __call__(self, settings: SmtpSettings, message: EmailMessage) -> None:
            with Store.open(paths) as own:  # what Set-MigrationBatch -SyncNow commits
                user = own.users.get_by_id(user_id)
                own.users.update(replace(user, next_sync_due_at=datetime.now(UTC)))
            super().__call__(settings, message)

    syncer = Recorder()
    outbox = SyncNowMeanwhile()
    run_until_idle(runner(paths, syncer, outbox))
    assert outbox.subjects == ['E-mail migration batch "b1" has finished']
    assert [job.kind.value for job in syncer.calls] == ["initial", "incremental"]
