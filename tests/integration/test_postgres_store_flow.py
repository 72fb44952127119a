"""A migration end to end with the state in PostgreSQL: ``.imsh`` scripts run by the real
``imsh`` console script with ``--database postgresql://...``, the detached runner the shell
launches (it inherits the database through ``IMSH_DATABASE``), real Dovecot source and target,
and the session's throwaway PostgreSQL cluster (tests/support/postgres.py).

The mailbox arrives identical; a second pass copies nothing; the state directory holds the key
and the logs but no ``state.db``: every row is in PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from engine.paths import DB_NAME, resolve_state_paths
from engine.store import Store
from scripts.compare import ImapSource, ImapSpec, compare
from scripts.corpus import ImapParams, generate, load_imap
from tests.integration.test_incremental_flow import counters
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers]

ROOT = Path(__file__).resolve().parents[2]
ADDRESS = "ann@contoso.com"


def run_imsh(state: Path, database: str, work: Path, name: str, script: str) -> str:
    path = work / f"{name}.imsh"
    path.write_text("$ErrorActionPreference = 'Stop'\n" + script, encoding="utf-8")
    command = shutil.which("imsh")
    argv = [command] if command else [sys.executable, "-m", "shell.main"]
    env = {**os.environ, "IMSH_HOME": "", "PYTHONPATH": str(ROOT)}
    for inherited in ("IMSH_SERVICE_SYNCER", "IMSH_DATABASE"):
        env.pop(inherited, None)  # the database must come from --database alone
    result = subprocess.run([*argv, "--state", str(state), "--database", database, str(path)],
                            cwd=work, env=env, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, f"{name}: {result.stdout}\n{result.stderr}"
    return result.stdout


def wait_until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.2)


def test_a_migration_with_the_state_in_postgresql_is_identical_and_a_second_pass_copies_nothing(
    tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer, postgres_url: str
) -> None:
    work, state = tmp_path / "work", tmp_path / "state"
    work.mkdir()
    source_user, target_user = dovecot.fresh_user(), dovecot_target.fresh_user()
    load_imap(ImapParams(dovecot.host, dovecot.port, source_user, dovecot.password),
              generate(7, 30, max_size=8 * 1024))
    csv = work / "users.csv"
    csv.write_text("EmailAddress,UserName,Password,TargetUserName,TargetPassword\n"
                   f"{ADDRESS},{source_user},{dovecot.password},{target_user},"
                   f"{dovecot_target.password}\n", encoding="utf-8")
    paths = dataclasses.replace(resolve_state_paths(state, env={}), database=postgres_url)

    def store() -> Store:
        return Store.open(paths)

    def no_runner() -> bool:
        with store() as opened:
            return not opened.leases.active(prefix="runner:")

    out = run_imsh(state, postgres_url, work, "migrate", f"""
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
New-MigrationEndpoint -IMAP -Name Target -RemoteServer 127.0.0.1 -Port {dovecot_target.port} -Security None | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint Target -CSVData ([System.IO.File]::ReadAllBytes("{csv}")) -AutoStart | Out-Null
Write-Output "initial: $((Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 90).Status)"
""")  # noqa: E501
    assert "initial: Synced" in out
    wait_until(no_runner, 30, "the runner to exit")

    source = ImapSource(ImapSpec(dovecot.host, dovecot.port, source_user, dovecot.password))
    target = ImapSource(ImapSpec(dovecot_target.host, dovecot_target.port, target_user,
                                 dovecot_target.password))
    try:
        report = compare(source, target)
    finally:
        source.close()
        target.close()
    assert report.identical, report.format()

    # the state is in PostgreSQL, not in a state.db beside the key
    assert not (state / DB_NAME).exists() and paths.key_file.exists()
    with psycopg.connect(postgres_url) as pg:
        copied = pg.execute("SELECT COUNT(*) FROM message_states WHERE state = 'copied'"
                            ).fetchone()
        users = pg.execute("SELECT email_address, status FROM migration_users").fetchall()
    assert copied is not None and copied[0] == 30
    assert [u[0] for u in users] == [ADDRESS]

    before = counters(dovecot_target, target_user)
    asked = datetime.now(UTC)

    def passed() -> bool:
        with store() as opened:
            last = opened.users.get(ADDRESS).last_successful_sync_at
        return last is not None and last > asked

    run_imsh(state, postgres_url, work, "syncnow", "Set-MigrationBatch -Identity B1 -SyncNow\n")
    wait_until(passed, 60, "the second pass")
    wait_until(no_runner, 30, "the runner to exit")
    assert counters(dovecot_target, target_user) == before  # nothing appended, stored, expunged
    with store() as opened:
        stats = opened.statistics.get(opened.users.get(ADDRESS).id)
    assert stats.synced_item_count == 30
