"""``imsh service install|uninstall|status``: the systemd unit that keeps the runner running."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from shell.main import parse_command_line
from shell.service_unit import UnitSpec, unit_text


def test_a_system_unit_runs_imsh_service_on_the_state_as_its_owner() -> None:
    text = unit_text(UnitSpec("imsh", ("/opt/imsh/bin/imsh",), Path("/var/lib/imsh mail"),
                              user_unit=False, run_as="imsh"))
    assert "ExecStart=/opt/imsh/bin/imsh --state '/var/lib/imsh mail' service\n" in text
    assert "User=imsh\n" in text and "WantedBy=multi-user.target" in text
    assert "KillSignal=SIGTERM" in text and "Restart=on-failure" in text


def test_a_user_unit_has_no_user_line_and_starts_with_the_session() -> None:
    text = unit_text(UnitSpec("imsh-wave2", ("/usr/bin/python3", "-m", "shell.main"),
                              Path("/home/a/.local/share/imsh"), user_unit=True, run_as="a"))
    assert "User=" not in text and "WantedBy=default.target" in text
    assert "ExecStart=/usr/bin/python3 -m shell.main --state /home/a/.local/share/imsh" in text


def test_the_command_line_takes_the_unit_options() -> None:
    inv = parse_command_line(["--state", "/s", "service", "install", "--user", "--name=w2",
                              "--unit-dir", "/u"])
    assert inv.service and inv.service_action == "install"
    assert inv.service_options == {"user": True, "name": "w2", "unit-dir": "/u"}


def _imsh(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = shutil.which("imsh")
    argv = [command] if command else [sys.executable, "-m", "shell.main"]
    return subprocess.run([*argv, *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          check=False, env={**os.environ, "IMSH_HOME": ""})


def test_install_status_uninstall_through_the_console_script(tmp_path: Path) -> None:
    state, units = tmp_path / "state", tmp_path / "units"
    done = _imsh("--state", str(state), "service", "install", "--unit-dir", str(units),
                 cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    unit = units / "imsh.service"
    assert f"wrote {unit}" in done.stdout
    text = unit.read_text()
    start = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    program = start.removeprefix("ExecStart=").split()[0]
    assert Path(program).is_absolute() and os.access(program, os.X_OK)
    assert f"--state {state} service" in start
    assert stat.S_IMODE(unit.stat().st_mode) == 0o644
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    shown = _imsh("service", "status", "--unit-dir", str(units), cwd=tmp_path)
    assert shown.returncode == 0 and f"installed: {unit}" in shown.stdout
    gone = _imsh("service", "uninstall", "--unit-dir", str(units), cwd=tmp_path)
    assert gone.returncode == 0 and not unit.exists()
    again = _imsh("service", "uninstall", "--unit-dir", str(units), cwd=tmp_path)
    assert again.returncode == 1 and "no unit" in again.stderr
    assert "Traceback" not in again.stderr


def test_help_explains_the_commands() -> None:
    done = _imsh("--help", cwd=Path.cwd())
    assert done.returncode == 0
    assert "imsh service install" in done.stdout and "--state DIR" in done.stdout
