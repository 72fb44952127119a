"""A runner host with the wrong sealing key (or none) fails clearly and writes nothing.

The state is in PostgreSQL and was sealed with the admin's key file. A host started with
another key file, or with a key file path that does not exist, runs ``imsh service
--database URL``: it exits non-zero at once with the reason (the key file it used, what to
do), never a traceback, takes no lease, creates no key file and changes no row; a console
with the wrong key gets the same reason as a PowerShell-style error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from engine.secrets import create_key_file
from tests.integration.test_postgres_store_flow import ROOT, run_imsh

pytestmark = [pytest.mark.servers]

TABLES = ("endpoints", "batches", "migration_users", "leases", "config", "store_meta",
          "report_entries", "user_statistics")


def snapshot(url: str) -> dict[str, list[tuple[object, ...]]]:
    with psycopg.connect(url) as pg:
        return {table: sorted(pg.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
                for table in TABLES}


def host_service(state: Path, url: str, key_file: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "IMSH_HOME": "", "IMSH_KEY_FILE": str(key_file),
           "IMSH_HOST_ID": "host9"}
    env.pop("IMSH_DATABASE", None)
    return subprocess.run([sys.executable, "-m", "shell.main", "--state", str(state),
                           "--database", url, "service"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_a_host_with_the_wrong_key_or_none_fails_clearly_and_writes_nothing(
        tmp_path: Path, postgres_url: str) -> None:
    work, admin = tmp_path / "work", tmp_path / "admin"
    work.mkdir()
    run_imsh(admin, postgres_url, work, "setup", """
$c = New-Object System.Management.Automation.PSCredential('admin', (ConvertTo-SecureString 'Adm1n-Secret' -AsPlainText -Force))
New-MigrationEndpoint -IMAP -Name Source -RemoteServer 127.0.0.1 -Port 1 -Security None -Credentials $c -SkipVerification | Out-Null
""")  # noqa: E501
    before = snapshot(postgres_url)

    other_key = tmp_path / "other.key"
    create_key_file(other_key)
    missing_key = tmp_path / "not-distributed" / "secret.key"
    for key_file, why in ((other_key, "is not the key that sealed"), (missing_key, "")):
        result = host_service(tmp_path / "host9", postgres_url, key_file)
        shown = result.stdout + result.stderr
        assert result.returncode != 0, shown
        assert str(key_file) in shown and why in shown, shown
        assert "Traceback" not in shown
        assert snapshot(postgres_url) == before  # no lease, no row, nothing
    assert not missing_key.exists()  # never a fresh key over sealed state

    env = {**os.environ, "IMSH_KEY_FILE": str(other_key), "PYTHONPATH": str(ROOT)}
    env.pop("IMSH_DATABASE", None)
    console = subprocess.run([sys.executable, "-m", "shell.main", "--state", str(admin),
                              "--database", postgres_url, "-c", "Get-MigrationEndpoint"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
                             check=False)
    assert console.returncode != 0
    assert "is not the key that sealed" in console.stdout + console.stderr
    assert "Adm1n-Secret" not in console.stdout + console.stderr
    assert snapshot(postgres_url) == before
