"""One migration batch worked by the runner hosts of a :class:`tests.support.netns.Site`:
small mailboxes made on the source, the batch made and started through the real ``imsh``
console script (run here, the "admin workstation", against the database URL every host uses),
and the checks afterwards — every mailbox identical on the target (the comparer: folders as
multisets of message digests, so a duplicate or a lost message is a difference) and which host
started which user's sync (each host's ``imsh-service.log``).

Shared by tests/integration/test_multihost_runners.py and scripts/bench/scale.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from imapclient import IMAPClient

from scripts.compare import ImapSource, ImapSpec, compare
from tests.support.netns import ROOT, RunnerHost, Site
from tests.support.servers import ImapServer

CSV_HEADER = "EmailAddress,UserName,Password,TargetUserName,TargetPassword"
_STARTED = re.compile(r"starting the (\w+) sync of (\S+) \(attempt")


@dataclass(frozen=True)
class Mailbox:
    address: str  # the migration user's EmailAddress
    source_user: str
    target_user: str


def small_message(address: str, n: int) -> bytes:
    sent = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=n)
    return (f"From: sender{n}@example.org\r\nTo: {address}\r\nSubject: message {n} for "
            f"{address}\r\nDate: {format_datetime(sent)}\r\nMessage-ID: <{n}.{address}>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
            f"Body {n} of {address}.\r\n" + "x" * (200 * n) + "\r\n").encode("ascii")


def make_mailboxes(site: Site, first: int, count: int, messages: int = 3) -> list[Mailbox]:
    """Users ``user<first>`` ... on both servers; each source mailbox gets ``messages``
    small messages in INBOX (one marked \\Seen)."""
    boxes = []
    for number in range(first, first + count):
        user = f"user{number}"
        box = Mailbox(f"{user}@contoso.com", user, user)
        client = IMAPClient(site.source.host, site.source.port, ssl=False, timeout=30)
        try:
            client.login(user, site.source.password)
            for n in range(1, messages + 1):
                client.append("INBOX", small_message(box.address, n),
                              flags=(b"\\Seen",) if n == 1 else ())
        finally:
            client.logout()
        boxes.append(box)
    return boxes


def write_csv(path: Path, boxes: list[Mailbox], source: ImapServer, target: ImapServer) -> Path:
    rows = [CSV_HEADER] + [f"{b.address},{b.source_user},{source.password},{b.target_user},"
                           f"{target.password}" for b in boxes]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def run_imsh(state: Path, database: str, work: Path, name: str, script: str,
             timeout: float = 120) -> str:
    """An ``.imsh`` script run by the real console script with ``--database``; its output
    (the script must succeed)."""
    path = work / f"{name}.imsh"
    path.write_text("$ErrorActionPreference = 'Stop'\n" + script, encoding="utf-8")
    command = shutil.which("imsh", path=str(Path(sys.executable).parent)) or shutil.which("imsh")
    argv = [command] if command else [sys.executable, "-m", "shell.main"]
    env = {**os.environ, "IMSH_HOME": "", "PYTHONPATH": str(ROOT)}
    for inherited in ("IMSH_SERVICE_SYNCER", "IMSH_DATABASE", "IMSH_CONFIG"):
        env.pop(inherited, None)
    done = subprocess.run([*argv, "--state", str(state), "--database", database, str(path)],
                          cwd=work, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)
    if done.returncode != 0:
        raise AssertionError(f"{name}: exit {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done.stdout


def create_batch(site: Site, admin: Path, database: str, work: Path, csv: Path,
                 name: str = "B1") -> None:
    """The endpoints (on the mail node's address; at most 100 migrations at once, more than
    the hosts' workers together) and the batch, not started. Once per database."""
    run_imsh(admin, database, work, f"create-{name}", f"""
New-MigrationEndpoint -IMAP -Name Source -RemoteServer {site.source.host} -Port {site.source.port} -Security None -MaxConcurrentMigrations 100 | Out-Null
New-MigrationEndpoint -IMAP -Name Target -RemoteServer {site.target.host} -Port {site.target.port} -Security None | Out-Null
New-MigrationBatch -Name {name} -SourceEndpoint Source -TargetEndpoint Target -CSVData ([System.IO.File]::ReadAllBytes("{csv}")) | Out-Null
""")  # noqa: E501


def start_batch(admin: Path, database: str, work: Path, name: str = "B1") -> None:
    run_imsh(admin, database, work, f"start-{name}", f"Start-MigrationBatch -Identity {name}\n")


def wait_batch(admin: Path, database: str, work: Path, timeout: float,
               name: str = "B1", start: bool = False) -> str:
    """Wait-MigrationBatch until Synced (``start``: Start-MigrationBatch first, in the same
    console: one start-up less); the status it ended with."""
    out = run_imsh(admin, database, work, f"wait-{name}", ("Start-MigrationBatch -Identity "
                                                          f"{name}\n" if start else "") + f"""
$b = Wait-MigrationBatch -Identity {name} -Status Synced -TimeoutSeconds {int(timeout)}
Write-Output "status: $($b.Status)"
""", timeout=timeout + 60)
    found = re.search(r"status: (\S+)", out)
    return found.group(1) if found else out


def started_by_host(hosts: list[RunnerHost]) -> dict[str, dict[str, int]]:
    """host name -> {email address: how many syncs of it that host started} (its log)."""
    started: dict[str, dict[str, int]] = {}
    for host in hosts:
        counts: dict[str, int] = defaultdict(int)
        if host.service_log.exists():
            for found in _STARTED.finditer(host.service_log.read_text(errors="replace")):
                counts[found.group(2)] += 1
        started[host.name] = dict(counts)
    return started


def differences(site: Site, boxes: list[Mailbox]) -> list[str]:
    """Every mailbox compared with its copy; the reports of those not identical."""
    found = []
    for box in boxes:
        source = ImapSource(ImapSpec(site.source.host, site.source.port, box.source_user,
                                     site.source.password))
        target = ImapSource(ImapSpec(site.target.host, site.target.port, box.target_user,
                                     site.target.password))
        try:
            report = compare(source, target)
        finally:
            source.close()
            target.close()
        if not report.identical:
            found.append(f"{box.address}: {report.format()}")
    return found


def target_message_count(site: Site, boxes: list[Mailbox]) -> int:
    """How many messages the target holds in all these mailboxes' INBOXes."""
    total = 0
    for box in boxes:
        client = site.target.login(box.target_user)
        try:
            total += int(client.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"])
        finally:
            client.logout()
    return total
