"""A Maildir target with runners on several hosts, through the real ``imsh`` console script.

Two runner hosts serve the PostgreSQL state (their ``runner:`` leases, as ``imsh service``
on ``host1`` and ``host2`` hold them). Start-MigrationBatch into the default Maildir target
is refused with a PowerShell-style error that says why and what to do, and queues nobody;
once the administrator marks the endpoint ``-SharedStorage``, the same Start works.
``-SharedStorage`` on an IMAP endpoint is refused.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from engine.paths import resolve_state_paths
from engine.store import Store
from tests.integration.test_postgres_store_flow import ROOT
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers]


def imsh(state: Path, database: str, work: Path, script: str) -> subprocess.CompletedProcess[str]:
    path = work / "step.imsh"
    path.write_text("$ErrorActionPreference = 'Stop'\n" + script, encoding="utf-8")
    command = shutil.which("imsh")
    argv = [command] if command else [sys.executable, "-m", "shell.main"]
    env = {**os.environ, "IMSH_HOME": "", "PYTHONPATH": str(ROOT)}
    env.pop("IMSH_DATABASE", None)
    return subprocess.run([*argv, "--state", str(state), "--database", database, str(path)],
                          cwd=work, env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def test_a_maildir_target_is_refused_with_runners_on_two_hosts_until_marked_shared(
    tmp_path: Path, dovecot: ImapServer, postgres_url: str
) -> None:
    work, state = tmp_path / "work", tmp_path / "admin"
    work.mkdir()
    user = dovecot.fresh_user()
    csv = work / "users.csv"
    csv.write_text(f"EmailAddress,UserName,Password\nann@contoso.com,{user},{dovecot.password}\n",
                   encoding="utf-8")
    made = imsh(state, postgres_url, work, f"""
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Source -CSVData ([System.IO.File]::ReadAllBytes("{csv}")) | Out-Null
""")  # noqa: E501
    assert made.returncode == 0, made.stdout + made.stderr
    paths = resolve_state_paths(state, env={"IMSH_DATABASE": postgres_url})
    for host in ("host1", "host2"):  # two runner hosts serve this state
        with Store.open(replace(paths, host=host)) as store:
            assert store.leases.acquire(f"runner:{host}:4242:0:ab12cd34",
                                        f"{host}:4242:0:ab12cd34", timedelta(minutes=5))

    refused = imsh(state, postgres_url, work, "Start-MigrationBatch -Identity B1")
    assert refused.returncode != 0
    shown = refused.stdout + refused.stderr
    assert "Start-MigrationBatch : The Maildir endpoint 'LocalMaildir'" in shown
    assert "(host1, host2)" in shown and "-SharedStorage" in shown
    assert "MaildirNotShared,Start-MigrationBatch" in shown
    assert "Traceback" not in shown
    with Store.open(paths) as store:
        assert store.users.get("ann@contoso.com").next_sync_due_at is None  # nobody queued

    wrong = imsh(state, postgres_url, work, "Set-MigrationEndpoint -Identity Source -SharedStorage")
    assert wrong.returncode != 0
    assert "-SharedStorage applies to Maildir endpoints only" in wrong.stdout + wrong.stderr

    started = imsh(state, postgres_url, work, """
Set-MigrationEndpoint -Identity LocalMaildir -SharedStorage
Write-Output "shared: $((Get-MigrationEndpoint -Identity LocalMaildir).SharedStorage)"
Start-MigrationBatch -Identity B1
Write-Output "status: $((Get-MigrationBatch -Identity B1).Status)"
""")
    assert started.returncode == 0, started.stdout + started.stderr
    assert "shared: True" in started.stdout
    with Store.open(paths) as store:
        assert store.users.get("ann@contoso.com").next_sync_due_at is not None
