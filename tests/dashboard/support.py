"""A real migration into Dovecot and a real ``imsh dashboard`` process over its state."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]


def imsh_argv() -> list[str]:
    command = shutil.which("imsh")
    return [command] if command else [sys.executable, "-m", "shell.main"]


def imsh_env() -> dict[str, str]:
    env = {**os.environ, "IMSH_HOME": "", "PYTHONPATH": str(ROOT)}
    env.pop("IMSH_SERVICE_SYNCER", None)
    return env


def run_script(state: Path, work: Path, name: str, script: str) -> str:
    """Run an .imsh script with the real console script; fail on any error."""
    path = work / f"{name}.imsh"
    path.write_text("$ErrorActionPreference = 'Stop'\n" + script, encoding="utf-8")
    result = subprocess.run([*imsh_argv(), "--state", str(state), str(path)], cwd=work,
                            env=imsh_env(), capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, f"{name}: {result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


@dataclass
class Dashboard:
    """A running ``imsh dashboard`` and the address with the token it printed."""

    process: subprocess.Popen[str] | None  # None: started detached by Start-MigrationDashboard
    url: str
    banner: str
    log: Path | None  # the process's standard error
    cookie: str = field(default="")

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or 0

    @property
    def token(self) -> str:
        return urlsplit(self.url).query.removeprefix("token=")

    def request(self, path: str, method: str = "GET", cookie: str | None = None) -> Answer:
        """One HTTP request, redirects not followed; ``cookie`` None sends the session's."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            sent = self.cookie if cookie is None else cookie
            connection.request(method, path, headers={"Cookie": sent} if sent else {})
            response = connection.getresponse()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()},
                          response.read())
        finally:
            connection.close()

    def log_in(self) -> Answer:
        answer = self.request(f"/?token={self.token}", cookie="")
        self.cookie = answer.headers["set-cookie"].split(";", 1)[0]
        return answer

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_dashboard(state: Path, port: int, *extra: str) -> Dashboard:
    log = state.parent / f"dashboard-{port}.err"
    with log.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen([*imsh_argv(), "--state", str(state), "dashboard",
                                    "--listen", f"127.0.0.1:{port}", *extra],
                                   env=imsh_env(), stdout=subprocess.PIPE, stderr=stderr,
                                   text=True)
    assert process.stdout is not None
    banner = process.stdout.readline() + process.stdout.readline()
    found = re.search(r"http://\S+", banner)
    assert found, banner + log.read_text(encoding="utf-8")
    dashboard = Dashboard(process, found.group(0), banner, log)
    wait_until(lambda: _answers(dashboard), 20, "the dashboard to answer")
    return dashboard


def _answers(dashboard: Dashboard) -> bool:
    try:
        dashboard.request("/", cookie="")
    except OSError:
        return False
    return True


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.05)


MESSAGES = 60


@dataclass
class Migrated:
    state: Path
    work: Path
    dashboard: Dashboard
    secrets: tuple[str, ...]  # every password the CSV held
    seen_while_running: list[dict[str, object]]  # /api/overview.json polled during the pass
    export_csv: bytes  # Get-MigrationUser | Get-MigrationUserStatistics | Export-Csv
    batch_text: str  # Get-MigrationBatch B1 | Format-List
