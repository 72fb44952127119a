"""A source that refuses a login because the account has too many sessions open is busy, not
a wrong password (Gmail: ``NO [ALERT] Too many simultaneous connections. (Failure)``).

Before the fix the user failed at once with "We had trouble signing in to this account":
an admin would have gone looking for a password that was right, and the user would never have
been retried. The source here is a tiny fault-injecting IMAP server that answers every LOGIN
that way; the target is a real Dovecot; the batch runs through the real console script.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from engine.imap.connection import BAD_CREDENTIALS
from engine.paths import resolve_state_paths
from engine.runner.liveness import parse_owner
from engine.store import Store
from tests.support.loopback import LoopbackServer
from tests.support.servers import ImapServer

ROOT = Path(__file__).resolve().parents[2]
ADDRESS = "kim@contoso.com"
GMAIL_REFUSAL = "[ALERT] Too many simultaneous connections. (Failure)"


class CrowdedImapServer(LoopbackServer):
    """Greets, answers CAPABILITY and LOGOUT, and refuses every LOGIN with Gmail's words."""

    def __init__(self) -> None:
        self.refused = 0
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"* OK [CAPABILITY IMAP4rev1] Gimap ready\r\n")
            for line in lines:
                tag, _, rest = line.decode("ascii", "replace").strip().partition(" ")
                command = rest.split(" ", 1)[0].upper()
                if command == "CAPABILITY":
                    conn.sendall(f"* CAPABILITY IMAP4rev1\r\n{tag} OK done\r\n".encode())
                elif command in ("LOGIN", "AUTHENTICATE"):
                    self.refused += 1
                    conn.sendall(f"{tag} NO {GMAIL_REFUSAL}\r\n".encode())
                elif command == "LOGOUT":
                    conn.sendall(f"* BYE\r\n{tag} OK bye\r\n".encode())
                    return
                else:
                    conn.sendall(f"{tag} BAD unknown\r\n".encode())


def imsh(state: Path, work: Path, line: str) -> subprocess.CompletedProcess[str]:
    command = shutil.which("imsh")
    argv = [command] if command else [sys.executable, "-m", "shell.main"]
    env = {**os.environ, "IMSH_HOME": "", "PYTHONPATH": str(ROOT),
           "IMSH_RUNNER_KEEP_ALIVE": "0", "IMSH_RETRY_BASE": "600"}
    env.pop("IMSH_SERVICE_SYNCER", None)
    result = subprocess.run([*argv, "--state", str(state), "-c", line], cwd=work, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"{line}: {result.stdout}\n{result.stderr}"
    return result


def stop_runners(state: Path) -> None:
    """SIGTERM the runners holding ``state`` (a runner stops its passes and exits)."""
    paths = resolve_state_paths(state)
    if not paths.db.exists():
        return
    with Store.open(paths) as store:
        owners = [parse_owner(lease.owner) for lease in store.leases.active(prefix="runner:")]
    for owner in owners:
        if owner is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(owner.pid, signal.SIGTERM)


def test_a_source_refusing_logins_for_too_many_connections_is_retried_not_failed_as_a_bad_password(
        tmp_path: Path, dovecot_target: ImapServer) -> None:
    source = CrowdedImapServer()
    work = tmp_path / "work"
    work.mkdir()
    state = tmp_path / "state"
    target_user = dovecot_target.fresh_user()
    (work / "users.csv").write_text(
        "EmailAddress,UserName,Password,TargetUserName,TargetPassword\n"
        f"{ADDRESS},kim,right-password,{target_user},{dovecot_target.password}\n",
        encoding="utf-8")
    try:
        imsh(state, work,
             f"New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port "
             f"{source.port} -Security None | Out-Null; New-MigrationEndpoint -IMAP -Name Target "
             f"-RemoteServer 127.0.0.1 -Port {dovecot_target.port} -Security None | Out-Null; "
             "New-MigrationBatch -Name B1 -SourceEndpoint Source -TargetEndpoint Target "
             "-CSVData (Get-Content users.csv -AsByteStream) -AutoStart | Out-Null")
        deadline = time.monotonic() + 60
        while True:  # the first attempt is over once the runner wrote what it made of it
            with Store.open(resolve_state_paths(state)) as store:
                user = store.users.get(ADDRESS)
                entries = [e.message for e in store.statistics.report_entries(user.id)]
            if user.status == "Failed" or any("attempt 1" in e for e in entries):
                break
            assert time.monotonic() < deadline, f"no attempt recorded: {user.status} {entries}"
            time.sleep(0.2)
        shown = imsh(state, work, f"Get-MigrationUserStatistics -Identity {ADDRESS} "
                                  "-IncludeReport | Format-List Status,ErrorSummary,Report")
    finally:
        stop_runners(state)  # it would wait 600 s for its retry, then try the closed server
        source.close()
    assert source.refused >= 1
    out = " ".join(shown.stdout.split())
    assert BAD_CREDENTIALS not in out
    assert user.status != "Failed", out
    assert "Too many simultaneous connections" in out
    assert "Retrying in" in out
