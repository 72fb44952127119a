"""The README's first command: the demo migration runs and its comparer finds every copy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SYSTEM_PYTHON = "/usr/bin/python3"
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.servers
@pytest.mark.slow
def test_demo_migrates_and_the_copies_are_identical() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scripts.demo.run", "--users", "2", "--messages", "40"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "user1: identical" in result.stdout and "user2: identical" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.servers
@pytest.mark.slow
def test_readme_demo_command_works_with_only_the_system_python_on_path(tmp_path: Path) -> None:
    """The README's first command on a plain Debian 12: PATH holds only the system's
    directories, so `python3` is Debian's externally managed one; the script makes its own
    virtual environment (here in a temporary directory) and the demo runs from it."""
    if not os.path.exists(SYSTEM_PYTHON):
        pytest.skip("no system Python at /usr/bin/python3")
    env = {**os.environ, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
           "IMSH_VENV": str(tmp_path / "venv")}
    env.pop("VIRTUAL_ENV", None)
    result = subprocess.run(
        ["bash", "scripts/demo.sh", "--users", "1", "--messages", "5"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "user1: identical" in result.stdout
    made_by = (tmp_path / "venv" / "pyvenv.cfg").read_text()
    assert "home = /usr/bin" in made_by  # the environment was made by Debian's python3


@pytest.mark.slow
def test_a_pipx_install_from_a_wheel_works_from_any_directory(tmp_path: Path) -> None:
    """The production install admins recognise: a wheel built from the tree, installed with
    Debian's pipx into an environment of its own; the console script runs from anywhere."""
    pipx = "/usr/bin/pipx"
    if not os.path.exists(pipx):
        pytest.skip("pipx is not installed (scripts/servers/install-system-packages.sh)")
    env = {**os.environ, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
           "PIPX_HOME": str(tmp_path / "pipx"), "PIPX_BIN_DIR": str(tmp_path / "bin")}
    env.pop("VIRTUAL_ENV", None)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w",
         str(tmp_path / "dist"), str(ROOT)], capture_output=True, text=True, timeout=300,
        check=False)
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next((tmp_path / "dist").glob("imsh-*.whl"))
    done = subprocess.run([pipx, "install", str(wheel)], env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    imsh = tmp_path / "bin" / "imsh"
    away = tmp_path / "elsewhere"
    away.mkdir()
    ran = subprocess.run([str(imsh), "--state", str(tmp_path / "state"), "-c",
                          "(Get-MigrationEndpoint).Identity"], cwd=away, env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "LocalMaildir"
