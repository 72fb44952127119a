"""``imsh service`` as a real process over real Dovecot source and target: incremental passes on
schedule, a clean stop on SIGTERM in the middle of a pass, and a restart that resumes it.

The batch's ``IncrementalSyncInterval`` is 2 s (set in the store: Set-MigrationBatch has no
parameter for it yet). The service runs the real executor, paced by
tests/integration/paced_syncer.py (append batches of 2 messages, 0.3 s after each) so that a
pass lasts long enough to be interrupted.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from engine.service import Engine
from engine.store.users import MigrationUserRow
from scripts.corpus import ImapParams, generate, load_imap
from tests.integration.syncenv import SyncEnv
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
INTERVAL = 2
CORPUS = generate(11, 12, max_size=16 * 1024)


@pytest.fixture
def env(dovecot: ImapServer, dovecot_target: ImapServer) -> Iterator[SyncEnv]:
    user = dovecot.fresh_user()
    load_imap(ImapParams(dovecot.host, dovecot.port, user, dovecot.password), CORPUS)
    made = SyncEnv(dovecot, user, dovecot_target, dovecot_target.fresh_user())
    with made.open_store() as store:
        batch = store.batches.get("B1")
        store.batches.update(replace(batch, incremental_sync_interval_seconds=INTERVAL))
    yield made
    made.cleanup()


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.1)


def start_service(env: SyncEnv) -> subprocess.Popen[str]:
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "IMSH_SERVICE_SYNCER": "tests.integration.paced_syncer:sync_user",
        "IMSH_TEST_STEP_DELAY": "0.3",
        "IMSH_TEST_STEP_LOG": str(step_log(env)),
        "IMSH_LEASE_TTL": "5",
        "IMSH_POLL_INTERVAL": "0.1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "shell.main", "--state", str(env.paths.root), "service"],
        cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop_service(process: subprocess.Popen[str]) -> str:
    """SIGTERM, and the service's stderr once it exited cleanly."""
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "SIGTERM received; stopping cleanly" in stderr and "Traceback" not in stderr
    return stderr


def step_log(env: SyncEnv) -> Path:
    return env.root / "steps.txt"


def steps(env: SyncEnv) -> int:
    path = step_log(env)
    return len(path.read_text().splitlines()) if path.exists() else 0


def user(env: SyncEnv) -> MigrationUserRow:
    with env.open_store() as store:
        return store.users.get_by_id(env.user_id)


def successes(env: SyncEnv) -> list[datetime]:
    """When each pass ended well, from the user's report."""
    with env.open_store() as store:
        entries = store.statistics.report_entries(env.user_id)
    return [e.created_at for e in entries if "synchronization completed" in e.message]


def leases(env: SyncEnv) -> list[str]:
    with env.open_store() as store:
        return [lease.resource for lease in store.leases.active()]


def append(env: SyncEnv, count: int, tag: str) -> None:
    client = env.source.login(env.source_user)
    try:
        for n in range(count):
            client.append("INBOX", (f"From: a@example.org\r\nSubject: {tag} {n}\r\n"
                                    f"Message-ID: <{tag}-{n}@example.org>\r\n\r\n"
                                    f"body {n}\r\n" + "x" * 2000 + "\r\n").encode(), [])
    finally:
        client.logout()


def inbox_count(server: ImapServer, login: str) -> int:
    client = server.login(login)
    try:
        return int(client.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"])
    finally:
        client.logout()


def target_has(env: SyncEnv, message_id: str) -> bool:
    assert env.target is not None and env.target_user is not None
    client = env.target.login(env.target_user)
    try:
        client.select_folder("INBOX", readonly=True)
        return bool(client.search(["HEADER", "Message-ID", message_id]))
    finally:
        client.logout()


def test_passes_on_schedule_clean_stop_mid_pass_and_resume(env: SyncEnv) -> None:
    with Engine.open(env.paths) as engine:  # no runner launcher: the service does the work
        engine.start_batch("B1")
    service = start_service(env)
    try:
        wait_for(lambda: user(env).status == "Synced", 30, "the initial sync")
        assert env.compare() is None

        # On schedule: new source mail reaches the target with no command given.
        append(env, 1, "scheduled")
        wait_for(lambda: target_has(env, "<scheduled-0@example.org>"), 15, "the new message")
        wait_for(lambda: len(successes(env)) >= 4, 20, "two more scheduled passes")
        ends = successes(env)
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(ends)]
        assert all(INTERVAL - 0.2 <= gap <= INTERVAL + 3 for gap in gaps), gaps

        # SIGTERM while a pass is copying 30 new messages, 2 per append batch.
        before = steps(env)
        append(env, 30, "bulk")
        wait_for(lambda: steps(env) >= before + 2, 20, "the bulk pass under way")
        stopped_at = datetime.now().astimezone()
        stop_service(service)
    finally:
        service.kill()
    assert leases(env) == []
    assert user(env).status == "IncrementalSyncing"  # unfinished, due for the next runner
    assert env.target_user is not None and env.target is not None
    source_total = inbox_count(env.source, env.source_user)
    assert inbox_count(env.target, env.target_user) < source_total  # it was mid-pass

    restarted = start_service(env)
    try:
        wait_for(lambda: successes(env)[-1] > stopped_at and user(env).status
                 == "IncrementalSynced", 30, "the resumed pass")
        difference = env.compare()  # every message once: nothing lost, nothing doubled
        assert difference is None, difference
        assert inbox_count(env.target, env.target_user) == source_total
        stderr = stop_service(restarted)
    finally:
        restarted.kill()
    assert "resuming the unfinished incremental sync" in stderr
    assert leases(env) == []
