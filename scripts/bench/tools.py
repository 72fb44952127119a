"""How each tool migrates mailboxes ``userN`` of A into ``userN`` of B.

One mailbox is one command per tool. Several mailboxes (the users scenario) are one imsh batch
with a row per user; mbsync and doveadm run one command per user, ``PARALLEL`` at a time
(scripts/bench/parallel.py).

* **imsh**: the real ``imsh`` console script runs an ``.imsh`` script (an IMAP source and an
  IMAP target endpoint, a batch from a CSV with ``TargetUserName``/``TargetPassword``,
  ``-AutoStart``, ``Wait-MigrationBatch``); the batch's detached runner does the copying. The
  no-change run is ``Set-MigrationBatch -SyncNow``, then polling the user's
  ``LastSuccessfulSyncTime`` until the pass is recorded. Defaults throughout: no tuning
  variables are set, only ``IMSH_RUNNER_KEEP_ALIVE=0`` so that the runner exits once the pass
  is done rather than wait for the next one.
* **imsh-noproof** (only when asked for with ``--tools``): imsh with ``Set-MigrationConfig
  -AutomaticProofs $false`` first, to show what the automatic proof (both mailboxes read once
  more before the user shows Synced, docs/proof.md) costs of imsh's copy time.
* **mbsync**: the baseline's channel: ``Sync Pull``, ``CopyArrivalDate yes``, ``Create Near``,
  ``Patterns *``, state files in the run's directory.
* **doveadm**: ``doveadm backup -R -u userN imapc:`` run against B's configuration, A reached
  with the imapc settings Dovecot's migration guide gives (``imapc_features = rfc822.size
  fetch-headers``, ``mail_prefetch_count = 20``), B's ``mail_fsync`` unchanged (optimized).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from scripts.bench.servers import BenchServers, Mailbox

WAIT_SECONDS = 3600
PARALLEL = 4


@dataclass(frozen=True)
class ToolRun:
    """Commands for one tool, one mailbox, one round, prepared in ``cwd``."""

    initial: list[str]
    incremental: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    adds_tuid: bool = False  # mbsync writes an X-TUID header into every message it copies
    pass_seconds: Callable[[], float | None] = lambda: None  # the engine's own time, if known


Prepare = Callable[[BenchServers, Sequence[Mailbox], Path], ToolRun]


def prepare_imsh(servers: BenchServers, mailboxes: Sequence[Mailbox], work: Path,
                 proofs: bool = True) -> ToolRun:
    source, target = servers.source, servers.target
    (work / "users.csv").write_text(
        "EmailAddress,UserName,Password,TargetUserName,TargetPassword\n" + "".join(
            f"{m.user}@bench.example,{m.user},{source.password},{m.user},{target.password}\n"
            for m in mailboxes), encoding="utf-8")
    no_proofs = "" if proofs else "Set-MigrationConfig -AutomaticProofs $false\n"
    (work / "migrate.imsh").write_text(f"""$ErrorActionPreference = 'Stop'
{no_proofs}New-MigrationEndpoint -IMAP -Name Source -RemoteServer {source.host} `
    -Port {source.port} -Security None
New-MigrationEndpoint -IMAP -Name Target -RemoteServer {target.host} -Port {target.port} `
    -Security None
New-MigrationBatch -Name Bench -SourceEndpoint Source -TargetEndpoint Target `
    -CSVData ([System.IO.File]::ReadAllBytes("users.csv")) -AutoStart
Wait-MigrationBatch -Identity Bench -TimeoutSeconds {WAIT_SECONDS}
""", encoding="utf-8")
    # Wait-MigrationBatch would return at once: the batch is still Synced until the runner
    # takes the user, so wait for the user's LastSuccessfulSyncTime to move instead (the
    # first user's: the no-change and incremental runs are measured on one mailbox).
    identity = f"{mailboxes[0].user}@bench.example"
    (work / "resync.imsh").write_text(f"""$ErrorActionPreference = 'Stop'
$before = (Get-MigrationUserStatistics -Identity {identity}).LastSuccessfulSyncTime
Set-MigrationBatch -Identity Bench -SyncNow
while ((Get-MigrationUserStatistics -Identity {identity}).LastSuccessfulSyncTime -eq $before) {{
    Start-Sleep -Milliseconds 50
}}
""", encoding="utf-8")
    imsh = imsh_command()
    state = work / "state"
    # the runner exits when idle instead of waiting for the next incremental pass (which a
    # measured run cannot outlast: treetime waits for the whole tree)
    env = {**os.environ, "IMSH_RUNNER_KEEP_ALIVE": "0"}
    return ToolRun(initial=[imsh, "--state", str(state), "migrate.imsh"],
                   incremental=[imsh, "--state", str(state), "resync.imsh"], cwd=work, env=env,
                   pass_seconds=lambda: last_pass_seconds(state / "logs" / "imsh-service.log"))


def imsh_command() -> str:
    """The ``imsh`` console script: beside this Python (the project's .venv), else on PATH."""
    beside = Path(sys.executable).with_name("imsh")
    return str(beside) if beside.exists() else shutil.which("imsh") or "imsh"


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


def in_parallel(commands: list[list[str]], work: Path, name: str) -> list[str]:
    """One command: ``commands`` run ``PARALLEL`` at a time (just the command, for one)."""
    if len(commands) == 1:
        return commands[0]
    listing = work / f"{name}-commands.json"
    listing.write_text(json.dumps(commands), encoding="utf-8")
    return [sys.executable, "-m", "scripts.bench.parallel", str(PARALLEL), str(listing)]


def prepare_mbsync(servers: BenchServers, mailboxes: Sequence[Mailbox], work: Path) -> ToolRun:
    commands = [_mbsync_command(servers, mailbox, work) for mailbox in mailboxes]
    command = in_parallel(commands, work, "mbsync")
    return ToolRun(initial=command, incremental=command, cwd=work, adds_tuid=True)


def _mbsync_command(servers: BenchServers, mailbox: Mailbox, work: Path) -> list[str]:
    state = work / f"mbsync-state-{mailbox.user}"
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
    path = work / f"mbsyncrc-{mailbox.user}"
    path.write_text(config, encoding="utf-8")
    return ["mbsync", "-q", "-c", str(path), "bench"]


def prepare_doveadm(servers: BenchServers, mailboxes: Sequence[Mailbox],
                    work: Path) -> ToolRun:
    commands = [_doveadm_command(servers, mailbox) for mailbox in mailboxes]
    command = in_parallel(commands, work, "doveadm")
    return ToolRun(initial=command, incremental=command, cwd=work)


def _doveadm_command(servers: BenchServers, mailbox: Mailbox) -> list[str]:
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
    return ["doveadm", "-c", str(target.dir / "etc" / "dovecot.conf"), *options,
            "backup", "-R", "-u", mailbox.user, "imapc:"]


def prepare_imsh_without_proofs(servers: BenchServers, mailboxes: Sequence[Mailbox],
                                work: Path) -> ToolRun:
    return prepare_imsh(servers, mailboxes, work, proofs=False)


TOOLS: dict[str, Prepare] = {
    "imsh": prepare_imsh,
    "mbsync": prepare_mbsync,
    "doveadm": prepare_doveadm,
    "imsh-noproof": prepare_imsh_without_proofs,
}
DEFAULT_TOOLS = ("imsh", "mbsync", "doveadm")  # imsh-noproof only when asked for
