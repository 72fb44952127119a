"""Exchange's migration parameters end to end: ``.imsh`` scripts run by the real ``imsh``
console script, with the detached runner it launches, a real Dovecot source and target.

* Microsoft's documented retry: a user fails (its target mailbox does not exist yet), the
  administrator creates the mailbox and runs ``New-MigrationBatch -Users (Get-MigrationUser
  -Status Failed)``; the user moves to the new batch and its mail arrives exactly once, while
  the user that had succeeded stays untouched in the old batch.
* -StartAfter a few seconds ahead (typed in the administrator's -TimeZone): nothing is copied
  before it, the runner starts the user at that time; -CompleteAfter completes the synced
  batch without a Complete-MigrationBatch.
* A wrong password in the CSV: the user fails; ``Set-MigrationBatch -AddUsers`` with the
  corrected file updates the user (it used to do nothing), and Start-MigrationBatch migrates it.
* -IncludeFolders and -ContentFilter typed at the console: only the included folders' mail
  received in range arrives, and the statistics count nothing else (100 %, nothing missing).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from scripts.compare import ImapSource, ImapSpec, compare
from scripts.corpus import ImapParams, generate, load_imap
from tests.integration.test_incremental_flow import counters, wait_for
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Admin:
    state: Path
    work: Path

    def imsh(self, name: str, script: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        path = self.work / f"{name}.imsh"
        path.write_text("$ErrorActionPreference = 'Stop'\n" + script, encoding="utf-8")
        command = shutil.which("imsh")
        argv = [command] if command else [sys.executable, "-m", "shell.main"]
        env = {**os.environ, "IMSH_HOME": "", "PYTHONPATH": str(ROOT)}
        env.pop("IMSH_SERVICE_SYNCER", None)
        result = subprocess.run([*argv, "--state", str(self.state), str(path)], cwd=self.work,
                                env=env, capture_output=True, text=True, timeout=120,
                                check=False)
        if ok:
            assert result.returncode == 0, f"{name}: {result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr
        return result

    def no_runner(self) -> bool:
        from engine.paths import resolve_state_paths
        from engine.store import Store
        with Store.open(resolve_state_paths(self.state)) as store:
            return not store.leases.active(prefix="runner:")


def user_rows(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines() if "@contoso.com" in line]


def identical(a: ImapServer, a_user: str, b: ImapServer, b_user: str) -> str | None:
    left = ImapSource(ImapSpec(a.host, a.port, a_user, a.password))
    right = ImapSource(ImapSpec(b.host, b.port, b_user, b.password))
    try:
        report = compare(left, right)
    finally:
        left.close()
        right.close()
    return None if report.identical else report.format()


def test_a_failed_user_retried_in_a_new_batch_gets_its_mail_once(
    tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    admin = Admin(tmp_path / "state", work)
    ann_src, bob_src = dovecot.fresh_user(), dovecot.fresh_user()
    ann_dst = dovecot_target.fresh_user()
    bob_dst = f"late{uuid.uuid4().hex[:8]}"  # its mailbox is created only after the failure
    for user, seed in ((ann_src, 3), (bob_src, 4)):
        load_imap(ImapParams(dovecot.host, dovecot.port, user, dovecot.password),
                  generate(seed, 12, max_size=4 * 1024))
    (work / "users.csv").write_text(
        "EmailAddress,UserName,Password,TargetUserName,TargetPassword\n"
        f"ann@contoso.com,{ann_src},{dovecot.password},{ann_dst},{dovecot_target.password}\n"
        f"bob@contoso.com,{bob_src},{dovecot.password},{bob_dst},{dovecot_target.password}\n",
        encoding="utf-8")
    out = admin.imsh("migrate", f"""
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
New-MigrationEndpoint -IMAP -Name Target -RemoteServer 127.0.0.1 -Port {dovecot_target.port} -Security None | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint Target -CSVData ([System.IO.File]::ReadAllBytes("users.csv")) -AutoStart | Out-Null
Write-Output "B1: $((Wait-MigrationBatch -Identity B1 -Status SyncedWithErrors -TimeoutSeconds 90).Status)"
Get-MigrationUser | Format-Table Identity,BatchId,Status -HideTableHeaders
""").stdout  # noqa: E501
    assert "B1: SyncedWithErrors" in out
    assert user_rows(out) == [
        ["ann@contoso.com", "B1", "Synced"], ["bob@contoso.com", "B1", "Failed"]]
    wait_for(admin.no_runner, 30, "the runner to exit")
    ann_before = counters(dovecot_target, ann_dst)

    dovecot_target.add_named_user(bob_dst)  # the administrator fixes the cause
    out = admin.imsh("retry", """
$Failed = Get-MigrationUser -Status Failed
New-MigrationBatch -Name "Retry Failed Users" -Users $Failed -AutoStart | Out-Null
Write-Output "retry: $((Wait-MigrationBatch -Identity 'Retry Failed Users' -Status Synced -TimeoutSeconds 90).Status)"
Get-MigrationUser | Format-Table Identity,Status -HideTableHeaders
Write-Output "B1 users: $((Get-MigrationBatch B1).TotalCount)"
""").stdout  # noqa: E501
    assert "retry: Synced" in out
    assert user_rows(out) == [
        ["ann@contoso.com", "Synced"], ["bob@contoso.com", "Synced"]]
    assert "B1 users: 1" in out
    wait_for(admin.no_runner, 30, "the runner to exit")
    difference = identical(dovecot, bob_src, dovecot_target, bob_dst)
    assert difference is None, difference
    assert counters(dovecot_target, ann_dst) == ann_before  # the old batch's user untouched


def test_start_after_holds_the_copy_until_its_time_and_complete_after_completes(
    tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    admin = Admin(tmp_path / "state", work)
    source, target = dovecot.fresh_user(), dovecot_target.fresh_user()
    load_imap(ImapParams(dovecot.host, dovecot.port, source, dovecot.password),
              generate(7, 10, max_size=4 * 1024))
    (work / "users.csv").write_text(
        "EmailAddress,UserName,Password,TargetUserName,TargetPassword\n"
        f"cat@contoso.com,{source},{dovecot.password},{target},{dovecot_target.password}\n",
        encoding="utf-8")
    start = (datetime.now(UTC) + timedelta(seconds=8)).replace(microsecond=0)
    # the administrator types local time in Tokyo (UTC+9, no daylight saving)
    tokyo = start.astimezone(timezone(timedelta(hours=9)))
    out = admin.imsh("schedule", f"""
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
New-MigrationEndpoint -IMAP -Name Target -RemoteServer 127.0.0.1 -Port {dovecot_target.port} -Security None | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint Target -CSVData ([System.IO.File]::ReadAllBytes("users.csv")) -AutoStart -StartAfter "{tokyo:%m/%d/%Y %H:%M:%S}" -CompleteAfter "{start:%Y-%m-%d %H:%M:%S}Z" -TimeZone "Tokyo Standard Time" | Out-Null
Write-Output "user: $((Get-MigrationUser cat@contoso.com).Status)"
""").stdout  # noqa: E501
    assert "user: Queued" in out
    time.sleep(1)  # the runner is up and polling
    if datetime.now(UTC) < start - timedelta(seconds=1):  # a loaded machine may be past it
        assert sum(c[1] for c in counters(dovecot_target, target).values()) == 0
    out = admin.imsh("wait", """
Write-Output "batch: $((Wait-MigrationBatch -Identity B1 -Status Completed -TimeoutSeconds 90).Status)"
Write-Output "user: $((Get-MigrationUser cat@contoso.com).Status)"
""").stdout  # noqa: E501
    assert "batch: Completed" in out and "user: Completed" in out
    from engine.paths import resolve_state_paths
    from engine.store import Store
    with Store.open(resolve_state_paths(admin.state)) as store:
        user = store.users.get("cat@contoso.com")
        first = min(e.created_at for e in store.statistics.report_entries(user.id))
    assert first >= start  # nothing happened for the user before its StartAfter
    difference = identical(dovecot, source, dovecot_target, target)
    assert difference is None, difference


def test_a_wrong_password_fixed_with_add_users_then_retried_migrates_the_user(
    tmp_path: Path, dovecot: ImapServer
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    admin = Admin(tmp_path / "state", work)
    source = dovecot.fresh_user()
    load_imap(ImapParams(dovecot.host, dovecot.port, source, dovecot.password),
              generate(9, 8, max_size=4 * 1024))
    (work / "users.csv").write_text("EmailAddress,UserName,Password\n"
                                    f"dan@contoso.com,{source},not-the-password\n",
                                    encoding="utf-8")
    out = admin.imsh("migrate", f"""
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Source -CSVData ([System.IO.File]::ReadAllBytes("users.csv")) -AutoStart | Out-Null
$null = Wait-MigrationBatch -Identity B1 -Status Failed,SyncedWithErrors -TimeoutSeconds 90 -ErrorAction SilentlyContinue
Write-Output "user: $((Get-MigrationUser dan@contoso.com).Status)"
""", ok=False).stdout  # noqa: E501
    assert "user: Failed" in out
    wait_for(admin.no_runner, 30, "the runner to exit")

    (work / "fixed.csv").write_text("EmailAddress,UserName,Password\n"
                                    f"dan@contoso.com,{source},{dovecot.password}\n",
                                    encoding="utf-8")
    out = admin.imsh("fix", """
Set-MigrationBatch -Identity B1 -AddUsers -CSVData ([System.IO.File]::ReadAllBytes("fixed.csv"))
Start-MigrationBatch -Identity B1
Write-Output "batch: $((Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 90).Status)"
Get-MigrationUserStatistics dan@contoso.com | Format-List Status,SyncedItemCount
""").stdout
    assert "batch: Synced" in out
    assert "SyncedItemCount : 8" in out
    wait_for(admin.no_runner, 30, "the runner to exit")


def test_include_folders_and_content_filter_from_the_console(
    tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    admin = Admin(tmp_path / "state", work)
    source, target = dovecot.fresh_user(), dovecot_target.fresh_user()
    client = dovecot.login(source)
    try:
        client.create_folder("Projects")
        client.create_folder("Old")
        for folder, year in (("INBOX", 2019), ("INBOX", 2024), ("Projects", 2023),
                             ("Old", 2024)):
            client.append(folder, f"Subject: {folder} {year}\r\nMessage-ID: <{folder}{year}@x>"
                          f"\r\n\r\nx\r\n".encode(), (), datetime(year, 6, 1, tzinfo=UTC))
    finally:
        client.logout()
    (work / "users.csv").write_text(
        "EmailAddress,UserName,Password,TargetUserName,TargetPassword\n"
        f"eve@contoso.com,{source},{dovecot.password},{target},{dovecot_target.password}\n",
        encoding="utf-8")
    out = admin.imsh("migrate", f"""
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
New-MigrationEndpoint -IMAP -Name Target -RemoteServer 127.0.0.1 -Port {dovecot_target.port} -Security None | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint Target -CSVData ([System.IO.File]::ReadAllBytes("users.csv")) -IncludeFolders '#Inbox#','Projects/*' -ContentFilter "Received -gt '2020-01-01'" -AutoStart | Out-Null
Write-Output "batch: $((Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 90).Status)"
Get-MigrationUserStatistics eve@contoso.com | Format-List SyncedItemCount,TotalItemsInSourceMailboxCount,PercentageComplete
""").stdout  # noqa: E501
    assert "batch: Synced" in out
    assert "SyncedItemCount                : 2" in out
    assert "TotalItemsInSourceMailboxCount : 2" in out
    assert "PercentageComplete             : 100" in out
    wait_for(admin.no_runner, 30, "the runner to exit")
    copied = counters(dovecot_target, target)
    assert (copied["INBOX"][1], copied["Projects"][1]) == (1, 1)
    assert "Old" not in copied
