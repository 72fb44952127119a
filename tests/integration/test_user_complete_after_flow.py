"""Set-MigrationUser -CompleteAfter end to end: ``.imsh`` scripts run by the real ``imsh``
console script, the kept-alive runner it launches, a real Dovecot source and target.

Two users in one batch; one of them gets a CompleteAfter a few seconds ahead. Once it has
passed, that user gets its final pass and is Completed with its mailbox identical to the
source, while the other stays Synced in a running batch: a later -SyncNow still copies new
mail for it, and none for the completed user.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.runner.liveness import parse_owner
from scripts.corpus import ImapParams, generate, load_imap
from tests.integration.test_exchange_parameters_flow import Admin, identical, user_rows
from tests.integration.test_incremental_flow import counters, wait_for
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers, pytest.mark.slow]


@pytest.fixture
def kept_alive() -> Iterator[None]:
    """The runner imsh launches stays while passes are due, as it does for an admin."""
    before = os.environ.get("IMSH_RUNNER_KEEP_ALIVE")
    os.environ["IMSH_RUNNER_KEEP_ALIVE"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("IMSH_RUNNER_KEEP_ALIVE", None)
        else:
            os.environ["IMSH_RUNNER_KEEP_ALIVE"] = before


def runner_pids(admin: Admin) -> list[int]:
    from engine.paths import resolve_state_paths
    from engine.store import Store
    with Store.open(resolve_state_paths(admin.state)) as store:
        owners = [parse_owner(lease.owner) for lease in store.leases.active(prefix="runner:")]
    return [owner.pid for owner in owners if owner is not None]


def status_of(admin: Admin, address: str) -> str:
    from engine.paths import resolve_state_paths
    from engine.store import Store
    with Store.open(resolve_state_paths(admin.state)) as store:
        return store.users.get(address).status


def append(server: ImapServer, user: str, subject: str) -> None:
    client = server.login(user)
    try:
        client.append("INBOX", f"Subject: {subject}\r\nMessage-ID: <{subject}@x>\r\n\r\n"
                               "x\r\n".encode(), (), datetime(2026, 1, 1, tzinfo=UTC))
    finally:
        client.logout()


def test_a_user_past_its_complete_after_completes_while_the_other_keeps_syncing(
    tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer, kept_alive: None
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    admin = Admin(tmp_path / "state", work)
    ann_src, bob_src = dovecot.fresh_user(), dovecot.fresh_user()
    ann_dst, bob_dst = dovecot_target.fresh_user(), dovecot_target.fresh_user()
    for user, seed in ((ann_src, 5), (bob_src, 6)):
        load_imap(ImapParams(dovecot.host, dovecot.port, user, dovecot.password),
                  generate(seed, 8, max_size=4 * 1024))
    (work / "users.csv").write_text(
        "EmailAddress,UserName,Password,TargetUserName,TargetPassword\n"
        f"ann@contoso.com,{ann_src},{dovecot.password},{ann_dst},{dovecot_target.password}\n"
        f"bob@contoso.com,{bob_src},{dovecot.password},{bob_dst},{dovecot_target.password}\n",
        encoding="utf-8")
    when = (datetime.now(UTC) + timedelta(seconds=5)).replace(microsecond=0)
    try:
        out = admin.imsh("schedule", f"""
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
New-MigrationEndpoint -IMAP -Name Target -RemoteServer 127.0.0.1 -Port {dovecot_target.port} -Security None | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint Target -CSVData ([System.IO.File]::ReadAllBytes("users.csv")) | Out-Null
Set-MigrationUser -Identity ann@contoso.com -CompleteAfter "{when:%Y-%m-%d %H:%M:%S}Z"
Start-MigrationBatch -Identity B1
Write-Output "ann: $((Get-MigrationUser ann@contoso.com).CompleteAfterUTC.ToString('u'))"
""").stdout  # noqa: E501
        assert f"ann: {when:%Y-%m-%d %H:%M:%S}Z" in out
        wait_for(lambda: status_of(admin, "ann@contoso.com") == "Completed", 40,
                 "ann's completion")
        assert datetime.now(UTC) >= when
        out = admin.imsh("after", """
Get-MigrationUser | Format-Table Identity,Status -HideTableHeaders
Write-Output "batch: $((Get-MigrationBatch B1).Status)"
""").stdout
        assert user_rows(out) == [["ann@contoso.com", "Completed"],
                                  ["bob@contoso.com", "Synced"]]
        assert "batch: Synced" in out  # the rest of the batch keeps syncing
        difference = identical(dovecot, ann_src, dovecot_target, ann_dst)
        assert difference is None, difference
        ann_done = counters(dovecot_target, ann_dst)

        append(dovecot, ann_src, "late-ann")
        append(dovecot, bob_src, "late-bob")
        out = admin.imsh("syncnow", """
Set-MigrationUser -Identity bob@contoso.com -SyncNow
Write-Output "batch: $((Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 60).Status)"
""").stdout
        assert "batch: Synced" in out
        difference = identical(dovecot, bob_src, dovecot_target, bob_dst)
        assert difference is None, difference  # bob got his new mail
        assert counters(dovecot_target, ann_dst) == ann_done  # ann, completed, got none
        admin.imsh("remove", "Remove-MigrationBatch -Identity B1 -Confirm:$false\n")
        wait_for(lambda: not runner_pids(admin), 30, "the runner to exit")
    finally:
        for pid in runner_pids(admin):  # a failed test must not leave its runner behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


def test_a_batch_whose_one_user_completed_and_the_other_failed_shows_synced_with_errors(
    tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer, kept_alive: None
) -> None:
    """ann completes alone; bob's source password is wrong, so his sync fails. ann's mail
    arrived: Get-MigrationBatch must say SyncedWithErrors, not Failed (which would tell the
    admin that nothing was moved)."""
    work = tmp_path / "work"
    work.mkdir()
    admin = Admin(tmp_path / "state", work)
    ann_src, bob_src = dovecot.fresh_user(), dovecot.fresh_user()
    ann_dst, bob_dst = dovecot_target.fresh_user(), dovecot_target.fresh_user()
    load_imap(ImapParams(dovecot.host, dovecot.port, ann_src, dovecot.password),
              generate(7, 4, max_size=4 * 1024))
    (work / "users.csv").write_text(
        "EmailAddress,UserName,Password,TargetUserName,TargetPassword\n"
        f"ann@contoso.com,{ann_src},{dovecot.password},{ann_dst},{dovecot_target.password}\n"
        f"bob@contoso.com,{bob_src},not-his-password,{bob_dst},{dovecot_target.password}\n",
        encoding="utf-8")
    when = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
    try:
        admin.imsh("schedule", f"""
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
New-MigrationEndpoint -IMAP -Name Target -RemoteServer 127.0.0.1 -Port {dovecot_target.port} -Security None | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint Target -CSVData ([System.IO.File]::ReadAllBytes("users.csv")) | Out-Null
Set-MigrationUser -Identity ann@contoso.com -CompleteAfter "{when:%Y-%m-%d %H:%M:%S}Z"
Start-MigrationBatch -Identity B1
""")  # noqa: E501
        wait_for(lambda: status_of(admin, "ann@contoso.com") == "Completed", 40,
                 "ann's completion")
        wait_for(lambda: status_of(admin, "bob@contoso.com") == "Failed", 40, "bob's failure")
        out = admin.imsh("after", 'Write-Output "batch: $((Get-MigrationBatch B1).Status)"\n')
        assert "batch: SyncedWithErrors" in out.stdout
        admin.imsh("remove", "Remove-MigrationBatch -Identity B1 -Confirm:$false\n")
        wait_for(lambda: not runner_pids(admin), 30, "the runner to exit")
    finally:
        for pid in runner_pids(admin):  # a failed test must not leave its runner behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
