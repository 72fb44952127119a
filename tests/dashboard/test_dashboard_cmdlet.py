"""``Start-MigrationDashboard`` typed in the real ``imsh``: the dashboard starts detached, its
token is shown once in the output and nowhere else (not in its command line, not in its log)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from engine.paths import resolve_state_paths
from engine.service import Engine
from tests.dashboard.support import Dashboard, imsh_argv, imsh_env, wait_until
from tests.support.ports import free_port


def imsh(state: Path, line: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*imsh_argv(), "--state", str(state), "-c", line], env=imsh_env(),
                          capture_output=True, text=True, timeout=60, check=False)


def test_start_migrationdashboard_shows_the_token_once_and_nowhere_else(
        tmp_path: Path) -> None:
    state = tmp_path / "state"
    Engine.open(resolve_state_paths(state, env={})).close()
    port = free_port()
    started = imsh(state, f"Start-MigrationDashboard -Listen 127.0.0.1:{port} | "
                          "Format-List Url,ProcessId")
    assert started.returncode == 0, started.stderr
    url = re.search(r"Url\s+: (http://\S+)", started.stdout)
    pid = re.search(r"ProcessId\s+: (\d+)", started.stdout)
    assert url and pid, started.stdout
    process_id = int(pid.group(1))
    try:
        dashboard = Dashboard(None, url.group(1), started.stdout, None)
        assert dashboard.request("/", cookie="").status == 401
        assert dashboard.log_in().status == 303
        assert dashboard.request("/").status == 200
        token = dashboard.token
        assert token not in Path(f"/proc/{process_id}/cmdline").read_text(errors="replace")
        log = state / "logs" / "imsh-dashboard.out"
        assert log.exists() and token not in log.read_text(encoding="utf-8")
        again = imsh(state, f"Start-MigrationDashboard -Listen 127.0.0.1:{port}")
        assert again.returncode == 1 and "already listens" in again.stderr
        assert "Traceback" not in again.stderr
    finally:
        os.kill(process_id, signal.SIGTERM)
    wait_until(lambda: not Path(f"/proc/{process_id}").exists()
               or " Z " in Path(f"/proc/{process_id}/stat").read_text(), 10,
               "the dashboard to stop")


@pytest.mark.parametrize("listen", ["nowhere", "127.0.0.1:0"])
def test_a_bad_listen_address_is_a_powershell_error(tmp_path: Path, listen: str) -> None:
    state = tmp_path / "state"
    result = imsh(state, f"Start-MigrationDashboard -Listen {listen}")
    assert result.returncode == 1
    assert "-Listen needs HOST:PORT" in result.stderr and "Traceback" not in result.stderr
