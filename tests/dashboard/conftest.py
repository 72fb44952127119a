# ruff: noqa: E501  (the scripts below keep one cmdlet on one line)
"""The dashboard tests' one migration: a real migration into Dovecot (ann migrates; bob fails,
his target mailbox does not exist) driven by the real ``imsh`` console script, watched from its
start by a real ``imsh dashboard`` process. Package-scoped: the HTTP and the browser tests share
it, so the suite pays for one migration.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.paths import resolve_state_paths
from engine.service import Engine
from scripts.corpus import ImapParams, generate, load_imap
from tests.dashboard.support import (
    MESSAGES,
    Migrated,
    run_script,
    start_dashboard,
    wait_until,
)
from tests.support.ports import free_port
from tests.support.servers import ImapServer


def runners(state: Path) -> int:
    with Engine.open(resolve_state_paths(state, env={})) as engine:
        return engine.count_active_runners()


@pytest.fixture(scope="package")
def migrated(tmp_path_factory: pytest.TempPathFactory, dovecot: ImapServer,
             dovecot_target: ImapServer) -> Iterator[Migrated]:
    base = tmp_path_factory.mktemp("dashboard")
    state, work = base / "state", base / "work"
    work.mkdir()
    ann_src, bob_src = dovecot.fresh_user(), dovecot.fresh_user()
    ann_dst, bob_dst = dovecot_target.fresh_user(), f"absent{uuid.uuid4().hex[:8]}"
    load_imap(ImapParams(dovecot.host, dovecot.port, ann_src, dovecot.password),
              generate(7, MESSAGES, max_size=4 * 1024))
    (work / "users.csv").write_text(
        "EmailAddress,UserName,Password,TargetUserName,TargetPassword\n"
        f"ann@contoso.com,{ann_src},{dovecot.password},{ann_dst},{dovecot_target.password}\n"
        f"bob@contoso.com,{bob_src},{dovecot.password},{bob_dst},{dovecot_target.password}\n",
        encoding="utf-8")
    run_script(state, work, "create", f"""
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
New-MigrationEndpoint -IMAP -Name Target -RemoteServer 127.0.0.1 -Port {dovecot_target.port} -Security None | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint Target -CSVData ([System.IO.File]::ReadAllBytes("users.csv")) | Out-Null
""")
    dashboard = start_dashboard(state, free_port())
    try:
        dashboard.log_in()
        run_script(state, work, "start", "Start-MigrationBatch -Identity B1")
        seen: list[dict[str, object]] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            batch = json.loads(dashboard.request("/api/overview.json").body)["batches"][0]
            if not seen or seen[-1] != batch:
                seen.append(batch)
            if batch["status"] in ("Synced", "SyncedWithErrors", "Failed"):
                break
            time.sleep(0.05)
        wait_until(lambda: runners(state) == 0, 30, "the runner to exit")
        batch_text = run_script(state, work, "export", """
Get-MigrationUser | Get-MigrationUserStatistics | Export-Csv -Path stats.csv
Get-MigrationBatch B1 | Format-List Identity,Status,TotalCount,SyncedCount,FailedCount
""")
        yield Migrated(state, work, dashboard, (dovecot.password, dovecot_target.password),
                       seen, (work / "stats.csv").read_bytes(), batch_text)
    finally:
        dashboard.stop()
