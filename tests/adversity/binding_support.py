"""What the binder's adversity tests share: the real ``imsh`` console script on a state
directory whose batches come from a real Dovecot source.

``Admin`` runs ``imsh --state DIR -c LINE`` or ``imsh --state DIR FILE.imsh ARGS`` exactly as
an administrator's terminal or scheduled task would (no TTY, so nothing can be prompted for),
and reads the state back through the store, never through imsh's own output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from engine.paths import resolve_state_paths
from engine.store import Store
from tests.support.servers import ImapServer

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout + self.stderr


def imsh_argv() -> list[str]:
    command = shutil.which("imsh")
    return [command] if command else [sys.executable, "-m", "shell.main"]


def run_imsh(args: list[str], cwd: Path, *, timeout: float = 120) -> Result:
    env = {**os.environ, "IMSH_HOME": "", "PYTHONPATH": str(ROOT)}
    env.pop("IMSH_SERVICE_SYNCER", None)
    env.pop("IMSH_KEY_FILE", None)
    done = subprocess.run([*imsh_argv(), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    return Result(done.returncode, done.stdout, done.stderr)


@dataclass
class Admin:
    """A state directory and a work directory, driven through the console script."""

    state: Path
    work: Path

    def line(self, text: str) -> Result:
        return run_imsh(["--state", str(self.state), "-c", text], self.work)

    def script(self, name: str, text: str, *args: str) -> Result:
        path = self.work / f"{name}.imsh"
        path.write_text(text, encoding="utf-8")
        return run_imsh(["--state", str(self.state), str(path), *args], self.work)

    def ok(self, text: str) -> str:
        result = self.line(text)
        assert result.returncode == 0 and not result.stderr, result.text
        return result.stdout

    def batches(self) -> dict[str, str]:
        """Batch name -> stored phase, read from the store itself."""
        with Store.open(resolve_state_paths(self.state)) as store:
            return {row.name: str(row.status) for row in store.batches.list()}

    def users(self) -> list[str]:
        with Store.open(resolve_state_paths(self.state)) as store:
            return sorted(row.email_address for row in store.users.list())

    def endpoints(self) -> list[str]:
        with Store.open(resolve_state_paths(self.state)) as store:
            return sorted(row.name for row in store.endpoints.list())


def new_admin(tmp_path: Path) -> Admin:
    work = tmp_path / "work"
    work.mkdir()
    return Admin(tmp_path / "state", work)


def with_batches(tmp_path: Path, source: ImapServer, *names: str,
                 users_per_batch: int = 2) -> Admin:
    """Batches (Created, not started) of fresh Dovecot users, behind a verified endpoint."""
    admin = new_admin(tmp_path)
    lines = [f"New-MigrationEndpoint -IMAP -Name Source -RemoteServer {source.host} "
             f"-Port {source.port} -Security None | Out-Null"]
    for name in names:
        csv = admin.work / f"{name}.csv"
        rows = [f"{name.lower()}{n}@contoso.com,{source.fresh_user()},{source.password}"
                for n in range(users_per_batch)]
        csv.write_text("EmailAddress,UserName,Password\n" + "\n".join(rows) + "\n",
                       encoding="utf-8")
        lines.append(f"New-MigrationBatch -Name {name} -SourceEndpoint Source -CSVData "
                     f"([System.IO.File]::ReadAllBytes('{csv}')) | Out-Null")
    result = admin.script("setup", "$ErrorActionPreference = 'Stop'\n" + "\n".join(lines) + "\n")
    assert result.returncode == 0, result.text
    return admin
