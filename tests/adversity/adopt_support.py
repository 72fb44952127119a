"""Helpers for the adopt engineer's adversity scenarios: a state directory driven through the
real ``imsh`` console script (``.imsh`` scripts, the detached runner it starts), a Dovecot
source, and a Dovecot or Maildir target; counting and comparing what the target holds.

Every scenario here is what an admin does or suffers: a batch removed and created again, a
state directory lost, a folder renamed onto one the user already has, an index rebuild on the
target, a source folder reset, a runner killed while it creates folders.
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
from scripts.compare import ImapSource, ImapSpec, MailboxSource, MaildirSource, compare
from tests.support.servers import ImapServer

ROOT = Path(__file__).resolve().parents[2]
ADDRESS = "ann@contoso.com"


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.1)


def imsh_argv() -> list[str]:
    command = shutil.which("imsh")
    return [command] if command else [sys.executable, "-m", "shell.main"]


def imsh_env() -> dict[str, str]:
    env = {**os.environ, "IMSH_HOME": "", "PYTHONPATH": str(ROOT)}
    env.pop("IMSH_SERVICE_SYNCER", None)
    return env


@dataclass
class Flow:
    """A state directory, a work directory for scripts, one source and one target mailbox
    (``target`` None: a Maildir endpoint at ``maildir_root``, outside the state directory,
    so losing the state keeps the target)."""

    state: Path
    work: Path
    source: ImapServer
    source_user: str
    target: ImapServer | None
    target_user: str | None
    maildir_root: Path | None = None

    # --- the admin's side ----------------------------------------------------------------------

    def run(self, name: str, script: str, *, check: bool = True
            ) -> subprocess.CompletedProcess[str]:
        path = self.work / f"{name}.imsh"
        path.write_text("$ErrorActionPreference = 'Stop'\n" + script, encoding="utf-8")
        result = subprocess.run([*imsh_argv(), "--state", str(self.state), str(path)],
                                cwd=self.work, env=imsh_env(), capture_output=True, text=True,
                                timeout=180, check=False)
        if check:
            assert result.returncode == 0, f"{name}: {result.stdout}\n{result.stderr}"
        return result

    def imsh(self, name: str, script: str) -> str:
        return self.run(name, script).stdout

    def csv(self) -> Path:
        path = self.work / "users.csv"
        if self.target is None:
            path.write_text("EmailAddress,UserName,Password\n"
                            f"{ADDRESS},{self.source_user},{self.source.password}\n",
                            encoding="utf-8")
        else:
            path.write_text("EmailAddress,UserName,Password,TargetUserName,TargetPassword\n"
                            f"{ADDRESS},{self.source_user},{self.source.password},"
                            f"{self.target_user},{self.target.password}\n", encoding="utf-8")
        return path

    def endpoints(self) -> None:
        target = (f"New-MigrationEndpoint -Maildir -Name Target -Path '{self.maildir_root}' "
                  "| Out-Null\n") if self.target is None else (
            f"New-MigrationEndpoint -IMAP -Name Target -RemoteServer 127.0.0.1 "
            f"-Port {self.target.port} -Security None | Out-Null\n")
        self.imsh("endpoints",
                  f"New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 "
                  f"-Port {self.source.port} -Security None | Out-Null\n" + target)

    def migrate(self, batch: str = "B1", timeout: int = 120) -> str:
        """New-MigrationBatch from the CSV, -AutoStart, wait until Synced; returns the
        status line (the test fails when the batch does not get there)."""
        target = "-TargetEndpoint Target "
        out = self.imsh(f"migrate-{batch}", f"""
New-MigrationBatch -Name {batch} -SourceEndpoint Source {target}-CSVData ([System.IO.File]::ReadAllBytes("{self.csv()}")) -AutoStart | Out-Null
Write-Output "initial: $((Wait-MigrationBatch -Identity {batch} -Status Synced -TimeoutSeconds {timeout}).Status)"
""")  # noqa: E501
        assert "initial: Synced" in out, out
        self.wait_for_no_runner()
        return out

    def remove_batch(self, batch: str = "B1") -> None:
        self.imsh(f"remove-{batch}", f"Remove-MigrationBatch -Identity {batch} -Confirm:$false\n")
        self.wait_for_no_runner()

    def sync_now(self, batch: str = "B1", timeout: float = 90) -> tuple[str, str | None]:
        """-SyncNow, and wait until the pass it asked for ended (well or not); the user's
        status and error afterwards."""
        asked = datetime.now(UTC)
        self.imsh("syncnow", f"Set-MigrationBatch -Identity {batch} -SyncNow\n")

        def ended() -> bool:
            with self.store() as store:
                user = store.users.get(ADDRESS)
            return ((user.last_successful_sync_at or asked) > asked or "Failed" in user.status
                    or user.error is not None)
        wait_for(ended, timeout, "the incremental pass")
        self.wait_for_no_runner()
        with self.store() as store:
            user = store.users.get(ADDRESS)
        return user.status, user.error

    def lose_state(self) -> None:
        """The state directory is gone (a disk replaced, a wrong ``rm``); the target stays."""
        self.wait_for_no_runner()
        shutil.rmtree(self.state)
        self.endpoints()

    def store(self) -> Store:
        return Store.open(resolve_state_paths(self.state))

    def wait_for_no_runner(self) -> None:
        def no_runner() -> bool:
            if not (self.state / "state.db").exists():
                return True
            with self.store() as store:
                return not store.leases.active(prefix="runner:")
        wait_for(no_runner, 60, "the runner to exit")

    # --- the mailboxes -------------------------------------------------------------------------

    def source_client(self) -> IMAPClient:
        return self.source.login(self.source_user)

    def target_client(self) -> IMAPClient:
        assert self.target is not None and self.target_user is not None
        return self.target.login(self.target_user)

    @property
    def maildir(self) -> Path:
        assert self.maildir_root is not None
        return self.maildir_root / ADDRESS

    def source_mailbox(self) -> MailboxSource:
        return ImapSource(ImapSpec(self.source.host, self.source.port, self.source_user,
                                   self.source.password))

    def target_mailbox(self) -> MailboxSource:
        if self.target is None:
            return MaildirSource(self.maildir)
        assert self.target_user is not None
        return ImapSource(ImapSpec(self.target.host, self.target.port, self.target_user,
                                   self.target.password))

    def compare(self) -> str | None:
        """None when source and target are identical, else the comparer's report."""
        a, b = self.source_mailbox(), self.target_mailbox()
        try:
            report = compare(a, b)
        finally:
            a.close()
            b.close()
        return None if report.identical else report.format()

    def counts(self, side: str = "target") -> dict[str, int]:
        """Messages per non-empty folder (logical path joined by '/') on one side."""
        box = self.target_mailbox() if side == "target" else self.source_mailbox()
        try:
            counts = {"/".join(f.path): sum(1 for _ in box.messages(f)) for f in box.folders()}
        finally:
            box.close()
        return {name: count for name, count in counts.items() if count}


def new_flow(tmp_path: Path, source: ImapServer, target: ImapServer | None) -> Flow:
    work = tmp_path / "work"
    work.mkdir()
    flow = Flow(tmp_path / "state", work, source, source.fresh_user(), target,
                target.fresh_user() if target is not None else None,
                None if target is not None else tmp_path / "maildir")
    flow.endpoints()
    return flow


def total(counts: dict[str, int]) -> int:
    return sum(counts.values())


def message(n: int, folder: str = "INBOX", tag: str = "m") -> bytes:
    return (f"From: sender{n}@example.org\r\nTo: ann@contoso.com\r\n"
            f"Subject: {tag} {folder} {n}\r\nMessage-ID: <{tag}{n}.{folder}@example.org>\r\n"
            f"Date: Mon, 1 Jun 2026 10:{n % 60:02d}:00 +0000\r\n\r\n"
            f"Body of {tag} {n} in {folder}.\r\n").encode()


def fill(client: IMAPClient, folder: str, count: int, *, tag: str = "m",
         flags: tuple[bytes, ...] = ()) -> None:
    """``count`` distinct messages in ``folder`` (created when missing), dated apart."""
    if folder != "INBOX" and not client.folder_exists(folder):
        client.create_folder(folder)
    for n in range(1, count + 1):
        when = datetime(2026, 6, 1, 10, 0, tzinfo=UTC).replace(minute=n % 60, hour=10 + n // 60)
        client.append(folder, message(n, folder.replace("/", "-"), tag), flags, when)


def reset_uidvalidity(client: IMAPClient, folder: str, *, drop: int = 0) -> int:
    """Delete ``folder`` and recreate it with the same messages but the first ``drop`` (a new
    UIDVALIDITY, and those messages gone); returns how many came back."""
    client.select_folder(folder, readonly=True)
    uids = client.search(["ALL"])
    rows = client.fetch(uids, ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"])
    client.close_folder()
    client.delete_folder(folder)
    client.create_folder(folder)
    kept = sorted(rows)[drop:]
    for uid in kept:
        row = rows[uid]
        client.append(folder, row[b"BODY[]"], [f for f in row[b"FLAGS"] if f != b"\\Recent"],
                      row[b"INTERNALDATE"])
    return len(kept)


def set_target_uidvalidity(server: ImapServer, user: str, folder: str, uidvalidity: int) -> None:
    """What an index rebuild does to a Dovecot folder: same messages, a new UIDVALIDITY."""
    subprocess.run(["doveadm", "-c", str(server.dir / "etc" / "dovecot.conf"), "mailbox",
                    "update", "-u", user, "--uid-validity", str(uidvalidity), folder],
                   check=True, capture_output=True, timeout=30)
