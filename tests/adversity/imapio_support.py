"""Helpers for the IMAP-protocol adversity tests (tests/adversity/test_imapio_*.py).

:class:`CliMigration` drives one migration user through the real ``imsh`` console script
(``.imsh`` scripts run with ``--state DIR``; the shell launches the detached runner as in
production) from a source IMAP endpoint into an IMAP target or the default Maildir target;
either side may point at a :class:`tests.support.imap_proxy.ImapProxy`. The store is only read
(for counters and rows), never written, by the tests.

:func:`fill_folder` makes big folders fast: it writes small messages straight into the
Dovecot user's Maildir (the test server uses ``maildir:~/Maildir:LAYOUT=fs``), owned like the
folder, and Dovecot gives them UIDs at the next session.
"""

from __future__ import annotations

import os
import shutil
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
from tests.support.servers import ImapServer

ROOT = Path(__file__).resolve().parents[2]
ADDRESS = "ann@contoso.com"
SCRIPT_TIMEOUT = 180


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout + self.stderr


@dataclass
class CliMigration:
    """One batch ``B1`` of one user ``ADDRESS``, driven through ``imsh`` scripts."""

    work: Path
    source: ImapServer
    source_user: str
    source_port: int  # the real server's port, or a proxy's
    target: ImapServer | None = None  # None: the default Maildir target under the state dir
    target_user: str | None = None
    target_port: int | None = None

    @property
    def state(self) -> Path:
        return self.work / "state"

    def imsh(self, name: str, script: str, timeout: float = SCRIPT_TIMEOUT) -> Result:
        """Run ``script`` as ``NAME.imsh`` (errors stop it) and return what it printed."""
        path = self.work / f"{name}.imsh"
        path.write_text("$ErrorActionPreference = 'Stop'\n" + script, encoding="utf-8")
        command = shutil.which("imsh")
        argv = [command] if command else [sys.executable, "-m", "shell.main"]
        env = {**os.environ, "IMSH_HOME": "", "PYTHONPATH": str(ROOT)}
        env.pop("IMSH_SERVICE_SYNCER", None)
        done = subprocess.run([*argv, "--state", str(self.state), str(path)], cwd=self.work,
                              env=env, capture_output=True, text=True, timeout=timeout,
                              check=False)
        return Result(done.returncode, done.stdout, done.stderr)

    def start(self, wait_seconds: int = 120) -> Result:
        """Endpoints, the batch with -AutoStart, and Wait-MigrationBatch -Status Synced."""
        csv = self.work / "users.csv"
        if self.target is None:
            csv.write_text("EmailAddress,UserName,Password\n"
                           f"{ADDRESS},{self.source_user},{self.source.password}\n",
                           encoding="utf-8")
            target_line, target_arg = "", ""
        else:
            csv.write_text("EmailAddress,UserName,Password,TargetUserName,TargetPassword\n"
                           f"{ADDRESS},{self.source_user},{self.source.password},"
                           f"{self.target_user},{self.target.password}\n", encoding="utf-8")
            target_line = (f"New-MigrationEndpoint -IMAP -Name Target -RemoteServer 127.0.0.1 "
                           f"-Port {self.target_port} -Security None | Out-Null\n")
            target_arg = " -TargetEndpoint Target"
        return self.imsh("start", (
            f"New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 "
            f"-Port {self.source_port} -Security None | Out-Null\n"
            f"{target_line}"
            f"New-MigrationBatch -Name B1 -SourceEndpoint Source{target_arg} -CSVData "
            f"([System.IO.File]::ReadAllBytes('{csv}')) -AutoStart | Out-Null\n"
            f"$b = Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds {wait_seconds}\n"
            "Write-Output \"batch: $($b.Status)\"\n"), timeout=wait_seconds + 60)

    def sync_now(self, wait_seconds: int = 120) -> Result:
        """``Set-MigrationBatch -SyncNow``, then wait until that pass ended (well or not)."""
        asked = datetime.now(UTC)
        result = self.imsh("syncnow", "Set-MigrationBatch -Identity B1 -SyncNow\n")
        if result.returncode != 0:
            return result
        wait_for(lambda: self.pass_ended_after(asked), wait_seconds, "the incremental pass")
        self.wait_for_no_runner()
        return self.imsh("status", "$u = Get-MigrationUser -Identity " + ADDRESS + "\n"
                         "Write-Output \"user: $($u.Status) $($u.ErrorSummary)\"\n")

    def pass_ended_after(self, when: datetime) -> bool:
        """The pass asked for at ``when`` succeeded, failed, or ended in a transient fault."""
        with self.store() as store:
            user = store.users.get(ADDRESS)
            if user.last_successful_sync_at and user.last_successful_sync_at > when:
                return True
            return user.status.endswith("Failed") or user.sync_attempt > 0  # Incremental...

    def user_status(self) -> str:
        with self.store() as store:
            return str(store.users.get(ADDRESS).status)

    def wait_for_no_runner(self, timeout: float = 60) -> None:
        def no_runner() -> bool:
            with self.store() as store:
                return not store.leases.active(prefix="runner:")
        wait_for(no_runner, timeout, "the runner to exit")

    def store(self) -> Store:
        return Store.open(resolve_state_paths(self.state))

    def counts(self) -> tuple[int, int]:
        """The user's (synced, skipped) item counters."""
        with self.store() as store:
            user = store.users.get(ADDRESS)
            stats = store.statistics.get(user.id)
            return stats.synced_item_count, stats.skipped_item_count

    def skipped_reasons(self) -> list[str]:
        with self.store() as store:
            user = store.users.get(ADDRESS)
            return [s.reason for s in store.statistics.skipped_items(user.id)]

    def maildir_count(self, *folder: str) -> int:
        """Messages in the default Maildir target (INBOX when ``folder`` is empty)."""
        root = resolve_state_paths(self.state).maildir_default / ADDRESS
        base = root / ("." + ".".join(folder)) if folder else root
        return sum(len(os.listdir(base / sub)) for sub in ("cur", "new") if (base / sub).is_dir())


    def maildir_message_ids(self) -> set[str]:
        """The Message-IDs of every message in the default Maildir target."""
        root = resolve_state_paths(self.state).maildir_default / ADDRESS
        found: set[str] = set()
        for path in root.rglob("*"):
            if path.parent.name in ("cur", "new") and path.is_file():
                head = path.read_bytes().split(b"\r\n\r\n", 1)[0]
                found.update(line.split(b":", 1)[1].strip().decode("latin-1")
                             for line in head.splitlines()
                             if line.lower().startswith(b"message-id:"))
        return found


def synced(status: Result) -> bool:
    """Whether :meth:`CliMigration.sync_now` reported the user synced (after a pass)."""
    words = status.stdout.split()
    return len(words) >= 2 and words[0] == "user:" and words[1] in ("Synced",
                                                                      "IncrementalSynced")


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.2)


def message(n: int, *, message_id: bytes | None = None, size: int = 0) -> bytes:
    mid = message_id if message_id is not None else b"<m%d@example.org>" % n
    return (b"From: Bob <bob@example.org>\r\nTo: ann@contoso.com\r\nSubject: message %d\r\n"
            % n + b"Message-ID: " + mid + b"\r\nDate: Mon, 6 May 2024 07:08:09 +0000\r\n\r\n"
            b"body of message %d\r\n" % n + b"x" * size)


def fill_folder(server: ImapServer, user: str, folder: str, count: int, *,
                start: int = 1) -> None:
    """``count`` small messages into ``folder`` (created if needed) of a Dovecot user, written
    as Maildir files: seconds for tens of thousands of messages."""
    assert server.kind == "dovecot"
    client = server.login(user)
    try:
        if folder != "INBOX" and not client.folder_exists(folder):
            client.create_folder(folder)
        client.select_folder(folder, readonly=True)  # makes Dovecot create the directories
    finally:
        client.logout()
    base = server.dir / "mail" / user / "Maildir"
    box = base if folder == "INBOX" else base / folder
    cur = box / "cur"
    owner = cur.stat()
    stamp = 1_714_979_289
    for n in range(start, start + count):
        path = cur / f"{stamp + n}.M{n}P1.imsh-test:2,S"
        path.write_bytes(message(n))
        os.utime(path, (stamp + n, stamp + n))
        os.chown(path, owner.st_uid, owner.st_gid)


def count_messages(server: ImapServer, user: str, folder: str = "INBOX") -> int:
    client = server.login(user)
    try:
        return int(client.select_folder(folder, readonly=True)[b"EXISTS"])
    finally:
        client.logout()


def append(server: ImapServer, user: str, folder: str, raws: list[bytes]) -> None:
    client: IMAPClient = server.login(user)
    try:
        if folder != "INBOX" and not client.folder_exists(folder):
            client.create_folder(folder)
        for raw in raws:
            client.append(folder, raw, (), datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC))
    finally:
        client.logout()
