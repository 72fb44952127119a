"""Two runner processes ("hosts": each its own state directory, one shared key file) work one
batch in one PostgreSQL database: every mailbox arrives identical, each runner synced some of
the users, and no user was worked on by both (the ``user:<id>`` leases, taken inside write
transactions that take turns across processes: engine/store/pg.py).

The runners are tests/integration/pg_runner_host.py processes (the production Runner with the
paced real executor, two workers each); the batch is made and started by the real ``imsh``
console script with ``--database``, which launches no runner of its own since two serve the
database already.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from engine.paths import resolve_state_paths
from engine.store import Store
from scripts.compare import ImapSource, ImapSpec, compare
from scripts.corpus import ImapParams, generate, load_imap
from tests.integration.test_postgres_store_flow import ROOT, run_imsh, wait_until
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers]

USERS = 6
MESSAGES = 5


def test_two_runner_processes_share_a_batch_and_never_sync_the_same_user(
    tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer, postgres_url: str
) -> None:
    work, admin_state = tmp_path / "work", tmp_path / "admin"
    work.mkdir()
    pairs = [(dovecot.fresh_user(), dovecot_target.fresh_user()) for _ in range(USERS)]
    rows = ["EmailAddress,UserName,Password,TargetUserName,TargetPassword"]
    for n, (source_user, target_user) in enumerate(pairs):
        load_imap(ImapParams(dovecot.host, dovecot.port, source_user, dovecot.password),
                  generate(100 + n, MESSAGES, max_size=4 * 1024))
        rows.append(f"u{n}@contoso.com,{source_user},{dovecot.password},{target_user},"
                    f"{dovecot_target.password}")
    csv = work / "users.csv"
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    run_imsh(admin_state, postgres_url, work, "endpoints", f"""
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
New-MigrationEndpoint -IMAP -Name Target -RemoteServer 127.0.0.1 -Port {dovecot_target.port} -Security None | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint Target -CSVData ([System.IO.File]::ReadAllBytes("{csv}")) | Out-Null
""")  # noqa: E501
    steps = tmp_path / "steps.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "IMSH_HOME": "",
           "IMSH_DATABASE": postgres_url, "IMSH_KEY_FILE": str(admin_state / "secret.key"),
           "IMSH_TEST_STEP_LOG": str(steps), "IMSH_TEST_STEP_DELAY": "0.15",
           "IMSH_TEST_BATCH_COUNT": "1"}
    hosts = [subprocess.Popen([sys.executable, "-m", "tests.integration.pg_runner_host",
                               str(tmp_path / f"host{n}")], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for n in (1, 2)]
    paths = resolve_state_paths(admin_state, env={"IMSH_DATABASE": postgres_url})
    try:
        def both_serving() -> bool:
            with Store.open(paths) as store:
                return len(store.leases.active(prefix="runner:")) == 2
        wait_until(both_serving, 30, "both runners to start")
        out = run_imsh(admin_state, postgres_url, work, "start", """
Start-MigrationBatch -Identity B1
Write-Output "synced: $((Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 120).Status)"
""")  # noqa: E501
        assert "synced: Synced" in out
    finally:
        for host in hosts:
            host.send_signal(signal.SIGTERM)
        errors = [host.communicate(timeout=60)[1].decode(errors="replace") for host in hosts]
    assert [host.returncode for host in hosts] == [0, 0], errors

    for source_user, target_user in pairs:
        source = ImapSource(ImapSpec(dovecot.host, dovecot.port, source_user, dovecot.password))
        target = ImapSource(ImapSpec(dovecot_target.host, dovecot_target.port, target_user,
                                     dovecot_target.password))
        try:
            report = compare(source, target)
        finally:
            source.close()
            target.close()
        assert report.identical, report.format()

    workers: dict[int, set[int]] = defaultdict(set)  # user id -> the runner pids that synced it
    for line in steps.read_text(encoding="ascii").splitlines():
        pid, user_id, _ = line.split()
        workers[int(user_id)].add(int(pid))
    assert len(workers) == USERS
    assert all(len(pids) == 1 for pids in workers.values()), workers
    by_runner = {pid for pids in workers.values() for pid in pids}
    assert by_runner == {host.pid for host in hosts}  # each runner synced some of them
