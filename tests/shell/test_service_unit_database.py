"""``imsh --database URL service install``: the unit's runner uses that PostgreSQL database, and a
URL with a password is refused (a unit file is readable by every user)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from shell.service_unit import UnitSpec, unit_text

ROOT = Path(__file__).resolve().parents[2]


def _install(tmp_path: Path, database: str) -> subprocess.CompletedProcess[str]:
    command = shutil.which("imsh")
    argv = [command] if command else [sys.executable, "-m", "shell.main"]
    env = {**os.environ, "IMSH_HOME": "", "PYTHONPATH": str(ROOT)}
    env.pop("IMSH_DATABASE", None)
    return subprocess.run([*argv, "--state", str(tmp_path / "state"), "--database", database,
                           "service", "install", "--user", "--unit-dir", str(tmp_path / "u")],
                          capture_output=True, text=True, timeout=60, check=False, env=env)


def test_the_unit_runs_the_runner_on_the_database_it_was_installed_with() -> None:
    text = unit_text(UnitSpec("imsh", ("/opt/imsh/bin/imsh",), Path("/var/lib/imsh"),
                              user_unit=False, run_as="imsh",
                              database="postgresql://imsh@db.example.org/imsh"))
    assert ("ExecStart=/opt/imsh/bin/imsh --state /var/lib/imsh --database "
            "postgresql://imsh@db.example.org/imsh service\n") in text


def test_install_with_a_database_writes_it_into_the_unit(tmp_path: Path) -> None:
    result = _install(tmp_path, "postgresql://imsh@db.example.org/imsh")
    assert result.returncode == 0, result.stderr
    unit = (tmp_path / "u" / "imsh.service").read_text()
    assert "--database postgresql://imsh@db.example.org/imsh service" in unit


def test_install_refuses_a_database_url_with_a_password_and_writes_no_unit(
        tmp_path: Path) -> None:
    result = _install(tmp_path, "postgresql://imsh:Unit-Pw-77@db.example.org/imsh")
    assert result.returncode == 1
    assert "~/.pgpass" in result.stderr and "Traceback" not in result.stderr
    assert "Unit-Pw-77" not in result.stderr + result.stdout
    assert not (tmp_path / "u" / "imsh.service").exists()


def test_install_refuses_a_password_given_as_a_query_parameter_and_writes_no_unit(
        tmp_path: Path) -> None:
    result = _install(tmp_path, "postgresql://imsh@db.example.org/imsh?password=Query-Pw-88")
    assert result.returncode == 1
    assert "~/.pgpass" in result.stderr and "Traceback" not in result.stderr
    assert "Query-Pw-88" not in result.stderr + result.stdout
    assert not (tmp_path / "u" / "imsh.service").exists()
