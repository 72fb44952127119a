"""Capacity faults on real servers for the adversity tests: a Dovecot target with a quota.

:func:`set_quota` gives one user of a Dovecot started with ``start_dovecot(quota=True)`` a
message-count limit (or none) by editing the userdb extra field of its line in the server's
passwd-file; Dovecot reads the file again at the next login (the mtime is stepped back and the
current second left to pass, as dovecot-test-server.sh ``add-users`` does).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.integration.test_incremental_flow import Flow, wait_for
from tests.support.servers import ImapServer


def set_quota(server: ImapServer, user: str, messages: int | None) -> None:
    """Limit ``user`` to ``messages`` messages on ``server`` (None: unlimited)."""
    path = server.dir / "etc" / "users"
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        if line.startswith(f"{user}:"):
            fields = line.split(":", 7)
            fields[7:] = [f"userdb_quota_rule=*:messages={messages}" if messages else ""]
            line = ":".join(fields)
        out.append(line)
    mtime = int(path.stat().st_mtime)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    os.utime(path, (mtime - 1, mtime - 1))
    time.sleep(1.01 - time.time() % 1)


ADDRESS = "ann@contoso.com"


def message(n: int, tag: str = "m") -> bytes:
    return (f"From: a@example.org\r\nTo: ann@contoso.com\r\nSubject: {tag} {n}\r\n"
            f"Message-ID: <{tag}-{n}@example.org>\r\nDate: Mon, 1 Dec 2025 10:00:00 +0000\r\n"
            f"\r\nbody {n}\r\n").encode()


def fill(server: ImapServer, user: str, folder: str, count: int, tag: str = "m") -> None:
    client = server.login(user)
    try:
        if folder != "INBOX" and not client.folder_exists(folder):
            client.create_folder(folder)
        for n in range(count):
            client.append(folder, message(n, tag), [b"\\Seen"])
    finally:
        client.logout()


def count_messages(server: ImapServer, user: str) -> dict[str, int]:
    """Messages per selectable folder of ``user`` on ``server``."""
    client = server.login(user)
    try:
        result: dict[str, int] = {}
        for flags, _sep, name in client.list_folders():
            if b"\\Noselect" in flags or b"\\NonExistent" in flags:
                continue
            result[name] = client.folder_status(name, [b"MESSAGES"])[b"MESSAGES"]
        return result
    finally:
        client.logout()


def migrate(tmp_path: Path, source: ImapServer, source_user: str, target: ImapServer,
            target_user: str) -> Flow:
    """A batch B1 for ``source_user`` into ``target_user`` through the real ``imsh``,
    waited for until Synced."""
    work = tmp_path / "work"
    work.mkdir()
    flow = Flow(tmp_path / "state", work, source, source_user, target, target_user)
    csv = work / "users.csv"
    csv.write_text("EmailAddress,UserName,Password,TargetUserName,TargetPassword\n"
                   f"{ADDRESS},{source_user},{source.password},{target_user},"
                   f"{target.password}\n", encoding="utf-8")
    out = flow.imsh("migrate", f"""
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port {source.port} -Security None | Out-Null
New-MigrationEndpoint -IMAP -Name Target -RemoteServer 127.0.0.1 -Port {target.port} -Security None | Out-Null
New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint Target -CSVData ([System.IO.File]::ReadAllBytes("{csv}")) -AutoStart | Out-Null
Write-Output "initial: $((Wait-MigrationBatch -Identity B1 -Status Synced -TimeoutSeconds 90).Status)"
""")  # noqa: E501
    assert "initial: Synced" in out, out
    flow.wait_for_no_runner()
    return flow


def pass_ends(flow: Flow) -> int:
    """How many passes of the user have ended (well, with a transient error, or failed)."""
    with flow.store() as store:
        user = store.users.get(ADDRESS)
        entries = store.statistics.report_entries(user.id)
    return sum(1 for e in entries if e.kind == "error" or e.message.startswith((
        "Transient error on attempt", "Incremental synchronization", "Initial synchronization")))


def run_pass(flow: Flow, timeout: float = 60) -> None:
    """Ask for a pass (-SyncNow when the user is Synced; else the runner's backoff has one
    scheduled already) and wait until it ended, well or not."""
    ended = pass_ends(flow)
    with flow.store() as store:
        status = store.users.get(ADDRESS).status
    if status in ("Synced", "IncrementalSynced"):
        flow.imsh("syncnow", "Set-MigrationUser -Identity ann@contoso.com -SyncNow\n")
    wait_for(lambda: pass_ends(flow) > ended, timeout,
             f"the end of a pass (the user was {status}; report: {report(flow)})")


def report(flow: Flow) -> list[str]:
    """The user's report entries, oldest first (for failure messages)."""
    with flow.store() as store:
        user = store.users.get(ADDRESS)
        return [f"{e.kind}: {e.message}" for e in store.statistics.report_entries(user.id)]


def user_line(flow: Flow) -> str:
    """Status, SkippedItemCount and Error as Get-MigrationUserStatistics shows them."""
    return flow.imsh("stats", """
$s = Get-MigrationUserStatistics -Identity ann@contoso.com
Write-Output "status=$($s.Status) skipped=$($s.SkippedItemCount) error=$($s.Error)"
""").strip()


def fill_sized(server: ImapServer, user: str, folder: str, count: int, size: int) -> None:
    """``count`` messages of about ``size`` bytes each."""
    client = server.login(user)
    try:
        for n in range(count):
            body = (b"x" * 76 + b"\r\n") * (size // 78)
            client.append(folder, message(n, "big").replace(b"body", body + b"body"), [])
    finally:
        client.logout()
