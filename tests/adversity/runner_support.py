"""A migration driven through the real ``imsh`` console script, for the runner's adversity tests.

:class:`CliMigration` holds one state directory and one batch ``B`` of one user, from a real
Dovecot source into a real Dovecot target, optionally through :class:`TcpProxy` instances on
either side (byte-level faults: cut, stall, trickle). Every cmdlet runs as ``imsh --state DIR
-c '...'`` in a subprocess; the runner is the one ``imsh`` launches detached (or a foreground
``imsh service`` the test starts). Nothing here calls the engine directly except to *read* the
state (statuses, leases, report entries) for the assertions.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from engine.paths import resolve_state_paths
from engine.store import Store
from scripts.compare import ImapSource, ImapSpec, compare
from scripts.corpus import Corpus, ImapParams, load_imap
from tests.support.runners import runner_pids
from tests.support.servers import ImapServer
from tests.support.tcp_proxy import TcpProxy

ROOT = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], bool], timeout: float, what: str,
             step: float = 0.1) -> float:
    """Poll until ``condition`` holds; the seconds it took. Fails the test on timeout."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(step)
    return time.monotonic() - started


@dataclass
class CliMigration:
    work: Path
    source: ImapServer
    source_user: str
    target: ImapServer
    target_user: str
    source_proxy: TcpProxy | None = None
    target_proxy: TcpProxy | None = None
    env_extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, tmp_path: Path, source: ImapServer, target: ImapServer, corpus: Corpus, *,
               proxy_source: bool = False, proxy_target: bool = False,
               **env: str) -> CliMigration:
        source_user, target_user = source.fresh_user(), target.fresh_user()
        load_imap(ImapParams(source.host, source.port, source_user, source.password), corpus)
        migration = cls(tmp_path, source, source_user, target, target_user, env_extra=env)
        if proxy_source:
            migration.source_proxy = TcpProxy(source.host, source.port)
        if proxy_target:
            migration.target_proxy = TcpProxy(target.host, target.port)
        return migration

    def close(self) -> None:
        for pid in self.runner_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for proxy in (self.source_proxy, self.target_proxy):
            if proxy is not None:
                proxy.close()

    # --- running imsh --------------------------------------------------------------------

    @property
    def state(self) -> Path:
        return self.work / "state"

    def env(self) -> dict[str, str]:
        env = {**os.environ, "IMSH_HOME": "", "PYTHONPATH": str(ROOT),
               "IMSH_POLL_INTERVAL": "0.2"}
        env.pop("IMSH_SERVICE_SYNCER", None)
        return {**env, **self.env_extra}

    def argv(self, *args: str) -> list[str]:
        command = shutil.which("imsh")
        argv = [command] if command else [sys.executable, "-m", "shell.main"]
        return [*argv, "--state", str(self.state), *args]

    def run(self, line: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv("-c", line), cwd=self.work, env=self.env(),
                              capture_output=True, text=True, timeout=timeout, check=False)

    def ok(self, line: str, timeout: float = 120) -> str:
        result = self.run(line, timeout)
        assert result.returncode == 0, f"{line}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def service(self, *args: str) -> subprocess.Popen[bytes]:
        """A foreground ``imsh service`` (its output goes to service.err)."""
        with (self.work / "service.err").open("ab") as errors:
            return subprocess.Popen(self.argv("service", *args), cwd=self.work, env=self.env(),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=errors)

    def setup_batch(self, *, autostart: bool = True) -> None:
        """Endpoints (through the proxies when there are) and batch B, started when asked."""
        source_port = self.source_proxy.port if self.source_proxy else self.source.port
        target_port = self.target_proxy.port if self.target_proxy else self.target.port
        (self.work / "users.csv").write_text(
            "EmailAddress,UserName,Password,TargetUserName,TargetPassword\n"
            f"{self.source_user}@example.org,{self.source_user},{self.source.password},"
            f"{self.target_user},{self.target.password}\n", encoding="utf-8")
        start = " -AutoStart" if autostart else ""
        self.ok(f"New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 "
                f"-Port {source_port} -Security None; "
                f"New-MigrationEndpoint -IMAP -Name Target -RemoteServer 127.0.0.1 "
                f"-Port {target_port} -Security None; "
                f"New-MigrationBatch -Name B -SourceEndpoint Source -TargetEndpoint Target "
                f"-CSVData ([System.IO.File]::ReadAllBytes('users.csv')){start} | Out-Null")

    # --- reading the state ---------------------------------------------------------------

    def store(self) -> Store:
        return Store.open(resolve_state_paths(self.state))

    def user_status(self) -> str:
        with self.store() as store:
            return store.users.get(f"{self.source_user}@example.org").status

    def batch_status(self) -> str:
        return self.ok("(Get-MigrationBatch -Identity B).Status").strip()

    def report(self) -> list[str]:
        with self.store() as store:
            user = store.users.get(f"{self.source_user}@example.org")
            return [e.message for e in store.statistics.report_entries(user.id)]

    def runner_owners(self) -> list[str]:
        with self.store() as store:
            return [lease.owner for lease in store.leases.active(prefix="runner:")]

    def runner_pids(self) -> list[int]:
        """Live processes serving this state directory (``... --state DIR service``)."""
        return runner_pids(self.state)

    def runner_lease_pids(self) -> list[int]:
        """The PIDs the ``runner:`` leases name (owner ``host:pid:...``)."""
        return [int(owner.split(":")[1]) for owner in self.runner_owners()
                if owner.count(":") >= 2 and owner.split(":")[1].isdigit()]

    def target_count(self) -> int:
        """Messages in the target mailbox right now."""
        client = self.target.login(self.target_user)
        try:
            total = 0
            for flags, _sep, name in client.list_folders():
                if b"\\Noselect" in flags or b"\\NonExistent" in flags:
                    continue
                total += int(client.folder_status(name, ["MESSAGES"])[b"MESSAGES"])
            return total
        finally:
            client.logout()

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

    def diagnostics(self) -> str:
        logs = self.state / "logs"
        text = []
        for name in ("imsh-service.log", "imsh-runner.out"):
            path = logs / name
            if path.exists():
                text.append(f"--- {name}\n" + path.read_text(errors="replace")[-3000:])
        err = self.work / "service.err"
        if err.exists():
            text.append("--- service.err\n" + err.read_text(errors="replace")[-2000:])
        return "\n".join(text)
