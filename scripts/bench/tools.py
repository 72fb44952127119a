"""How each tool migrates mailbox ``userN`` of A into ``userN`` of B.

* **imsh**: the real ``imsh`` console script runs an ``.imsh`` script (an IMAP source and an
  IMAP target endpoint, a batch from a CSV with ``TargetUserName``/``TargetPassword``,
  ``-AutoStart``, ``Wait-MigrationBatch``); the batch's detached runner does the copying. The
  no-change run is ``Set-MigrationBatch -SyncNow``, then polling the user's
  ``LastSuccessfulSyncTime`` until the pass is recorded. Defaults throughout: no tuning
  variables are set.
* **mbsync**: the baseline's channel: ``Sync Pull``, ``CopyArrivalDate yes``, ``Create Near``,
  ``Patterns *``, state files in the run's directory.
* **doveadm**: ``doveadm backup -R -u userN imapc:`` run against B's configuration, A reached
  with the imapc settings Dovecot's migration guide gives (``imapc_features = rfc822.size
  fetch-headers``, ``mail_prefetch_count = 20``), B's ``mail_fsync`` unchanged (optimized).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from scripts.bench.servers import BenchServers, Mailbox

WAIT_SECONDS = 3600


@dataclass(frozen=True)
class ToolRun:
    """Commands for one tool, one mailbox, one round, prepared in ``cwd``."""

    initial: list[str]
    incremental: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    adds_tuid: bool = False  # mbsync writes an X-TUID header into every message it copies
    pass_seconds: Callable[[], float | None] = lambda: None  # the engine's own time, if known


Prepare = Callable[[BenchServers, Mailbox, Path], ToolRun]


def prepare_imsh(servers: BenchServers, mailbox: Mailbox, work: Path) -> ToolRun:
    source, target = servers.source, servers.target
    (work / "users.csv").write_text(
        "EmailAddress,UserName,Password,TargetUserName,TargetPassword\n"
        f"{mailbox.user}@bench.example,{mailbox.user},{source.password},"
        f"{mailbox.user},{target.password}\n", encoding="utf-8")
    (work / "migrate.imsh").write_text(f"""$ErrorActionPreference = 'Stop'
New-MigrationEndpoint -IMAP -Name Source -RemoteServer {source.host} -Port {source.port} `
    -Security None
New-MigrationEndpoint -IMAP -Name Target -RemoteServer {target.host} -Port {target.port} `
    -Security None
New-MigrationBatch -Name Bench -SourceEndpoint Source -TargetEndpoint Target `
    -CSVData ([System.IO.File]::ReadAllBytes("users.csv")) -AutoStart
Wait-MigrationBatch -Identity Bench -TimeoutSeconds {WAIT_SECONDS}
""", encoding="utf-8")
    # Wait-MigrationBatch would return at once: the batch is still Synced until the runner
    # takes the user, so wait for the user's LastSuccessfulSyncTime to move instead.
    identity = f"{mailbox.user}@bench.example"
    (work / "resync.imsh").write_text(f"""$ErrorActionPreference = 'Stop'
$before = (Get-MigrationUserStatistics -Identity {identity}).LastSuccessfulSyncTime
Set-MigrationBatch -Identity Bench -SyncNow
while ((Get-MigrationUserStatistics -Identity {identity}).LastSuccessfulSyncTime -eq $before) {{
    Start-Sleep -Milliseconds 50
}}
""", encoding="utf-8")
    imsh = shutil.which("imsh") or "imsh"
    state = work / "state"
    return ToolRun(initial=[imsh, "--state", str(state), "migrate.imsh"],
                   incremental=[imsh, "--state", str(state), "resync.imsh"], cwd=work,
                   pass_seconds=lambda: last_pass_seconds(state / "logs" / "imsh-service.log"))


_LOG_TIME = r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) "
_PASS_START = re.compile(_LOG_TIME + r".*starting the \w+ sync of", re.M)
_PASS_END = re.compile(_LOG_TIME + r".*synchronization completed", re.M | re.I)


def last_pass_seconds(log: Path) -> float | None:
    """How long the runner's last pass took, from its log lines' timestamps."""
    text = log.read_text(errors="replace") if log.exists() else ""
    starts, ends = _PASS_START.findall(text), _PASS_END.findall(text)
    if not starts or not ends:
        return None
    began, ended = (datetime.strptime(t, "%Y-%m-%d %H:%M:%S,%f") for t in (starts[-1], ends[-1]))
    return (ended - began).total_seconds()


def prepare_mbsync(servers: BenchServers, mailbox: Mailbox, work: Path) -> ToolRun:
    state = work / "mbsync-state"
    state.mkdir()
    accounts = []
    for role, server in (("far", servers.source), ("near", servers.target)):
        accounts.append(f"""IMAPAccount {role}
Host {server.host}
Port {server.port}
User {mailbox.user}
Pass {server.password}
SSLType None
AuthMechs LOGIN

IMAPStore {role}
Account {role}
""")
    config = "\n".join(accounts) + f"""
Channel bench
Far :far:
Near :near:
Patterns *
Create Near
Sync Pull
CopyArrivalDate yes
SyncState {state}/
"""
    path = work / "mbsyncrc"
    path.write_text(config, encoding="utf-8")
    command = ["mbsync", "-q", "-c", str(path), "bench"]
    return ToolRun(initial=command, incremental=command, cwd=work, adds_tuid=True)


def prepare_doveadm(servers: BenchServers, mailbox: Mailbox, work: Path) -> ToolRun:
    source, target = servers.source, servers.target
    settings = {
        "imapc_host": source.host,
        "imapc_port": str(source.port),
        "imapc_user": mailbox.user,
        "imapc_password": source.password,
        "imapc_ssl": "no",
        "imapc_features": "rfc822.size fetch-headers",
        "mail_prefetch_count": "20",
    }
    options = [arg for key, value in settings.items() for arg in ("-o", f"{key}={value}")]
    command = ["doveadm", "-c", str(target.dir / "etc" / "dovecot.conf"), *options,
               "backup", "-R", "-u", mailbox.user, "imapc:"]
    return ToolRun(initial=command, incremental=command, cwd=work)


TOOLS: dict[str, Prepare] = {
    "imsh": prepare_imsh,
    "mbsync": prepare_mbsync,
    "doveadm": prepare_doveadm,
}
