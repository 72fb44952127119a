"""Two ``imsh service --database URL`` processes on one PostgreSQL database: what one runner
must learn from the other through the database alone.

- ``MaxConcurrentMigrations 1`` on the source endpoint holds across both runners: the passes
  never overlap, whichever runner claims them (the claim counts every runner's running leases
  in its own transaction: engine/runner/runner.py, engine/runner/passes.py).
- Stop-MigrationUser and Stop-MigrationBatch, typed in a console on neither runner, reach
  whichever runner holds each user within seconds (each runner reads the wanted state at
  every tick, the pass stops at its next batch boundary), and nothing is appended after;
  Remove-MigrationBatch of the stopped batch is carried out by a runner's housekeeping.

Each runner is the real console script (``python -m shell.main --state DIR --database URL
service``) with its own state directory (logs) and the one key file of the admin's state,
running the real executor paced by tests/integration/paced_syncer.py (it notes
``<pid> <user id> <time>`` per recorded append batch). A few mailboxes of a few messages.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.paths import StatePaths, resolve_state_paths
from engine.store import Store
from scripts.corpus import ImapParams, generate, load_imap
from tests.integration.test_postgres_store_flow import ROOT, run_imsh, wait_until
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers]

USERS = 3
MESSAGES = 3


@dataclass
class Setup:
    work: Path
    admin: Path
    url: str
    steps: Path
    pairs: list[tuple[str, str]]


def make_batch(tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer, url: str,
               *, users: int, messages: int, limit: int) -> Setup:
    work, admin = tmp_path / "work", tmp_path / "admin"
    work.mkdir()
    pairs = [(dovecot.fresh_user(), dovecot_target.fresh_user()) for _ in range(users)]
    rows = ["EmailAddress,UserName,Password,TargetUserName,TargetPassword"]
    for n, (source_user, target_user) in enumerate(pairs):
        load_imap(ImapParams(dovecot.host, dovecot.port, source_user, dovecot.password),
                  generate(300 + n, messages, max_size=4 * 1024))
        rows.append(f"u{n}@contoso.com,{source_user},{dovecot.password},{target_user},"
                    f"{dovecot_target.password}")
    csv = work / "users.csv"
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    run_imsh(admin, url, work, "endpoints", f"""
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None -MaxConcurrentMigrations {limit} -MaxConcurrentIncrementalSyncs {limit} | Out-Null
New-MigrationEndpoint -IMAP -Name Target -RemoteServer 127.0.0.1 -Port {dovecot_target.port} -Security None | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint Target -CSVData ([System.IO.File]::ReadAllBytes("{csv}")) | Out-Null
""")  # noqa: E501
    return Setup(work, admin, url, tmp_path / "steps.log", pairs)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in started:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def start_services(setup: Setup, tmp_path: Path, started: list[subprocess.Popen[bytes]],
                   delay: float, hosts: tuple[str, ...] = ("host1", "host2"),
                   poll: float = 0.2) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "IMSH_HOME": "",
           "IMSH_KEY_FILE": str(setup.admin / "secret.key"),
           "IMSH_SERVICE_SYNCER": "tests.integration.paced_syncer:sync_user",
           "IMSH_TEST_STEP_LOG": str(setup.steps), "IMSH_TEST_STEP_DELAY": str(delay),
           "IMSH_TEST_BATCH_COUNT": "1", "IMSH_POLL_INTERVAL": str(poll)}
    env.pop("IMSH_DATABASE", None)  # the URL comes from --database
    for host in hosts:
        started.append(subprocess.Popen(
            [sys.executable, "-m", "shell.main", "--state", str(tmp_path / host),
             "--database", setup.url, "service"],
            env={**env, "IMSH_HOST_ID": host}, cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    paths = resolve_state_paths(setup.admin, env={"IMSH_DATABASE": setup.url})

    def all_serving() -> bool:
        with Store.open(paths) as store:
            return len(store.leases.active(prefix="runner:")) == len(hosts)
    wait_until(all_serving, 30, "the runners to start")
    with Store.open(paths) as store:  # each names its host (IMSH_HOST_ID) in its lease
        assert sorted(str(lease.host) for lease in store.leases.active(prefix="runner:")) \
            == sorted(hosts)
        assert all(lease.owner.split(":")[0] == lease.host
                   for lease in store.leases.active(prefix="runner:"))


def passes(steps: Path) -> dict[int, tuple[int, float, float]]:
    """user id -> (the pid that synced it, first and last recorded batch)."""
    seen: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for line in steps.read_text(encoding="ascii").splitlines():
        pid, user_id, when = line.split()
        seen[int(user_id)].append((int(pid), float(when)))
    result = {}
    for user_id, notes in seen.items():
        pids = {pid for pid, _ in notes}
        assert len(pids) == 1, f"user {user_id} was synced by {pids}"
        times = [when for _, when in notes]
        result[user_id] = (pids.pop(), min(times), max(times))
    return result


def test_max_concurrent_migrations_1_holds_across_two_runner_processes(
    tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer, postgres_url: str,
    services: list[subprocess.Popen[bytes]],
) -> None:
    setup = make_batch(tmp_path, dovecot, dovecot_target, postgres_url, users=USERS,
                       messages=MESSAGES, limit=1)
    start_services(setup, tmp_path, services, delay=0.15)
    out = run_imsh(setup.admin, postgres_url, setup.work, "start", """
Start-MigrationBatch -Identity B1
Write-Output "synced: $((Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 120).Status)"
""")  # noqa: E501
    assert "synced: Synced" in out
    by_user = passes(setup.steps)
    assert len(by_user) == USERS
    spans = sorted((first, last, pid) for pid, first, last in by_user.values())
    for (_, end, _), (start, _, _) in itertools.pairwise(spans):
        assert start > end, f"two passes ran at once: {spans}"


def _statuses(paths: StatePaths) -> dict[str, str]:
    with Store.open(paths) as store:
        batch = store.batches.find("B1")
        if batch is None:
            return {}
        return {u.email_address: u.status for u in store.users.list(batch_id=batch.id)}


def test_stop_and_remove_reach_whichever_runner_holds_the_users_within_seconds(
    tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer, postgres_url: str,
    services: list[subprocess.Popen[bytes]],
) -> None:
    # passes far longer than the test (a second per append batch): only the stop ends them
    setup = make_batch(tmp_path, dovecot, dovecot_target, postgres_url, users=3,
                       messages=60, limit=20)
    start_services(setup, tmp_path, services, delay=2.0, poll=1.0)
    paths = resolve_state_paths(setup.admin, env={"IMSH_DATABASE": postgres_url})
    run_imsh(setup.admin, postgres_url, setup.work, "start", "Start-MigrationBatch -Identity B1")

    def all_syncing() -> bool:
        return setup.steps.exists() and len(passes(setup.steps)) == 3
    wait_until(all_syncing, 60, "all three passes to be under way")

    run_imsh(setup.admin, postgres_url, setup.work, "stop",
             "Stop-MigrationUser -Identity u0@contoso.com -Confirm:$false")
    asked = time.time()  # the stop is in the database now (the console took its own time)
    wait_until(lambda: _statuses(paths).get("u0@contoso.com") == "Stopped", 15,
               f"u0 to be stopped ({_statuses(paths)}; {_log(tmp_path)})")
    stopped_after = time.time() - asked
    stop_user = passes(setup.steps)[_user_id(paths, "u0@contoso.com")]
    assert stop_user[2] < asked + 5, "u0 went on appending after Stop-MigrationUser"
    others = _statuses(paths)
    assert others["u1@contoso.com"] == others["u2@contoso.com"] == "Syncing"

    syncing = {a for a, status in _statuses(paths).items() if status == "Syncing"}
    assert syncing, "every pass ended before the stop: nothing was left to stop"
    run_imsh(setup.admin, postgres_url, setup.work, "stop-batch",
             "Stop-MigrationBatch -Identity B1 -Confirm:$false")
    asked = time.time()
    wait_until(lambda: not {"Syncing", "Stopping"} & set(_statuses(paths).values()), 15,
               f"the batch to be stopped ({_statuses(paths)})")
    # a pass that ended on its own while the console started is Synced; the rest stopped
    assert {_statuses(paths)[a] for a in syncing} <= {"Stopped", "Synced"}
    assert "Stopped" in {_statuses(paths)[a] for a in syncing}
    batch_stopped_after = time.time() - asked
    last = max(last for _pid, _first, last in passes(setup.steps).values())
    assert last < asked + 5, "a pass went on appending after Stop-MigrationBatch"
    with Store.open(paths) as store:
        assert store.leases.active(prefix="user:") == []

    # a stopped batch may be removed; a runner's housekeeping deletes it
    run_imsh(setup.admin, postgres_url, setup.work, "remove",
             "Remove-MigrationBatch -Identity B1 -Confirm:$false")
    asked = time.time()
    wait_until(lambda: not _statuses(paths), 20, "the batch to be removed")
    removed_after = time.time() - asked
    assert max(stopped_after, batch_stopped_after, removed_after) < 10, \
        (stopped_after, batch_stopped_after, removed_after)


def _user_id(paths: StatePaths, address: str) -> int:
    with Store.open(paths) as store:
        return store.users.get(address).id


def _log(tmp_path: Path) -> str:
    return "\n".join((tmp_path / host / "logs" / "imsh-service.log").read_text()[-1500:]
                     for host in ("host1", "host2")
                     if (tmp_path / host / "logs" / "imsh-service.log").exists())
