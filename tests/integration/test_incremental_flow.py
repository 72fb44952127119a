"""Incremental sync end to end through ``.imsh`` scripts run by the real ``imsh`` console script,
with the detached runner the shell launches and real Dovecot source and target.

One flow: migrate a corpus; change the source in every way (new messages, flags and
keywords, deletions, moves between folders, a new folder, a renamed folder); one pass makes
source and target identical; a second pass changes nothing on the target; a UIDVALIDITY reset
on the source (a folder deleted and recreated with the same messages) duplicates nothing;
Complete-MigrationBatch runs a final pass and no pass follows; Remove-MigrationBatch removes
the batch's state and no mail on either side.

The passes are asked for with ``Set-MigrationBatch -SyncNow`` (Exchange's "start an immediate
sync for users that have already reached Synced status"); ``Start-MigrationBatch`` on a Synced
batch does the same (issue 5), tested separately below.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from imapclient import IMAPClient

from engine.paths import resolve_state_paths
from engine.store import Store
from scripts.compare import ImapSource, ImapSpec, compare
from scripts.corpus import MIN_FULL_COUNT, ImapParams, generate, load_imap
from tests.integration.test_sync_incremental import change_everything
from tests.support.servers import ImapServer

pytestmark = [pytest.mark.servers, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CORPUS = generate(53, MIN_FULL_COUNT + 20, max_size=64 * 1024)
ADDRESS = "ann@contoso.com"
Counters = dict[str, tuple[int, int, int]]


@dataclass
class Flow:
    """A state directory, a work directory for scripts, one source and one target mailbox."""

    state: Path
    work: Path
    source: ImapServer
    source_user: str
    target: ImapServer
    target_user: str

    def imsh(self, name: str, script: str) -> str:
        """Run ``script`` as ``NAME.imsh``; its output (the test fails on a non-zero exit)."""
        path = self.work / f"{name}.imsh"
        path.write_text("$ErrorActionPreference = 'Stop'\n" + script, encoding="utf-8")
        command = shutil.which("imsh")
        argv = [command] if command else [sys.executable, "-m", "shell.main"]
        env = {**os.environ, "IMSH_HOME": "", "PYTHONPATH": str(ROOT)}
        env.pop("IMSH_SERVICE_SYNCER", None)
        result = subprocess.run([*argv, "--state", str(self.state), str(path)], cwd=self.work,
                                env=env, capture_output=True, text=True, timeout=120,
                                check=False)
        assert result.returncode == 0, f"{name}: {result.stdout}\n{result.stderr}"
        return result.stdout

    def store(self) -> Store:
        return Store.open(resolve_state_paths(self.state))

    def last_success(self) -> datetime | None:
        with self.store() as store:
            return store.users.get(ADDRESS).last_successful_sync_at

    def sync_now(self) -> None:
        """-SyncNow, and wait until the pass it asked for ended well."""
        asked = datetime.now(UTC)
        self.imsh("syncnow", "Set-MigrationBatch -Identity B1 -SyncNow\n")
        wait_for(lambda: (self.last_success() or asked) > asked, 60, "the incremental pass",
                 self.log_tail)
        self.wait_for_no_runner()

    def log_tail(self, lines: int = 30) -> str:
        """The runner's last log lines: what a CI failure report needs to say why."""
        path = self.state / "logs" / "imsh-service.log"
        if not path.exists():
            return "(no runner log)"
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])

    def wait_for_no_runner(self) -> None:
        """Until the detached runner has exited (it leaves once nothing is due)."""
        def no_runner() -> bool:
            with self.store() as store:
                return not store.leases.active(prefix="runner:")
        wait_for(no_runner, 30, "the runner to exit", self.log_tail)

    def compare(self) -> str | None:
        a = ImapSource(ImapSpec(self.source.host, self.source.port, self.source_user,
                                self.source.password))
        b = ImapSource(ImapSpec(self.target.host, self.target.port, self.target_user,
                                self.target.password))
        try:
            report = compare(a, b)
        finally:
            a.close()
            b.close()
        return None if report.identical else report.format()

    def source_client(self) -> IMAPClient:
        return self.source.login(self.source_user)


def wait_for(condition: Callable[[], bool], timeout: float, what: str,
             explain: Callable[[], str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            detail = f"\n{explain()}" if explain is not None else ""
            pytest.fail(f"{what}: not within {timeout} s{detail}")
        time.sleep(0.1)


def counters(server: ImapServer, user: str) -> Counters:
    """Per folder: UIDNEXT, MESSAGES, HIGHESTMODSEQ. Any APPEND, STORE or EXPUNGE moves one."""
    client = server.login(user)
    try:
        result = {}
        for _flags, _sep, name in client.list_folders():
            status = client.folder_status(name, [b"UIDNEXT", b"MESSAGES", b"HIGHESTMODSEQ"])
            result[name] = (status[b"UIDNEXT"], status[b"MESSAGES"], status[b"HIGHESTMODSEQ"])
        return result
    finally:
        client.logout()


def reset_uidvalidity(client: IMAPClient, folder: str) -> int:
    """Delete ``folder`` and recreate it with the same messages (a new UIDVALIDITY)."""
    client.select_folder(folder, readonly=True)
    uids = client.search(["ALL"])
    rows = client.fetch(uids, ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"])
    client.close_folder()
    client.delete_folder(folder)
    client.create_folder(folder)
    for uid in sorted(rows):
        row = rows[uid]
        client.append(folder, row[b"BODY[]"], [f for f in row[b"FLAGS"] if f != b"\\Recent"],
                      row[b"INTERNALDATE"])
    return len(uids)


def state_rows(state: Path) -> dict[str, int]:
    with sqlite3.connect(state / "state.db") as db:
        return {table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("batches", "migration_users", "folder_states", "message_states",
                              "user_statistics", "report_entries")}


def new_flow(tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer,
             corpus_count: int | None = None) -> Flow:
    work = tmp_path / "work"
    work.mkdir()
    flow = Flow(tmp_path / "state", work, dovecot, dovecot.fresh_user(), dovecot_target,
                dovecot_target.fresh_user())
    corpus = CORPUS if corpus_count is None else generate(5, corpus_count, max_size=8 * 1024)
    load_imap(ImapParams(dovecot.host, dovecot.port, flow.source_user, dovecot.password),
              corpus)
    csv = work / "users.csv"
    csv.write_text("EmailAddress,UserName,Password,TargetUserName,TargetPassword\n"
                   f"{ADDRESS},{flow.source_user},{dovecot.password},{flow.target_user},"
                   f"{dovecot_target.password}\n", encoding="utf-8")
    out = flow.imsh("migrate", f"""
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {dovecot.port} -Security None | Out-Null
New-MigrationEndpoint -IMAP -Name Target -RemoteServer 127.0.0.1 -Port {dovecot_target.port} -Security None | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint Target -CSVData ([System.IO.File]::ReadAllBytes("{csv}")) -AutoStart | Out-Null
Write-Output "initial: $((Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 90).Status)"
""")  # noqa: E501
    assert "initial: Synced" in out
    flow.wait_for_no_runner()
    return flow


def test_incremental_passes_completion_and_removal(
    tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer
) -> None:
    flow = new_flow(tmp_path, dovecot, dovecot_target)
    difference = flow.compare()
    assert difference is None, difference
    # the target's NO for a folder not made yet names it in UTF-8 ("Réunions"): imapclient's
    # note that it decoded that leniently is not the admin's business
    assert "error occurred while decoding" not in flow.log_tail(10**6)

    # Every kind of change on the source; one pass brings them all.
    client = flow.source_client()
    try:
        change_everything(client)
    finally:
        client.logout()
    before = counters(flow.target, flow.target_user)
    flow.sync_now()
    difference = flow.compare()
    assert difference is None, difference
    after = counters(flow.target, flow.target_user)
    assert "Meetings" in after and "Réunions" not in after
    assert after["Meetings"][0] == before["Réunions"][0]  # renamed, nothing appended again

    # A second pass changes nothing on the target.
    flow.sync_now()
    assert counters(flow.target, flow.target_user) == after

    # A UIDVALIDITY reset re-matches the folder's messages: nothing is copied again.
    client = flow.source_client()
    try:
        assert reset_uidvalidity(client, "Archive/2020") > 0
    finally:
        client.logout()
    flow.sync_now()
    difference = flow.compare()
    assert difference is None, difference
    assert counters(flow.target, flow.target_user)["Archive/2020"][:2] == after["Archive/2020"][:2]

    # Complete: a final pass, then Completed and no further passes.
    client = flow.source_client()
    try:
        client.append("INBOX", b"Subject: before completion\r\nMessage-ID: <final@x>\r\n\r\nx\r\n")
    finally:
        client.logout()
    out = flow.imsh("complete", """
Complete-MigrationBatch -Identity B1 -Confirm:$false
Write-Output "final: $((Wait-MigrationBatch -Identity B1 -Status Completed -TimeoutSeconds 60).Status)"
Write-Output "user: $((Get-MigrationUser -Identity ann@contoso.com).Status)"
""")  # noqa: E501
    assert "final: Completed" in out and "user: Completed" in out
    flow.wait_for_no_runner()
    difference = flow.compare()  # the final pass brought the last message
    assert difference is None, difference
    with flow.store() as store:
        user = store.users.get(ADDRESS)
        passes = len(store.statistics.report_entries(user.id))
    assert user.next_sync_due_at is None
    client = flow.source_client()
    try:
        client.append("INBOX", b"Subject: after completion\r\nMessage-ID: <late@x>\r\n\r\nx\r\n")
    finally:
        client.logout()
    completed = counters(flow.target, flow.target_user)
    service = subprocess.run(
        [sys.executable, "-m", "shell.main", "--state", str(flow.state), "service",
         "--until-idle"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert service.returncode == 0, service.stderr
    assert "starting the" not in service.stderr  # no pass for a completed batch
    assert counters(flow.target, flow.target_user) == completed
    with flow.store() as store:
        assert len(store.statistics.report_entries(user.id)) == passes

    # Remove: the batch's state goes, mail stays on both sides.
    source_before = counters(flow.source, flow.source_user)
    out = flow.imsh("remove", """
Remove-MigrationBatch -Identity B1 -Confirm:$false
Write-Output "batches: $(@(Get-MigrationBatch).Count)"
""")
    assert "batches: 0" in out
    assert state_rows(flow.state) == dict.fromkeys(
        ("batches", "migration_users", "folder_states", "message_states", "user_statistics",
         "report_entries"), 0)
    assert counters(flow.target, flow.target_user) == completed
    assert counters(flow.source, flow.source_user) == source_before


def test_start_on_a_synced_batch_runs_a_pass_now(
    tmp_path: Path, dovecot: ImapServer, dovecot_target: ImapServer
) -> None:
    flow = new_flow(tmp_path, dovecot, dovecot_target, corpus_count=4)
    synced_at = flow.last_success()
    client = flow.source_client()
    try:
        client.append("INBOX", b"Subject: new\r\nMessage-ID: <start-now@x>\r\n\r\nx\r\n")
    finally:
        client.logout()
    flow.imsh("start", "Start-MigrationBatch -Identity B1\n")
    wait_for(lambda: (flow.last_success() or datetime.min.replace(tzinfo=UTC))
             > (synced_at or datetime.min.replace(tzinfo=UTC)), 15, "a pass after Start")
    difference = flow.compare()
    assert difference is None, difference
